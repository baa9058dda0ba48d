#pragma once
// The pre-tokenizers of cl100k_base and o200k_base: tiktoken splits text with a regex before the
// byte-pair merge. std::regex has no \p{L}, so both regexes are matched by hand here, with the
// regex's leftmost-first, backtracking semantics (pretokenize.cpp derives each alternative).
#include <cstddef>
#include <string>
#include <string_view>

namespace oneapi::tokenizer {

enum class Pattern {
  // 's|'t|'re|'ve|'m|'ll|'d (either case) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3}
  // | ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
  cl100k,
  // [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(contraction)?
  // | [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(contraction)?
  // | \p{N}{1,3} | ?[^\s\p{L}\p{N}]+[\r\n/]* | \s*[\r\n]+ | \s+(?!\S) | \s+
  o200k,
};

// Yields the regex matches of `text` in order; together they cover all of it. `text` must be
// well-formed UTF-8 (see repair_utf8).
class Pretokenizer {
 public:
  Pretokenizer(Pattern pattern, std::string_view text) : pattern_(pattern), text_(text) {}
  bool next(std::string_view& piece);

 private:
  size_t match_cl100k(size_t i) const;
  size_t match_o200k(size_t i) const;

  Pattern pattern_;
  std::string_view text_;
  size_t pos_ = 0;
};

bool is_valid_utf8(std::string_view text);
// Replaces every ill-formed subsequence by U+FFFD, one per maximal subpart (the WHATWG/Unicode
// recommendation, which is also what Python's errors="replace" and JavaScript's TextDecoder do).
std::string repair_utf8(std::string_view text);

}  // namespace oneapi::tokenizer
