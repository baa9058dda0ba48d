#include "support/test_database.hpp"

#include <catch2/catch.hpp>
#include <cstdlib>
#include <random>

#include "store/mysql.hpp"
#include "store/postgres.hpp"
#include "store/sqlite.hpp"
#include "support/result_check.hpp"

namespace oneapi::test {

std::string postgres_test_dsn() {
  const char* dsn = std::getenv("ONEAPI_TEST_PG_DSN");
  return dsn ? dsn : "";
}

std::string mysql_test_dsn() {
  const char* dsn = std::getenv("ONEAPI_TEST_MYSQL_DSN");
  return dsn ? dsn : "";
}

std::vector<std::string> store_backends() {
  std::vector<std::string> out{"sqlite"};
  if (!postgres_test_dsn().empty()) out.push_back("postgres");
  if (!mysql_test_dsn().empty()) out.push_back("mysql");
  return out;
}

std::vector<std::string> server_backends() {
  auto all = store_backends();
  all.erase(all.begin());  // "sqlite" comes first
  return all;
}

std::string mysql_dsn_for_database(const std::string& dsn, const std::string& database) {
  const auto query = dsn.find('?');
  const auto slash = dsn.substr(0, query).rfind('/');
  REQUIRE(slash != std::string::npos);
  return dsn.substr(0, slash + 1) + database + (query == std::string::npos ? "" : dsn.substr(query));
}

namespace {

std::unique_ptr<store::sql::Db> connect_or_fail(const std::string& dsn) {
  const bool mysql = store::mysql::is_mysql_dsn(dsn);
  auto db = mysql ? store::mysql::connect(dsn, 5) : store::postgres::connect(dsn, 5);
  if (!db)
    FAIL("cannot connect to " << (mysql ? "ONEAPI_TEST_MYSQL_DSN: " : "ONEAPI_TEST_PG_DSN: ") << db.error().message);
  return std::move(*db);
}

// search_path set through libpq's `options`, so every connection of the store lands in the schema.
std::string with_schema(const std::string& dsn, const std::string& schema) {
  return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" + schema;
}

}  // namespace

TestDatabase::TestDatabase(std::string backend, std::string server)
    : backend_(std::move(backend)), server_(std::move(server)) {
  if (is_sqlite()) {
    sqlite_path_ = dir_.file("oneapi.db");
    return;
  }
  std::random_device rd;
  if (backend_ == "mysql") {
    // A database per test (the test user may create oneapi_test%).
    if (server_.empty()) server_ = mysql_test_dsn();
    REQUIRE(!server_.empty());
    mysql_database_ = "oneapi_test_" + std::to_string(rd()) + std::to_string(rd() % 100000);
    ok(connect_or_fail(server_)->exec("CREATE DATABASE " + mysql_database_));
    dsn_ = mysql_dsn_for_database(server_, mysql_database_);
    return;
  }
  if (server_.empty()) server_ = postgres_test_dsn();
  const std::string& base = server_;
  REQUIRE(!base.empty());
  schema_ = "t" + std::to_string(rd()) + std::to_string(rd() % 100000);
  auto admin = connect_or_fail(base);
  ok(admin->exec("CREATE SCHEMA " + schema_));
  dsn_ = with_schema(base, schema_);
}

TestDatabase::~TestDatabase() {
  if (!mysql_database_.empty()) {
    auto admin = store::mysql::connect(server_, 5);
    if (admin) (void)(*admin)->exec("DROP DATABASE IF EXISTS " + mysql_database_);
    return;
  }
  if (schema_.empty()) return;
  auto admin = store::postgres::connect(server_, 5);
  if (admin) (void)(*admin)->exec("DROP SCHEMA " + schema_ + " CASCADE");
}

store::StoreOptions TestDatabase::options() const {
  store::StoreOptions o;
  o.sqlite_path = sqlite_path_.empty() ? dir_.file("unused.db") : sqlite_path_;
  o.busy_timeout_ms = 3000;
  o.sql_dsn = dsn_;
  return o;
}

std::unique_ptr<store::sql::Db> TestDatabase::raw() const {
  if (!is_sqlite()) return connect_or_fail(dsn_);
  auto db = std::make_unique<store::sqlite::Db>();
  ok(db->open(sqlite_path_));
  return db;
}

int64_t scalar(store::sql::Db& db, std::string_view sql) {
  auto q = ok(db.query(sql));
  REQUIRE(ok(q->step()));
  return q->column_int64(0);
}

}  // namespace oneapi::test
