#pragma once
// What one oneapid node shares with the others through Redis (REDIS_CONN_STRING): catalog
// changes and channel suspensions by PUBLISH/SUBSCRIBE, and GLOBAL_*_RATE_LIMIT counts. Redis
// trouble never fails a caller: it is logged (at most once a minute per kind) and the node goes on
// with what it knows alone (the periodic SYNC_FREQUENCY reload, its local rate limiter).
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cache/redis.hpp"
#include "core/result.hpp"

namespace oneapi::cache {

inline constexpr const char* kSyncChannel = "oneapi:sync";        // payload: the sender's node name
inline constexpr const char* kSuspendChannel = "oneapi:suspend";  // "<channel id> <seconds> <node name>"

class ClusterLink {
 public:
  struct Handlers {
    // Rebuilds this node's catalog from the database.
    std::function<boost::asio::awaitable<void>()> reload_catalog;
    // Another node rested a channel.
    std::function<void(int64_t channel_id, std::chrono::seconds for_how_long)> suspend_channel;
  };

  ClusterLink(boost::asio::any_io_executor executor, RedisUrl url, std::string node_name, Handlers handlers);
  ~ClusterLink();  // stops
  ClusterLink(const ClusterLink&) = delete;
  ClusterLink& operator=(const ClusterLink&) = delete;

  // Subscribes to oneapi:sync and oneapi:suspend; reloads the catalog after every (re)subscribe,
  // since messages sent meanwhile are lost.
  void start();
  void stop();

  // Fire and forget: the caller never waits for Redis.
  void publish_catalog_changed();
  void publish_suspension(int64_t channel_id, std::chrono::seconds for_how_long);

  // Reloads the catalog soon: one reload runs at a time, and requests made meanwhile make one more.
  void request_reload();

  // One admission under oneapi:rl:<kind>:<key>, a fixed window of `window` counted by all nodes:
  // 0 = admitted (and counted), else the seconds until the window ends. An error when Redis did
  // not answer (or failed less than a second ago): the caller counts locally instead.
  boost::asio::awaitable<Result<int64_t>> acquire(std::string_view kind, std::string_view key, int64_t limit,
                                                  std::chrono::seconds window);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace oneapi::cache
