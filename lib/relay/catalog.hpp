#pragma once
// The hot path's read model: an immutable snapshot of tokens, users, channels, abilities and
// options, rebuilt after every admin change and swapped atomically. Quota balances are NOT
// trusted from here: pre-charge checks them in the database.
#include <atomic>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "billing/ratios.hpp"
#include "store/models.hpp"

namespace oneapi::relay {

struct ChannelInfo {
  store::Channel channel;
  std::unordered_map<std::string, std::string> model_mapping;
  int64_t rate_limit_per_minute = 0;  // config "rate_limit" (or the Laisky fork's "ratelimit"); 0 = none
  // A channel with several keys in rotation: the channel once per usable key, so adaptors see a
  // single key; empty when it has one. Requests take them in turn.
  std::vector<store::Channel> keyed;
  std::shared_ptr<std::atomic<uint64_t>> next_key;

  // The channel as the next request sends it (with one key).
  const store::Channel& next_sender() const {
    if (keyed.empty()) return channel;
    return keyed[next_key->fetch_add(1, std::memory_order_relaxed) % keyed.size()];
  }
};

struct Route {  // one ability: a channel that serves (group, model)
  const ChannelInfo* channel = nullptr;
  int64_t priority = 0;
  int64_t weight = 0;
};

struct Catalog {
  std::unordered_map<int64_t, store::User> users;
  std::unordered_map<int64_t, store::Token> tokens;
  std::unordered_multimap<uint64_t, int64_t> token_ids_by_fingerprint;
  std::unordered_multimap<uint64_t, int64_t> user_ids_by_access_token;
  std::unordered_map<int64_t, ChannelInfo> channels;
  // group -> model -> enabled routes, highest priority first
  std::unordered_map<std::string, std::unordered_map<std::string, std::vector<Route>>> routes;
  std::unordered_map<std::string, std::string> options;

  billing::Ratios ratios;
  int64_t pre_consumed_quota = 500;
  int64_t quota_per_unit = 500000;
  int retry_times = 0;
  bool approximate_tokens = false;  // ApproximateTokenEnabled
  // Different for every catalog built: what was read under one is not trusted under the next.
  uint64_t serial = 0;

  // Key without "sk-"; compared in constant time.
  const store::Token* find_token(std::string_view key) const;
  const store::User* find_user(int64_t id) const;
  // Management access token (One API's `Authorization: <access_token>`); constant time.
  const store::User* find_user_by_access_token(std::string_view access_token) const;
  const std::vector<Route>* find_routes(const std::string& group, const std::string& model) const;
  // Models a user of `group` can reach, sorted.
  std::vector<std::string> models_for_group(const std::string& group) const;
  std::string option(const std::string& key, const std::string& fallback = {}) const;

  static std::shared_ptr<const Catalog> build(const store::Snapshot& snapshot);
};

// Holds the current snapshot; readers take a copy of the pointer once per request.
class CatalogHolder {
 public:
  std::shared_ptr<const Catalog> get() const { return current_.load(std::memory_order_acquire); }
  void set(std::shared_ptr<const Catalog> c) { current_.store(std::move(c), std::memory_order_release); }

 private:
  std::atomic<std::shared_ptr<const Catalog>> current_{std::make_shared<const Catalog>()};
};

}  // namespace oneapi::relay
