#pragma once
// The databases the store tests run against: SQLite always, PostgreSQL when ONEAPI_TEST_PG_DSN
// names a server, MariaDB when ONEAPI_TEST_MYSQL_DSN does (scripts/test starts both). Each test
// gets an empty database of its own: a file, a fresh schema (PostgreSQL) or database (MariaDB)
// dropped afterwards, so tests run in parallel against one server.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/sql.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

namespace oneapi::test {

// "sqlite", then "postgres" when ONEAPI_TEST_PG_DSN is set and "mysql" when ONEAPI_TEST_MYSQL_DSN
// is. For GENERATE(from_range(…)).
std::vector<std::string> store_backends();
// The same without "sqlite": the servers only.
std::vector<std::string> server_backends();
// ONEAPI_TEST_PG_DSN, or "" when it is unset.
std::string postgres_test_dsn();
// ONEAPI_TEST_MYSQL_DSN (user:password@tcp(host:port)/db), or "" when it is unset.
std::string mysql_test_dsn();
// `dsn` (MySQL form) naming `database` instead, its ?params kept.
std::string mysql_dsn_for_database(const std::string& dsn, const std::string& database);

class TestDatabase {
 public:
  // `server`: the DSN of the server to make the schema (PostgreSQL) or database (MariaDB) on;
  // default ONEAPI_TEST_PG_DSN or ONEAPI_TEST_MYSQL_DSN.
  explicit TestDatabase(std::string backend, std::string server = {});
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& backend() const { return backend_; }
  bool is_sqlite() const { return backend_ == "sqlite"; }
  // What open_store needs for this database.
  store::StoreOptions options() const;
  std::unique_ptr<store::Store> open() const { return store::open_store(options()); }
  // A second, raw connection for looking at what the store wrote.
  std::unique_ptr<store::sql::Db> raw() const;
  // SQL_DSN for a daemon on this database ("" for SQLite).
  const std::string& dsn() const { return dsn_; }
  const std::string& sqlite_path() const { return sqlite_path_; }

 private:
  std::string backend_;
  TempDir dir_{"oneapi-db-"};
  std::string sqlite_path_;
  std::string server_;
  std::string schema_;          // PostgreSQL
  std::string mysql_database_;  // MariaDB
  std::string dsn_;
};

// The first column of the first row of `sql`, read on a raw connection. A view: the statement
// cache sees the text where the caller keeps it.
int64_t scalar(store::sql::Db& db, std::string_view sql);

}  // namespace oneapi::test
