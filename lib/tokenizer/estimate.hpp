#pragma once
// Estimated token counts (about 4 ASCII characters or 1 CJK character per token): what
// tokenizer.hpp's count_* functions fall back to when the tiktoken rank files are not loaded.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string_view>

namespace oneapi::tokenizer {

int64_t estimate_text_tokens(std::string_view text);
// Chat prompt with One API's overheads: +3 per message, +1 per name, +3 reply priming.
int64_t estimate_chat_prompt_tokens(const nlohmann::json& messages);
// "prompt" or "input" of completions/embeddings: a string or an array of strings.
int64_t estimate_input_tokens(const nlohmann::json& input);

}  // namespace oneapi::tokenizer
