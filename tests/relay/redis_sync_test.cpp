// Several oneapid nodes on one PostgreSQL database: catalog changes, channel suspensions and
// rate limits shared through Redis (REDIS_CONN_STRING), and SYNC_FREQUENCY without it.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <thread>

#include "relay/e2e_support.hpp"
#include "support/own_redis.hpp"
#include "support/temp_dir.hpp"
#include "support/test_database.hpp"

namespace oneapi::test {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Both services the cluster needs, or a WARN saying which is missing.
bool have_services() {
  for (const char* name : {"ONEAPI_TEST_PG_DSN", "ONEAPI_TEST_REDIS"})
    if (!std::getenv(name)) {
      WARN(std::string(name) + " is not set (scripts/test-services starts it): skipping");
      return false;
    }
  return true;
}

Env node_env(const TestDatabase& db, const std::string& name, const std::string& redis, Env extra = {}) {
  Env env{{"SQL_DSN", db.dsn()}, {"NODE_NAME", name}, {"SYNC_FREQUENCY", "0"}};
  if (!redis.empty()) env["REDIS_CONN_STRING"] = redis;
  if (name != "node1") env["NODE_TYPE"] = "slave";
  for (auto& [k, v] : extra) env[k] = v;
  return env;
}

// Polls `ok` every 25 ms until it holds or `limit` has passed; the time it took, or -1.
int64_t ms_until(milliseconds limit, const std::function<bool()>& ok) {
  const auto start = Clock::now();
  for (;;) {
    if (ok()) return std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
    if (Clock::now() - start > limit) return -1;
    std::this_thread::sleep_for(milliseconds(25));
  }
}

int chat_status(const Gateway& g, const std::string& key) {
  return post_json(g.port(), "/v1/chat/completions", key, chat_body()).status;
}

}  // namespace

TEST_CASE("a channel added or disabled on one node reaches the other within a second through Redis",
          "[redis][cluster]") {
  if (!have_services()) return;
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  TestDatabase db("postgres");
  const std::string redis = std::getenv("ONEAPI_TEST_REDIS");
  Gateway node1(node_env(db, "node1", redis));
  const std::string key = node1.add_token();
  Gateway node2(node_env(db, "node2", redis));
  REQUIRE(chat_status(node2, key) != 200);  // no channel yet

  const int64_t channel = node1.add_channel(upstream.base_url());
  const int64_t added_ms = ms_until(milliseconds(1000), [&] { return chat_status(node2, key) == 200; });
  INFO("node 2 saw the new channel after " << added_ms << " ms");
  CHECK(added_ms >= 0);
  const size_t served = upstream.request_count();
  CHECK(served >= 1);

  REQUIRE(node1.daemon.ctl({"channel", "disable", std::to_string(channel)}).exit_code == 0);
  const int64_t disabled_ms = ms_until(milliseconds(1000), [&] { return chat_status(node2, key) != 200; });
  INFO("node 2 saw the channel disabled after " << disabled_ms << " ms");
  CHECK(disabled_ms >= 0);
  const size_t after_disable = upstream.request_count();
  CHECK(chat_status(node2, key) != 200);
  CHECK(upstream.request_count() == after_disable);  // node 2 no longer sends to it
}

TEST_CASE("without Redis, SYNC_FREQUENCY carries a change to the other node", "[redis][cluster]") {
  if (!have_services()) return;
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  TestDatabase db("postgres");
  Gateway node1(node_env(db, "node1", "", {{"SYNC_FREQUENCY", "1"}}));
  const std::string key = node1.add_token();
  Gateway node2(node_env(db, "node2", "", {{"SYNC_FREQUENCY", "1"}}));
  node1.add_channel(upstream.base_url());
  const int64_t ms = ms_until(milliseconds(2500), [&] { return chat_status(node2, key) == 200; });
  INFO("node 2 saw the new channel after " << ms << " ms");
  CHECK(ms >= 0);
}

TEST_CASE("GLOBAL_RELAY_RATE_LIMIT and GLOBAL_API_RATE_LIMIT count across nodes in Redis", "[redis][cluster]") {
  if (!have_services()) return;
  OwnRedisServer redis;  // counters of its own
  if (!redis.start()) {
    WARN("cannot run redis-server: skipping");
    return;
  }
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  TestDatabase db("postgres");
  const Env limits{{"GLOBAL_RELAY_RATE_LIMIT", "4"},
                   {"GLOBAL_RELAY_RATE_LIMIT_DURATION", "120"},
                   {"GLOBAL_API_RATE_LIMIT", "3"},
                   {"GLOBAL_API_RATE_LIMIT_DURATION", "120"}};
  Gateway node1(node_env(db, "node1", redis.url(), limits));
  node1.add_channel(upstream.base_url());
  const std::string key = node1.add_token();
  Gateway node2(node_env(db, "node2", redis.url(), limits));

  int admitted = 0, refused = 0;
  std::string answers;  // for a failure: which node said what (the body when it is neither 200 nor 429)
  for (int i = 0; i < 8; ++i) {
    const auto r = post_json((i % 2 ? node2 : node1).port(), "/v1/chat/completions", key, chat_body());
    answers += "node" + std::to_string(1 + i % 2) + ": " + std::to_string(r.status);
    if (r.status != 200 && r.status != 429) answers += " " + r.body.substr(0, 200);
    answers += "\n";
    if (r.status == 200) ++admitted;
    if (r.status == 429) {
      ++refused;
      CHECK(!r.header("retry-after").empty());
    }
  }
  INFO(answers);
  CHECK(admitted == 4);  // not 4 per node
  CHECK(refused == 4);
  CHECK(upstream.request_count() == 4);

  int api_admitted = 0;
  for (int i = 0; i < 6; ++i)
    if (http_call((i % 2 ? node2 : node1).port(), "GET", "/api/status").status == 200) ++api_admitted;
  CHECK(api_admitted == 3);
}

TEST_CASE("a channel resting on one node rests on the other", "[redis][cluster]") {
  if (!have_services()) return;
  OwnRedisServer redis;
  if (!redis.start()) {
    WARN("cannot run redis-server: skipping");
    return;
  }
  MockUpstream busy([](const net::ServerRequest&, MockReply& r) {
    r.status = 429;
    r.headers = {{"Content-Type", "application/json"}, {"Retry-After", "30"}};
    r.body = R"({"error":{"message":"Rate limit reached","type":"rate_limit_exceeded","code":null}})";
  });
  MockUpstream healthy([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  TestDatabase db("postgres");
  Gateway node1(node_env(db, "node1", redis.url()));
  node1.add_channel(busy.base_url(), "gpt-4o-mini", {"--priority", "10"});
  node1.add_channel(healthy.base_url());
  const std::string key = node1.add_token();
  Gateway node2(node_env(db, "node2", redis.url()));

  CHECK(chat_status(node1, key) == 429);  // the preferred channel answers 429 and rests
  CHECK(busy.request_count() == 1);
  std::this_thread::sleep_for(milliseconds(300));  // the message on its way (a retry here would rest it anyway)
  CHECK(chat_status(node2, key) == 200);
  CHECK(busy.request_count() == 1);  // node 2 went to the backup at once
  CHECK(healthy.request_count() == 1);
}

TEST_CASE("with Redis gone, both nodes keep serving and admin writes succeed", "[redis][cluster]") {
  if (!have_services()) return;
  auto redis = std::make_unique<OwnRedisServer>();
  if (!redis->start()) {
    WARN("cannot run redis-server: skipping");
    return;
  }
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  MockUpstream second([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  TestDatabase db("postgres");
  const Env sync{{"SYNC_FREQUENCY", "1"}};
  Gateway node1(node_env(db, "node1", redis->url(), sync));
  node1.add_channel(upstream.base_url());
  const std::string key = node1.add_token();
  Gateway node2(node_env(db, "node2", redis->url(), sync));
  CHECK(ms_until(milliseconds(1000), [&] { return chat_status(node2, key) == 200; }) >= 0);

  redis->kill();
  for (int i = 0; i < 3; ++i) {
    CHECK(chat_status(node1, key) == 200);
    CHECK(chat_status(node2, key) == 200);
    CHECK(http_call(node1.port(), "GET", "/api/status").status == 200);
  }
  const auto start = Clock::now();
  const int64_t channel = node1.add_channel(second.base_url(), "gpt-4o", {"--priority", "10"});
  const auto write_ms = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();
  INFO("channel add took " << write_ms << " ms with Redis down");
  CHECK(channel > 0);
  CHECK(write_ms < 1000);
  // SYNC_FREQUENCY still carries it.
  const std::string model_body = chat_body(false, "gpt-4o");
  const int64_t ms = ms_until(milliseconds(2500), [&] {
    return post_json(node2.port(), "/v1/chat/completions", key, model_body).status == 200;
  });
  CHECK(ms >= 0);
  CHECK(second.request_count() >= 1);
}

}  // namespace oneapi::test

namespace oneapi::test {

TEST_CASE("a bad REDIS_CONN_STRING or SYNC_FREQUENCY stops the start, never showing the password",
          "[redis][cluster][config]") {
  TempDir dir{"oneapi-redis-config-"};
  const std::string data = dir.file("data");
  auto check = [&](const Env& env) { return run_command({ONEAPID_PATH, "--data-dir", data, "--check-config"}, env); };

  auto bad_url = check(Env{{"REDIS_CONN_STRING", "redis://user:hunter2-secret@127.0.0.1:notaport/0"}});
  CHECK(bad_url.exit_code == 2);
  CHECK(bad_url.err.find("REDIS_CONN_STRING") != std::string::npos);
  CHECK(bad_url.err.find("hunter2-secret") == std::string::npos);
  CHECK(bad_url.out.find("hunter2-secret") == std::string::npos);

  auto not_redis = check(Env{{"REDIS_CONN_STRING", "http://secret-host:6379"}});
  CHECK(not_redis.exit_code == 2);
  CHECK(not_redis.err.find("REDIS_CONN_STRING") != std::string::npos);

  auto bad_sync = check(Env{{"SYNC_FREQUENCY", "often"}});
  CHECK(bad_sync.exit_code == 2);
  CHECK(bad_sync.err.find("SYNC_FREQUENCY") != std::string::npos);

  CHECK(check(Env{{"REDIS_CONN_STRING", "redis://:pw@127.0.0.1:6379/2"}, {"SYNC_FREQUENCY", "0"}}).exit_code == 0);
}

}  // namespace oneapi::test
