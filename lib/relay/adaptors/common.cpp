#include "relay/adaptors/common.hpp"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/util.hpp"
#include "relay/adaptor.hpp"

namespace oneapi::relay::adaptors {

std::string configured_api_version(const store::Channel& channel) {
  if (!channel.config.empty()) {
    auto cfg = nlohmann::json::parse(channel.config, nullptr, false);
    if (cfg.is_object())
      if (auto v = cfg.find("api_version"); v != cfg.end() && v->is_string()) {
        std::string version(trim(v->get_ref<const std::string&>()));
        if (!version.empty()) return version;
      }
  }
  return std::string(trim(channel.other));
}

std::string channel_base_url(const store::Channel& channel) {
  std::string_view base = channel.base_url;
  if (base.empty()) base = default_base_url(channel.type);
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  return std::string(base);
}

std::string env_or(const char* name, std::string_view fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : std::string(fallback);
}

int64_t token_count(double reported) { return reported > 0 ? static_cast<int64_t>(std::min(reported, 1e12)) : 0; }

int64_t count_of(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return 0;
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number()) return 0;
  return token_count(it->get<double>());
}

}  // namespace oneapi::relay::adaptors
