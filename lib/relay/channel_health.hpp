#pragma once
// Channel health: which upstream errors mean a channel is dead (One API's ShouldDisableChannel),
// and turning a channel off or on automatically, with a log row saying why.
#include <boost/asio/awaitable.hpp>
#include <string>

#include "core/result.hpp"
#include "relay/catalog.hpp"
#include "store/executor.hpp"

namespace oneapi::relay {

// One API's rule: 401; error type insufficient_quota, authentication_error, permission_error or
// forbidden; code invalid_api_key or account_deactivated; or a message about a terminated,
// restricted or unpaid account or an invalid key. Only upstream errors count, never the gateway's.
bool should_disable_channel(const Error& e);

// Rebuilds the relay catalog from the database (after every change of channels, tokens, users or
// options).
boost::asio::awaitable<void> reload_catalog(store::StoreExecutor& store, CatalogHolder& catalog);

// AutomaticDisableChannelEnabled: status 3 (auto-disabled) for an enabled channel, with a system
// log row. A channel someone disabled by hand stays as it is. True when it changed.
boost::asio::awaitable<bool> auto_disable_channel(store::StoreExecutor& store, CatalogHolder& catalog,
                                                  int64_t channel_id, std::string reason);
// The same for one key of a multi-key channel: only that key leaves the rotation.
boost::asio::awaitable<bool> auto_disable_channel_key(store::StoreExecutor& store, CatalogHolder& catalog,
                                                      const store::Channel& channel, const std::string& key,
                                                      std::string reason);
// AutomaticEnableChannelEnabled: an auto-disabled channel whose test passed is enabled again.
boost::asio::awaitable<bool> auto_enable_channel(store::StoreExecutor& store, CatalogHolder& catalog,
                                                 int64_t channel_id);

}  // namespace oneapi::relay
