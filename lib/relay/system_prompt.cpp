#include "relay/steps.hpp"

namespace oneapi::relay {

// One API's rule: the channel's prompt replaces the content of a leading system message (the log
// then says system_prompt_reset) or goes in front as a new system message.
std::optional<nlohmann::json> apply_system_prompt(RelayState& s) {
  s.system_prompt_reset = false;
  const std::string& prompt = s.channel->channel.system_prompt;
  if (prompt.empty() || s.mode != RelayMode::chat_completions) return std::nullopt;
  if (s.adaptor_ctx.format !=
      ClientFormat::openai) {  // a pass-through body: Claude's `system`, Responses' `instructions`
    const char* field = s.adaptor_ctx.format == ClientFormat::claude_messages ? "system" : "instructions";
    nlohmann::json body = s.client_body;
    s.system_prompt_reset = body.contains(field) && !body[field].is_null();
    body[field] = prompt;
    return body;
  }
  auto messages = s.body.find("messages");
  if (messages == s.body.end() || !messages->is_array()) return std::nullopt;
  nlohmann::json body = s.body;
  auto& list = body["messages"];
  if (!list.empty() && list[0].is_object() && list[0].value("role", "") == "system") {
    list[0]["content"] = prompt;
    s.system_prompt_reset = true;
  } else {
    list.insert(list.begin(), nlohmann::json{{"role", "system"}, {"content", prompt}});
  }
  return body;
}

}  // namespace oneapi::relay
