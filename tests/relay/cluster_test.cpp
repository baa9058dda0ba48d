// Three oneapid nodes on one PostgreSQL server (started by scripts/test): one bill however the
// requests are spread, a token revoked on one node refused by another, a node killed mid-load,
// and the database restarted mid-load.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "relay/e2e_support.hpp"
#include "support/result_check.hpp"
#include "support/test_database.hpp"

using namespace oneapi;
using namespace oneapi::test;

namespace {

constexpr int kConsume = 2, kProvisional = 6;

struct Answer {
  int node = 0;
  int status = 0;
  std::string request_id;
  std::string body;
};

// Requests from `threads` threads, thread i to node i % nodes.size(), until `stop` or `per_thread` each.
std::vector<Answer> load(const std::vector<Gateway*>& nodes, const std::string& key, int threads, int per_thread,
                         const std::atomic<bool>& stop) {
  std::mutex mu;
  std::vector<Answer> out;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      const size_t n = static_cast<size_t>(t) % nodes.size();
      for (int k = 0; k < per_thread && !stop; ++k) {
        HttpResult r;  // status 0: the node did not answer (refused, or killed mid-request)
        try {
          r = http_call(nodes[n]->port(), "POST", "/v1/chat/completions", chat_body(),
                        {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}}, 20);
        } catch (const std::exception& e) {
          r.body = e.what();
        }
        std::lock_guard lock(mu);
        out.push_back({static_cast<int>(n), r.status, r.header("x-oneapi-request-id"), r.body});
      }
    });
  }
  for (auto& th : pool) th.join();
  return out;
}

Env node_env(const TestDatabase& db, int i) {
  Env e{{"SQL_DSN", db.dsn()},
        {"NODE_NAME", "node" + std::to_string(i)},
        {"GLOBAL_RELAY_RATE_LIMIT", "0"},
        {"LOG_RETENTION_DAYS", "30"}};
  if (i > 1) e["NODE_TYPE"] = "slave";
  return e;
}

int64_t sql_int(const TestDatabase& db, const std::string& sql) {
  auto raw = db.raw();
  return scalar(*raw, sql);
}

// Every answer the client got is a settled (consume) row with the request's bill.
void check_answers_logged(const TestDatabase& db, const std::vector<Answer>& answers, int64_t cost) {
  std::set<std::string> settled;
  {
    auto raw = db.raw();
    auto q = ok(raw->query("SELECT request_id FROM logs WHERE type = ? AND quota = ?"));
    q->bind(1, int64_t{kConsume}).bind(2, cost);
    while (ok(q->step())) settled.insert(q->column_text(0));
  }
  int checked = 0;
  for (const auto& a : answers) {
    if (a.status != 200) continue;
    INFO("request " << a.request_id << " answered by node " << a.node + 1);
    CHECK(settled.count(a.request_id) == 1);
    ++checked;
  }
  CHECK(checked > 0);
}

// Node 1 (the master) with a channel and two tokens, then nodes 2 and 3 (slaves), which load
// channels and tokens at start. Each case gets a fresh schema.
struct Cluster {
  explicit Cluster(std::string server = {}) : database("postgres", std::move(server)) { start(); }
  TestDatabase database;
  MockUpstream upstream{[](const net::ServerRequest&, MockReply& r) {
    r.delay_before_headers_ms = 30;  // requests overlap across the nodes
    reply_chat(r, "Hello!", 12, 3);
  }};
  std::unique_ptr<Gateway> n1, n2, n3;
  int64_t cost = expected_quota("gpt-4o-mini", 1, 12, 3, 0);
  std::string limited, unlimited, limited_id;
  std::string books = "SELECT COALESCE(SUM(quota), 0) FROM logs WHERE type = " + std::to_string(kConsume);

  void start() {
    n1 = std::make_unique<Gateway>(node_env(database, 1));
    n1->add_channel(upstream.base_url());
    limited = n1->add_token(cost * 40);  // enough for some requests, not for all that will be tried
    unlimited = n1->add_token(-1);
    n2 = std::make_unique<Gateway>(node_env(database, 2));
    n3 = std::make_unique<Gateway>(node_env(database, 3));
    limited_id = std::to_string(sql_int(database, "SELECT id FROM tokens WHERE \"key\" = '" + limited.substr(3) + "'"));
  }
  int64_t sql(const std::string& q) const { return sql_int(database, q); }
  int64_t provisional_rows() const {
    return sql("SELECT COUNT(*) FROM logs WHERE type = " + std::to_string(kProvisional));
  }
  // Whatever happened: the books balance. Every user's used quota is what its settled rows say.
  void check_books() const { CHECK(sql("SELECT COALESCE(SUM(used_quota), 0) FROM users") == sql(books)); }
};

bool have_postgres() {
  if (!postgres_test_dsn().empty()) return true;
  WARN("ONEAPI_TEST_PG_DSN is not set: the cluster test did not run (scripts/test sets it)");
  return false;
}

}  // namespace

TEST_CASE("cluster: a limited token spent in parallel through all three nodes is not overspent",
          "[cluster][postgres][e2e]") {
  if (!have_postgres()) return;
  Cluster c;
  std::atomic<bool> never{false};
  auto answers = load({c.n1.get(), c.n2.get(), c.n3.get()}, c.limited, 6, 25, never);
  int ok200 = 0, refused = 0;
  for (const auto& a : answers) {
    if (a.status == 200) ++ok200;
    if (a.status == 403 || a.status == 429) ++refused;  // quota exhausted, or one-at-a-time when low
  }
  INFO(ok200 << " answered, " << refused << " refused of " << answers.size());
  CHECK(ok200 + refused == static_cast<int>(answers.size()));
  CHECK(ok200 > 0);
  CHECK(refused > 0);
  // Each node lets at most one request run on a nearly spent token: at most one c.cost each over.
  const int64_t remain = c.sql("SELECT remain_quota FROM tokens WHERE id = " + c.limited_id);
  CHECK(remain >= -3 * c.cost);
  CHECK(c.sql("SELECT used_quota FROM tokens WHERE id = " + c.limited_id) == ok200 * c.cost);
  CHECK(c.sql(c.books + " AND token_id = " + c.limited_id) == ok200 * c.cost);
  CHECK(c.sql("SELECT COUNT(*) FROM logs WHERE type = " + std::to_string(kProvisional)) == 0);
  check_answers_logged(c.database, answers, c.cost);
  c.check_books();
}

TEST_CASE("cluster: a token revoked on node 1 is refused by node 3 at once", "[cluster][postgres][e2e]") {
  if (!have_postgres()) return;
  Cluster c;
  auto before = post_json(c.n3->port(), "/v1/chat/completions", c.unlimited, chat_body());
  CHECK(before.status == 200);
  const std::string id = std::to_string(c.sql("SELECT id FROM tokens WHERE \"key\" = '" + c.unlimited.substr(3) + "'"));
  auto r = c.n1->daemon.ctl({"token", "update", id, "--status", "disabled"});
  REQUIRE(r.exit_code == 0);
  auto after = post_json(c.n3->port(), "/v1/chat/completions", c.unlimited, chat_body());
  CHECK(after.status == 401);
  CHECK_THAT(after.body, Catch::Contains("status is not available"));
  // Scheduled jobs (log retention among them) run on the master only.
  const std::string left = "log retention (LOG_RETENTION_DAYS) is left to the master node";
  CHECK(c.n3->daemon.log().find(left) != std::string::npos);
  CHECK(c.n1->daemon.log().find(left) == std::string::npos);
  c.check_books();
}

TEST_CASE("cluster: a node killed mid-load: the others keep serving, answers are logged, its requests refunded",
          "[cluster][postgres][e2e]") {
  if (!have_postgres()) return;
  Cluster c;
  std::atomic<bool> stop{false};
  std::vector<Answer> answers;
  std::thread loader([&] { answers = load({c.n1.get(), c.n2.get(), c.n3.get()}, c.unlimited, 6, 1000, stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  c.n2->daemon.kill_hard();
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  stop = true;
  loader.join();
  int survivors_after = 0, n2_failed = 0;
  for (const auto& a : answers) {
    if (a.node != 1 && a.status == 200) ++survivors_after;
    if (a.node == 1 && a.status != 200) ++n2_failed;
  }
  CHECK(survivors_after > 10);
  CHECK(n2_failed > 0);  // its connections were refused after the kill
  for (const auto& a : answers)
    if (a.node != 1) CHECK(a.status == 200);  // the other nodes never failed a request
  check_answers_logged(c.database, answers, c.cost);
  // Node 2 comes back under its name and refunds what it left in flight; nothing else.
  c.n2.reset();
  c.n2 = std::make_unique<Gateway>(node_env(c.database, 2));
  CHECK(c.sql("SELECT COUNT(*) FROM logs WHERE type = " + std::to_string(kProvisional)) == 0);
  CHECK(post_json(c.n2->port(), "/v1/chat/completions", c.unlimited, chat_body()).status == 200);
  c.check_books();
}

TEST_CASE("cluster: the database restarted mid-load: clear errors, then recovery, nothing lost",
          "[cluster][postgres][e2e]") {
  if (!have_postgres()) return;
  const char* script = std::getenv("ONEAPI_TEST_SERVICES_SCRIPT");
  if (!script) {
    WARN("ONEAPI_TEST_SERVICES_SCRIPT is not set: the database restart was not tested");
    return;
  }
  // A server of its own: the other tests running meanwhile keep theirs.
  TempDir own("oneapi-pg-");
  const std::string dir = own.path().string();
  auto services = [&](const std::string& what) { return run_command({"/bin/bash", script, what, dir}); };
  struct StopServer {
    std::function<CommandResult(const char*)> run;
    ~StopServer() { run("stop-pg"); }
  } stop_server{services};
  REQUIRE(services("start-pg").exit_code == 0);
  auto dsn = services("pg-dsn");
  REQUIRE(dsn.exit_code == 0);
  while (!dsn.out.empty() && dsn.out.back() == '\n') dsn.out.pop_back();
  Cluster c(dsn.out);
  std::atomic<bool> stop{false};
  std::vector<Answer> answers;
  std::thread loader([&] { answers = load({c.n1.get(), c.n3.get()}, c.unlimited, 4, 100000, stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Down: requests in flight wait to settle; a new request is refused, clearly.
  auto stopped = services("stop-pg");
  HttpResult while_down;
  if (stopped.exit_code == 0) while_down = post_json(c.n3->port(), "/v1/chat/completions", c.unlimited, chat_body());
  auto started = services("start-pg");
  if (started.exit_code == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  loader.join();
  INFO(stopped.out << stopped.err << started.out << started.err);
  REQUIRE(stopped.exit_code == 0);
  REQUIRE(started.exit_code == 0);
  CHECK(while_down.status == 503);
  CHECK_THAT(while_down.body, Catch::Contains("the database is unavailable"));
  CHECK_THAT(while_down.body, !Catch::Contains("127.0.0.1"));  // the database's address stays inside
  int failed = 0;
  for (const auto& a : answers) {
    if (a.status == 200) continue;
    ++failed;
    INFO(a.status << " " << a.body);
    CHECK(a.status == 503);
    CHECK_THAT(a.body, Catch::Contains("\"error\"") && Catch::Contains("database"));
    CHECK_THAT(a.body, !Catch::Contains("127.0.0.1"));  // the database's address stays inside
  }
  // The last requests of each thread were served again.
  REQUIRE(answers.size() > 8);
  for (size_t i = answers.size() - 4; i < answers.size(); ++i) CHECK(answers[i].status == 200);
  WARN(failed << " of " << answers.size() << " requests under load failed while the database restarted");
  check_answers_logged(c.database, answers, c.cost);
  CHECK(c.sql("SELECT COUNT(*) FROM logs WHERE type = " + std::to_string(kProvisional)) == 0);
  c.check_books();
}

TEST_CASE("cluster: a node on MariaDB serves, bills and logs a request", "[cluster][mysql][e2e]") {
  if (std::getenv("ONEAPI_TEST_MYSQL_DSN") == nullptr) {
    WARN("ONEAPI_TEST_MYSQL_DSN is not set: the MariaDB node did not run (scripts/test sets it)");
    return;
  }
  TestDatabase database("mysql");
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r, "Hello!", 12, 3); });
  Gateway node({{"SQL_DSN", database.dsn()}, {"NODE_NAME", "maria-1"}});
  node.add_channel(upstream.base_url());
  const std::string key = node.add_token(-1);
  auto r = post_json(node.port(), "/v1/chat/completions", key, chat_body());
  REQUIRE(r.status == 200);
  const int64_t cost = expected_quota("gpt-4o-mini", 1, 12, 3, 0);
  CHECK(sql_int(database, "SELECT quota FROM logs WHERE type = " + std::to_string(kConsume) + " AND request_id = '" +
                              r.header("x-oneapi-request-id") + "'") == cost);
  CHECK(sql_int(database, "SELECT used_quota FROM tokens WHERE \"key\" = '" + key.substr(3) + "'") == cost);
  CHECK(node.daemon.log().find(database.dsn()) == std::string::npos);  // never the DSN with its password
}
