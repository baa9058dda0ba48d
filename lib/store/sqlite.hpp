#pragma once
// Thin RAII layer over the SQLite C API. Every sqlite3_* return code is checked and turned into
// an Error (kind internal; constraint violations invalid_request; a locked database unavailable)
// whose message carries sqlite3_errmsg.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace oneapi::store::sqlite {

// `what` says what was being done ("prepare", "step: <sql>"); rc is the failing return code.
Error make_error(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& o) noexcept;
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters are 1-based. A failed bind is remembered and reported by the next step()/run(),
  // so call sites can chain binds without checking each one.
  Statement& bind(int index, int64_t v);
  Statement& bind(int index, int v) { return bind(index, static_cast<int64_t>(v)); }
  Statement& bind(int index, bool v) { return bind(index, static_cast<int64_t>(v ? 1 : 0)); }
  Statement& bind(int index, double v);
  Statement& bind(int index, std::string_view v);  // copied (SQLITE_TRANSIENT)
  Statement& bind(int index, const std::string& v) { return bind(index, std::string_view(v)); }
  Statement& bind(int index, const char* v) { return bind(index, std::string_view(v)); }
  Statement& bind_null(int index);
  // Empty string -> NULL (for UNIQUE columns where "no value" must not collide).
  Statement& bind_text_or_null(int index, std::string_view v);
  template <class... Args>
  Statement& bind_all(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  Result<bool> step();  // true: a row is ready; false: done
  Result<void> run();   // steps to completion, discarding rows
  // Resets the statement and clears its bindings; call before reusing it.
  void reset();

  int64_t column_int64(int col) const;
  int column_int(int col) const;
  double column_double(int col) const;
  bool column_bool(int col) const { return column_int64(col) != 0; }
  std::string column_text(int col) const;  // NULL -> ""
  bool column_is_null(int col) const;

  bool valid() const { return stmt_ != nullptr; }
  std::string_view sql() const;

 private:
  Statement& check_bind(int rc, int index);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = 0;  // first failed bind's code, SQLITE_OK (0) when none
  int bind_index_ = 0;
};

class Db;

// A statement borrowed from the Db's cache (or owned, when the cached one is already in use):
// reset and unbound on destruction, so no read transaction outlives the call.
class Query {
 public:
  Query(Statement* borrowed, bool* in_use) : stmt_(borrowed), in_use_(in_use) {}
  explicit Query(Statement owned) : owned_(std::make_unique<Statement>(std::move(owned))), stmt_(owned_.get()) {}
  ~Query();
  Query(Query&& o) noexcept;
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Statement& operator*() { return *stmt_; }
  Statement* operator->() { return stmt_; }

 private:
  std::unique_ptr<Statement> owned_;
  Statement* stmt_ = nullptr;
  bool* in_use_ = nullptr;
};

class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens (creating if missing) a database file for use from one thread at a time.
  Result<void> open(const std::string& path);
  void close();
  bool is_open() const { return db_ != nullptr; }

  // One or more statements, no parameters, rows discarded (schema, PRAGMAs without results).
  Result<void> exec(const std::string& sql);
  // Prepared once per distinct SQL text, then reused: the hot path never re-parses.
  Result<Query> query(std::string_view sql);
  // Not cached: for one-off SQL.
  Result<Statement> prepare(std::string_view sql);

  Result<void> set_busy_timeout(int ms);
  int64_t last_insert_rowid() const;
  int changes() const;  // rows touched by the last INSERT/UPDATE/DELETE
  Error error(int rc, std::string_view what) const { return make_error(db_, rc, what); }
  sqlite3* handle() const { return db_; }

  // Group commit: one outer transaction around several jobs, each of whose own Transactions
  // becomes a savepoint. commit_batch rolls everything back when COMMIT fails.
  Result<void> begin_batch();
  Result<void> commit_batch();
  bool in_batch() const { return in_batch_; }
  // False once SQLite has dropped the outer transaction on its own (e.g. SQLITE_FULL): the
  // savepoints released into it are gone too.
  bool batch_alive() const;

 private:
  struct Cached {
    Statement stmt;
    bool in_use = false;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  sqlite3* db_ = nullptr;
  bool in_batch_ = false;
  std::unordered_map<std::string, std::unique_ptr<Cached>, Hash, std::equal_to<>> cache_;
};

// BEGIN (deferred or IMMEDIATE) on creation; ROLLBACK on destruction unless committed. Inside a
// batch (Db::begin_batch) it is a SAVEPOINT, released on commit and rolled back to otherwise.
class Transaction {
 public:
  enum class Mode { deferred, immediate };
  static Result<Transaction> begin(Db& db, Mode mode = Mode::immediate);
  ~Transaction();
  Transaction(Transaction&& o) noexcept : db_(o.db_), savepoint_(o.savepoint_) { o.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Result<void> commit();
  Result<void> rollback();

 private:
  Transaction(Db* db, bool savepoint) : db_(db), savepoint_(savepoint) {}
  Db* db_ = nullptr;  // null once committed or rolled back
  bool savepoint_ = false;
};

}  // namespace oneapi::store::sqlite
