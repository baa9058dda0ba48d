#pragma once
// The SQL layer (sql.hpp) on SQLite's C API. Every sqlite3_* return code is checked and turned
// into an Error (kind internal; constraint violations invalid_request; a locked database
// unavailable) whose message carries sqlite3_errmsg.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/sql.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace oneapi::store::sqlite {

using sql::Query;
using sql::Transaction;

// `what` says what was being done ("prepare", "step: <sql>"); rc is the failing return code.
Error make_error(sqlite3* db, int rc, std::string_view what);

class Statement final : public sql::Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() override;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  using sql::Statement::bind;
  sql::Statement& bind(int index, int64_t v) override;
  sql::Statement& bind(int index, double v) override;
  sql::Statement& bind(int index, std::string_view v) override;
  sql::Statement& bind_null(int index) override;

  Result<bool> step() override;
  void reset() override;

  int64_t column_int64(int col) const override;
  double column_double(int col) const override;
  std::string column_text(int col) const override;
  bool column_is_null(int col) const override;
  std::string_view sql() const override;

 private:
  sql::Statement& check_bind(int rc, int index);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = 0;  // first failed bind's code, SQLITE_OK (0) when none
  int bind_index_ = 0;
};

class Db final : public sql::Db {
 public:
  Db() = default;
  ~Db() override;

  // Opens (creating if missing) a database file for use from one thread at a time.
  Result<void> open(const std::string& path);
  void close();
  bool is_open() const { return db_ != nullptr; }

  sql::Dialect dialect() const override { return sql::Dialect::sqlite; }
  Result<void> exec(const std::string& sql) override;
  Result<std::unique_ptr<sql::Statement>> prepare(std::string_view sql) override;
  int changes() const override;
  int64_t total_changes() const override;
  std::string_view begin_sql(TxMode mode) const override {
    return mode == TxMode::immediate ? "BEGIN IMMEDIATE" : "BEGIN";
  }
  bool in_transaction() const override;
  bool transaction_usable() const override { return in_transaction(); }

  Result<void> set_busy_timeout(int ms);
  int64_t last_insert_rowid() const;
  Error error(int rc, std::string_view what) const { return make_error(db_, rc, what); }
  sqlite3* handle() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace oneapi::store::sqlite
