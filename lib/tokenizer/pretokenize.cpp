#include "tokenizer/pretokenize.hpp"

#include "tokenizer/unicode.hpp"

namespace oneapi::tokenizer {

namespace {

using unicode::CharClass;
constexpr size_t npos = std::string_view::npos;

struct Char {
  char32_t cp;
  uint32_t len;
  CharClass cls;
};

// `s` is well-formed UTF-8 and i < s.size().
Char char_at(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char b0 = b(0);
  char32_t cp;
  uint32_t len;
  if (b0 < 0x80) {
    cp = b0;
    len = 1;
  } else if (b0 < 0xE0) {
    cp = (char32_t(b0 & 0x1F) << 6) | (b(1) & 0x3F);
    len = 2;
  } else if (b0 < 0xF0) {
    cp = (char32_t(b0 & 0x0F) << 12) | (char32_t(b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    len = 3;
  } else {
    cp = (char32_t(b0 & 0x07) << 18) | (char32_t(b(1) & 0x3F) << 12) | (char32_t(b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    len = 4;
  }
  return {cp, len, unicode::char_class(cp)};
}

bool is_letter(const Char& c) {
  return c.cls == CharClass::upper || c.cls == CharClass::lower || c.cls == CharClass::letter_other;
}
bool is_number(const Char& c) { return c.cls == CharClass::number; }
bool is_space(const Char& c) { return c.cls == CharClass::space; }
bool is_newline(const Char& c) { return c.cp == '\r' || c.cp == '\n'; }
// [^\r\n\p{L}\p{N}]: the optional character before a word.
bool is_word_prefix(const Char& c) { return !is_newline(c) && !is_letter(c) && !is_number(c); }
// [^\s\p{L}\p{N}]: punctuation, symbols, marks, controls.
bool is_symbol(const Char& c) { return !is_space(c) && !is_letter(c) && !is_number(c); }
// o200k's [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and [\p{Ll}\p{Lm}\p{Lo}\p{M}].
bool is_upperish(const Char& c) {
  return c.cls == CharClass::upper || c.cls == CharClass::letter_other || c.cls == CharClass::mark;
}
bool is_lowerish(const Char& c) {
  return c.cls == CharClass::lower || c.cls == CharClass::letter_other || c.cls == CharClass::mark;
}

template <class Pred>
size_t skip_while(std::string_view s, size_t i, Pred pred) {
  while (i < s.size()) {
    Char c = char_at(s, i);
    if (!pred(c)) break;
    i += c.len;
  }
  return i;
}

// Length of 's 't 're 've 'm 'll 'd (each letter in either case) at i, else 0. The regexes spell
// the cases out ('s|'S|...|'LL), so only ASCII letters match.
size_t contraction_len(std::string_view s, size_t i) {
  if (i + 1 >= s.size() || s[i] != '\'') return 0;
  const auto lower = [](char ch) { return ch >= 'A' && ch <= 'Z' ? char(ch - 'A' + 'a') : ch; };
  const char a = lower(s[i + 1]);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= s.size()) return 0;
  const char b = lower(s[i + 2]);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

// \p{N}{1,3}; s[i] is a number.
size_t numbers_end(std::string_view s, size_t i) {
  for (int k = 0; k < 3 && i < s.size(); ++k) {
    Char c = char_at(s, i);
    if (!is_number(c)) break;
    i += c.len;
  }
  return i;
}

// " ?[^\s\p{L}\p{N}]+" followed by `tail`* (cl100k: [\r\n], o200k: [\r\n/]); npos if no match.
template <class Tail>
size_t symbols_end(std::string_view s, size_t i, Tail tail) {
  size_t j = i;
  if (s[i] == ' ' && i + 1 < s.size() && is_symbol(char_at(s, i + 1)))
    j = i + 1;
  else if (!is_symbol(char_at(s, i)))
    return npos;  // without the space: a space is no symbol either
  j = skip_while(s, j, is_symbol);
  return skip_while(s, j, tail);
}

// The three whitespace alternatives, s[i] being whitespace:
//   \s*[\r\n]+  : \s* backtracks to the last newline of the whitespace run; the match ends after it;
//   \s+(?!\S)   : the whole run at the end of the text, else the run but its last character (so
//                 that character can start the next word), if that leaves anything;
//   \s+         : otherwise the single whitespace character.
size_t whitespace_end(std::string_view s, size_t i) {
  size_t j = i, last_newline_end = npos, last_start = i;
  while (j < s.size()) {
    Char c = char_at(s, j);
    if (!is_space(c)) break;
    if (is_newline(c)) last_newline_end = j + c.len;
    last_start = j;
    j += c.len;
  }
  if (last_newline_end != npos) return last_newline_end;
  if (j == s.size()) return j;
  if (last_start > i) return last_start;
  return j;
}

// o200k's first word alternative from s (after the optional prefix): U* W+ contraction?, where
// U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and W = [\p{Ll}\p{Lm}\p{Lo}\p{M}]. U* is greedy: if no W
// follows the U run, it gives characters back until the last one that is also a W (Lm, Lo, M),
// which then alone makes W+.
size_t o200k_word1_end(std::string_view s, size_t start) {
  size_t p = start, both_end = npos;
  while (p < s.size()) {
    Char c = char_at(s, p);
    if (!is_upperish(c)) break;
    if (is_lowerish(c)) both_end = p + c.len;
    p += c.len;
  }
  size_t e;
  if (p < s.size() && is_lowerish(char_at(s, p)))
    e = skip_while(s, p, is_lowerish);
  else if (both_end != npos)
    e = both_end;
  else
    return npos;
  return e + contraction_len(s, e);
}

// o200k's second word alternative: U+ W* contraction?.
size_t o200k_word2_end(std::string_view s, size_t start) {
  size_t p = skip_while(s, start, is_upperish);
  if (p == start) return npos;
  p = skip_while(s, p, is_lowerish);
  return p + contraction_len(s, p);
}

}  // namespace

size_t Pretokenizer::match_cl100k(size_t i) const {
  const std::string_view s = text_;
  const Char c = char_at(s, i);
  if (size_t n = contraction_len(s, i)) return i + n;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (is_letter(c)) return skip_while(s, i + c.len, is_letter);
  if (is_word_prefix(c) && i + c.len < s.size()) {
    Char d = char_at(s, i + c.len);
    if (is_letter(d)) return skip_while(s, i + c.len + d.len, is_letter);
  }
  if (is_number(c)) return numbers_end(s, i);
  if (size_t e = symbols_end(s, i, is_newline); e != npos) return e;
  return whitespace_end(s, i);  // c is whitespace: nothing else is left
}

size_t Pretokenizer::match_o200k(size_t i) const {
  const std::string_view s = text_;
  const Char c = char_at(s, i);
  const bool prefix = is_word_prefix(c) && i + c.len < s.size();
  // Each alternative tries with the optional prefix character first, then without.
  if (prefix)
    if (size_t e = o200k_word1_end(s, i + c.len); e != npos) return e;
  if (size_t e = o200k_word1_end(s, i); e != npos) return e;
  if (prefix)
    if (size_t e = o200k_word2_end(s, i + c.len); e != npos) return e;
  if (size_t e = o200k_word2_end(s, i); e != npos) return e;
  if (is_number(c)) return numbers_end(s, i);
  if (size_t e = symbols_end(s, i, [](const Char& t) { return is_newline(t) || t.cp == '/'; }); e != npos) return e;
  return whitespace_end(s, i);
}

bool Pretokenizer::next(std::string_view& piece) {
  if (pos_ >= text_.size()) return false;
  const size_t end = pattern_ == Pattern::cl100k ? match_cl100k(pos_) : match_o200k(pos_);
  piece = text_.substr(pos_, end - pos_);
  pos_ = end;
  return true;
}

namespace {

// Length of the well-formed sequence at i, or 0 with `bad` set to the length of the maximal
// subpart of an ill-formed one (at least 1).
size_t utf8_sequence(std::string_view s, size_t i, size_t& bad) {
  const auto at = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char b0 = at(0);
  if (b0 < 0x80) return 1;
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    bad = 1;
    return 0;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= s.size()) {
      bad = k;
      return 0;
    }
    const unsigned char b = at(k);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) {
      bad = k;
      return 0;
    }
  }
  return need + 1;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  size_t bad = 0;
  for (size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = utf8_sequence(text, i, bad);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string repair_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  size_t bad = 0;
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_sequence(text, i, bad);
    if (n > 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out.append("\xEF\xBF\xBD");
      i += bad;
    }
  }
  return out;
}

}  // namespace oneapi::tokenizer
