#pragma once
// The SQL layer the store is written against: a connection (Db), its prepared statements and
// transactions, with one implementation per database (sqlite.hpp, postgres.hpp). The store's SQL
// is written once, in the subset the three databases share: `?` parameters, double-quoted
// identifiers, INSERT … RETURNING id, ON CONFLICT … DO NOTHING / DO UPDATE.
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.hpp"

namespace oneapi::store::sql {

enum class Dialect { sqlite, postgres, mysql };

class Statement {
 public:
  virtual ~Statement() = default;

  // Parameters are 1-based. A failed bind is remembered and reported by the next step()/run(),
  // so call sites can chain binds without checking each one.
  virtual Statement& bind(int index, int64_t v) = 0;
  virtual Statement& bind(int index, double v) = 0;
  virtual Statement& bind(int index, std::string_view v) = 0;  // copied
  virtual Statement& bind_null(int index) = 0;
  Statement& bind(int index, int v) { return bind(index, static_cast<int64_t>(v)); }
  Statement& bind(int index, bool v) { return bind(index, static_cast<int64_t>(v ? 1 : 0)); }
  Statement& bind(int index, const std::string& v) { return bind(index, std::string_view(v)); }
  Statement& bind(int index, const char* v) { return bind(index, std::string_view(v)); }
  // Empty string -> NULL (for UNIQUE columns where "no value" must not collide).
  Statement& bind_text_or_null(int index, std::string_view v) { return v.empty() ? bind_null(index) : bind(index, v); }
  template <class... Args>
  Statement& bind_all(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  virtual Result<bool> step() = 0;  // true: a row is ready; false: done
  Result<void> run();               // steps to completion, discarding rows
  // Resets the statement and clears its bindings; call before reusing it.
  virtual void reset() = 0;

  virtual int64_t column_int64(int col) const = 0;
  virtual double column_double(int col) const = 0;
  virtual std::string column_text(int col) const = 0;  // NULL -> ""
  virtual bool column_is_null(int col) const = 0;
  int column_int(int col) const { return static_cast<int>(column_int64(col)); }
  bool column_bool(int col) const { return column_int64(col) != 0; }

  virtual std::string_view sql() const = 0;
};

// A statement borrowed from the Db's cache (or owned, when the cached one is already in use):
// reset and unbound on destruction, so no read transaction outlives the call.
class Query {
 public:
  Query(Statement* borrowed, bool* in_use) : stmt_(borrowed), in_use_(in_use) {}
  explicit Query(std::unique_ptr<Statement> owned) : owned_(std::move(owned)), stmt_(owned_.get()) {}
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
  enum class TxMode { deferred, immediate };

  Db() = default;
  virtual ~Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  virtual Dialect dialect() const = 0;
  // A server connection: open now, since when, and closing it (never inside a transaction; the
  // next statement reconnects). A SQLite file is always open.
  virtual bool connected() const { return true; }
  virtual std::chrono::steady_clock::time_point connected_at() const { return std::chrono::steady_clock::now(); }
  virtual void disconnect() {}
  // One or more statements, no parameters, rows discarded (schema, settings).
  virtual Result<void> exec(const std::string& sql) = 0;
  // Not cached: for one-off SQL.
  virtual Result<std::unique_ptr<Statement>> prepare(std::string_view sql) = 0;
  // Prepared once per distinct SQL text, then reused: the hot path never re-parses.
  Result<Query> query(std::string_view sql);
  virtual int changes() const = 0;  // rows touched by the last INSERT/UPDATE/DELETE
  // Rows changed by the INSERTs, UPDATEs and DELETEs completed on this connection so far; -1 when
  // the backend cannot say (then a batch always uses savepoints).
  virtual int64_t total_changes() const { return -1; }

  // The statement that opens a transaction. SQLite's IMMEDIATE takes the write lock up front;
  // the servers lock rows instead (see for_update).
  virtual std::string_view begin_sql(TxMode mode) const = 0;
  // Inside a transaction, aborted or not.
  virtual bool in_transaction() const = 0;
  // Inside a transaction that can still commit (PostgreSQL refuses every statement after an
  // error until ROLLBACK; SQLite rolls back on its own after e.g. SQLITE_FULL).
  virtual bool transaction_usable() const = 0;
  // Appended to a SELECT whose rows the transaction then updates: SQLite's write lock covers the
  // whole file already; a server must lock the rows or two nodes read the same balance.
  std::string_view for_update() const { return dialect() == Dialect::sqlite ? "" : " FOR UPDATE"; }

  // Group commit: one outer transaction around several jobs. commit_batch rolls everything back
  // when COMMIT fails.
  //
  // With `savepoints`, each job's own Transactions become savepoints, so one job's rollback leaves
  // the others' work alone. Without (only where total_changes is known), they join the outer
  // transaction at no cost: jobs almost never roll back, and a savepoint copies every page it
  // changes. Should one roll back after changing rows, batch_needs_savepoints() turns true: the
  // caller rolls the batch back and runs it again with savepoints.
  Result<void> begin_batch(bool savepoints = true);
  Result<void> commit_batch();
  Result<void> rollback_batch();
  bool in_batch() const { return in_batch_; }
  bool batch_needs_savepoints() const { return in_batch_ && batch_tainted_; }
  // False once the outer transaction can no longer commit: the savepoints released into it are
  // gone too.
  bool batch_alive() const { return in_batch_ && transaction_usable(); }

 protected:
  // A Transaction or a batch is open: a connection lost now took it with it, so a backend must
  // not quietly reconnect and run the rest of it outside any transaction.
  bool inside_transaction_scope() const { return in_batch_ || open_transactions_ > 0; }
  // Runs a parameterless statement through the cache (BEGIN, COMMIT, SAVEPOINT …).
  Result<void> run_cached(std::string_view sql);
  void clear_statement_cache() {
    cache_.clear();
    recent_.fill(Recent{});
  }

 private:
  friend class Transaction;
  struct Cached {
    std::unique_ptr<Statement> stmt;
    bool in_use = false;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  bool in_batch_ = false;
  bool batch_savepoints_ = true;
  bool batch_tainted_ = false;  // a joined Transaction rolled back after changing rows
  int open_transactions_ = 0;
  std::unordered_map<std::string, std::unique_ptr<Cached>, Hash, std::equal_to<>> cache_;
  // The hot path's SQL is constant text at a fixed address: found here by its address (and checked
  // by content), a statement skips hashing its text, about 1.4k instructions for the log insert.
  struct Recent {
    const char* data = nullptr;
    size_t size = 0;
    const std::string* text = nullptr;  // the cache_ key
    Cached* cached = nullptr;
  };
  std::array<Recent, 16> recent_{};
  Result<Cached*> cached(std::string_view sql);
};

// BEGIN on creation; ROLLBACK on destruction unless committed. Inside a batch (Db::begin_batch)
// it is a SAVEPOINT, released on commit and rolled back to otherwise, or, in a batch without
// savepoints, part of the batch's transaction (a rollback after changes taints the batch).
class Transaction {
 public:
  using Mode = Db::TxMode;
  static Result<Transaction> begin(Db& db, Mode mode = Mode::immediate);
  ~Transaction();
  Transaction(Transaction&& o) noexcept : db_(o.db_), kind_(o.kind_), changes_at_begin_(o.changes_at_begin_) {
    o.db_ = nullptr;
  }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Result<void> commit();
  Result<void> rollback();

 private:
  enum class Kind { outermost, savepoint, joined };
  Transaction(Db* db, Kind kind, int64_t changes_at_begin = 0)
      : db_(db), kind_(kind), changes_at_begin_(changes_at_begin) {}
  Db* db_ = nullptr;  // null once committed or rolled back
  Kind kind_ = Kind::outermost;
  int64_t changes_at_begin_ = 0;  // joined: Db::total_changes() when it began
};

// A database server out of reach (or a transaction it lost): retryable, code database_unavailable,
// message "database unavailable: <why>".
Error database_unavailable(std::string_view why);

// After a connection attempt fails, the next ones wait `pause`: meanwhile statements fail at once
// with that attempt's error, instead of each waiting out a connect timeout against a dead host.
class ReconnectBackoff {
 public:
  explicit ReconnectBackoff(std::chrono::milliseconds pause = std::chrono::seconds(1)) : pause_(pause) {}
  // The last failure, while it is recent enough to answer with; nullopt: try to connect.
  std::optional<Error> too_soon() const {
    if (!error_ || std::chrono::steady_clock::now() - failed_at_ >= pause_) return std::nullopt;
    return error_;
  }
  void failed(const Error& e) {
    error_ = e;
    failed_at_ = std::chrono::steady_clock::now();
  }
  void succeeded() { error_.reset(); }

 private:
  std::chrono::milliseconds pause_;
  std::optional<Error> error_;
  std::chrono::steady_clock::time_point failed_at_{};
};

// "INSERT … RETURNING id" with its parameters: the new row's id.
template <class... Args>
Result<int64_t> insert_returning_id(Db& db, std::string_view sql, const Args&... args) {
  auto q = db.query(sql);
  if (!q) return q.error();
  auto row = (*q)->bind_all(args...).step();
  if (!row) return row.error();
  if (!*row) return Error::make(ErrorKind::internal, "INSERT returned no id: " + std::string(sql));
  const int64_t id = (*q)->column_int64(0);
  if (auto done = (*q)->run(); !done) return done.error();
  return id;
}

}  // namespace oneapi::store::sql
