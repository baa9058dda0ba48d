#pragma once
#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace oneapi::net {

struct Header {
  std::string name;
  std::string value;
};
using Headers = std::vector<Header>;

// Content-Type: application/json. (A function, because g++ 12 miscompiles brace-initialised
// string-literal aggregates inside coroutines: "array used as initializer".)
inline Headers json_headers() { return {Header{"Content-Type", "application/json"}}; }

namespace detail {
constexpr std::array<bool, 256> token_chars() {
  std::array<bool, 256> table{};
  for (int c = '0'; c <= '9'; ++c) table[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) table[c] = table[c - 'a' + 'A'] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) table[static_cast<unsigned char>(c)] = true;
  return table;
}
inline constexpr std::array<bool, 256> kTokenChars = token_chars();
}  // namespace detail

// A tchar of RFC 9110: what a header name or a method is made of.
constexpr bool is_token_char(unsigned char c) { return detail::kTokenChars[c]; }

// Whether two header names are the same, ASCII letters compared case-insensitively.
bool same_header_name(std::string_view a, std::string_view b);

// Case-insensitive lookup; empty view when absent.
std::string_view find_header(const Headers& headers, std::string_view name);

}  // namespace oneapi::net
