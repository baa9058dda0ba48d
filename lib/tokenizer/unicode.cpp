#include "tokenizer/unicode.hpp"

#include <algorithm>
#include <array>

namespace oneapi::tokenizer::unicode {

namespace {

// The Basic Multilingual Plane is looked up in a 64 KiB table, the rest by binary search: nearly all
// text stays in the BMP, and this keeps the pre-tokenizer's per-character cost to one load.
using BmpTable = std::array<CharClass, 0x10000>;

const BmpTable& bmp_table() {
  static const BmpTable table = [] {
    BmpTable t{};
    for (const CharRange& r : char_ranges()) {
      if (r.first >= 0x10000) break;
      for (char32_t cp = r.first; cp <= r.last && cp < 0x10000; ++cp) t[cp] = r.cls;
    }
    return t;
  }();
  return table;
}

}  // namespace

CharClass char_class(char32_t cp) {
  if (cp < 0x10000) return bmp_table()[cp];
  auto ranges = char_ranges();
  auto it =
      std::upper_bound(ranges.begin(), ranges.end(), cp, [](char32_t c, const CharRange& r) { return c < r.first; });
  if (it == ranges.begin()) return CharClass::other;
  --it;
  return cp <= it->last ? it->cls : CharClass::other;
}

}  // namespace oneapi::tokenizer::unicode
