#pragma once
// Redis client on Asio (hiredis only encodes commands and parses replies; no hiredis I/O).
// RedisClient pipelines commands from any number of coroutines over one lazily (re)connected
// socket, replies matched to requests in order. RedisSubscriber keeps a SUBSCRIBE connection alive.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace oneapi::cache {

// REDIS_CONN_STRING as One API reads it (go-redis ParseURL): redis://[user][:password@]host[:port][/db]
struct RedisUrl {
  std::string host = "localhost";
  uint16_t port = 6379;
  std::string username;  // Redis 6 ACL user; empty = the default user
  std::string password;  // empty = no AUTH
  int db = 0;
  // "host:port", for error messages (never the password).
  std::string endpoint() const;
};

Result<RedisUrl> parse_redis_url(std::string_view url);

struct Reply {
  enum class Type { nil, integer, string, array, error, status };
  Type type = Type::nil;
  long long integer = 0;
  std::string str;  // string, error and status text
  std::vector<Reply> elements;

  bool is_nil() const { return type == Type::nil; }
  bool is_error() const { return type == Type::error; }
};

struct RedisOptions {
  std::chrono::milliseconds connect_timeout{3'000};  // DNS + TCP connect + AUTH + SELECT
  std::chrono::milliseconds command_timeout{3'000};  // from write to reply
};

// {"SET", key, value} as a command's arguments. Inside a coroutine, g++ 12 miscompiles a braced
// list within a co_await expression: co_await client.command(command_args("GET", key)) is safe.
template <class... Parts>
std::vector<std::string> command_args(Parts&&... parts) {
  return {std::string(std::forward<Parts>(parts))...};
}

class RedisClient {
 public:
  RedisClient(boost::asio::any_io_executor executor, RedisUrl url, RedisOptions options = {});
  ~RedisClient();  // closes the connection; commands still waiting fail
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends one command, e.g. {"SET", "k", "v"}. A top-level error reply (-ERR …) and every
  // connection problem (refused, timeout, lost) are errors; nested error replies (inside EXEC or
  // EVAL arrays) stay Reply::Type::error. Safe to call from any thread and any number of coroutines.
  boost::asio::awaitable<Result<Reply>> command(std::vector<std::string> args);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Subscribes to channels on its own connection and calls on_message(channel, payload) for each
// message, on the subscriber's strand. When the connection breaks it reconnects with a backoff
// (doubling from 100 ms up to max_backoff) until stop(). on_subscribed runs after every
// (re)subscription: messages published while disconnected are lost, so a cache can resync there.
class RedisSubscriber {
 public:
  using MessageHandler = std::function<void(const std::string& channel, const std::string& payload)>;
  using SubscribedHandler = std::function<void()>;

  RedisSubscriber(boost::asio::any_io_executor executor, RedisUrl url, std::vector<std::string> channels,
                  MessageHandler on_message, SubscribedHandler on_subscribed = {}, RedisOptions options = {},
                  std::chrono::milliseconds max_backoff = std::chrono::milliseconds{5'000});
  ~RedisSubscriber();  // stops
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  void start();
  // Closes the connection and ends the loop; no callback runs after the loop has seen it.
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace oneapi::cache
