#pragma once
// Channel types oneapictl knows by name; the numbers are One API's (relay/channeltype).
#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace oneapi::cli {

struct ChannelType {
  std::string_view name;
  int id;
};

inline constexpr std::array<ChannelType, 9> kChannelTypes{{
    {"openai", 1},
    {"azure", 3},
    {"custom", 8},
    {"anthropic", 14},
    {"gemini", 24},
    {"bedrock", 33},
    {"aws", 33},
    {"deepseek", 36},
    {"openai-compatible", 50},
}};

// A name from the table or a positive number (the daemon says whether it supports the number).
inline std::optional<int> parse_channel_type(std::string_view s) {
  for (const auto& t : kChannelTypes)
    if (t.name == s) return t.id;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc() && p == s.data() + s.size() && v > 0) return v;
  return std::nullopt;
}

inline std::string channel_type_name(int id) {
  for (const auto& t : kChannelTypes)
    if (t.id == id) return std::string(t.name);
  return std::to_string(id);
}

// "openai, azure, …" for help texts.
inline std::string channel_type_names() {
  std::string out;
  for (const auto& t : kChannelTypes) {
    if (!out.empty()) out += ", ";
    out += t.name;
  }
  return out;
}

}  // namespace oneapi::cli
