#pragma once
// Token counts for billing when the upstream reports no usage, and for prompt pre-charges: exact
// tiktoken counts (cl100k_base, o200k_base) when the rank files are there, else the estimate of
// estimate.hpp. The rank files are loaded once at startup (init_tokenizers) and never change after.
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "tokenizer/bpe.hpp"

namespace oneapi::tokenizer {

enum class EncodingName { cl100k_base, o200k_base };
std::string_view encoding_name(EncodingName e);
// One API's rule: o200k_base for gpt-4o*, chatgpt-4o*, o1*, o3*, o4*, gpt-4.1*, gpt-4.5*, gpt-5*;
// cl100k_base for every other model.
EncodingName encoding_for_model(std::string_view model);

struct TokenizerSet {
  std::unique_ptr<const Bpe> cl100k;
  std::unique_ptr<const Bpe> o200k;
  const Bpe* get(EncodingName e) const { return e == EncodingName::o200k_base ? o200k.get() : cl100k.get(); }
};

// Where the rank files are looked for: $TIKTOKEN_CACHE_DIR, else $DATA_GYM_CACHE_DIR (tiktoken's
// and One API's variables), else <data_dir>/tiktoken.
std::string tiktoken_dir(const std::string& data_dir);

// Loads cl100k_base and o200k_base from `dir`: <name>.tiktoken, or the file named as tiktoken's own
// cache names it (the SHA-1 of the download URL), so an existing tiktoken cache works as is.
// An Error (naming the missing or malformed file) unless both load.
Result<std::shared_ptr<const TokenizerSet>> load_tokenizers(const std::string& dir);

struct LoadReport {
  std::string dir;
  bool exact = false;  // both encodings loaded
  std::string problem;
  double milliseconds = 0;
};
// At daemon startup: load_tokenizers(tiktoken_dir(data_dir)), install the result, and log one line:
// info when loaded, else one warning that counts are estimated and how to fix it.
LoadReport init_tokenizers(const std::string& data_dir);

// The process-wide set the count_* functions use; nullptr (the initial state) means estimates.
void install_tokenizers(std::shared_ptr<const TokenizerSet> set);
std::shared_ptr<const TokenizerSet> installed_tokenizers();

// How a text's tokens are counted. approximate is One API's ApproximateTokenEnabled: the text's
// length in bytes × 0.38, rounded down, without running the tokenizer.
enum class Counting { tiktoken, approximate };

// Thread-safe. With Counting::tiktoken: exact when the set is installed, else estimate_*.
int64_t count_text_tokens(std::string_view model, std::string_view text, Counting how = Counting::tiktoken);
// One API's chat formula: per message 3 (gpt-3.5-turbo-0301: 4) + content + role, and with a name
// 1 (0301: -1) + name; then 3 for the reply's priming.
int64_t count_chat_prompt_tokens(std::string_view model, const nlohmann::json& messages,
                                 Counting how = Counting::tiktoken);
// "prompt" of completions or "input" of embeddings: a string, an array of strings (each counted on
// its own), a token-id array or an array of token-id arrays (their lengths).
int64_t count_input_tokens(std::string_view model, const nlohmann::json& input, Counting how = Counting::tiktoken);

}  // namespace oneapi::tokenizer
