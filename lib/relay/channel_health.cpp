#include "relay/channel_health.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/util.hpp"

namespace oneapi::relay {

bool should_disable_channel(const Error& e) {
  if (e.kind != ErrorKind::upstream_error) return false;
  if (e.status == 401) return true;
  for (const char* t : {"insufficient_quota", "authentication_error", "permission_error", "forbidden",
                        "AccessDeniedException", "UnrecognizedClientException" /* AWS */})
    if (e.type == t) return true;
  if (e.code == "invalid_api_key" || e.code == "account_deactivated") return true;
  const std::string m = to_lower_ascii(e.message);
  for (const char* k :
       {"your access was terminated", "violation of our policies", "your credit balance is too low",
        "organization has been disabled", "credit", "balance", "permission denied", "organization has been restricted",
        "api key not valid", "api key expired", "invalid x-api-key" /* Anthropic */, "insufficient balance",
        "the security token included in the request is invalid", "operation not allowed",
        "your account is not authorized" /* AWS */, "\xE5\xB7\xB2\xE6\xAC\xA0\xE8\xB4\xB9" /* 已欠费 */})
    if (m.find(k) != std::string::npos) return true;
  return false;
}

boost::asio::awaitable<void> reload_catalog(store::StoreExecutor& store, CatalogHolder& catalog) {
  auto snapshot = co_await store.run([](store::Store& db) { return db.load_snapshot(); });
  if (!snapshot) {
    spdlog::error("reloading the catalog failed: {}", snapshot.error().message);
    co_return;
  }
  catalog.set(Catalog::build(*snapshot));
}

namespace {

// Moves a channel from `from` to `to` status with a system log row, in one transaction.
std::function<Result<bool>(store::Store&)> change_status(int64_t id, store::ChannelStatus from, store::ChannelStatus to,
                                                         std::string why) {
  return [id, from, to, why](store::Store& db) { return db.set_channel_status_if(id, from, to, why); };
}

}  // namespace

boost::asio::awaitable<bool> auto_disable_channel(store::StoreExecutor& store, CatalogHolder& catalog,
                                                  int64_t channel_id, std::string reason) {
  auto job = change_status(channel_id, store::ChannelStatus::enabled, store::ChannelStatus::auto_disabled,
                           "channel #" + std::to_string(channel_id) + " was disabled automatically: " + reason);
  auto changed = co_await store.run(std::move(job));
  if (!changed) {
    spdlog::error("disabling channel #{} failed: {}", channel_id, changed.error().message);
    co_return false;
  }
  if (!*changed) co_return false;
  spdlog::warn("channel #{} disabled automatically: {}", channel_id, reason);
  co_await reload_catalog(store, catalog);
  co_return true;
}

boost::asio::awaitable<bool> auto_disable_channel_key(store::StoreExecutor& store, CatalogHolder& catalog,
                                                      const store::Channel& channel, const std::string& key,
                                                      std::string reason) {
  const auto keys = store::channel_keys(channel);
  const auto at = std::find(keys.begin(), keys.end(), key);
  const std::string which = "key " + std::to_string(at - keys.begin() + 1) + " of " + std::to_string(keys.size());
  std::string why =
      which + " of channel #" + std::to_string(channel.id) + " was taken out of rotation automatically: " + reason;
  const int64_t id = channel.id;
  auto job = [id, hash = store::channel_key_hash(key), why](store::Store& db) {
    return db.disable_channel_key(id, hash, why);
  };
  auto changed = co_await store.run(std::move(job));
  if (!changed) {
    spdlog::error("disabling {} of channel #{} failed: {}", which, id, changed.error().message);
    co_return false;
  }
  if (!*changed) co_return false;
  spdlog::warn("{} of channel #{} taken out of rotation: {}", which, id, reason);
  co_await reload_catalog(store, catalog);
  co_return true;
}

boost::asio::awaitable<bool> auto_enable_channel(store::StoreExecutor& store, CatalogHolder& catalog,
                                                 int64_t channel_id) {
  auto job = change_status(channel_id, store::ChannelStatus::auto_disabled, store::ChannelStatus::enabled,
                           "channel #" + std::to_string(channel_id) + " was enabled again: its test passed");
  auto changed = co_await store.run(std::move(job));
  if (!changed || !*changed) co_return false;
  spdlog::info("channel #{} enabled again: its test passed", channel_id);
  co_await reload_catalog(store, catalog);
  co_return true;
}

}  // namespace oneapi::relay
