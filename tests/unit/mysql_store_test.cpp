// MariaDB: the DSN, the SQL layer's translation, its errors and reconnection, the migrations and
// the store shared by several nodes, against the real server scripts/test starts
// (ONEAPI_TEST_MYSQL_DSN).
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "store/migrations.hpp"
#include "store/mysql.hpp"
#include "store/store.hpp"
#include "support/result_check.hpp"
#include "support/test_database.hpp"

using namespace oneapi;
using namespace oneapi::store;
using oneapi::test::err;
using oneapi::test::ok;

namespace {

// The test needs the server: without ONEAPI_TEST_MYSQL_DSN it says so and passes.
bool have_mysql() {
  if (!test::mysql_test_dsn().empty()) return true;
  WARN("ONEAPI_TEST_MYSQL_DSN is not set: the MariaDB tests did not run (scripts/test sets it)");
  return false;
}

std::unique_ptr<sql::Db> connect(const std::string& dsn) { return ok(mysql::connect(dsn, 5)); }

constexpr const char* kInsertNamed = "INSERT INTO t (name) VALUES (?) RETURNING id";

}  // namespace

TEST_CASE("mysql: One API's DSN forms are parsed, passwords never show", "[store][mysql]") {
  auto d = ok(mysql::parse_mysql_dsn("root:p@ss:w0rd@tcp(db.internal:3307)/oneapi?charset=utf8mb4&parseTime=True"));
  CHECK(d.user == "root");
  CHECK(d.password == "p@ss:w0rd");
  CHECK(d.host == "db.internal");
  CHECK(d.port == 3307);
  CHECK(d.database == "oneapi");
  CHECK(d.socket.empty());

  d = ok(mysql::parse_mysql_dsn("oneapi@tcp(localhost)/db?timeout=1500ms&readTimeout=1m&tls=skip-verify"));
  CHECK(d.password.empty());
  CHECK(d.port == 3306);
  CHECK(d.timeout_s == 2);
  CHECK(d.read_timeout_s == 60);
  CHECK(d.write_timeout_s == 0);
  CHECK(d.tls);
  CHECK_FALSE(d.tls_verify);
  d = ok(mysql::parse_mysql_dsn("u:pw@tcp([::1]:3308)/db"));
  CHECK(d.host == "::1");
  CHECK(d.port == 3308);
  d = ok(mysql::parse_mysql_dsn("u:pw@unix(/run/mysqld/mysqld.sock)/db"));
  CHECK(d.socket == "/run/mysqld/mysqld.sock");
  CHECK(d.database == "db");
  d = ok(mysql::parse_mysql_dsn("u:pw@/db"));  // go-sql-driver's default: tcp to 127.0.0.1:3306
  CHECK(d.host == "127.0.0.1");
  CHECK(d.port == 3306);

  for (const char* bad : {"u:topsecret@tcp(h:99999)/db", "u:topsecret@tcp(h:3306)/", "u:topsecret@tcp(h:3306)",
                          "u:topsecret@udp(h:3306)/db", "u:topsecret@tcp(h:3306/db", "u:topsecret@tcp(h)/db?timeout=x",
                          "u:topsecret@tcp(h)/db?writeTimeout=5"}) {
    INFO(bad);
    const Error e = err(mysql::parse_mysql_dsn(bad));
    CHECK(e.kind == ErrorKind::invalid_request);
    CHECK_THAT(e.message, !Catch::Contains("topsecret"));
    CHECK_THAT(e.message, Catch::Contains("u:***@"));
  }

  CHECK(mysql::redact_dsn("root:s3cret@tcp(db:3306)/oneapi?x=1") == "root:***@tcp(db:3306)/oneapi?x=1");
  CHECK(mysql::redact_dsn("root:a@b@tcp(db:3306)/oneapi") == "root:***@tcp(db:3306)/oneapi");
  CHECK(mysql::redact_dsn("root@tcp(db:3306)/oneapi") == "root@tcp(db:3306)/oneapi");
  CHECK(mysql::is_mysql_dsn("root:pw@tcp(localhost:3306)/oneapi"));
  CHECK(mysql::is_mysql_dsn("root@unix(/tmp/s)/oneapi"));
  CHECK_FALSE(mysql::is_mysql_dsn("postgres://u:p@tcp(x)/y"));
  CHECK_FALSE(mysql::is_mysql_dsn("/var/lib/oneapi/one-api.db"));
}

TEST_CASE("mysql: the shared SQL is translated where MariaDB differs", "[store][mysql]") {
  CHECK(mysql::translate("INSERT INTO a (x) VALUES (?)\n       ON CONFLICT DO NOTHING") ==
        "INSERT IGNORE INTO a (x) VALUES (?)");
  CHECK(mysql::translate("INSERT INTO k (c) SELECT id FROM ch WHERE id = ? ON CONFLICT DO NOTHING") ==
        "INSERT IGNORE INTO k (c) SELECT id FROM ch WHERE id = ?");
  CHECK(mysql::translate(R"(INSERT INTO options ("key", value) VALUES (?, ?) ON CONFLICT("key") DO UPDATE SET )"
                         "value = excluded.value") ==
        R"(INSERT INTO options ("key", value) VALUES (?, ?) ON DUPLICATE KEY UPDATE value = VALUES(value))");
  CHECK(mysql::translate("RELEASE job") == "RELEASE SAVEPOINT job");
  const std::string plain = R"(UPDATE users SET username = 'deleted_' || ? WHERE "group" = ?)";
  CHECK(mysql::translate(plain) == plain);

  // The migrations: 64-bit integers, VARCHAR where an index (of any migration) needs a length,
  // the index's table on DROP INDEX, IF NOT EXISTS on ADD COLUMN.
  const std::string ddl = ddl_for(sql::Dialect::mysql, R"(
CREATE TABLE IF NOT EXISTS logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  content TEXT DEFAULT '',
  username TEXT DEFAULT '',
  balance REAL DEFAULT 0
);
-- the user's logs, newest first
ALTER TABLE logs ADD COLUMN request_id TEXT DEFAULT '';
DROP INDEX IF EXISTS idx_logs_user_id;)");
  CHECK_THAT(ddl, Catch::Contains("id BIGINT AUTO_INCREMENT PRIMARY KEY"));
  CHECK_THAT(ddl, Catch::Contains("content MEDIUMTEXT DEFAULT ''"));
  CHECK_THAT(ddl, Catch::Contains("username VARCHAR(191) DEFAULT ''"));  // indexed by migration 2
  CHECK_THAT(ddl, Catch::Contains("balance DOUBLE DEFAULT 0"));
  CHECK_THAT(ddl, Catch::Contains("ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"));
  CHECK_THAT(ddl, Catch::Contains("ALTER TABLE logs ADD COLUMN IF NOT EXISTS request_id VARCHAR(191) DEFAULT ''"));
  CHECK_THAT(ddl, Catch::Contains("DROP INDEX IF EXISTS idx_logs_user_id ON logs"));
  CHECK_THAT(ddl, !Catch::Contains("INTEGER"));
}

TEST_CASE("mysql: an unreachable server is a clear error without the password", "[store][mysql]") {
  StoreOptions o;
  o.sql_dsn = "oneapi:topsecret@tcp(127.0.0.1:1)/oneapi";
  o.connect_timeout_s = 2;
  try {
    open_store(o);
    FAIL("open_store succeeded");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("database unavailable"));
    CHECK_THAT(what, Catch::Contains("127.0.0.1:1"));
    CHECK_THAT(what, !Catch::Contains("topsecret"));
  }
  o.sql_dsn = "oneapi:topsecret@tcp(127.0.0.1:notaport)/oneapi";
  CHECK_THROWS_WITH(open_store(o), !Catch::Contains("topsecret") && Catch::Contains("not a number"));
  o.sql_dsn = "mongodb://x";
  CHECK_THROWS_WITH(open_store(o), Catch::Contains("user:password@tcp(host:port)/dbname"));
}

TEST_CASE("mysql: errors, transactions, and a connection that is cut", "[store][mysql]") {
  if (!have_mysql()) return;
  test::TestDatabase database("mysql");
  auto db = connect(database.dsn());
  ok(db->exec(ddl_for(sql::Dialect::mysql,
                      "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, "
                      "n INTEGER DEFAULT 0, x REAL, note TEXT)")));

  CHECK(err(db->exec("SELEC nonsense")).kind == ErrorKind::internal);
  CHECK(ok(sql::insert_returning_id(*db, kInsertNamed, "a")) == 1);
  Error dup = err(sql::insert_returning_id(*db, kInsertNamed, "a"));
  CHECK(dup.kind == ErrorKind::invalid_request);
  CHECK_THAT(dup.message, Catch::Contains("Duplicate entry"));
  // Binary collation: keys differ by case and by trailing spaces, as in SQLite and PostgreSQL.
  CHECK(ok(sql::insert_returning_id(*db, kInsertNamed, "A")) > 1);
  CHECK(ok(sql::insert_returning_id(*db, kInsertNamed, "a ")) > 1);
  CHECK(test::scalar(*db, "SELECT COUNT(*) FROM t WHERE name = 'a'") == 1);
  ok(db->exec("DELETE FROM t WHERE name != 'a'"));

  {
    auto tx = ok(sql::Transaction::begin(*db));
    ok(sql::insert_returning_id(*db, kInsertNamed, "b"));
  }  // no commit: rolled back
  {
    // Unlike PostgreSQL, a failed statement undoes only itself: the transaction goes on (as in
    // SQLite), and commits what succeeded.
    auto tx = ok(sql::Transaction::begin(*db));
    ok(sql::insert_returning_id(*db, kInsertNamed, "c"));
    err(sql::insert_returning_id(*db, kInsertNamed, "a"));
    CHECK(db->transaction_usable());
    ok(tx.commit());
  }
  CHECK(test::scalar(*db, "SELECT COUNT(*) FROM t") == 2);
  ok(db->exec("DELETE FROM t WHERE name = 'c'"));

  // Types survive the round trip: 64-bit integers, doubles to the last digit, NULL, utf8mb4.
  {
    auto q = ok(db->query("UPDATE t SET n = ?, x = ?, note = ? WHERE name = ?"));
    ok(q->bind(1, int64_t{500000000000005}).bind(2, 0.1 + 0.2).bind(3, "naïve 🦊").bind(4, "a").run());
  }
  CHECK(db->changes() == 1);
  {
    // FOUND_ROWS: a row matched but left as it was still counts, as in SQLite and PostgreSQL.
    auto q = ok(db->query("UPDATE t SET n = ? WHERE name = ?"));
    ok(q->bind(1, int64_t{500000000000005}).bind(2, "a").run());
  }
  CHECK(db->changes() == 1);
  {
    auto q = ok(db->query("SELECT n, x, note, name, NULL, COALESCE(SUM(n), 0) FROM t WHERE name = ? GROUP BY id"));
    REQUIRE(ok(q->bind(1, "a").step()));
    CHECK(q->column_int64(0) == 500000000000005);
    CHECK(q->column_double(1) == 0.1 + 0.2);
    CHECK(q->column_text(2) == "naïve 🦊");
    CHECK(q->column_text(3) == "a");
    CHECK(q->column_is_null(4));
    CHECK(q->column_text(4).empty());
    CHECK_FALSE(q->column_is_null(0));
    CHECK(q->column_int64(5) == 500000000000005);  // SUM over BIGINT is a DECIMAL
    CHECK_FALSE(ok(q->step()));
  }
  {
    auto q = ok(db->query("UPDATE t SET note = ? WHERE name = ?"));
    ok(q->bind_null(1).bind(2, "a").run());
  }
  CHECK(test::scalar(*db, "SELECT COUNT(*) FROM t WHERE note IS NULL") == 1);
  {
    auto bad = ok(db->query("SELECT ?"));
    CHECK_THAT(err(bad->bind(5, int64_t{1}).step()).message, Catch::Contains("bind parameter 5"));
  }

  // The server ends the session (as a restart would): that statement fails as unavailable, the
  // next one reconnects and re-prepares its cached statement.
  auto admin = connect(database.dsn());
  const int64_t id = test::scalar(*db, "SELECT CONNECTION_ID()");
  ok(admin->exec("KILL " + std::to_string(id)));
  {
    auto q = ok(db->query("SELECT n FROM t WHERE name = ?"));
    Error cut = err(q->bind(1, "a").step());
    CHECK(cut.kind == ErrorKind::unavailable);
    CHECK_THAT(cut.message, Catch::Contains("database unavailable"));
  }
  {
    auto q = ok(db->query("SELECT n FROM t WHERE name = ?"));
    REQUIRE(ok(q->bind(1, "a").step()));
    CHECK(q->column_int64(0) == 500000000000005);
  }
  CHECK(test::scalar(*db, "SELECT CONNECTION_ID()") != id);

  // Cut inside a transaction: the rest of it fails rather than running outside any transaction.
  {
    auto tx = ok(sql::Transaction::begin(*db));
    ok(db->exec("UPDATE t SET n = 6 WHERE name = 'a'"));
    const int64_t inner = test::scalar(*db, "SELECT CONNECTION_ID()");
    ok(admin->exec("KILL " + std::to_string(inner)));
    CHECK(err(db->exec("UPDATE t SET n = 7 WHERE name = 'a'")).kind == ErrorKind::unavailable);
    CHECK(err(db->exec("UPDATE t SET n = 8 WHERE name = 'a'")).kind == ErrorKind::unavailable);
    CHECK(err(tx.commit()).kind == ErrorKind::unavailable);
  }
  CHECK(test::scalar(*db, "SELECT n FROM t WHERE name = 'a'") == 500000000000005);
}

TEST_CASE("mysql: a deadlock aborts the transaction, and nothing after it runs on its own", "[store][mysql]") {
  if (!have_mysql()) return;
  test::TestDatabase database("mysql");
  auto a = connect(database.dsn());
  auto b = connect(database.dsn());
  ok(a->exec("CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT) ENGINE=InnoDB; INSERT INTO t VALUES (1, 0), (2, 0)"));

  auto tx_a = ok(sql::Transaction::begin(*a));
  auto tx_b = ok(sql::Transaction::begin(*b));
  ok(a->exec("UPDATE t SET n = n + 1 WHERE id = 1"));
  ok(b->exec("UPDATE t SET n = n + 1 WHERE id = 2"));
  Result<void> from_b;
  std::thread blocked([&] { from_b = b->exec("UPDATE t SET n = n + 1 WHERE id = 1"); });  // waits for a
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Result<void> from_a = a->exec("UPDATE t SET n = n + 1 WHERE id = 2");  // the cycle
  if (from_a) ok(tx_a.commit());                                         // b was the victim: let it go on
  blocked.join();
  REQUIRE(from_a.has_value() != from_b.has_value());  // exactly one victim
  sql::Db& victim = from_a ? *b : *a;
  sql::Transaction& victim_tx = from_a ? tx_b : tx_a;
  const Error deadlock = from_a ? from_b.error() : from_a.error();
  CHECK(deadlock.kind == ErrorKind::unavailable);
  CHECK(deadlock.retryable);
  CHECK_THAT(deadlock.message, Catch::Contains("Deadlock"));
  CHECK_FALSE(victim.transaction_usable());
  // InnoDB rolled the whole transaction back: a further statement would autocommit, so it is refused.
  CHECK(err(victim.exec("UPDATE t SET n = 100 WHERE id = 1")).kind == ErrorKind::unavailable);
  CHECK_THAT(err(victim_tx.commit()).message, Catch::Contains("aborted"));
  if (!from_a) ok(tx_b.commit());
  ok(victim_tx.rollback());
  // The survivor's two increments are all there is.
  CHECK(test::scalar(*a, "SELECT SUM(n) FROM t") == 2);
  CHECK(test::scalar(*a, "SELECT MAX(n) FROM t") == 1);
}

TEST_CASE("mysql: migrations are idempotent statement by statement", "[store][mysql]") {
  if (!have_mysql()) return;
  test::TestDatabase database("mysql");
  database.open().reset();
  auto raw = database.raw();
  CHECK(ok(schema_version(*raw)) == latest_schema_version());
  // A node killed after migration 2's statements ran but before it was recorded (MySQL commits
  // DDL as it goes): the next start applies it again without error.
  ok(raw->exec("DELETE FROM schema_migrations WHERE version >= 2"));
  ok(migrate(*raw));
  CHECK(ok(schema_version(*raw)) == latest_schema_version());
  CHECK(test::scalar(*raw,
                     "SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND "
                     "index_name = 'idx_logs_user_id'") == 0);
  CHECK(test::scalar(*raw,
                     "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND "
                     "table_name = 'tokens' AND column_name = 'key' AND data_type = 'varchar'") == 1);
  CHECK(test::scalar(*raw,
                     "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND "
                     "engine = 'InnoDB'") >= 9);
}
