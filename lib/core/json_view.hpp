#pragma once
// A read-only look into JSON text for the relay's hot path: what a response or a stream chunk
// needs (is it JSON, its usage, its generated text) without building a document. A document
// (nlohmann) costs an allocation per member and a copy of every string; on the relay's answers
// that was a fifth of the I/O thread's instructions, and most of a stream's.
//
// Like Go's encoding/json (One API), strings may hold any bytes but control characters: invalid
// UTF-8 and lone surrogates are read, not refused.
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace oneapi::jsonview {

enum class Kind { invalid, object, array, string, number, boolean, null };

// The kind of the value at the start of `value` (after whitespace); `invalid` when it is empty.
// Judged by the first character only: use it on text a scan has already accepted.
Kind kind(std::string_view value);

// The end of the one JSON value starting at `p` (after whitespace), or nullptr when the text from
// `p` is not a valid value.
const char* skip_value(const char* p, const char* end);

// Reads `text` as exactly one JSON object, whitespace around it allowed, in one pass. False when it
// is anything else. Otherwise out[i] is the raw text of the member named keys[i] (the last one when
// a name repeats, as a document keeps it), or empty when there is none.
bool scan_object(std::string_view text, std::initializer_list<std::string_view> keys, std::string_view* out);

// Calls f(element_text) for each element of `array`, a valid JSON array (from a scan). False when
// it is not an array.
template <class F>
bool for_each_element(std::string_view array, F&& f);

// For each element of `array`, a valid JSON array (from a scan), that is an object: fills `out` as
// scan_object does and calls f(). Each element is read once, where for_each_element and then
// scan_object would read it twice. False when `array` is not an array.
template <class F>
bool for_each_object(std::string_view array, std::initializer_list<std::string_view> keys, std::string_view* out,
                     F&& f);

// Whether `array` (from a scan) is an array with at least one element.
bool non_empty_array(std::string_view array);

// Appends the decoded value of `string`, a valid JSON string with its quotes (from a scan).
void append_string(std::string_view string, std::string& out);

// The value of a JSON number (from a scan); 0 for anything else.
double number(std::string_view number);

// ---- implementation of the template ----------------------------------------------------------

namespace detail {
const char* skip_ws(const char* p, const char* end);

// The object at `p` (its '{'): the members named in `keys` into `out`, as scan_object does. Returns
// the end of the object, or nullptr when the text from `p` is not one.
const char* scan_members(const char* p, const char* end, std::initializer_list<std::string_view> keys,
                         std::string_view* out);

// Whether any of the 8 bytes in `v` is '"', '\\' or a control character (below 0x20), or, with
// `non_ascii`, 0x80 or above.
constexpr bool has_string_special(uint64_t v, bool non_ascii) {
  constexpr uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  auto has_zero = [](uint64_t x) { return ((x - ones) & ~x & highs) != 0; };
  const bool below_space = ((v - ones * 0x20) & ~v & highs) != 0;
  return (non_ascii && (v & highs) != 0) || below_space || has_zero(v ^ (ones * '"')) || has_zero(v ^ (ones * '\\'));
}

// The first byte in [p, end) that a string scanner must look at ('"', '\\', a control character,
// and with NonAscii a byte of 0x80 or above), or `end`. Most of a string is none of these: 16
// bytes are tested at a time, then 8, then one.
template <bool NonAscii>
inline const char* find_string_special(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), last_control = _mm_set1_epi8(0x1F);
  for (; end - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i control = _mm_cmpeq_epi8(_mm_min_epu8(v, last_control), v);  // v <= 0x1F, unsigned
    const __m128i hits = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), control);
    unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
    if constexpr (NonAscii) mask |= static_cast<unsigned>(_mm_movemask_epi8(v));
    if (mask != 0) return p + __builtin_ctz(mask);
  }
#endif
  for (; end - p >= 8; p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    if (has_string_special(word, NonAscii)) break;
  }
  for (; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (c == '"' || c == '\\' || c < 0x20 || (NonAscii && c >= 0x80)) break;
  }
  return p;
}

// Calls read(p, end) at the start of each element of `array`; read returns the element's end, or
// nullptr when it is not valid. False when `array` is not an array or an element is not valid.
template <class Read>
bool walk_elements(std::string_view array, Read&& read) {
  const char* end = array.data() + array.size();
  const char* p = skip_ws(array.data(), end);
  if (p == end || *p != '[') return false;
  p = skip_ws(p + 1, end);
  if (p != end && *p == ']') return true;
  while (p != end) {
    const char* value_end = read(p, end);
    if (!value_end) return false;
    p = skip_ws(value_end, end);
    if (p == end || *p != ',') break;
    p = skip_ws(p + 1, end);
  }
  return true;
}
}  // namespace detail

template <class F>
bool for_each_element(std::string_view array, F&& f) {
  return detail::walk_elements(array, [&](const char* p, const char* end) {
    const char* value_end = skip_value(p, end);
    if (value_end) f(std::string_view(p, static_cast<size_t>(value_end - p)));
    return value_end;
  });
}

template <class F>
bool for_each_object(std::string_view array, std::initializer_list<std::string_view> keys, std::string_view* out,
                     F&& f) {
  return detail::walk_elements(array, [&](const char* p, const char* end) {
    if (*p != '{') return skip_value(p, end);
    const char* value_end = detail::scan_members(p, end, keys, out);
    if (value_end) f();
    return value_end;
  });
}

}  // namespace oneapi::jsonview
