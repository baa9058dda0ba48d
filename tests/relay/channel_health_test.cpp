// Auto-disable on One API's fatal upstream errors and auto-enable after a passing test, through the
// real daemon and mock upstreams.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

void reply_bad_key(MockReply& r) {
  r.status = 401;
  r.headers = {{"Content-Type", "application/json"}};
  r.body =
      R"({"error":{"message":"Incorrect API key provided: sk-abc***","type":"invalid_request_error","code":"invalid_api_key"}})";
}

}  // namespace

TEST_CASE("a channel whose key the upstream rejects is disabled automatically, then re-enabled by a passing test",
          "[e2e][health]") {
  std::atomic<bool> key_fixed{false};
  MockUpstream dead([&](const net::ServerRequest&, MockReply& r) {
    if (key_fixed)
      reply_chat(r);
    else
      reply_bad_key(r);
  });
  MockUpstream healthy([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g;
  const int64_t first = g.add_channel(dead.base_url(), "gpt-4o-mini", {"--priority", "10"});
  const int64_t backup = g.add_channel(healthy.base_url());
  const std::string key = g.add_token(10'000'000);
  REQUIRE(g.daemon.ctl({"option", "set", "RetryTimes", "1"}).exit_code == 0);

  SECTION("off by default: the channel stays enabled") {
    CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);  // retried on the backup
    CHECK(g.channel_status(first) == 1);
  }
  SECTION("on: disabled with a log row, traffic moves on, a passing test brings it back") {
    REQUIRE(g.daemon.ctl({"option", "set", "AutomaticDisableChannelEnabled", "true"}).exit_code == 0);
    REQUIRE(g.daemon.ctl({"option", "set", "AutomaticEnableChannelEnabled", "true"}).exit_code == 0);
    CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    CHECK(g.channel_status(first) == 3);
    auto why = db_rows(g.db(), "SELECT content FROM logs WHERE type = 4 AND channel = " + std::to_string(first));
    REQUIRE(why.size() == 1);
    CHECK(why[0]["content"].find("disabled automatically") != std::string::npos);
    CHECK(why[0]["content"].find("Incorrect API key") != std::string::npos);
    CHECK(why[0]["content"].find("sk-upstream-secret") == std::string::npos);

    const size_t tried = dead.request_count();
    CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    CHECK(dead.request_count() == tried);  // skipped now
    CHECK(db_int(g.db(), "SELECT channel FROM logs WHERE type = 2 ORDER BY id DESC LIMIT 1") == backup);

    // Still broken: the test fails and the channel stays off (exit 1 for cron).
    CHECK(g.daemon.ctl({"channel", "test", std::to_string(first)}).exit_code == 1);
    CHECK(g.channel_status(first) == 3);
    key_fixed = true;
    CHECK(g.daemon.ctl({"channel", "test", std::to_string(first)}).exit_code == 0);
    CHECK(g.channel_status(first) == 1);
    CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type = 4 AND content LIKE '%enabled again%'") == 1);

    // A channel disabled by hand is not brought back by a test.
    REQUIRE(g.daemon.ctl({"channel", "disable", std::to_string(first)}).exit_code == 0);
    CHECK(g.daemon.ctl({"channel", "test", std::to_string(first)}).exit_code == 0);
    CHECK(g.channel_status(first) == 2);
  }
  SECTION("a failing channel test disables it too") {
    REQUIRE(g.daemon.ctl({"option", "set", "AutomaticDisableChannelEnabled", "true"}).exit_code == 0);
    CHECK(g.daemon.ctl({"channel", "test", std::to_string(first)}).exit_code == 1);
    CHECK(g.channel_status(first) == 3);
  }
}

TEST_CASE("a channel answering 429 or 5xx rests (Retry-After or the configured time) instead of being disabled",
          "[e2e][health][suspend]") {
  std::atomic<int> status{429};
  MockUpstream busy([&](const net::ServerRequest&, MockReply& r) {
    r.status = status;
    r.headers = {{"Content-Type", "application/json"}};
    if (status == 429) r.headers.push_back({"Retry-After", "2"});
    r.body = R"({"error":{"message":"Rate limit reached","type":"rate_limit_exceeded","code":null}})";
  });
  MockUpstream healthy([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g;
  const int64_t first = g.add_channel(busy.base_url(), "gpt-4o-mini", {"--priority", "10"});
  const std::string key = g.add_token(10'000'000);

  SECTION("with a backup: traffic skips the resting channel until Retry-After has passed") {
    g.add_channel(healthy.base_url());
    REQUIRE(g.daemon.ctl({"option", "set", "RetryTimes", "1"}).exit_code == 0);
    CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    CHECK(busy.request_count() == 1);
    CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    CHECK(busy.request_count() == 1);     // resting
    CHECK(g.channel_status(first) == 1);  // not disabled
    std::this_thread::sleep_for(std::chrono::milliseconds(2300));
    CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    CHECK(busy.request_count() == 2);  // back in rotation

    status = 503;  // no Retry-After: CHANNEL_SUSPEND_SECONDS_FOR_5XX (30 s by default)
    std::this_thread::sleep_for(std::chrono::milliseconds(2300));
    CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    CHECK(busy.request_count() == 3);
    CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    CHECK(busy.request_count() == 3);
  }
  SECTION("alone: a resting channel still gets the traffic nothing else can take") {
    auto r = post_json(g.port(), "/v1/chat/completions", key, chat_body());
    CHECK(r.status == 429);
    CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 429);
    CHECK(busy.request_count() == 2);
  }
}

TEST_CASE("a channel whose only key gets 401 rests (CHANNEL_SUSPEND_SECONDS_FOR_AUTH), one with other keys does not",
          "[e2e][health][suspend]") {
  MockUpstream rejecting([](const net::ServerRequest& req, MockReply& r) {
    const bool good = req.header("Authorization") == "Bearer sk-good";
    if (good) return reply_chat(r);
    r.status = 401;
    r.headers = {{"Content-Type", "application/json"}};
    r.body =
        R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}})";
  });
  MockUpstream healthy([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  const auto run = [&](const Env& env, const std::string& keys) {
    Gateway g(env);
    const int64_t first = g.add_channel(rejecting.base_url(), "gpt-4o-mini", {"--priority", "10"});
    REQUIRE(g.daemon.ctl({"channel", "update", std::to_string(first), "--key", keys}).exit_code == 0);
    g.add_channel(healthy.base_url());
    REQUIRE(g.daemon.ctl({"option", "set", "RetryTimes", "1"}).exit_code == 0);
    const std::string key = g.add_token(10'000'000);
    const size_t before = rejecting.request_count();
    for (int i = 0; i < 3; ++i) CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    CHECK(g.channel_status(first) == 1);  // rested at most, never disabled
    return rejecting.request_count() - before;
  };
  // One key: the first 401 rests the channel, the backup serves the rest.
  CHECK(run({}, "sk-bad") == 1);
  // Resting turned off: every request tries it first, then retries on the backup.
  CHECK(run({{"CHANNEL_SUSPEND_SECONDS_FOR_AUTH", "0"}}, "sk-bad") == 3);
  // Two keys: the rejected one does not rest the channel, whose good key serves in turn.
  CHECK(run({}, "sk-bad\nsk-good") == 3);
}
