#include "net/http_types.hpp"

namespace oneapi::net {

namespace {
char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }
}  // namespace

bool same_header_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string_view find_header(const Headers& headers, std::string_view name) {
  for (const auto& h : headers)
    if (same_header_name(h.name, name)) return h.value;
  return {};
}

}  // namespace oneapi::net
