#include "core/json_parse.hpp"
#include "relay/steps.hpp"
#include "tokenizer/tokenizer.hpp"

namespace oneapi::relay {

Result<void> parse_request(RelayState& s, const std::string& raw_body) {
  s.body = parse_json(raw_body);
  if (s.body.is_discarded())
    return Error::make(ErrorKind::invalid_request, "invalid request body: malformed JSON", "invalid_json");
  if (!s.body.is_object())
    return Error::make(ErrorKind::invalid_request, "invalid request body: expected a JSON object", "invalid_json");
  if (s.bridge) {  // Claude Messages or Responses: from here on, a chat completions request
    auto chat = s.bridge->to_chat_request(s.body);
    if (!chat) return chat.error();
    s.needs_native = s.bridge->needs_native(s.body);
    s.client_body = std::move(s.body);
    s.body = std::move(*chat);
    if (!s.enforce_include_usage) s.body.erase("stream_options");  // the converter's, not the client's
    s.chat_raw = s.body.dump();
  }
  auto model = s.body.find("model");
  if (model == s.body.end() || !model->is_string() || model->get_ref<const std::string&>().empty())
    return Error::make(ErrorKind::invalid_request, "model is required", "invalid_text_request");
  s.model = model->get<std::string>();

  if (auto st = s.body.find("stream"); st != s.body.end()) {
    if (!st->is_boolean())
      return Error::make(ErrorKind::invalid_request, "stream must be a boolean", "invalid_text_request");
    s.stream = st->get<bool>() && s.mode != RelayMode::embeddings;
  }
  if (auto so = s.body.find("stream_options"); so != s.body.end() && so->is_object())
    s.client_wants_usage = so->value("include_usage", false);
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    auto mt = s.body.find(key);
    if (mt == s.body.end() || mt->is_null()) continue;
    if (!mt->is_number_integer() || mt->get<int64_t>() < 0)
      return Error::make(ErrorKind::invalid_request, std::string(key) + " must be a non-negative integer",
                         "invalid_text_request");
    s.max_tokens = mt->get<int64_t>();
    break;
  }

  switch (s.mode) {
    case RelayMode::chat_completions: {
      auto messages = s.body.find("messages");
      if (messages == s.body.end() || !messages->is_array())
        return Error::make(ErrorKind::invalid_request, "messages is required and must be an array",
                           "invalid_text_request");
      s.prompt_tokens = tokenizer::count_chat_prompt_tokens(s.model, *messages, token_counting(s));
      break;
    }
    case RelayMode::completions:
      if (auto p = s.body.find("prompt"); p != s.body.end())
        s.prompt_tokens = tokenizer::count_input_tokens(s.model, *p, token_counting(s));
      break;
    case RelayMode::embeddings: {
      auto input = s.body.find("input");
      if (input == s.body.end())
        return Error::make(ErrorKind::invalid_request, "input is required", "invalid_text_request");
      s.prompt_tokens = tokenizer::count_input_tokens(s.model, *input, token_counting(s));
      break;
    }
  }
  return {};
}

}  // namespace oneapi::relay
