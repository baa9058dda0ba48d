// LOG_SQL_DSN through the real daemon: relayed requests are charged in the main database and their
// logs end up in the log database, where oneapictl reads them; nothing is lost across SIGKILL.
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <ctime>
#include <future>
#include <thread>

#include "relay/e2e_support.hpp"
#include "support/temp_dir.hpp"
#include "support/test_database.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

// Polls until `sql` on `db` returns `want` (the shipper runs every second); bounded.
bool eventually(const std::string& db, const std::string& sql, int64_t want) {
  for (int i = 0; i < 100; ++i) {
    if (db_int(db, sql) == want) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return db_int(db, sql) == want;
}

}  // namespace

TEST_CASE("LOG_SQL_DSN: settled logs move to the log database and oneapictl reads them there", "[e2e][logdb]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = openai_chat_body("hi", 100, 20);
  });
  TempDir logs_dir{"oneapi-logdb-e2e-"};
  const std::string log_db = logs_dir.file("logs.db");
  Gateway g(Env{{"LOG_SQL_DSN", log_db}});
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(1'000'000);

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = post_json(g.port(), "/v1/chat/completions", key, chat_body());
    REQUIRE(r.status == 200);
    ids.push_back(r.header("x-oneapi-request-id"));
  }
  REQUIRE(eventually(log_db, "SELECT COUNT(*) FROM logs WHERE type = 2", 3));
  CHECK(eventually(g.db(), "SELECT COUNT(*) FROM logs WHERE type = 2", 0));
  // Charged in the main database, logged in the other, and the two agree.
  const int64_t charged = db_int(g.db(), "SELECT used_quota FROM tokens WHERE name = 'test'");
  CHECK(charged > 0);
  CHECK(db_int(log_db, "SELECT SUM(quota) FROM logs WHERE type = 2") == charged);

  auto listed = json::parse(g.daemon.ctl({"--json", "log", "list", "--type", "consume"}).out);
  CHECK(listed.size() == 3);
  auto stat = json::parse(g.daemon.ctl({"--json", "log", "stat"}).out);
  CHECK(stat["quota"] == charged);
  auto cost = g.daemon.ctl({"--json", "cost", ids[1]});
  REQUIRE(cost.exit_code == 0);
  CHECK(json::parse(cost.out)["quota"] == charged / 3);

  auto purge = g.daemon.ctl({"--json", "log", "purge", "--before", std::to_string(std::time(nullptr) + 60)});
  REQUIRE(purge.exit_code == 0);
  CHECK(db_int(log_db, "SELECT COUNT(*) FROM logs WHERE type = 2") == 0);
  CHECK(json::parse(g.daemon.ctl({"--json", "log", "list", "--type", "consume"}).out).empty());
}

TEST_CASE("LOG_SQL_DSN: a request cut by SIGKILL is refunded at the next start and its log still moves",
          "[e2e][logdb][lifecycle]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events({"a", "b", "c"}, true, 5, 3)) r.chunks.push_back({2000, e});
  });
  TempDir dir{"oneapi-logdb-kill-"};
  const std::string log_db = dir.file("logs.db");
  const Env env{{"LOG_SQL_DSN", log_db}};
  {
    Daemon d(env, dir.file("data"));
    d.start();
    REQUIRE(d.ctl({"channel", "add", "--type", "openai", "--name", "m", "--base-url", mock.base_url(), "--key", "k",
                   "--models", "gpt-4o-mini"})
                .exit_code == 0);
    // Under 100 × its pre-charge (about 38): not trusted, so the request has a provisional row.
    std::string key = json::parse(d.ctl({"--json", "token", "create", "--name", "t", "--quota", "2000"}).out)["key"];
    auto pending = std::async(std::launch::async, [&] {
      return call_and_hang_up(d.port(), "/v1/chat/completions", key, chat_body(true), 1 << 20, 5000);
    });
    REQUIRE(eventually(d.db_path(), "SELECT COUNT(*) FROM logs WHERE type = 6", 1));
    d.kill_hard();
    pending.get();
  }
  Daemon d(env, dir.file("data"));
  d.start();
  CHECK(db_int(d.db_path(), "SELECT remain_quota FROM tokens") == 2000);  // refunded
  CHECK(db_int(d.db_path(), "SELECT COUNT(*) FROM logs WHERE type = 6") == 0);
  // The refunded request's row (no longer provisional) reaches the log database.
  CHECK(eventually(log_db, "SELECT COUNT(*) FROM logs WHERE quota = 0 AND request_id != ''", 1));
  CHECK(eventually(d.db_path(), "SELECT COUNT(*) FROM logs WHERE request_id != ''", 0));
  CHECK(d.stop(SIGTERM) == 0);
}

TEST_CASE("LOG_SQL_DSN: a log database on a server beside a SQLite main database is refused, password unsaid",
          "[e2e][logdb]") {
  auto r = run_command({ONEAPID_PATH, "--data-dir", "/nonexistent-never-created"},
                       {{"LOG_SQL_DSN", "postgres://u:secret@127.0.0.1/logs"}});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("LOG_SQL_DSN") != std::string::npos);
  CHECK(r.err.find("SQL_DSN") != std::string::npos);
  CHECK(r.err.find("secret") == std::string::npos);  // never echo a password
}

TEST_CASE("LOG_SQL_DSN: a SQLite log file beside a main database on a server is refused", "[e2e][logdb]") {
  auto r = run_command({ONEAPID_PATH, "--data-dir", "/nonexistent-never-created"},
                       {{"SQL_DSN", "postgres://u:secret@127.0.0.1/main"}, {"LOG_SQL_DSN", "/tmp/logs.db"}});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("LOG_SQL_DSN") != std::string::npos);
  CHECK(r.err.find("not a SQLite file") != std::string::npos);
  CHECK(r.err.find("secret") == std::string::npos);
}

TEST_CASE("LOG_SQL_DSN on PostgreSQL: settled logs move to the log database and oneapictl reads them there",
          "[e2e][logdb][postgres]") {
  if (postgres_test_dsn().empty()) {
    WARN("ONEAPI_TEST_PG_DSN is not set: the PostgreSQL log database did not run (scripts/test sets it)");
    return;
  }
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = openai_chat_body("hi", 100, 20);
  });
  TestDatabase main("postgres"), logs("postgres");
  auto count = [](const TestDatabase& db, const std::string& sql) {
    auto raw = db.raw();
    return scalar(*raw, sql);
  };
  auto eventually_in = [&](const TestDatabase& db, const std::string& sql, int64_t want) {
    for (int i = 0; i < 100 && count(db, sql) != want; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return count(db, sql) == want;
  };
  Gateway g(Env{{"SQL_DSN", main.dsn()}, {"LOG_SQL_DSN", logs.dsn()}, {"NODE_NAME", "logdb-1"}});
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(1'000'000);

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    auto r = post_json(g.port(), "/v1/chat/completions", key, chat_body());
    REQUIRE(r.status == 200);
    ids.push_back(r.header("x-oneapi-request-id"));
  }
  REQUIRE(eventually_in(logs, "SELECT COUNT(*) FROM logs WHERE type = 2", 3));
  CHECK(eventually_in(main, "SELECT COUNT(*) FROM logs WHERE type = 2", 0));
  // Charged in the main database, logged in the other, and the two agree.
  const int64_t charged = count(main, "SELECT used_quota FROM tokens WHERE name = 'test'");
  CHECK(charged > 0);
  CHECK(count(logs, "SELECT SUM(quota) FROM logs WHERE type = 2") == charged);
  CHECK(count(logs, "SELECT COUNT(*) FROM logs WHERE request_id = '" + ids[2] + "'") == 1);

  auto listed = json::parse(g.daemon.ctl({"--json", "log", "list", "--type", "consume"}).out);
  CHECK(listed.size() == 3);
  auto stat = json::parse(g.daemon.ctl({"--json", "log", "stat"}).out);
  CHECK(stat["quota"] == charged);
  auto cost = g.daemon.ctl({"--json", "cost", ids[1]});
  REQUIRE(cost.exit_code == 0);
  CHECK(json::parse(cost.out)["quota"] == charged / 3);

  auto check = run_command({ONEAPID_PATH, "--check-config", "--data-dir", g.daemon.data_dir()},
                           {{"SQL_DSN", main.dsn()}, {"LOG_SQL_DSN", logs.dsn()}});
  INFO(check.out << check.err);
  CHECK(check.exit_code == 0);
  CHECK((check.out + check.err).find("log database (LOG_SQL_DSN)") != std::string::npos);
  CHECK(g.daemon.log().find(logs.dsn()) == std::string::npos);  // never the DSN with its password

  auto purge = g.daemon.ctl({"--json", "log", "purge", "--before", std::to_string(std::time(nullptr) + 60)});
  REQUIRE(purge.exit_code == 0);
  CHECK(count(logs, "SELECT COUNT(*) FROM logs WHERE type = 2") == 0);
  CHECK(json::parse(g.daemon.ctl({"--json", "log", "list", "--type", "consume"}).out).empty());
}
