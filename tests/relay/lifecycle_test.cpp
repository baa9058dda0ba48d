// Durability and process lifecycle: restart, SIGKILL, SIGTERM drain, admin socket permissions.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "relay/e2e_support.hpp"
#include "store/sqlite.hpp"
#include "support/temp_dir.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

TEST_CASE("a restart keeps channels, tokens, quota and logs", "[e2e][lifecycle]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = openai_chat_body("hi", 100, 100);
  });
  char tmpl[] = "/tmp/oneapi-restart-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  std::string key;
  {
    Daemon d({}, dir);
    d.start();
    auto ch = d.ctl({"--json", "channel", "add", "--type", "openai", "--name", "m", "--base-url", mock.base_url(),
                     "--key", "k", "--models", "gpt-4o-mini"});
    REQUIRE(ch.exit_code == 0);
    auto tok = d.ctl({"--json", "token", "create", "--name", "keep", "--quota", "100000"});
    REQUIRE(tok.exit_code == 0);
    key = json::parse(tok.out)["key"];
    REQUIRE(post_json(d.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    CHECK(d.stop(SIGTERM) == 0);
  }
  {
    Daemon d({}, dir);
    d.start();
    auto res = post_json(d.port(), "/v1/chat/completions", key, chat_body());
    CHECK(res.status == 200);
    auto tokens = json::parse(d.ctl({"--json", "token", "list"}).out);
    REQUIRE(tokens.size() == 1);
    const int64_t cost = 38;  // ceil((100 + 100 × 4) × 0.075) = 38
    CHECK(tokens[0]["remain_quota"] == 100000 - 2 * cost);
    CHECK(json::parse(d.ctl({"--json", "log", "list"}).out).size() == 2);
    CHECK(d.stop(SIGTERM) == 0);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("SIGKILL right after answers keeps every answered request's log", "[e2e][lifecycle]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    if (req.body.find("\"stream\":true") != std::string::npos) {
      r.headers = {{"Content-Type", "text/event-stream"}};
      for (auto& e : openai_stream_events({"a", "b"}, true, 5, 2)) r.chunks.push_back({0, e});
    } else {
      r.headers = {{"Content-Type", "application/json"}};
      r.body = openai_chat_body("hi", 5, 2);
    }
  });
  Gateway g;
  g.add_channel(mock.base_url());
  std::string key = g.add_token();
  std::vector<std::string> answered;
  for (int i = 0; i < 20; ++i) {
    auto r = post_json(g.port(), "/v1/chat/completions", key, chat_body(i % 2 == 0));
    REQUIRE(r.status == 200);
    answered.push_back(r.header("x-oneapi-request-id"));
  }
  g.daemon.kill_hard();
  for (const auto& id : answered) {
    INFO(id);
    CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type=2 AND request_id='" + id + "'") == 1);
  }
}

TEST_CASE("a trusted request cut by SIGKILL costs nothing and leaves nothing to refund", "[e2e][lifecycle]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events({"a", "b", "c"}, true, 5, 3)) r.chunks.push_back({2000, e});
  });
  TempDir dir{"oneapi-kill-trusted-"};
  {
    Daemon d({}, dir.file("data"));
    d.start();
    REQUIRE(d.ctl({"channel", "add", "--type", "openai", "--name", "m", "--base-url", mock.base_url(), "--key", "k",
                   "--models", "gpt-4o-mini"})
                .exit_code == 0);
    std::string key = json::parse(d.ctl({"--json", "token", "create", "--name", "t", "--quota", "500000"}).out)["key"];
    auto pending = std::async(std::launch::async, [&] {
      return call_and_hang_up(d.port(), "/v1/chat/completions", key, chat_body(true), 1 << 20, 5000);
    });
    for (int i = 0; i < 200 && mock.request_count() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(mock.request_count() == 1);
    CHECK(db_int(d.db_path(), "SELECT COUNT(*) FROM logs WHERE type IN (2, 6)") == 0);
    d.kill_hard();
    pending.get();
  }
  Daemon d({}, dir.file("data"));
  d.start();
  CHECK(db_int(d.db_path(), "SELECT COUNT(*) FROM logs WHERE type IN (2, 6)") == 0);
  CHECK(db_int(d.db_path(), "SELECT remain_quota FROM tokens") == 500000);
  CHECK(db_int(d.db_path(), "SELECT used_quota FROM tokens") == 0);
  CHECK(d.log().find("left unfinished by a previous run") == std::string::npos);
  CHECK(d.stop(SIGTERM) == 0);
}

TEST_CASE("a request cut by SIGKILL is refunded at the next start", "[e2e][lifecycle]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events({"a", "b", "c"}, true, 5, 3)) r.chunks.push_back({2000, e});
  });
  char tmpl[] = "/tmp/oneapi-kill-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  {
    Daemon d({}, dir);
    d.start();
    REQUIRE(d.ctl({"channel", "add", "--type", "openai", "--name", "m", "--base-url", mock.base_url(), "--key", "k",
                   "--models", "gpt-4o-mini"})
                .exit_code == 0);
    // Under 100 × its pre-charge (about 38): not trusted, so the request has a provisional row.
    std::string key = json::parse(d.ctl({"--json", "token", "create", "--name", "t", "--quota", "2000"}).out)["key"];
    auto pending = std::async(std::launch::async, [&] {
      return call_and_hang_up(d.port(), "/v1/chat/completions", key, chat_body(true), 1 << 20, 5000);
    });
    for (int i = 0; i < 100 && db_int(d.db_path(), "SELECT COUNT(*) FROM logs WHERE type=6") == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(db_int(d.db_path(), "SELECT COUNT(*) FROM logs WHERE type=6") == 1);
    CHECK(db_int(d.db_path(), "SELECT remain_quota FROM tokens") < 2000);  // reserved
    d.kill_hard();
    pending.get();
  }
  {
    Daemon d({}, dir);
    d.start();
    CHECK(db_int(d.db_path(), "SELECT COUNT(*) FROM logs WHERE type=6") == 0);
    CHECK(db_int(d.db_path(), "SELECT remain_quota FROM tokens") == 2000);
    CHECK(db_int(d.db_path(), "SELECT used_quota FROM tokens") == 0);
    CHECK(d.log().find("refunded 1 request") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("SIGTERM lets a stream in flight finish, then exits 0", "[e2e][lifecycle]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events({"slow ", "but ", "complete"}, true, 5, 3)) r.chunks.push_back({300, e});
  });
  Gateway g;
  g.add_channel(mock.base_url());
  std::string key = g.add_token();
  auto in_flight =
      std::async(std::launch::async, [&] { return post_json(g.port(), "/v1/chat/completions", key, chat_body(true)); });
  for (int i = 0; i < 100 && mock.request_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(mock.request_count() == 1);
  CHECK(g.daemon.stop(SIGTERM) == 0);
  auto res = in_flight.get();
  CHECK(res.status == 200);
  CHECK(res.body.find("complete") != std::string::npos);
  CHECK(res.body.find("[DONE]") != std::string::npos);
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type=2") == 1);
}

TEST_CASE("the admin socket is mode 0600", "[e2e][admin]") {
  Gateway g;
  struct stat st {};
  REQUIRE(::stat(g.daemon.socket().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(S_ISSOCK(st.st_mode));
}

TEST_CASE("channel test through oneapictl, for cron", "[e2e][admin]") {
  MockUpstream good([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = openai_chat_body("gpt-4o-mini", 10, 3);
  });
  MockUpstream bad([](const net::ServerRequest&, MockReply& r) {
    r.status = 401;
    r.headers = {{"Content-Type", "application/json"}};
    r.body =
        R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}})";
  });
  Gateway g;
  int64_t ok_id = g.add_channel(good.base_url());
  auto one = g.daemon.ctl({"--json", "channel", "test", std::to_string(ok_id)});
  CHECK(one.exit_code == 0);
  CHECK(json::parse(one.out).at(0)["ok"] == true);
  CHECK(db_int(g.db(), "SELECT test_time FROM channels WHERE id=" + std::to_string(ok_id)) > 0);
  // The test request is a real chat request with TEST_PROMPT.
  auto sent = json::parse(good.requests().at(0).body);
  CHECK(sent["model"] == "gpt-4o-mini");
  CHECK(sent["messages"][0]["role"] == "user");

  int64_t bad_id = g.add_channel(bad.base_url());
  auto all = g.daemon.ctl({"--json", "channel", "test", "--all"});
  CHECK(all.exit_code == 1);
  auto results = json::parse(all.out);
  REQUIRE(results.size() == 2);
  for (auto& r : results) {
    if (r["id"] == bad_id) {
      CHECK(r["ok"] == false);
      CHECK(r["error"].get<std::string>().find("Incorrect API key") != std::string::npos);
    } else {
      CHECK(r["ok"] == true);
    }
  }
  CHECK(g.daemon.ctl({"channel", "test", "999"}).exit_code == 4);
  CHECK(g.daemon.ctl({"channel", "delete", std::to_string(bad_id)}).exit_code == 0);
  CHECK(g.daemon.ctl({"channel", "test", "--all"}).exit_code == 0);
}

TEST_CASE("headless bootstrap: INITIAL_ROOT_TOKEN works from the first start, logs hold no secrets",
          "[e2e][lifecycle]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = openai_chat_body("hi", 5, 2);
  });
  const std::string root_key = "sk-bootstrapRootToken0123456789abcdefABCDEF0123456789";
  Daemon d({{"INITIAL_ROOT_TOKEN", root_key}});
  std::string log_dir = d.data_dir() + "/logs";
  d.add_args({"--log-dir", log_dir});
  d.start();
  REQUIRE(d.ctl({"channel", "add", "--type", "openai", "--name", "m", "--base-url", mock.base_url(), "--key",
                 "sk-upstream-very-secret", "--models", "gpt-4o-mini"})
              .exit_code == 0);
  auto res = post_json(d.port(), "/v1/chat/completions", root_key, chat_body());
  CHECK(res.status == 200);
  auto tokens = json::parse(d.ctl({"--json", "token", "list"}).out);
  REQUIRE(tokens.size() == 1);
  CHECK(tokens[0]["unlimited_quota"] == true);
  CHECK(d.stop(SIGTERM) == 0);
  std::ifstream file(log_dir + "/oneapid.log");
  std::stringstream logged;
  logged << file.rdbuf();
  CHECK(logged.str().find(res.header("x-oneapi-request-id")) != std::string::npos);  // one line per request
  for (const std::string& text : {logged.str(), d.log()}) {
    CHECK(text.find("bootstrapRootToken") == std::string::npos);
    CHECK(text.find("very-secret") == std::string::npos);
  }
}

TEST_CASE("every API answer carries a request id, errors from the HTTP layer included", "[e2e]") {
  Gateway g(Env{{"MAX_REQUEST_BODY_MB", "1"}});
  auto not_found = http_call(g.port(), "GET", "/nothing");
  CHECK(not_found.status == 404);
  CHECK_FALSE(not_found.header("x-oneapi-request-id").empty());
  auto too_big = http_call(g.port(), "POST", "/v1/chat/completions", std::string(2 << 20, 'x'));
  CHECK(too_big.status == 413);
  CHECK_FALSE(too_big.header("x-oneapi-request-id").empty());
  auto status = http_call(g.port(), "GET", "/api/status");
  CHECK(status.status == 200);
  CHECK_FALSE(status.header("x-oneapi-request-id").empty());
}

TEST_CASE("health and readiness probes", "[e2e][lifecycle]") {
  Gateway g;
  auto health = http_call(g.port(), "GET", "/healthz");
  CHECK(health.status == 200);
  CHECK(json::parse(health.body)["status"] == "ok");
  auto ready = http_call(g.port(), "GET", "/readyz");
  CHECK(ready.status == 200);
  auto body = json::parse(ready.body);
  CHECK(body["status"] == "ready");
  CHECK(body["schema_version"].get<int>() >= 1);
}

TEST_CASE("LOG_RETENTION_DAYS purges old log entries at start", "[e2e][lifecycle][logs]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = openai_chat_body("hi", 10, 10);
  });
  test::TempDir dir("oneapi-retention-");
  const std::string data = dir.path().string();
  std::string key;
  {
    Daemon d({}, data);
    d.start();
    REQUIRE(d.ctl({"channel", "add", "--type", "openai", "--name", "m", "--base-url", mock.base_url(), "--key", "k",
                   "--models", "gpt-4o-mini"})
                .exit_code == 0);
    key = json::parse(d.ctl({"--json", "token", "create", "--name", "t"}).out)["key"];
    for (int i = 0; i < 3; ++i) REQUIRE(post_json(d.port(), "/v1/chat/completions", key, chat_body()).status == 200);
    CHECK(d.stop(SIGTERM) == 0);
  }
  // Two of the three requests happened 40 days ago.
  const std::string db = data + "/one-api.db";
  {
    store::sqlite::Db sql;
    REQUIRE(sql.open(db));
    REQUIRE(
        sql.exec("UPDATE logs SET created_at = created_at - 40 * 86400 WHERE id IN (SELECT id FROM logs WHERE "
                 "type = 2 ORDER BY id LIMIT 2)"));
  }
  Daemon d(Env{{"LOG_RETENTION_DAYS", "30"}}, data);
  d.start();
  // The purge runs right after start on the store thread; its log line follows on the I/O thread.
  int64_t left = -1;
  bool logged = false;
  for (int i = 0; i < 200 && !(left == 1 && logged); ++i) {
    left = db_int(db, "SELECT COUNT(*) FROM logs WHERE type = 2");
    logged = d.log().find("purged 2 log entries older than 30 days") != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(left == 1);
  CHECK(logged);
  CHECK(post_json(d.port(), "/v1/chat/completions", key, chat_body()).status == 200);
}
