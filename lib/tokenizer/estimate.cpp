#include "tokenizer/estimate.hpp"

#include <nlohmann/json.hpp>

namespace oneapi::tokenizer {

int64_t estimate_text_tokens(std::string_view text) {
  int64_t ascii_run = 0;
  int64_t tokens = 0;
  auto flush = [&] {
    tokens += (ascii_run + 3) / 4;
    ascii_run = 0;
  };
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++ascii_run;
      ++i;
      continue;
    }
    flush();
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    i += len;
    ++tokens;  // one token per non-ASCII code point
  }
  flush();
  return tokens;
}

namespace {
int64_t content_tokens(const nlohmann::json& content) {
  if (content.is_string()) return estimate_text_tokens(content.get_ref<const std::string&>());
  int64_t n = 0;
  if (content.is_array()) {
    for (const auto& part : content) {
      if (!part.is_object()) continue;
      auto t = part.find("text");
      if (t != part.end() && t->is_string()) n += estimate_text_tokens(t->get_ref<const std::string&>());
      if (part.value("type", "") == "image_url") n += 85;  // One API's low-detail image cost
    }
  }
  return n;
}
}  // namespace

int64_t estimate_chat_prompt_tokens(const nlohmann::json& messages) {
  if (!messages.is_array()) return 0;
  int64_t n = 3;
  for (const auto& m : messages) {
    if (!m.is_object()) continue;
    n += 3;
    if (auto c = m.find("content"); c != m.end()) n += content_tokens(*c);
    if (auto r = m.find("role"); r != m.end() && r->is_string())
      n += estimate_text_tokens(r->get_ref<const std::string&>());
    if (auto nm = m.find("name"); nm != m.end() && nm->is_string())
      n += 1 + estimate_text_tokens(nm->get_ref<const std::string&>());
  }
  return n;
}

int64_t estimate_input_tokens(const nlohmann::json& input) {
  if (input.is_string()) return estimate_text_tokens(input.get_ref<const std::string&>());
  int64_t n = 0;
  if (input.is_array())
    for (const auto& i : input)
      if (i.is_string()) n += estimate_text_tokens(i.get_ref<const std::string&>());
  return n;
}

}  // namespace oneapi::tokenizer
