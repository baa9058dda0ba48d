#include "relay/catalog.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <nlohmann/json.hpp>
#include <set>

#include "core/util.hpp"

namespace oneapi::relay {

const store::Token* Catalog::find_token(std::string_view key) const {
  auto [begin, end] = token_ids_by_fingerprint.equal_range(key_fingerprint(key));
  for (auto it = begin; it != end; ++it) {
    auto t = tokens.find(it->second);
    if (t != tokens.end() && constant_time_equal(t->second.key, key)) return &t->second;
  }
  return nullptr;
}

const store::User* Catalog::find_user_by_access_token(std::string_view access_token) const {
  if (access_token.empty()) return nullptr;
  auto [begin, end] = user_ids_by_access_token.equal_range(key_fingerprint(access_token));
  for (auto it = begin; it != end; ++it) {
    auto u = users.find(it->second);
    if (u != users.end() && constant_time_equal(u->second.access_token, access_token)) return &u->second;
  }
  return nullptr;
}

const store::User* Catalog::find_user(int64_t id) const {
  auto it = users.find(id);
  return it == users.end() ? nullptr : &it->second;
}

const std::vector<Route>* Catalog::find_routes(const std::string& group, const std::string& model) const {
  auto g = routes.find(group);
  if (g == routes.end()) return nullptr;
  auto m = g->second.find(model);
  if (m == g->second.end() || m->second.empty()) return nullptr;
  return &m->second;
}

std::vector<std::string> Catalog::models_for_group(const std::string& group) const {
  std::vector<std::string> out;
  auto g = routes.find(group);
  if (g == routes.end()) return out;
  for (const auto& [model, list] : g->second)
    if (!list.empty()) out.push_back(model);
  std::sort(out.begin(), out.end());
  return out;
}

std::string Catalog::option(const std::string& key, const std::string& fallback) const {
  auto it = options.find(key);
  return it == options.end() ? fallback : it->second;
}

namespace {
int64_t int_option(const std::unordered_map<std::string, std::string>& options, const char* key, int64_t fallback) {
  auto it = options.find(key);
  if (it == options.end()) return fallback;
  try {
    return std::stoll(it->second);
  } catch (...) {
    spdlog::warn("option {} has a non-integer value; using {}", key, fallback);
    return fallback;
  }
}
}  // namespace

std::shared_ptr<const Catalog> Catalog::build(const store::Snapshot& snapshot) {
  auto c = std::make_shared<Catalog>();
  static std::atomic<uint64_t> built{0};
  c->serial = ++built;
  for (const auto& [k, v] : snapshot.options) c->options[k] = v;
  for (const auto& u : snapshot.users) {
    c->users.emplace(u.id, u);
    if (!u.access_token.empty()) c->user_ids_by_access_token.emplace(key_fingerprint(u.access_token), u.id);
  }
  for (const auto& t : snapshot.tokens) {
    c->tokens.emplace(t.id, t);
    c->token_ids_by_fingerprint.emplace(key_fingerprint(t.key), t.id);
  }
  for (const auto& ch : snapshot.channels) {
    ChannelInfo info{ch, {}, 0, {}, nullptr};
    if (auto keys = store::usable_channel_keys(ch); keys.size() > 1) {
      for (auto& k : keys) {
        store::Channel one = ch;
        one.key = std::move(k);
        one.disabled_keys.clear();
        info.keyed.push_back(std::move(one));
      }
      info.next_key = std::make_shared<std::atomic<uint64_t>>(0);
    } else if (keys.size() == 1) {
      info.channel.key = std::move(keys.front());  // without the blank lines or spaces around it
    }
    if (!ch.model_mapping.empty()) {
      auto j = nlohmann::json::parse(ch.model_mapping, nullptr, false);
      if (j.is_object()) {
        for (auto& [from, to] : j.items())
          if (to.is_string() && !to.get<std::string>().empty()) info.model_mapping[from] = to.get<std::string>();
      } else {
        spdlog::warn("channel #{} has an invalid model_mapping; ignored", ch.id);
      }
    }
    if (!ch.config.empty()) {
      auto j = nlohmann::json::parse(ch.config, nullptr, false);
      for (const char* key : {"rate_limit", "ratelimit"})
        if (j.is_object() && j.contains(key) && j[key].is_number_integer())
          info.rate_limit_per_minute = std::max<int64_t>(0, j[key].get<int64_t>());
    }
    c->channels.emplace(ch.id, std::move(info));
  }
  for (const auto& a : snapshot.abilities) {
    if (!a.enabled) continue;
    auto ch = c->channels.find(a.channel_id);
    if (ch == c->channels.end() || ch->second.channel.status != static_cast<int>(store::ChannelStatus::enabled))
      continue;
    c->routes[a.group][a.model].push_back(Route{&ch->second, a.priority, ch->second.channel.weight});
  }
  for (auto& [group, models] : c->routes)
    for (auto& [model, list] : models)
      std::stable_sort(list.begin(), list.end(),
                       [](const Route& a, const Route& b) { return a.priority > b.priority; });

  auto apply = [&](const char* key, Result<void> (billing::Ratios::*set)(std::string_view)) {
    auto it = c->options.find(key);
    if (it == c->options.end() || it->second.empty()) return;
    auto r = (c->ratios.*set)(it->second);
    if (!r) spdlog::warn("option {} is invalid ({}); using defaults", key, r.error().message);
  };
  apply("ModelRatio", &billing::Ratios::set_model_ratios);
  apply("CompletionRatio", &billing::Ratios::set_completion_ratios);
  apply("GroupRatio", &billing::Ratios::set_group_ratios);
  apply("CachedInputRatio", &billing::Ratios::set_cached_input_ratios);
  c->pre_consumed_quota = int_option(c->options, "PreConsumedQuota", 500);
  c->quota_per_unit = int_option(c->options, "QuotaPerUnit", billing::kDefaultQuotaPerUnit);
  c->retry_times = static_cast<int>(int_option(c->options, "RetryTimes", 0));
  c->approximate_tokens = c->option("ApproximateTokenEnabled", "false") == "true";
  return c;
}

}  // namespace oneapi::relay
