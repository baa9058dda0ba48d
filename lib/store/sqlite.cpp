#include "store/sqlite.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "store/sqlite_vfs.hpp"

namespace oneapi::store::sqlite {

Error make_error(sqlite3* db, int rc, std::string_view what) {
  std::string msg = "sqlite: ";
  msg += what;
  msg += ": ";
  // errmsg describes the connection's latest failure; errstr is all we have without a connection.
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  ErrorKind kind = ErrorKind::internal;
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      kind = ErrorKind::invalid_request;
      break;  // duplicate key, name, ...
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      kind = ErrorKind::unavailable;
      break;
    default:
      break;
  }
  Error e = Error::make(kind, std::move(msg));
  e.retryable = kind == ErrorKind::unavailable;
  return e;
}

// ---- Statement ----

Statement::~Statement() {
  // finalize only repeats the last step's error, already reported there.
  if (stmt_) sqlite3_finalize(stmt_);
}

sql::Statement& Statement::check_bind(int rc, int index) {
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) {
    bind_rc_ = rc;
    bind_index_ = index;
  }
  return *this;
}

sql::Statement& Statement::bind(int index, int64_t v) {
  return check_bind(sqlite3_bind_int64(stmt_, index, static_cast<sqlite3_int64>(v)), index);
}

sql::Statement& Statement::bind(int index, double v) { return check_bind(sqlite3_bind_double(stmt_, index, v), index); }

sql::Statement& Statement::bind(int index, std::string_view v) {
  return check_bind(
      sqlite3_bind_text64(stmt_, index, v.data(), static_cast<sqlite3_uint64>(v.size()), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
}

sql::Statement& Statement::bind_null(int index) { return check_bind(sqlite3_bind_null(stmt_, index), index); }

Result<bool> Statement::step() {
  if (!stmt_) return Error::make(ErrorKind::internal, "sqlite: step on an unprepared statement");
  if (bind_rc_ != SQLITE_OK) {
    return make_error(db_, bind_rc_, "bind parameter " + std::to_string(bind_index_) + " of: " + std::string(sql()));
  }
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return make_error(db_, rc, "step: " + std::string(sql()));
}

void Statement::reset() {
  if (!stmt_) return;
  // reset returns the last step's error again (already reported); clear_bindings cannot fail.
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
  bind_index_ = 0;
}

int64_t Statement::column_int64(int col) const { return sqlite3_column_int64(stmt_, col); }
double Statement::column_double(int col) const { return sqlite3_column_double(stmt_, col); }
bool Statement::column_is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::string Statement::column_text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string_view Statement::sql() const {
  if (!stmt_) return {};
  const char* s = sqlite3_sql(stmt_);
  return s ? std::string_view(s) : std::string_view();
}

// ---- Db ----

Db::~Db() { close(); }

void Db::close() {
  if (!db_) return;
  clear_statement_cache();  // statements must be finalized before the connection closes
  const int rc = sqlite3_close(db_);
  if (rc != SQLITE_OK) spdlog::error("sqlite: closing the database failed: {}", sqlite3_errmsg(db_));
  db_ = nullptr;
}

Result<void> Db::open(const std::string& path) {
  // Process-wide settings, which must come before SQLite initialises: before the first connection.
  [[maybe_unused]] static const bool configured = [] {
    // SQLite counts every allocation under a global mutex unless told not to; nothing reads them.
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    // A batch run again with savepoints (sql::Db::begin_batch), and a statement inside a
    // transaction, keep the pages they change, as they were, in a journal that spilled to a
    // temporary file past 64 KiB: a settle changes about 13 pages, so when every batch used
    // savepoints each request cost some 17 write calls at c=64. Kept in memory up to 128 KiB; a
    // larger one (a big change in one statement) still goes to disk. (With a limit above 128 KiB,
    // SQLite 3.40 fails that spill with "database or disk is full": it writes the journal in one
    // call, and the unix VFS writes at most 128 KiB - 1 per call. group_commit_test spills at
    // this one.)
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 128 << 10);
    install_wal_write_gathering();  // after sqlite3_config: it initialises SQLite
    return true;
  }();
  close();
  sqlite3* db = nullptr;
  // NOMUTEX: one thread at a time (the store executor) uses a connection.
  const int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = make_error(db, rc, "open " + path);
    sqlite3_close(db);  // a handle is returned even on failure; closing it cannot fail here
    return e;
  }
  db_ = db;
  if (int erc = sqlite3_extended_result_codes(db_, 1); erc != SQLITE_OK) {
    Error e = error(erc, "enable extended result codes");
    close();
    return e;
  }
  return {};
}

Result<void> Db::exec(const std::string& sql) {
  char* errmsg = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &errmsg);
  if (rc == SQLITE_OK) return {};
  Error e = error(rc, "exec");
  if (errmsg) {
    e.message += " (" + std::string(errmsg) + ")";
    sqlite3_free(errmsg);
  }
  return e;
}

Result<std::unique_ptr<sql::Statement>> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);  // null on failure; a no-op
    return error(rc, "prepare: " + std::string(sql));
  }
  if (!stmt) return Error::make(ErrorKind::internal, "sqlite: prepare: empty statement: " + std::string(sql));
  return std::unique_ptr<sql::Statement>(std::make_unique<Statement>(db_, stmt));
}

Result<void> Db::set_busy_timeout(int ms) {
  const int rc = sqlite3_busy_timeout(db_, ms);
  if (rc != SQLITE_OK) return error(rc, "busy_timeout");
  return {};
}

int64_t Db::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
int Db::changes() const { return sqlite3_changes(db_); }
int64_t Db::total_changes() const { return sqlite3_total_changes64(db_); }

bool Db::in_transaction() const { return db_ && !sqlite3_get_autocommit(db_); }

}  // namespace oneapi::store::sqlite
