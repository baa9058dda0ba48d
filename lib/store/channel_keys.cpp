#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/util.hpp"
#include "store/models.hpp"

namespace oneapi::store {

std::vector<std::string> channel_keys(const Channel& c) {
  std::vector<std::string> keys;
  // A JSON credential (Vertex AI's service-account file) spans lines but is one key.
  if (const std::string_view whole = trim(c.key); whole.size() > 1 && whole.front() == '{' && whole.back() == '}')
    if (nlohmann::json::accept(whole)) return {std::string(whole)};
  std::string_view rest = c.key;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = trim(rest.substr(0, nl));
    if (!line.empty()) keys.emplace_back(line);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  return keys;
}

std::vector<std::string> usable_channel_keys(const Channel& c) {
  std::vector<std::string> keys = channel_keys(c);
  if (c.disabled_keys.empty()) return keys;
  std::vector<std::string> usable;
  for (auto& k : keys) {
    const std::string hash = channel_key_hash(k);
    const bool disabled = std::any_of(c.disabled_keys.begin(), c.disabled_keys.end(),
                                      [&](const DisabledKey& d) { return d.key_hash == hash; });
    if (!disabled) usable.push_back(std::move(k));
  }
  return usable.empty() ? channel_keys(c) : usable;
}

std::string channel_key_hash(std::string_view key) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(key_fingerprint(key)));
  return hex;
}

}  // namespace oneapi::store
