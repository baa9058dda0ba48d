#pragma once
// The character classes of the tiktoken pre-tokenizer regexes (see pretokenize.hpp). Each code point
// is in exactly one class; \p{L} is upper + lower + letter_other, \p{M} is mark, \p{N} is number and
// \s is space (the Unicode White_Space property).
#include <cstdint>
#include <span>
#include <string_view>

namespace oneapi::tokenizer::unicode {

enum class CharClass : uint8_t {
  other,
  upper,         // Lu, Lt
  lower,         // Ll
  letter_other,  // Lm, Lo
  mark,          // Mn, Mc, Me
  number,        // Nd, Nl, No
  space,         // White_Space
};

struct CharRange {
  char32_t first;
  char32_t last;
  CharClass cls;
};

// Sorted, disjoint; code points outside every range are CharClass::other. Generated into
// unicode_tables.cpp by scripts/gen-unicode-tables.py.
std::span<const CharRange> char_ranges();
std::string_view unicode_version();

CharClass char_class(char32_t cp);

}  // namespace oneapi::tokenizer::unicode
