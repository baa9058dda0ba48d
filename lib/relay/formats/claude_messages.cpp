#include "relay/formats/claude_messages.hpp"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/util.hpp"
#include "net/sse.hpp"
#include "relay/adaptor.hpp"

namespace oneapi::relay::formats::claude {

namespace {

using nlohmann::json;

// Anthropic answers a malformed request 400 invalid_request_error.
Error invalid(std::string message) {
  Error e = Error::make(ErrorKind::invalid_request, std::move(message), "invalid_request_error");
  e.type = "invalid_request_error";
  return e;
}

std::string string_of(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

const json& member(const json& obj, const char* key) {
  static const json kNull;
  if (!obj.is_object()) return kNull;
  auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

// ---- request: Claude -> chat ----

// `system` is a string or an array of text blocks (Claude Code sends several, with cache_control).
std::string system_text(const json& system) {
  if (system.is_string()) return system.get<std::string>();
  std::string out;
  if (system.is_array())
    for (const auto& block : system)
      if (string_of(block, "type") == "text") {
        if (!out.empty()) out += '\n';
        out += string_of(block, "text");
      }
  return out;
}

// An image block's source as an OpenAI image_url part: base64 as a data: URL, url as is.
json image_part(const json& block) {
  const json& source = member(block, "source");
  const std::string type = string_of(source, "type");
  std::string url;
  if (type == "base64")
    url = "data:" + string_of(source, "media_type") + ";base64," + string_of(source, "data");
  else if (type == "url")
    url = string_of(source, "url");
  if (url.empty()) return nullptr;
  return {{"type", "image_url"}, {"image_url", {{"url", std::move(url)}}}};
}

// A tool_result's content (a string, or text and image blocks) as the tool message's text; its
// images go to `images` (a tool message holds text only).
std::string tool_result_text(const json& block, json& images) {
  const json& content = member(block, "content");
  std::string text;
  if (content.is_string()) text = content.get<std::string>();
  if (content.is_array())
    for (const auto& part : content) {
      const std::string type = string_of(part, "type");
      if (type == "text") {
        if (!text.empty()) text += '\n';
        text += string_of(part, "text");
      } else if (type == "image") {
        if (json image = image_part(part); !image.is_null()) images.push_back(std::move(image));
      }
    }
  // Chat completions has no error flag on tool messages: say it in the text.
  if (member(block, "is_error").is_boolean() && block["is_error"].get<bool>()) text = "Error: " + text;
  return text;
}

// A user turn: its tool results first, as "tool" messages right after the assistant's calls (as
// chat completions wants them), then the rest as one user message.
void add_user_turn(const json& content, json& messages) {
  if (content.is_string()) {
    messages.push_back({{"role", "user"}, {"content", content}});
    return;
  }
  json parts = json::array();
  for (const auto& block : content) {
    const std::string type = string_of(block, "type");
    if (type == "text") {
      parts.push_back({{"type", "text"}, {"text", string_of(block, "text")}});
    } else if (type == "image") {
      if (json image = image_part(block); !image.is_null()) parts.push_back(std::move(image));
    } else if (type == "tool_result") {
      std::string text = tool_result_text(block, parts);
      messages.push_back(
          {{"role", "tool"}, {"tool_call_id", string_of(block, "tool_use_id")}, {"content", std::move(text)}});
    }
    // documents, server tool results and blocks added later have no chat equivalent: dropped.
  }
  if (parts.empty()) return;
  if (parts.size() == 1 && parts[0]["type"] == "text")
    messages.push_back({{"role", "user"}, {"content", parts[0]["text"]}});
  else
    messages.push_back({{"role", "user"}, {"content", std::move(parts)}});
}

// An assistant turn: its text, and its tool_use blocks as tool_calls; thinking is dropped.
void add_assistant_turn(const json& content, json& messages) {
  if (content.is_string()) {
    messages.push_back({{"role", "assistant"}, {"content", content}});
    return;
  }
  std::string text;
  json calls = json::array();
  for (const auto& block : content) {
    const std::string type = string_of(block, "type");
    if (type == "text") {
      text += string_of(block, "text");
    } else if (type == "tool_use") {
      const json& input = member(block, "input");
      calls.push_back(
          {{"id", string_of(block, "id")},
           {"type", "function"},
           {"function", {{"name", string_of(block, "name")}, {"arguments", input.is_null() ? "{}" : input.dump()}}}});
    }
  }
  if (text.empty() && calls.empty()) return;
  json message = {{"role", "assistant"}, {"content", text}};
  if (!calls.empty()) {
    if (text.empty()) message["content"] = nullptr;
    message["tool_calls"] = std::move(calls);
  }
  messages.push_back(std::move(message));
}

// Client tools (name + input_schema) become functions; Anthropic's server tools (web search,
// bash …, typed and schema-less) have no meaning on other providers and are left out.
void convert_tools(const json& in, json& out) {
  const json& tools = member(in, "tools");
  if (!tools.is_array()) return;
  json functions = json::array();
  for (const auto& t : tools) {
    const std::string type = string_of(t, "type");
    if (!t.is_object() || (!type.empty() && type != "custom") || string_of(t, "name").empty()) continue;
    json function = {{"name", t["name"]}};
    if (t.contains("description") && t["description"].is_string()) function["description"] = t["description"];
    const json& schema = member(t, "input_schema");
    function["parameters"] = schema.is_object() ? schema : json{{"type", "object"}, {"properties", json::object()}};
    functions.push_back({{"type", "function"}, {"function", std::move(function)}});
  }
  if (functions.empty()) return;
  out["tools"] = std::move(functions);

  const json& choice = member(in, "tool_choice");
  const std::string type = string_of(choice, "type");
  if (type == "auto") out["tool_choice"] = "auto";
  if (type == "any") out["tool_choice"] = "required";
  if (type == "none") out["tool_choice"] = "none";
  if (type == "tool") out["tool_choice"] = {{"type", "function"}, {"function", {{"name", string_of(choice, "name")}}}};
  if (const json& d = member(choice, "disable_parallel_tool_use"); d.is_boolean() && d.get<bool>())
    out["parallel_tool_calls"] = false;
}

// ---- answers: chat -> Claude ----

std::string stop_reason_for(const std::string& finish_reason) {
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "tool_calls" || finish_reason == "function_call") return "tool_use";
  if (finish_reason == "content_filter") return "refusal";
  return "end_turn";  // stop, or no reason given
}

// Anthropic counts cache reads apart from input_tokens; chat's prompt_tokens includes them.
json claude_usage(const Usage& u) {
  const int64_t cached = std::min(u.cached_prompt_tokens, u.prompt_tokens);
  return {{"input_tokens", u.prompt_tokens - cached},
          {"cache_creation_input_tokens", 0},
          {"cache_read_input_tokens", cached},
          {"output_tokens", u.completion_tokens}};
}

// "chatcmpl-abc" -> "msg_abc"; a fresh id when the upstream gave none.
std::string message_id(const std::string& chat_id) {
  std::string_view id = chat_id;
  if (id.substr(0, 9) == "chatcmpl-") id.remove_prefix(9);
  return id.empty() ? "msg_" + random_alnum(24) : "msg_" + std::string(id);
}

std::string tool_use_id(const std::string& call_id) { return call_id.empty() ? "toolu_" + random_alnum(24) : call_id; }

// A chat message's content: a string, or the text of its parts.
std::string chat_text(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array())
    for (const auto& part : content)
      if (string_of(part, "type") == "text") out += string_of(part, "text");
  return out;
}

std::string event(std::string_view name, const json& data) { return net::sse_encode(data.dump(), name); }

// Chat chunks in, Claude stream events out: message_start and a ping on the first chunk, one
// content block per run of text or per tool call, message_delta and message_stop at the end.
class ClaudeStreamEncoder final : public ClientStreamEncoder {
 public:
  explicit ClaudeStreamEncoder(std::string model) : model_(std::move(model)) {}

  void feed(std::string_view chat_sse, std::string& out) override {
    events_.clear();
    sse_.feed(chat_sse, events_);
    for (const auto& e : events_) {
      if (e.data.empty() || e.data == "[DONE]") continue;
      const json chunk = json::parse(e.data, nullptr, false);
      if (chunk.is_object()) take(chunk, out);
    }
  }

  void finish(const Usage& usage, std::string& out) override {
    start(out);
    close_block(out);
    json delta = {{"stop_reason", stop_reason_for(finish_reason_)}, {"stop_sequence", nullptr}};
    out += event("message_delta",
                 {{"type", "message_delta"}, {"delta", std::move(delta)}, {"usage", claude_usage(usage)}});
    out += event("message_stop", {{"type", "message_stop"}});
  }

 private:
  enum class Block { none, text, tool_use };

  void take(const json& chunk, std::string& out) {
    if (!started_) id_ = message_id(string_of(chunk, "id"));
    start(out);
    const json& choices = member(chunk, "choices");
    if (!choices.is_array() || choices.empty()) return;  // the usage chunk: finish() has the billed usage
    const json& delta = member(choices[0], "delta");
    if (const json& content = member(delta, "content");
        content.is_string() && !content.get_ref<const std::string&>().empty())
      text(content.get<std::string>(), out);
    if (const json& calls = member(delta, "tool_calls"); calls.is_array())
      for (const auto& call : calls) tool_call(call, out);
    if (const std::string reason = string_of(choices[0], "finish_reason"); !reason.empty()) finish_reason_ = reason;
  }

  void start(std::string& out) {
    if (started_) return;
    started_ = true;
    if (id_.empty()) id_ = message_id({});
    // The input count is known only at the end (message_delta carries it); Anthropic itself
    // starts with output_tokens 1.
    json message = {{"id", id_},
                    {"type", "message"},
                    {"role", "assistant"},
                    {"model", model_},
                    {"content", json::array()},
                    {"stop_reason", nullptr},
                    {"stop_sequence", nullptr},
                    {"usage", claude_usage(Usage{0, 1, 1, 0})}};
    out += event("message_start", {{"type", "message_start"}, {"message", std::move(message)}});
    out += event("ping", {{"type", "ping"}});
  }

  void open_block(Block kind, json content_block, std::string& out) {
    close_block(out);
    block_ = kind;
    block_index_ = next_index_++;
    out +=
        event("content_block_start",
              {{"type", "content_block_start"}, {"index", block_index_}, {"content_block", std::move(content_block)}});
  }

  void close_block(std::string& out) {
    if (block_ == Block::none) return;
    out += event("content_block_stop", {{"type", "content_block_stop"}, {"index", block_index_}});
    block_ = Block::none;
  }

  void delta(int index, json d, std::string& out) {
    out += event("content_block_delta", {{"type", "content_block_delta"}, {"index", index}, {"delta", std::move(d)}});
  }

  void text(const std::string& t, std::string& out) {
    if (block_ != Block::text) open_block(Block::text, {{"type", "text"}, {"text", ""}}, out);
    delta(block_index_, {{"type", "text_delta"}, {"text", t}}, out);
  }

  // A call's first chunk (its id and name) opens a tool_use block; its argument pieces follow
  // as input_json_delta.
  void tool_call(const json& call, std::string& out) {
    const json& index = member(call, "index");
    const int64_t tool = index.is_number_integer() ? index.get<int64_t>() : 0;
    const json& function = member(call, "function");
    auto block = block_of_tool_.find(tool);
    if (block == block_of_tool_.end()) {
      json content_block = {{"type", "tool_use"},
                            {"id", tool_use_id(string_of(call, "id"))},
                            {"name", string_of(function, "name")},
                            {"input", json::object()}};
      open_block(Block::tool_use, std::move(content_block), out);
      block = block_of_tool_.emplace(tool, block_index_).first;
    }
    if (const std::string args = string_of(function, "arguments"); !args.empty())
      delta(block->second, {{"type", "input_json_delta"}, {"partial_json", args}}, out);
  }

  std::string model_;
  std::string id_;
  net::SseDecoder sse_;
  std::vector<net::SseEvent> events_;
  bool started_ = false;
  Block block_ = Block::none;
  int block_index_ = 0;
  int next_index_ = 0;
  std::map<int64_t, int> block_of_tool_;  // chat tool call index -> Claude content block index
  std::string finish_reason_;
};

class ClaudeBridge final : public FormatBridge {
 public:
  Result<json> to_chat_request(const json& client_body) const override {
    return claude::to_chat_request(client_body, true);
  }

  Result<std::string> from_chat_response(const json& /*client_body*/, const json& chat,
                                         const Usage& usage) const override {
    const json& choices = member(chat, "choices");
    if (!choices.is_array() || choices.empty() || !choices[0].is_object()) {
      Error e = Error::make(ErrorKind::upstream_error, "the upstream answer has no choices", "bad_response_body");
      e.status = 502;
      return e;
    }
    const json& message = member(choices[0], "message");
    json content = json::array();
    if (std::string text = chat_text(member(message, "content")); !text.empty())
      content.push_back({{"type", "text"}, {"text", std::move(text)}});
    if (const json& calls = member(message, "tool_calls"); calls.is_array())
      for (const auto& call : calls) {
        const json& function = member(call, "function");
        json input = json::parse(string_of(function, "arguments"), nullptr, false);
        if (!input.is_object()) input = json::object();
        content.push_back({{"type", "tool_use"},
                           {"id", tool_use_id(string_of(call, "id"))},
                           {"name", string_of(function, "name")},
                           {"input", std::move(input)}});
      }
    json out = {{"id", message_id(string_of(chat, "id"))},
                {"type", "message"},
                {"role", "assistant"},
                {"model", string_of(chat, "model")},
                {"content", std::move(content)},
                {"stop_reason", stop_reason_for(string_of(choices[0], "finish_reason"))},
                {"stop_sequence", nullptr},
                {"usage", claude_usage(usage)}};
    return out.dump();
  }

  std::unique_ptr<ClientStreamEncoder> new_stream_encoder(const json& /*client_body*/,
                                                          const std::string& model) const override {
    return std::make_unique<ClaudeStreamEncoder>(model);
  }

  std::string error_body(const Error& e, std::string_view request_id) const override {
    // An Anthropic upstream's own type stands (it is in e.type); other errors by their status.
    static const std::vector<std::string_view> kTypes = {
        "invalid_request_error", "authentication_error", "billing_error", "permission_error", "not_found_error",
        "request_too_large",     "rate_limit_error",     "api_error",     "timeout_error",    "overloaded_error"};
    std::string_view type = error_type_for_status(error_status(e));
    for (auto t : kTypes)
      if (e.type == t) type = t;
    json body = {{"type", "error"},
                 {"error", {{"type", std::string(type)}, {"message", e.message}}},
                 {"request_id", std::string(request_id)}};
    return body.dump();
  }

  std::string stream_error_event(const Error& e, std::string_view request_id) const override {
    return net::sse_encode(error_body(e, request_id), "error");
  }
};

}  // namespace

std::string_view error_type_for_status(int status) {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      return status >= 400 && status < 500 ? "invalid_request_error" : "api_error";
  }
}

Result<json> to_chat_request(const json& in, bool require_max_tokens) {
  json out = json::object();
  if (const json& model = member(in, "model"); !model.is_null()) out["model"] = model;  // parse_request checks it

  const json& max_tokens = member(in, "max_tokens");
  if (max_tokens.is_null()) {
    if (require_max_tokens) return invalid("max_tokens: Field required");
  } else if (!max_tokens.is_number_integer() || max_tokens.get<int64_t>() < 1) {
    return invalid("max_tokens: Input should be a positive integer");
  } else {
    out["max_tokens"] = max_tokens;
  }

  const json& turns = member(in, "messages");
  if (!turns.is_array()) return invalid("messages: Field required (an array of messages)");
  json messages = json::array();
  if (std::string system = system_text(member(in, "system")); !system.empty())
    messages.push_back({{"role", "system"}, {"content", std::move(system)}});
  for (size_t i = 0; i < turns.size(); ++i) {
    const json& m = turns[i];
    const std::string role = string_of(m, "role");
    const json& content = member(m, "content");
    if (role != "user" && role != "assistant")
      return invalid("messages." + std::to_string(i) + ".role: Input should be 'user' or 'assistant'");
    if (!content.is_string() && !content.is_array())
      return invalid("messages." + std::to_string(i) + ".content: Input should be a string or a list of blocks");
    if (role == "user")
      add_user_turn(content, messages);
    else
      add_assistant_turn(content, messages);
  }
  out["messages"] = std::move(messages);

  if (const json& stops = member(in, "stop_sequences"); stops.is_array() && !stops.empty()) out["stop"] = stops;
  for (const char* key : {"temperature", "top_p"})
    if (const json& v = member(in, key); v.is_number()) out[key] = v;
  if (const json& stream = member(in, "stream"); !stream.is_null()) {
    out["stream"] = stream;  // parse_request insists on a boolean
    if (stream.is_boolean() && stream.get<bool>()) out["stream_options"] = {{"include_usage", true}};
  }
  if (std::string user = string_of(member(in, "metadata"), "user_id"); !user.empty()) out["user"] = std::move(user);
  convert_tools(in, out);
  return out;
}

const FormatBridge& bridge() {
  static const ClaudeBridge instance;
  return instance;
}

}  // namespace oneapi::relay::formats::claude
