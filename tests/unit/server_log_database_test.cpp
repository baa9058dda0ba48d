// LOG_SQL_DSN on a database server: settled logs move from the main database to the log database
// (each server kind, and a log database of the other kind); readers see each row exactly once,
// also after a crash between the copy and the delete; provisional rows never move; purge empties
// both; a slave node does not migrate the log database.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/util.hpp"
#include "store/sql_rows.hpp"
#include "store/store.hpp"
#include "support/result_check.hpp"
#include "support/test_database.hpp"

using namespace oneapi;
using namespace oneapi::store;
using oneapi::test::ok;

namespace {

constexpr int kConsume = static_cast<int>(LogType::consume);
constexpr int kProvisional = static_cast<int>(LogType::provisional);

int64_t sql_int(const test::TestDatabase& db, const std::string& sql) {
  auto raw = db.raw();
  return test::scalar(*raw, sql);
}

// The columns, and the indexes, of the logs table in the database `db` is connected to.
int64_t logs_columns(const test::TestDatabase& db) {
  const std::string here = db.backend() == "mysql" ? "DATABASE()" : "current_schema()";
  return sql_int(
      db, "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'logs' AND table_schema = " + here);
}
int64_t logs_indexes(const test::TestDatabase& db) {
  if (db.backend() == "mysql")
    return sql_int(db,
                   "SELECT COUNT(DISTINCT index_name) FROM information_schema.statistics WHERE table_name = 'logs' AND "
                   "table_schema = DATABASE()");
  return sql_int(db, "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'logs' AND schemaname = current_schema()");
}

// What a crash between a shipment's copy and its delete leaves: the row in both databases.
void copy_to_log_database(const test::TestDatabase& log, const Log& l) {
  auto raw = log.raw();
  auto q = ok(raw->query("INSERT INTO logs (" + rows::kLogCols +
                         ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  q->bind_all(l.id, l.user_id, l.created_at, l.type, l.content, l.username, l.token_name, l.model_name, l.quota,
              l.prompt_tokens, l.completion_tokens, l.channel_id, l.request_id, l.elapsed_time, l.is_stream,
              l.system_prompt_reset, l.token_id, l.cached_prompt_tokens);
  ok(q->run());
}

std::string password_of(const std::string& dsn) {
  const auto scheme = dsn.find("://");
  const auto user = scheme == std::string::npos ? 0 : scheme + 3;
  const auto at = dsn.find('@', user);
  const auto colon = dsn.find(':', user);
  if (at == std::string::npos || colon == std::string::npos || colon > at) return {};
  return dsn.substr(colon + 1, at - colon - 1);
}

struct SplitServers {
  SplitServers(const std::string& main_kind, const std::string& log_kind) : main(main_kind), log(log_kind) {}
  test::TestDatabase main;
  test::TestDatabase log;

  StoreOptions options(bool migrate = true) const {
    StoreOptions o = main.options();
    o.log_sql_dsn = log.dsn();
    o.migrate = migrate;
    return o;
  }
};

struct Books {
  std::unique_ptr<Store> store;
  User user;
  Token token;
  explicit Books(std::unique_ptr<Store> s) : store(std::move(s)) {
    User u;
    u.username = "alice";
    u.quota = 1000000;
    user = ok(store->insert_user(u));
    Token t;
    t.user_id = user.id;
    t.name = "t";
    t.unlimited_quota = true;
    token = ok(store->insert_token(t));
  }
  int64_t pre_charge(const std::string& request_id, int64_t created_at) {
    PreChargeRequest r;
    r.token_id = token.id;
    r.user_id = user.id;
    r.amount = 500;
    r.pending.request_id = request_id;
    r.pending.created_at = created_at;
    r.pending.model_name = "gpt-4o-mini";
    return ok(store->pre_charge(r));
  }
  void settle(int64_t log_id, int64_t quota) {
    Settlement s;
    s.log_id = log_id;
    s.token_id = token.id;
    s.user_id = user.id;
    s.pre_charged = 500;
    s.quota = quota;
    s.prompt_tokens = quota / 2;
    s.completion_tokens = 1;
    s.model_name = "gpt-4o-mini";
    ok(store->settle(s));
  }
  std::vector<Log> all(int limit = 0, int offset = 0) {
    LogFilter f;
    f.limit = limit;
    f.offset = offset;
    return ok(store->list_logs(f));
  }
};

// Every log row listed once, newest first (created_at, then id).
void check_listed_once(Books& b, size_t want) {
  const auto listed = b.all();
  CHECK(listed.size() == want);
  std::set<int64_t> ids;
  for (size_t i = 0; i < listed.size(); ++i) {
    ids.insert(listed[i].id);
    if (i > 0)
      CHECK(std::make_pair(listed[i - 1].created_at, listed[i - 1].id) >
            std::make_pair(listed[i].created_at, listed[i].id));
  }
  CHECK(ids.size() == listed.size());
  // Pages of two, read one after another, are the same rows in the same order.
  std::vector<int64_t> paged;
  for (int offset = 0; offset < static_cast<int>(want) + 2; offset += 2)
    for (const Log& l : b.all(2, offset)) paged.push_back(l.id);
  std::vector<int64_t> whole;
  for (const Log& l : listed) whole.push_back(l.id);
  CHECK(paged == whole);
}

}  // namespace

TEST_CASE("server log database: settled rows move, each counted once, also after a crash between copy and delete",
          "[store][logdb][postgres][mysql]") {
  const auto servers = test::server_backends();
  if (servers.empty()) {
    WARN("no database server to test (scripts/test starts them)");
    return;
  }
  const std::string main_kind = GENERATE_COPY(from_range(servers));
  const std::string log_kind = GENERATE_COPY(from_range(servers));
  INFO("main database on " << main_kind << ", log database on " << log_kind);
  SplitServers dbs(main_kind, log_kind);
  Books b(open_store(dbs.options()));
  REQUIRE(b.store->logs_split());
  // Same columns as main's logs table; same indexes where the two are of one kind.
  CHECK(logs_columns(dbs.log) == logs_columns(dbs.main));
  if (main_kind == log_kind) CHECK(logs_indexes(dbs.log) == logs_indexes(dbs.main));

  const int64_t t0 = unix_now() - 100;
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(b.pre_charge("r" + std::to_string(i), t0 + i));
  int64_t charged = 0;
  for (int i = 0; i < 4; ++i) {
    b.settle(ids[static_cast<size_t>(i)], 10 * (i + 1));
    charged += 10 * (i + 1);
  }

  CHECK(ok(b.store->ship_logs(2)) == 2);  // oldest first, batch-bounded
  CHECK(sql_int(dbs.log, "SELECT COUNT(*) FROM logs") == 2);
  CHECK(sql_int(dbs.main, "SELECT COUNT(*) FROM logs") == 3);
  check_listed_once(b, 5);
  CHECK(ok(b.store->ship_logs(100)) == 2);
  CHECK(ok(b.store->ship_logs(100)) == 0);
  // The request still in flight stays in main, where its settlement or refund will find it.
  CHECK(sql_int(dbs.main, "SELECT COUNT(*) FROM logs") == 1);
  CHECK(sql_int(dbs.main, "SELECT COUNT(*) FROM logs WHERE type = " + std::to_string(kProvisional)) == 1);
  CHECK(sql_int(dbs.log, "SELECT COUNT(*) FROM logs WHERE type = " + std::to_string(kProvisional)) == 0);
  CHECK(sql_int(dbs.log, "SELECT COALESCE(SUM(quota), 0) FROM logs") == charged);
  check_listed_once(b, 5);

  // The last request settles; a crash after its copy, before its delete, leaves it in both.
  b.settle(ids[4], 50);
  charged += 50;
  const Log last = ok(b.store->get_log_by_request_id("r4"));
  CHECK(last.type == kConsume);
  copy_to_log_database(dbs.log, last);
  CHECK(sql_int(dbs.main, "SELECT COUNT(*) FROM logs WHERE id = " + std::to_string(last.id)) == 1);
  check_listed_once(b, 5);
  CHECK(ok(b.store->get_log_by_request_id("r4")).id == last.id);
  CHECK(ok(b.store->get_log_by_request_id("r1")).quota == 20);
  auto missing = b.store->get_log_by_request_id("nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().kind == ErrorKind::not_found);
  LogStat stat = ok(b.store->log_stat(LogFilter{}));
  CHECK(stat.requests == 5);
  CHECK(stat.quota == charged);
  CHECK(stat.quota == ok(b.store->get_token(b.token.id)).used_quota);
  CHECK(stat.completion_tokens == 5);
  LogFilter one_model;
  one_model.model_name = "gpt-4o-mini";
  one_model.start_timestamp = t0 + 3;
  CHECK(ok(b.store->log_stat(one_model)).requests == 2);

  // The next shipment deletes the copy left in main, and nothing is copied twice.
  CHECK(ok(b.store->ship_logs(100)) == 1);
  CHECK(sql_int(dbs.main, "SELECT COUNT(*) FROM logs") == 0);
  CHECK(sql_int(dbs.log, "SELECT COUNT(*) FROM logs") == 5);
  check_listed_once(b, 5);

  // Purge: both databases, a row in both counted once.
  const int64_t id6 = b.pre_charge("r5", t0 + 5);
  b.settle(id6, 60);
  copy_to_log_database(dbs.log, ok(b.store->get_log_by_request_id("r5")));
  const int64_t in_flight = b.pre_charge("r6", t0 + 6);
  CHECK(ok(b.store->purge_logs(unix_now() + 60)) == 6);
  CHECK(sql_int(dbs.log, "SELECT COUNT(*) FROM logs") == 0);
  CHECK(sql_int(dbs.main, "SELECT COUNT(*) FROM logs") == 1);  // the request in flight
  const auto left = b.all();
  REQUIRE(left.size() == 1);
  CHECK(left[0].id == in_flight);
}

TEST_CASE("server log database: a slave node does not migrate it, and the master does",
          "[store][logdb][postgres][mysql]") {
  const auto servers = test::server_backends();
  if (servers.empty()) {
    WARN("no database server to test (scripts/test starts them)");
    return;
  }
  SplitServers dbs(servers.front(), servers.back());
  open_store(dbs.main.options()).reset();  // the main schema, migrated by its master
  try {
    open_store(dbs.options(false));
    FAIL("a slave node migrated or used an empty log database");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("log database") != std::string::npos);
    CHECK(what.find("NODE_TYPE=slave") != std::string::npos);
    const std::string password = password_of(dbs.log.dsn());
    if (!password.empty()) CHECK(what.find(password) == std::string::npos);
  }
  CHECK(
      sql_int(dbs.log, "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'logs' AND table_schema = " +
                           std::string(dbs.log.backend() == "mysql" ? "DATABASE()" : "current_schema()")) == 0);
  open_store(dbs.options(true)).reset();  // the master
  auto slave = open_store(dbs.options(false));
  CHECK(slave->logs_split());
  CHECK(ok(slave->ship_logs(10)) == 0);

  // The log database must be another database than the main one.
  StoreOptions same = dbs.main.options();
  same.log_sql_dsn = same.sql_dsn;
  CHECK_THROWS_WITH(open_store(same), Catch::Contains("must be another database"));
}
