// RedisClient and RedisSubscriber against a real redis-server: the one scripts/test starts
// (ONEAPI_TEST_REDIS), and for kill/restart, AUTH and timeouts one the test starts itself.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include "cache/redis.hpp"
#include "core/util.hpp"
#include "support/own_redis.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

using namespace oneapi;
using namespace oneapi::cache;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// The shared test server, or nothing (with a warning) in a build run without scripts/test.
std::optional<RedisUrl> test_redis() {
  const char* env = std::getenv("ONEAPI_TEST_REDIS");
  if (env == nullptr || *env == '\0') {
    WARN("ONEAPI_TEST_REDIS is not set (scripts/test sets it): skipping");
    return std::nullopt;
  }
  auto url = parse_redis_url(env);
  REQUIRE(url);
  return *url;
}

// A loopback port whose connections the kernel completes but nobody ever reads or answers.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  SilentListener(const SilentListener&) = delete;
  SilentListener& operator=(const SilentListener&) = delete;
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

using test::free_loopback_port;
using OwnRedis = test::OwnRedisServer;

// Runs one awaitable on an io_context served by `threads` threads.
template <class T, class Make>
T run_threads(int threads, Make make) {
  asio::io_context ioc;
  std::optional<T> out;
  std::exception_ptr error;
  asio::co_spawn(ioc, make(ioc), [&](std::exception_ptr e, T v) {
    error = e;
    if (!e) out.emplace(std::move(v));
  });
  std::vector<std::thread> extra;
  for (int i = 1; i < threads; ++i) extra.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : extra) t.join();
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(d);
  co_await timer.async_wait(asio::use_awaitable);
}

std::string unique_prefix() { return "oneapi-test:" + random_alnum(12) + ":"; }

}  // namespace

TEST_CASE("parse_redis_url reads One API's REDIS_CONN_STRING", "[redis]") {
  auto plain = parse_redis_url("redis://cache.internal:6380");
  REQUIRE(plain);
  CHECK(plain->host == "cache.internal");
  CHECK(plain->port == 6380);
  CHECK(plain->password.empty());
  CHECK(plain->username.empty());
  CHECK(plain->db == 0);

  auto full = parse_redis_url("redis://alice:s%40cret:x@10.0.0.5:7000/3");
  REQUIRE(full);
  CHECK(full->username == "alice");
  CHECK(full->password == "s@cret:x");
  CHECK(full->host == "10.0.0.5");
  CHECK(full->port == 7000);
  CHECK(full->db == 3);
  CHECK(full->endpoint() == "10.0.0.5:7000");

  auto password_only = parse_redis_url("redis://:pw@localhost/2");
  REQUIRE(password_only);
  CHECK(password_only->username.empty());
  CHECK(password_only->password == "pw");
  CHECK(password_only->port == 6379);
  CHECK(password_only->db == 2);

  auto v6 = parse_redis_url("redis://[::1]:6390/");
  REQUIRE(v6);
  CHECK(v6->host == "::1");
  CHECK(v6->endpoint() == "[::1]:6390");

  auto tls = parse_redis_url("rediss://:pw@host:6379");
  REQUIRE_FALSE(tls);
  CHECK_THAT(tls.error().message, Catch::Contains("TLS"));

  for (const char* bad : {"http://host:6379", "redis://host:notaport", "redis://host:70000", "redis://host:6379/db1",
                          "redis://:p%zzw@host"}) {
    INFO(bad);
    auto r = parse_redis_url(bad);
    REQUIRE_FALSE(r);
    CHECK_THAT(r.error().message, !Catch::Contains("p%zzw"));
  }
}

TEST_CASE("RedisClient runs SET, GET, INCR, EXPIRE and EVAL", "[redis]") {
  auto url = test_redis();
  if (!url) return;
  const std::string k = unique_prefix();
  struct Seen {
    Result<Reply> set = Error{}, get = Error{}, missing = Error{}, incr = Error{}, expire = Error{}, ttl = Error{},
                  eval = Error{};
  };
  auto seen = test::run_coro<Seen>([&](asio::io_context& ioc) -> asio::awaitable<Seen> {
    RedisClient client(ioc.get_executor(), *url);
    Seen s;
    s.set = co_await client.command(command_args("SET", k + "greeting", std::string("hello\0world", 11)));
    s.get = co_await client.command(command_args("GET", k + "greeting"));
    s.missing = co_await client.command(command_args("GET", k + "absent"));
    (void)co_await client.command(command_args("SET", k + "n", "41"));
    s.incr = co_await client.command(command_args("INCR", k + "n"));
    s.expire = co_await client.command(command_args("EXPIRE", k + "n", "100"));
    s.ttl = co_await client.command(command_args("TTL", k + "n"));
    // The gateway's kind of script: increment and set an expiry atomically, return both.
    s.eval = co_await client.command(command_args("EVAL",
                                                  "local v = redis.call('INCRBY', KEYS[1], ARGV[1]) "
                                                  "redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
                                                  "return {v, redis.call('PTTL', KEYS[1]), 'ok'}",
                                                  "1", k + "n", "8", "60000"));
    co_return s;
  });
  REQUIRE(seen.set);
  CHECK(seen.set->type == Reply::Type::status);
  CHECK(seen.set->str == "OK");
  REQUIRE(seen.get);
  CHECK(seen.get->type == Reply::Type::string);
  CHECK(seen.get->str == std::string("hello\0world", 11));
  REQUIRE(seen.missing);
  CHECK(seen.missing->is_nil());
  REQUIRE(seen.incr);
  CHECK(seen.incr->type == Reply::Type::integer);
  CHECK(seen.incr->integer == 42);
  REQUIRE(seen.expire);
  CHECK(seen.expire->integer == 1);
  REQUIRE(seen.ttl);
  CHECK(seen.ttl->integer > 90);
  CHECK(seen.ttl->integer <= 100);
  REQUIRE(seen.eval);
  REQUIRE(seen.eval->type == Reply::Type::array);
  REQUIRE(seen.eval->elements.size() == 3);
  CHECK(seen.eval->elements[0].integer == 50);
  CHECK(seen.eval->elements[1].integer > 50'000);
  CHECK(seen.eval->elements[1].integer <= 60'000);
  CHECK(seen.eval->elements[2].str == "ok");
}

TEST_CASE("RedisClient: overlapping commands from many coroutines on two threads get their own replies", "[redis]") {
  auto url = test_redis();
  if (!url) return;
  const std::string k = unique_prefix();
  constexpr int kCoroutines = 200;
  std::atomic<int> matched{0}, failed{0};
  std::mutex mu;
  std::vector<std::string> mismatches;
  long long final_count = -1;
  run_threads<bool>(2, [&](asio::io_context& ioc) -> asio::awaitable<bool> {
    auto client = std::make_shared<RedisClient>(ioc.get_executor(), *url);
    std::atomic<int> done{0};
    for (int i = 0; i < kCoroutines; ++i) {
      auto one = [&, client, i]() -> asio::awaitable<void> {
        const std::string key = k + std::to_string(i);
        const std::string value = "value-" + std::to_string(i) + "-" + std::string(static_cast<size_t>(i) * 37, 'x');
        auto set = co_await client->command(command_args("SET", key, value));
        auto incr = co_await client->command(command_args("INCR", k + "count"));
        auto get = co_await client->command(command_args("GET", key));
        if (!set || !incr || !get) {
          ++failed;
        } else if (get->str == value && incr->type == Reply::Type::integer) {
          ++matched;
        } else {
          std::lock_guard lock(mu);
          mismatches.push_back(key + " got " + get->str.substr(0, 20));
        }
        ++done;
      };
      asio::co_spawn(ioc, one, asio::detached);
    }
    while (done < kCoroutines) co_await sleep_for(5ms);
    auto count = co_await client->command(command_args("GET", k + "count"));
    if (count) final_count = std::stoll(count->str);
    co_return true;
  });
  CHECK(failed == 0);
  CHECK(mismatches.empty());
  CHECK(matched == kCoroutines);
  CHECK(final_count == kCoroutines);
}

TEST_CASE("RedisClient: an error reply is an error, nested ones stay replies, and the connection goes on", "[redis]") {
  auto url = test_redis();
  if (!url) return;
  const std::string k = unique_prefix();
  struct Seen {
    Result<Reply> wrong_type = Error{}, unknown = Error{}, nested = Error{}, after = Error{};
  };
  auto seen = test::run_coro<Seen>([&](asio::io_context& ioc) -> asio::awaitable<Seen> {
    RedisClient client(ioc.get_executor(), *url);
    Seen s;
    (void)co_await client.command(command_args("SET", k + "text", "not a number"));
    s.wrong_type = co_await client.command(command_args("INCR", k + "text"));
    s.unknown = co_await client.command(command_args("NOSUCHCOMMAND", "x"));
    s.nested = co_await client.command(command_args("EVAL", "return {1, redis.error_reply('inner failure')}", "0"));
    s.after = co_await client.command(command_args("PING"));
    co_return s;
  });
  REQUIRE_FALSE(seen.wrong_type);
  CHECK_THAT(seen.wrong_type.error().message, Catch::StartsWith("redis: ERR value is not an integer"));
  REQUIRE_FALSE(seen.unknown);
  CHECK_THAT(seen.unknown.error().message, Catch::Contains("unknown command"));
  REQUIRE(seen.nested);
  REQUIRE(seen.nested->elements.size() == 2);
  CHECK(seen.nested->elements[0].integer == 1);
  CHECK(seen.nested->elements[1].is_error());
  CHECK(seen.nested->elements[1].str == "inner failure");
  REQUIRE(seen.after);
  CHECK(seen.after->str == "PONG");
}

TEST_CASE("RedisClient: connecting to a closed port fails fast with a clear message", "[redis]") {
  const int port = free_loopback_port();
  auto url = parse_redis_url("redis://127.0.0.1:" + std::to_string(port));
  REQUIRE(url);
  RedisOptions options;
  options.connect_timeout = 5s;
  const auto started = std::chrono::steady_clock::now();
  struct Seen {
    Result<Reply> ping = Error{};
  };
  auto seen = test::run_coro<Seen>([&](asio::io_context& ioc) -> asio::awaitable<Seen> {
    RedisClient client(ioc.get_executor(), *url, options);
    Seen s;
    s.ping = co_await client.command(command_args("PING"));
    co_return s;
  });
  const auto& r = seen.ping;
  const auto took = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "redis: connection refused (127.0.0.1:" + std::to_string(port) + ")");
  CHECK(r.error().kind == ErrorKind::unavailable);
  CHECK(took < options.connect_timeout / 2);  // refused at once, not timed out
}

TEST_CASE("RedisClient: a server that never answers AUTH runs into the connect timeout", "[redis]") {
  SilentListener silent;
  auto url = parse_redis_url("redis://:pw@127.0.0.1:" + std::to_string(silent.port()));
  REQUIRE(url);
  RedisOptions options;
  options.connect_timeout = 300ms;
  struct Seen {
    Result<Reply> ping = Error{};
    std::chrono::steady_clock::duration took{};
  };
  auto seen = test::run_coro<Seen>([&](asio::io_context& ioc) -> asio::awaitable<Seen> {
    RedisClient client(ioc.get_executor(), *url, options);
    Seen s;
    const auto started = std::chrono::steady_clock::now();
    s.ping = co_await client.command(command_args("PING"));
    s.took = std::chrono::steady_clock::now() - started;
    co_return s;
  });
  REQUIRE_FALSE(seen.ping);
  CHECK(seen.ping.error().message ==
        "redis: connect timed out after 300 ms (127.0.0.1:" + std::to_string(silent.port()) + ")");
  CHECK(seen.took >= 290ms);
  CHECK(seen.took < 2s);
}

TEST_CASE("RedisSubscriber: stop() ends a connection attempt at once, not at its timeout", "[redis]") {
  SilentListener silent;
  auto url = parse_redis_url("redis://:pw@127.0.0.1:" + std::to_string(silent.port()));
  REQUIRE(url);
  RedisOptions options;
  options.connect_timeout = 10s;
  int messages = 0;
  const auto started = std::chrono::steady_clock::now();
  run_threads<bool>(1, [&](asio::io_context& ioc) -> asio::awaitable<bool> {
    auto on_message = [&](const std::string&, const std::string&) { ++messages; };
    RedisSubscriber subscriber(ioc.get_executor(), *url, {"events"}, on_message, {}, options);
    subscriber.start();
    co_await sleep_for(100ms);
    subscriber.stop();
    co_return true;
  });
  // run() returned: nothing of the subscriber was left waiting on the io_context.
  CHECK(std::chrono::steady_clock::now() - started < 2s);
  CHECK(messages == 0);
}

TEST_CASE("RedisClient: AUTH and SELECT from the URL, and a wrong password fails without echoing it", "[redis]") {
  if (!test_redis()) return;
  OwnRedis server({"--requirepass", "pa55-word"});
  REQUIRE(server.start());
  auto in_db2 = parse_redis_url(server.url(":pa55-word@", 2));
  auto in_db0 = parse_redis_url(server.url(":pa55-word@", 0));
  auto wrong = parse_redis_url(server.url(":wrong-secret@", 0));
  auto none = parse_redis_url(server.url());
  REQUIRE((in_db2 && in_db0 && wrong && none));
  struct Seen {
    Result<Reply> set = Error{}, same_db = Error{}, other_db = Error{}, wrong = Error{}, none = Error{};
  };
  auto seen = test::run_coro<Seen>([&](asio::io_context& ioc) -> asio::awaitable<Seen> {
    RedisClient db2(ioc.get_executor(), *in_db2), db0(ioc.get_executor(), *in_db0);
    RedisClient bad(ioc.get_executor(), *wrong), anonymous(ioc.get_executor(), *none);
    Seen s;
    s.set = co_await db2.command(command_args("SET", "where", "db2"));
    s.same_db = co_await db2.command(command_args("GET", "where"));
    s.other_db = co_await db0.command(command_args("GET", "where"));
    s.wrong = co_await bad.command(command_args("PING"));
    s.none = co_await anonymous.command(command_args("GET", "where"));
    co_return s;
  });
  REQUIRE(seen.set);
  REQUIRE(seen.same_db);
  CHECK(seen.same_db->str == "db2");
  REQUIRE(seen.other_db);
  CHECK(seen.other_db->is_nil());
  REQUIRE_FALSE(seen.wrong);
  CHECK_THAT(seen.wrong.error().message, Catch::StartsWith("redis: AUTH failed: WRONGPASS"));
  CHECK_THAT(seen.wrong.error().message, !Catch::Contains("wrong-secret"));
  REQUIRE_FALSE(seen.none);
  CHECK_THAT(seen.none.error().message, Catch::Contains("NOAUTH"));
}

TEST_CASE("RedisClient: a command past its timeout fails, and the next one gets a fresh connection", "[redis]") {
  if (!test_redis()) return;
  OwnRedis server;
  REQUIRE(server.start());
  auto url = parse_redis_url(server.url());
  REQUIRE(url);
  RedisOptions options;
  options.command_timeout = 300ms;
  struct Seen {
    Result<Reply> blocked = Error{}, after = Error{};
    std::chrono::steady_clock::duration took{};
  };
  auto seen = test::run_coro<Seen>([&](asio::io_context& ioc) -> asio::awaitable<Seen> {
    RedisClient client(ioc.get_executor(), *url, options);
    Seen s;
    const auto started = std::chrono::steady_clock::now();
    s.blocked = co_await client.command(command_args("BLPOP", "never-filled", "5"));
    s.took = std::chrono::steady_clock::now() - started;
    s.after = co_await client.command(command_args("PING"));
    co_return s;
  });
  REQUIRE_FALSE(seen.blocked);
  CHECK(seen.blocked.error().message ==
        "redis: command timed out after 300 ms (127.0.0.1:" + std::to_string(server.port()) + ")");
  CHECK(seen.took >= 290ms);
  CHECK(seen.took < 2s);
  REQUIRE(seen.after);
  CHECK(seen.after->str == "PONG");
}

TEST_CASE("RedisClient reconnects after the server is killed and restarted", "[redis]") {
  if (!test_redis()) return;
  OwnRedis server;
  REQUIRE(server.start());
  auto url = parse_redis_url(server.url());
  REQUIRE(url);
  struct Seen {
    Result<Reply> before = Error{}, while_down = Error{}, after = Error{};
    int attempts_after_restart = 0;
  };
  auto seen = test::run_coro<Seen>([&](asio::io_context& ioc) -> asio::awaitable<Seen> {
    RedisClient client(ioc.get_executor(), *url);
    Seen s;
    s.before = co_await client.command(command_args("SET", "k", "before"));
    server.kill();
    co_await sleep_for(50ms);  // the client's reader sees the connection close
    s.while_down = co_await client.command(command_args("GET", "k"));
    const bool restarted = server.start();
    if (!restarted) co_return s;
    // Redis was started with no persistence: the key is gone, the connection is new.
    for (s.attempts_after_restart = 1; s.attempts_after_restart <= 20; ++s.attempts_after_restart) {
      s.after = co_await client.command(command_args("SET", "k", "after"));
      if (s.after) break;
      co_await sleep_for(50ms);
    }
    co_return s;
  });
  REQUIRE(seen.before);
  REQUIRE_FALSE(seen.while_down);
  CHECK_THAT(seen.while_down.error().message, Catch::StartsWith("redis: connection refused (127.0.0.1:"));
  REQUIRE(seen.after);
  CHECK(seen.after->str == "OK");
  // Lazy reconnection: the first command after the restart already succeeds.
  CHECK(seen.attempts_after_restart == 1);
}

TEST_CASE("RedisSubscriber delivers published messages, and again after the server comes back", "[redis]") {
  auto shared = test_redis();
  if (!shared) return;
  const std::string channel = unique_prefix() + "events";

  // On the shared server: subscribe, publish, receive within a bounded time.
  {
    std::mutex mu;
    std::vector<std::pair<std::string, std::string>> got;
    std::atomic<int> subscribed{0};
    long long receivers = -1;
    run_threads<bool>(2, [&](asio::io_context& ioc) -> asio::awaitable<bool> {
      auto on_message = [&](const std::string& ch, const std::string& payload) {
        std::lock_guard lock(mu);
        got.emplace_back(ch, payload);
      };
      auto on_subscribed = [&] { ++subscribed; };
      RedisSubscriber subscriber(ioc.get_executor(), *shared, {channel, channel + ":other"}, on_message, on_subscribed);
      subscriber.start();
      RedisClient client(ioc.get_executor(), *shared);
      for (int i = 0; i < 250 && subscribed == 0; ++i) co_await sleep_for(20ms);
      auto published = co_await client.command(command_args("PUBLISH", channel, "channel 7 disabled"));
      if (published) receivers = published->integer;
      for (int i = 0; i < 250; ++i) {
        {
          std::lock_guard lock(mu);
          if (!got.empty()) break;
        }
        co_await sleep_for(20ms);
      }
      subscriber.stop();
      co_return true;
    });
    CHECK(subscribed == 1);
    CHECK(receivers == 1);
    REQUIRE(got.size() == 1);
    CHECK(got[0].first == channel);
    CHECK(got[0].second == "channel 7 disabled");
  }

  // On a server of our own that is killed and restarted: the subscriber comes back by itself.
  OwnRedis server;
  REQUIRE(server.start());
  auto url = parse_redis_url(server.url());
  REQUIRE(url);
  std::mutex mu;
  std::vector<std::string> payloads;
  std::atomic<int> subscribed{0};
  bool restarted = false;
  run_threads<bool>(1, [&](asio::io_context& ioc) -> asio::awaitable<bool> {
    auto on_message = [&](const std::string&, const std::string& payload) {
      std::lock_guard lock(mu);
      payloads.push_back(payload);
    };
    auto on_subscribed = [&] { ++subscribed; };
    RedisSubscriber subscriber(ioc.get_executor(), *url, {channel}, on_message, on_subscribed, RedisOptions{}, 400ms);
    subscriber.start();
    RedisClient client(ioc.get_executor(), *url);
    for (int i = 0; i < 250 && subscribed < 1; ++i) co_await sleep_for(20ms);
    (void)co_await client.command(command_args("PUBLISH", channel, "first"));
    for (int i = 0; i < 250; ++i) {
      {
        std::lock_guard lock(mu);
        if (!payloads.empty()) break;
      }
      co_await sleep_for(20ms);
    }
    server.kill();
    co_await sleep_for(300ms);  // a reconnect attempt or two fails meanwhile
    restarted = server.start();
    for (int i = 0; i < 250 && subscribed < 2; ++i) co_await sleep_for(20ms);
    (void)co_await client.command(command_args("PUBLISH", channel, "second"));
    for (int i = 0; i < 250; ++i) {
      {
        std::lock_guard lock(mu);
        if (payloads.size() >= 2) break;
      }
      co_await sleep_for(20ms);
    }
    subscriber.stop();
    co_return true;
  });
  REQUIRE(restarted);
  CHECK(subscribed == 2);
  CHECK(payloads == std::vector<std::string>{"first", "second"});
}
