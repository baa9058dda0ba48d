// Routing rules through the real daemon and mock upstreams: failover order across priority tiers,
// the success-rate window (ENABLE_METRIC), rate limits (per IP on /api, per token on /v1, per
// channel) and the channel's forced system prompt.
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "relay/e2e_support.hpp"
#include "support/connect_proxy.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

void reply_500(MockReply& r) {
  r.status = 500;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = R"({"error":{"message":"upstream broke","type":"server_error","code":null}})";
}

// A mock that fails every request and remembers the order in which the gateway reached it.
struct Failing {
  explicit Failing(std::vector<std::string>& order, std::string name)
      : mock([&order, name](const net::ServerRequest&, MockReply& r) {
          order.push_back(name);
          reply_500(r);
        }) {}
  MockUpstream mock;
};

}  // namespace

TEST_CASE("failover: the first retry stays in the tier, later ones go down a tier each", "[e2e][routing]") {
  // Mock handlers run on their own threads but one request at a time here (no parallel requests).
  std::vector<std::string> order;
  Failing a1(order, "a1"), a2(order, "a2"), b1(order, "b1"), c1(order, "c1");
  Gateway g(Env{{"CHANNEL_SUSPEND_SECONDS_FOR_5XX", "0"}});
  g.add_channel(a1.mock.base_url(), "gpt-4o-mini", {"--priority", "10"});
  g.add_channel(a2.mock.base_url(), "gpt-4o-mini", {"--priority", "10"});
  g.add_channel(b1.mock.base_url(), "gpt-4o-mini", {"--priority", "5"});
  g.add_channel(c1.mock.base_url(), "gpt-4o-mini", {"--priority", "0"});
  const std::string key = g.add_token();
  REQUIRE(g.daemon.ctl({"option", "set", "RetryTimes", "3"}).exit_code == 0);

  auto r = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  CHECK(r.status == 500);
  CHECK(json::parse(r.body)["error"]["message"].get<std::string>().find("upstream broke") != std::string::npos);
  REQUIRE(order.size() == 4);  // each channel once, never the same twice
  CHECK(order[0][0] == 'a');
  CHECK(order[1][0] == 'a');
  CHECK(order[1] != order[0]);
  CHECK(order[2] == "b1");
  CHECK(order[3] == "c1");
  // Failed attempts cost nothing.
  CHECK(db_int(g.db(), "SELECT used_quota FROM tokens WHERE name = 'test'") == 0);
}

TEST_CASE("failover: a later retry with nothing left below goes back up, and skips resting channels",
          "[e2e][routing]") {
  std::vector<std::string> order;
  Failing top(order, "top"), low(order, "low");
  MockUpstream good([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g;  // 5xx rests a channel for 30 s by default
  g.add_channel(top.mock.base_url(), "gpt-4o-mini", {"--priority", "10"});
  g.add_channel(low.mock.base_url(), "gpt-4o-mini", {"--priority", "0"});
  const std::string key = g.add_token();
  REQUIRE(g.daemon.ctl({"option", "set", "RetryTimes", "3"}).exit_code == 0);

  CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 500);
  CHECK(order == std::vector<std::string>{"top", "low"});
  // Both rest now; a new top-tier channel is the only one a retry may reach.
  g.add_channel(good.base_url(), "gpt-4o-mini", {"--priority", "10"});
  order.clear();
  auto r = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  CHECK(r.status == 200);
  CHECK(order.empty());  // resting channels were not tried while another could serve
}

TEST_CASE("ENABLE_METRIC: one error does not disable a channel, a bad success rate over the window does",
          "[e2e][routing][health]") {
  std::atomic<bool> broken{false};
  MockUpstream flaky([&](const net::ServerRequest&, MockReply& r) {
    if (broken)
      reply_500(r);
    else
      reply_chat(r);
  });
  Gateway g(Env{{"ENABLE_METRIC", "true"},
                {"METRIC_QUEUE_SIZE", "4"},
                {"METRIC_SUCCESS_RATE_THRESHOLD", "0.5"},
                {"CHANNEL_SUSPEND_SECONDS_FOR_5XX", "0"}});
  const int64_t id = g.add_channel(flaky.base_url());
  const std::string key = g.add_token();

  for (int i = 0; i < 3; ++i) CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
  broken = true;
  CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 500);
  CHECK(g.channel_status(id) == 1);  // 3 of 4 succeeded
  CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 500);
  CHECK(g.channel_status(id) == 1);  // 2 of 4: at the threshold, not below
  CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 500);
  CHECK(g.channel_status(id) == 3);  // 1 of 4
  auto why = db_rows(g.db(), "SELECT content FROM logs WHERE type = 4 AND channel = " + std::to_string(id));
  REQUIRE(why.size() == 1);
  CHECK(why[0]["content"].find("success rate") != std::string::npos);
}

TEST_CASE("GLOBAL_RELAY_RATE_LIMIT: a token over its limit gets 429 with Retry-After, other tokens do not",
          "[e2e][ratelimit]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g(Env{{"GLOBAL_RELAY_RATE_LIMIT", "3"}, {"GLOBAL_RELAY_RATE_LIMIT_DURATION", "60"}});
  g.add_channel(mock.base_url());
  auto token = [&](const std::string& name) {
    auto r = g.daemon.ctl({"--json", "token", "create", "--name", name, "--unlimited"});
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out)["key"].get<std::string>();
  };
  const std::string busy = token("busy"), calm = token("calm");
  for (int i = 0; i < 3; ++i) CHECK(post_json(g.port(), "/v1/chat/completions", busy, chat_body()).status == 200);
  auto limited = post_json(g.port(), "/v1/chat/completions", busy, chat_body());
  CHECK(limited.status == 429);
  const int retry_after = std::stoi(limited.header("retry-after").empty() ? "0" : limited.header("retry-after"));
  CHECK(retry_after >= 1);
  CHECK(retry_after <= 120);  // the sliding-window estimate can ask for up to two windows
  auto err = json::parse(limited.body)["error"];
  CHECK(err["code"] == "rate_limit_exceeded");
  CHECK(err["message"].get<std::string>().find("GLOBAL_RELAY_RATE_LIMIT") != std::string::npos);
  CHECK(mock.request_count() == 3);  // refused before any upstream work or charge
  CHECK(post_json(g.port(), "/v1/chat/completions", calm, chat_body()).status == 200);
}

TEST_CASE("GLOBAL_API_RATE_LIMIT: /api answers 429 per address once over the limit", "[e2e][ratelimit]") {
  Gateway g(Env{{"GLOBAL_API_RATE_LIMIT", "5"}, {"INITIAL_ROOT_ACCESS_TOKEN", "root-access-token-for-tests"}});
  int ok = 0, limited = 0;
  std::string retry_after;
  for (int i = 0; i < 8; ++i) {
    auto r = http_call(g.port(), "GET", "/api/status", "", {});
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      retry_after = r.header("retry-after");
      CHECK(json::parse(r.body)["error"]["code"] == "rate_limit_exceeded");
    }
  }
  CHECK(ok == 5);
  CHECK(limited == 3);
  CHECK_FALSE(retry_after.empty());
  // The relay API is limited separately.
  CHECK(http_call(g.port(), "GET", "/healthz", "", {}).status == 200);
}

TEST_CASE("per-channel rate limit: a channel at its limit is passed over, and 429 when all are", "[e2e][ratelimit]") {
  MockUpstream small([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  MockUpstream other([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g;
  g.add_channel(small.base_url(), "gpt-4o-mini", {"--priority", "10", "--config", R"({"rate_limit":2})"});
  const std::string key = g.add_token();
  for (int i = 0; i < 2; ++i) CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
  auto r = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  CHECK(r.status == 429);
  CHECK(json::parse(r.body)["error"]["code"] == "channel_rate_limited");
  CHECK_FALSE(r.header("retry-after").empty());
  CHECK(small.request_count() == 2);

  g.add_channel(other.base_url(), "gpt-4o-mini", {"--priority", "0"});
  CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
  CHECK(other.request_count() == 1);  // the lower tier served while the top one was full
}

TEST_CASE("a channel's system prompt replaces the client's or is put first, and the log says which", "[e2e][routing]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g;
  g.add_channel(mock.base_url(), "gpt-4o-mini", {"--system-prompt", "You are terse."});
  const std::string key = g.add_token();

  REQUIRE(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
  auto sent = json::parse(mock.requests().back().body)["messages"];
  REQUIRE(sent.size() == 2);
  CHECK(sent[0] == json({{"role", "system"}, {"content", "You are terse."}}));
  CHECK(sent[1]["content"] == "Say hello");
  CHECK(db_int(g.db(), "SELECT system_prompt_reset FROM logs WHERE type = 2 ORDER BY id DESC LIMIT 1") == 0);

  const std::string with_system =
      R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be verbose."},{"role":"user","content":"Hi"}]})";
  REQUIRE(post_json(g.port(), "/v1/chat/completions", key, with_system).status == 200);
  sent = json::parse(mock.requests().back().body)["messages"];
  REQUIRE(sent.size() == 2);
  CHECK(sent[0]["content"] == "You are terse.");
  CHECK(db_int(g.db(), "SELECT system_prompt_reset FROM logs WHERE type = 2 ORDER BY id DESC LIMIT 1") == 1);
}

TEST_CASE("a channel with several keys uses them in turn and drops only the key the upstream rejects",
          "[e2e][routing][keys]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    if (req.header("Authorization") == "Bearer k2") {
      r.status = 401;
      r.headers = {{"Content-Type", "application/json"}};
      r.body =
          R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}})";
      return;
    }
    reply_chat(r);
  });
  Gateway g(Env{{"CHANNEL_SUSPEND_SECONDS_FOR_5XX", "0"}});
  auto added = g.daemon.ctl({"--json", "channel", "add", "--type", "openai", "--name", "multi", "--base-url",
                             mock.base_url(), "--key", "k1\nk2\n\n k3 \n", "--models", "gpt-4o-mini"});
  REQUIRE(added.exit_code == 0);
  const int64_t id = json::parse(added.out)["id"].get<int64_t>();
  const std::string key = g.add_token();
  auto keys_used = [&](size_t from) {
    std::map<std::string, int> used;
    auto all = mock.requests();
    for (size_t i = from; i < all.size(); ++i) ++used[std::string(all[i].header("Authorization"))];
    return used;
  };

  SECTION("rotation") {
    for (int i = 0; i < 6; ++i) post_json(g.port(), "/v1/chat/completions", key, chat_body());
    auto used = keys_used(0);
    CHECK(used["Bearer k1"] == 2);
    CHECK(used["Bearer k2"] == 2);
    CHECK(used["Bearer k3"] == 2);     // trimmed, blank lines ignored
    CHECK(g.channel_status(id) == 1);  // auto-disable is off: nothing changes
  }
  SECTION("a rejected key leaves the rotation, the channel stays") {
    REQUIRE(g.daemon.ctl({"option", "set", "AutomaticDisableChannelEnabled", "true"}).exit_code == 0);
    for (int i = 0; i < 3; ++i) post_json(g.port(), "/v1/chat/completions", key, chat_body());
    CHECK(g.channel_status(id) == 1);
    auto ch = json::parse(g.daemon.ctl({"--json", "channel", "get", std::to_string(id)}).out);
    CHECK(ch["key_count"] == 3);
    REQUIRE(ch["disabled_keys"].size() == 1);
    CHECK(ch["disabled_keys"][0]["key_index"] == 2);
    CHECK(ch["disabled_keys"][0]["reason"].get<std::string>().find("Incorrect API key") != std::string::npos);
    CHECK(ch.dump().find("k2") == std::string::npos);  // keys are never shown
    CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type = 4 AND content LIKE 'key 2 of 3%'") == 1);

    const size_t before = mock.request_count();
    for (int i = 0; i < 4; ++i) CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    auto used = keys_used(before);
    CHECK(used.count("Bearer k2") == 0);
    CHECK(used["Bearer k1"] == 2);
    CHECK(used["Bearer k3"] == 2);
    auto shown = g.daemon.ctl({"channel", "get", std::to_string(id)});
    CHECK(shown.out.find("taken out") != std::string::npos);

    // Enabled again by hand: every key is back.
    REQUIRE(g.daemon.ctl({"channel", "disable", std::to_string(id)}).exit_code == 0);
    REQUIRE(g.daemon.ctl({"channel", "enable", std::to_string(id)}).exit_code == 0);
    ch = json::parse(g.daemon.ctl({"--json", "channel", "get", std::to_string(id)}).out);
    CHECK(ch["disabled_keys"].empty());
  }
}

TEST_CASE("upstream proxies: RELAY_PROXY with its credentials, HTTPS_PROXY, HTTP_PROXY and NO_PROXY",
          "[e2e][routing][proxy]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    reply_chat(r);
    if (req.body.find("\"stream\":true") == std::string::npos) return;
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events({"Hello"}, true, 12, 1)) r.chunks.push_back({0, e});
  });
  SECTION("a working proxy") {
    ConnectProxy proxy;
    Gateway g(Env{{"RELAY_PROXY", "http://relay:s3cret@127.0.0.1:" + std::to_string(proxy.port())}});
    g.add_channel(mock.base_url());
    const std::string key = g.add_token();
    CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    auto streamed = post_json(g.port(), "/v1/chat/completions", key, chat_body(true));
    INFO(streamed.body);
    CHECK(streamed.status == 200);
    CHECK(mock.request_count() == 2);
    auto heads = proxy.heads();
    REQUIRE_FALSE(heads.empty());
    CHECK(heads[0].rfind("CONNECT 127.0.0.1:" + std::to_string(mock.port()) + " HTTP/1.1\r\n", 0) == 0);
    CHECK(heads[0].find("Proxy-Authorization: Basic cmVsYXk6czNjcmV0\r\n") != std::string::npos);  // relay:s3cret
    CHECK(g.daemon.log().find("s3cret") == std::string::npos);
  }
  SECTION("a proxy that refuses: a clear 5xx error, nothing charged") {
    ConnectProxy proxy(407);
    Gateway g(Env{{"RELAY_PROXY", "http://127.0.0.1:" + std::to_string(proxy.port())}});
    g.add_channel(mock.base_url());
    const std::string key = g.add_token(1'000'000);
    auto r = post_json(g.port(), "/v1/chat/completions", key, chat_body());
    CHECK(r.status >= 500);
    CHECK(json::parse(r.body)["error"]["message"].get<std::string>().find("proxy refused CONNECT") !=
          std::string::npos);
    CHECK(mock.request_count() == 0);
    CHECK(db_int(g.db(), "SELECT used_quota FROM tokens WHERE name = 'test'") == 0);
  }
  SECTION("HTTPS_PROXY, HTTP_PROXY and NO_PROXY as Go reads them, when RELAY_PROXY is not set") {
    ConnectProxy proxy;
    const std::string via = "http://127.0.0.1:" + std::to_string(proxy.port());
    // upstream.test resolves nowhere: only the proxy (which takes any name for this machine) reaches it.
    const std::string named = "http://upstream.test:" + std::to_string(mock.port());
    const auto status_with = [&](const Env& env, const std::string& base_url) {
      Gateway g(env);
      g.add_channel(base_url);
      return post_json(g.port(), "/v1/chat/completions", g.add_token(), chat_body()).status;
    };
    CHECK(status_with({{"HTTP_PROXY", via}}, named) == 200);
    REQUIRE(proxy.heads().size() == 1);
    CHECK(proxy.heads()[0].rfind("CONNECT upstream.test:" + std::to_string(mock.port()) + " HTTP/1.1\r\n", 0) == 0);
    CHECK(status_with({{"http_proxy", via}}, named) == 200);  // the lower-case name works too
    CHECK(proxy.heads().size() == 2);
    // HTTPS_PROXY is for https upstreams only; NO_PROXY names the host, its domain, or everything.
    CHECK(status_with({{"HTTPS_PROXY", via}}, named) >= 500);
    CHECK(status_with({{"HTTP_PROXY", via}, {"NO_PROXY", "example.com, upstream.test"}}, named) >= 500);
    CHECK(status_with({{"HTTP_PROXY", via}, {"NO_PROXY", ".test"}}, named) >= 500);
    CHECK(status_with({{"HTTP_PROXY", via}, {"NO_PROXY", "*"}}, named) >= 500);
    CHECK(status_with({{"HTTP_PROXY", via}, {"NO_PROXY", "upstream.test:1"}}, named) == 200);  // another port
    CHECK(proxy.heads().size() == 3);
    // Loopback is never proxied.
    CHECK(status_with({{"HTTP_PROXY", via}}, mock.base_url()) == 200);
    CHECK(proxy.heads().size() == 3);
    auto bad = run_command({ONEAPID_PATH, "--data-dir", "/nonexistent-never-created"},
                           {{"HTTPS_PROXY", "socks5://u:pw@127.0.0.1:1080"}});
    CHECK(bad.exit_code == 2);
    CHECK(bad.err.find("HTTPS_PROXY: must be an http:// URL") != std::string::npos);
    CHECK(bad.err.find("pw@") == std::string::npos);
  }
  SECTION("a malformed RELAY_PROXY stops the daemon at start") {
    auto r = run_command({ONEAPID_PATH, "--data-dir", "/nonexistent-never-created"},
                         {{"RELAY_PROXY", "socks5://u:pw@127.0.0.1:1080"}});
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("RELAY_PROXY") != std::string::npos);
    CHECK(r.err.find("pw@") == std::string::npos);
  }
}

TEST_CASE("weights split traffic inside a tier over a few hundred requests", "[e2e][routing]") {
  MockUpstream light([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  MockUpstream heavy([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g;
  g.add_channel(light.base_url(), "gpt-4o-mini", {"--weight", "1"});
  g.add_channel(heavy.base_url(), "gpt-4o-mini", {"--weight", "3"});
  const std::string key = g.add_token();
  const int n = 240;
  for (int i = 0; i < n; ++i) REQUIRE(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
  CHECK(light.request_count() + heavy.request_count() == static_cast<size_t>(n));
  // Expected 60 : 180; the bounds are about five standard deviations wide, so this does not flake.
  CHECK(light.request_count() >= 25);
  CHECK(light.request_count() <= 95);
}
