// PostgreSQL: the SQL layer's translation, its errors and reconnection, and the store shared by
// several nodes, against the real server scripts/test starts (ONEAPI_TEST_PG_DSN).
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "store/migrations.hpp"
#include "store/postgres.hpp"
#include "store/store.hpp"
#include "support/result_check.hpp"
#include "support/test_database.hpp"

using namespace oneapi;
using namespace oneapi::store;
using oneapi::test::err;
using oneapi::test::ok;

namespace {

// The test needs the server: without ONEAPI_TEST_PG_DSN it says so and passes.
bool have_postgres() {
  if (!test::postgres_test_dsn().empty()) return true;
  WARN("ONEAPI_TEST_PG_DSN is not set: the PostgreSQL tests did not run (scripts/test sets it)");
  return false;
}

std::unique_ptr<sql::Db> connect(const std::string& dsn) { return ok(postgres::connect(dsn, 5)); }

}  // namespace

TEST_CASE("postgres: ? parameters become $N outside quotes, passwords are redacted", "[store][postgres]") {
  int count = 0;
  CHECK(postgres::numbered_parameters("SELECT a FROM t WHERE b = ? AND c = ?", count) ==
        "SELECT a FROM t WHERE b = $1 AND c = $2");
  CHECK(count == 2);
  CHECK(postgres::numbered_parameters(R"(SELECT '?', "a?" FROM t WHERE x = ?)", count) ==
        R"(SELECT '?', "a?" FROM t WHERE x = $1)");
  CHECK(count == 1);
  CHECK(postgres::numbered_parameters("UPDATE t SET a = ?2 WHERE id = ?1", count) ==
        "UPDATE t SET a = $2 WHERE id = $1");
  CHECK(count == 2);
  CHECK(postgres::numbered_parameters("SELECT 1", count) == "SELECT 1");
  CHECK(count == 0);

  CHECK(postgres::redact_dsn("postgres://oneapi:s3cret@db:5432/oneapi") == "postgres://oneapi:***@db:5432/oneapi");
  CHECK(postgres::redact_dsn("postgres://oneapi@db/oneapi") == "postgres://oneapi@db/oneapi");
  CHECK(postgres::is_postgres_dsn("postgresql://x@y/z"));
  CHECK_FALSE(postgres::is_postgres_dsn("root:pw@tcp(localhost:3306)/oneapi"));
}

TEST_CASE("postgres: an unreachable server is a clear error without the password", "[store][postgres]") {
  StoreOptions o;
  o.sql_dsn = "postgres://oneapi:topsecret@127.0.0.1:1/oneapi";
  o.connect_timeout_s = 2;
  try {
    open_store(o);
    FAIL("open_store succeeded");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    CHECK_THAT(what, Catch::Contains("database unavailable"));
    CHECK_THAT(what, Catch::Contains("127.0.0.1"));
    CHECK_THAT(what, !Catch::Contains("topsecret"));
  }
  o.sql_dsn = "mongodb://x";
  CHECK_THROWS_WITH(open_store(o), Catch::Contains("SQL_DSN: unsupported database"));
}

TEST_CASE("postgres: errors, transactions, and a connection that is cut", "[store][postgres]") {
  if (!have_postgres()) return;
  test::TestDatabase database("postgres");
  auto db = connect(database.dsn());
  ok(db->exec("CREATE TABLE t (id BIGSERIAL PRIMARY KEY, name TEXT UNIQUE, n BIGINT DEFAULT 0)"));

  CHECK(err(db->exec("SELEC nonsense")).kind == ErrorKind::internal);
  CHECK(ok(sql::insert_returning_id(*db, "INSERT INTO t (name) VALUES (?) RETURNING id", "a")) == 1);
  Error dup = err(sql::insert_returning_id(*db, "INSERT INTO t (name) VALUES (?) RETURNING id", "a"));
  CHECK(dup.kind == ErrorKind::invalid_request);
  CHECK_THAT(dup.message, Catch::Contains("duplicate key"));

  {
    auto tx = ok(sql::Transaction::begin(*db));
    ok(sql::insert_returning_id(*db, "INSERT INTO t (name) VALUES (?) RETURNING id", "b"));
  }  // no commit: rolled back
  {
    // After an error PostgreSQL refuses the rest of the transaction: commit says so.
    auto tx = ok(sql::Transaction::begin(*db));
    ok(sql::insert_returning_id(*db, "INSERT INTO t (name) VALUES (?) RETURNING id", "c"));
    err(sql::insert_returning_id(*db, "INSERT INTO t (name) VALUES (?) RETURNING id", "a"));
    Error aborted = err(tx.commit());
    CHECK_THAT(aborted.message, Catch::Contains("aborted"));
  }
  CHECK(test::scalar(*db, "SELECT COUNT(*) FROM t") == 1);
  {
    auto q = ok(db->query("UPDATE t SET n = ? WHERE name = ?"));
    ok(q->bind(1, int64_t{5}).bind(2, "a").run());
  }
  CHECK(db->changes() == 1);
  {
    auto q = ok(db->query("SELECT n, name FROM t WHERE name = ?"));
    REQUIRE(ok(q->bind(1, "a").step()));
    CHECK(q->column_int64(0) == 5);
    CHECK(q->column_text(1) == "a");
    CHECK_FALSE(ok(q->step()));
  }
  {
    auto bad = ok(db->query("SELECT ?"));
    CHECK_THAT(err(bad->bind(5, int64_t{1}).step()).message, Catch::Contains("bind parameter 5"));
  }

  // The server ends the session (as a restart would): that statement fails as unavailable, the
  // next one reconnects and re-prepares its cached statement.
  auto admin = connect(test::postgres_test_dsn());
  const int64_t pid = test::scalar(*db, "SELECT pg_backend_pid()");
  ok(admin->exec("SELECT pg_terminate_backend(" + std::to_string(pid) + ")"));
  {
    auto q = ok(db->query("SELECT n FROM t WHERE name = ?"));
    Error cut = err(q->bind(1, "a").step());
    CHECK(cut.kind == ErrorKind::unavailable);
    CHECK_THAT(cut.message, Catch::Contains("database unavailable"));
  }
  {
    auto q = ok(db->query("SELECT n FROM t WHERE name = ?"));
    REQUIRE(ok(q->bind(1, "a").step()));
    CHECK(q->column_int64(0) == 5);
  }
  CHECK(test::scalar(*db, "SELECT pg_backend_pid()") != pid);

  // Cut inside a transaction: the rest of it fails rather than running outside any transaction.
  {
    auto tx = ok(sql::Transaction::begin(*db));
    ok(db->exec("UPDATE t SET n = 6 WHERE name = 'a'"));
    const int64_t inner = test::scalar(*db, "SELECT pg_backend_pid()");
    ok(admin->exec("SELECT pg_terminate_backend(" + std::to_string(inner) + ")"));
    CHECK(err(db->exec("UPDATE t SET n = 7 WHERE name = 'a'")).kind == ErrorKind::unavailable);
    CHECK(err(db->exec("UPDATE t SET n = 8 WHERE name = 'a'")).kind == ErrorKind::unavailable);
    CHECK(err(tx.commit()).kind == ErrorKind::unavailable);
  }
  CHECK(test::scalar(*db, "SELECT n FROM t WHERE name = 'a'") == 5);
}
