#pragma once
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

// Whether two header names are the same, ASCII letters compared case-insensitively.
bool same_header_name(std::string_view a, std::string_view b);

// Case-insensitive lookup; empty view when absent.
std::string_view find_header(const Headers& headers, std::string_view name);

}  // namespace oneapi::net
