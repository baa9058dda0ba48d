#include "cache/cluster.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <mutex>

namespace oneapi::cache {

namespace asio = boost::asio;

namespace {

// A fixed window per key: refused requests are not counted, the first one sets the expiry.
// KEYS[1] the counter, ARGV[1] the limit, ARGV[2] the window in seconds. Returns 0 when admitted,
// else the seconds left in the window.
constexpr const char* kRateScript = R"(local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n >= tonumber(ARGV[1]) then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 0 then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    ttl = tonumber(ARGV[2])
  end
  if ttl < 1 then ttl = 1 end
  return ttl
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0)";

// After a failed rate-limit command, requests skip Redis this long: an unreachable server must
// not add its timeout to every request.
constexpr std::chrono::milliseconds kRateBypass{1'000};

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// At most one log line a minute per kind of trouble.
class LogGate {
 public:
  bool allow() {
    const int64_t now = steady_ms();
    int64_t next = next_.load(std::memory_order_relaxed);
    return now >= next && next_.compare_exchange_strong(next, now + 60'000);
  }

 private:
  std::atomic<int64_t> next_{0};
};

RedisOptions short_timeouts() {
  RedisOptions o;
  o.connect_timeout = std::chrono::milliseconds(1'000);
  o.command_timeout = std::chrono::milliseconds(1'000);
  return o;
}

}  // namespace

struct ClusterLink::State {
  State(asio::any_io_executor ex, RedisUrl u, std::string node, Handlers h)
      : executor(ex),
        url(std::move(u)),
        node_name(std::move(node)),
        handlers(std::move(h)),
        client(ex, url, short_timeouts()) {}

  asio::any_io_executor executor;
  RedisUrl url;
  std::string node_name;
  Handlers handlers;
  RedisClient client;
  std::unique_ptr<RedisSubscriber> subscriber;
  std::string rate_script_sha;  // set by SCRIPT LOAD at start; EVAL when unknown
  std::mutex mu;
  bool reload_running = false;
  bool reload_queued = false;
  std::atomic<int64_t> rate_bypass_until{0};
  LogGate publish_log, rate_log;
};

namespace {

asio::awaitable<void> publish(std::shared_ptr<ClusterLink::State> s, std::string channel, std::string payload) {
  auto args = command_args("PUBLISH", channel, payload);
  auto sent = co_await s->client.command(std::move(args));
  if (!sent && s->publish_log.allow())
    spdlog::warn("redis {}: telling the other nodes on {} failed (they catch up at SYNC_FREQUENCY): {}",
                 s->url.endpoint(), channel, sent.error().message);
}

asio::awaitable<void> reload_loop(std::shared_ptr<ClusterLink::State> s) {
  for (;;) {
    co_await s->handlers.reload_catalog();
    std::lock_guard lock(s->mu);
    if (!s->reload_queued) {
      s->reload_running = false;
      co_return;
    }
    s->reload_queued = false;
  }
}

asio::awaitable<void> load_rate_script(std::shared_ptr<ClusterLink::State> s) {
  auto args = command_args("SCRIPT", "LOAD", kRateScript);
  auto loaded = co_await s->client.command(std::move(args));
  if (loaded && loaded->type == Reply::Type::string) {
    std::lock_guard lock(s->mu);
    s->rate_script_sha = loaded->str;
  }
}

void request_reload_of(const std::shared_ptr<ClusterLink::State>& s) {
  {
    std::lock_guard lock(s->mu);
    if (s->reload_running) {
      s->reload_queued = true;
      return;
    }
    s->reload_running = true;
  }
  asio::co_spawn(s->executor, reload_loop(s), asio::detached);
}

int64_t parse_int(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() && end == text.data() + text.size() ? v : -1;
}

void on_message(const std::weak_ptr<ClusterLink::State>& weak, const std::string& channel, const std::string& payload) {
  auto s = weak.lock();
  if (!s) return;
  if (channel == kSyncChannel) {
    if (payload != s->node_name) request_reload_of(s);
    return;
  }
  if (channel != kSuspendChannel) return;
  // "<channel id> <seconds> <node name>"
  const auto first = payload.find(' ');
  const auto second = first == std::string::npos ? std::string::npos : payload.find(' ', first + 1);
  if (second == std::string::npos || payload.compare(second + 1, std::string::npos, s->node_name) == 0) return;
  const std::string_view text(payload);
  const int64_t id = parse_int(text.substr(0, first));
  const int64_t seconds = parse_int(text.substr(first + 1, second - first - 1));
  if (id > 0 && seconds > 0 && s->handlers.suspend_channel)
    s->handlers.suspend_channel(id, std::chrono::seconds(seconds));
}

}  // namespace

ClusterLink::ClusterLink(asio::any_io_executor executor, RedisUrl url, std::string node_name, Handlers handlers)
    : state_(std::make_shared<State>(executor, std::move(url), std::move(node_name), std::move(handlers))) {}

ClusterLink::~ClusterLink() { stop(); }

void ClusterLink::start() {
  std::weak_ptr<State> weak = state_;
  auto message = [weak](const std::string& channel, const std::string& payload) { on_message(weak, channel, payload); };
  auto subscribed = [weak] {
    auto s = weak.lock();
    if (!s) return;
    spdlog::info("redis {}: subscribed to {} and {}", s->url.endpoint(), kSyncChannel, kSuspendChannel);
    request_reload_of(s);
    asio::co_spawn(s->executor, load_rate_script(s), asio::detached);
  };
  state_->subscriber = std::make_unique<RedisSubscriber>(state_->executor, state_->url,
                                                         std::vector<std::string>{kSyncChannel, kSuspendChannel},
                                                         std::move(message), std::move(subscribed));
  state_->subscriber->start();
}

void ClusterLink::stop() {
  if (state_->subscriber) state_->subscriber->stop();
}

void ClusterLink::publish_catalog_changed() {
  asio::co_spawn(state_->executor, publish(state_, kSyncChannel, state_->node_name), asio::detached);
}

void ClusterLink::publish_suspension(int64_t channel_id, std::chrono::seconds for_how_long) {
  std::string payload =
      std::to_string(channel_id) + " " + std::to_string(for_how_long.count()) + " " + state_->node_name;
  asio::co_spawn(state_->executor, publish(state_, kSuspendChannel, std::move(payload)), asio::detached);
}

void ClusterLink::request_reload() { request_reload_of(state_); }

asio::awaitable<Result<int64_t>> ClusterLink::acquire(std::string_view kind, std::string_view key, int64_t limit,
                                                      std::chrono::seconds window) {
  State& s = *state_;
  if (steady_ms() < s.rate_bypass_until.load(std::memory_order_relaxed))
    co_return Error::make(ErrorKind::unavailable, "redis: skipped after a recent failure", "redis_unavailable");
  std::string counter = "oneapi:rl:";
  counter.append(kind).append(":").append(key);
  const std::string limit_arg = std::to_string(limit), window_arg = std::to_string(window.count());
  std::string sha;
  {
    std::lock_guard lock(s.mu);
    sha = s.rate_script_sha;
  }
  const bool cached = !sha.empty();
  auto args = command_args(cached ? "EVALSHA" : "EVAL", cached ? sha : std::string(kRateScript), "1", counter,
                           limit_arg, window_arg);
  auto reply = co_await s.client.command(std::move(args));
  if (!reply && cached && reply.error().message.find("NOSCRIPT") != std::string::npos) {
    // A restarted (or flushed) server forgot the script: EVAL loads it again.
    auto again = command_args("EVAL", kRateScript, "1", counter, limit_arg, window_arg);
    reply = co_await s.client.command(std::move(again));
  }
  if (reply && reply->type == Reply::Type::integer) co_return static_cast<int64_t>(reply->integer);
  s.rate_bypass_until.store(steady_ms() + kRateBypass.count(), std::memory_order_relaxed);
  const std::string why = reply ? "unexpected reply" : reply.error().message;
  if (s.rate_log.allow())
    spdlog::warn("redis {}: shared rate limits unavailable, counting on this node alone for now: {}", s.url.endpoint(),
                 why);
  co_return Error::make(ErrorKind::unavailable, "redis: " + why, "redis_unavailable");
}

}  // namespace oneapi::cache
