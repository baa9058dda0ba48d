#include "store/sql.hpp"

#include <spdlog/spdlog.h>

#include <cstring>

namespace oneapi::store::sql {

Result<void> Statement::run() {
  for (;;) {
    auto r = step();
    if (!r) return r.error();
    if (!*r) return {};
  }
}

Error database_unavailable(std::string_view why) {
  Error e = Error::make(ErrorKind::unavailable, "database unavailable: " + std::string(why), "database_unavailable");
  e.retryable = true;
  return e;
}

// ---- Query ----

Query::~Query() {
  if (!stmt_) return;
  stmt_->reset();
  if (in_use_) *in_use_ = false;
}

Query::Query(Query&& o) noexcept : owned_(std::move(o.owned_)), stmt_(o.stmt_), in_use_(o.in_use_) {
  o.stmt_ = nullptr;
  o.in_use_ = nullptr;
}

// ---- Db ----

Result<Db::Cached*> Db::cached(std::string_view sql) {
  Recent& recent = recent_[(reinterpret_cast<uintptr_t>(sql.data()) >> 3) % recent_.size()];
  if (recent.data == sql.data() && recent.size == sql.size() &&
      std::memcmp(recent.text->data(), sql.data(), sql.size()) == 0)
    return recent.cached;
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto st = prepare(sql);
    if (!st) return st.error();
    auto c = std::make_unique<Cached>();
    c->stmt = std::move(*st);
    it = cache_.emplace(std::string(sql), std::move(c)).first;
  }
  recent = Recent{sql.data(), sql.size(), &it->first, it->second.get()};
  return it->second.get();
}

Result<Query> Db::query(std::string_view sql) {
  auto found = cached(sql);
  if (!found) return found.error();
  Cached& c = **found;
  if (c.in_use) {
    // Nested use of the same SQL (rare): a private statement keeps the outer one's cursor intact.
    auto st = prepare(sql);
    if (!st) return st.error();
    return Query(std::move(*st));
  }
  c.in_use = true;
  return Query(c.stmt.get(), &c.in_use);
}

Result<void> Db::run_cached(std::string_view sql) {
  auto q = query(sql);
  if (!q) return q.error();
  return (*q)->run();
}

Result<void> Db::begin_batch(bool savepoints) {
  if (in_batch_) return Error::make(ErrorKind::internal, "a batch is open already");
  if (auto r = run_cached(begin_sql(TxMode::immediate)); !r) return r;
  in_batch_ = true;
  batch_savepoints_ = savepoints || total_changes() < 0;
  batch_tainted_ = false;
  return {};
}

Result<void> Db::rollback_batch() {
  in_batch_ = false;
  if (!in_transaction()) return {};
  return run_cached("ROLLBACK");
}

Result<void> Db::commit_batch() {
  in_batch_ = false;
  if (!transaction_usable()) {
    if (in_transaction()) (void)run_cached("ROLLBACK");
    Error e = Error::make(ErrorKind::unavailable, "the batch transaction was rolled back");
    e.retryable = true;
    return e;
  }
  Result<void> r = run_cached("COMMIT");
  if (!r && in_transaction()) (void)run_cached("ROLLBACK");
  return r;
}

// ---- Transaction ----

Result<Transaction> Transaction::begin(Db& db, Mode mode) {
  if (db.in_batch() && !db.batch_savepoints_) {
    ++db.open_transactions_;
    return Transaction(&db, Kind::joined, db.total_changes());
  }
  const bool savepoint = db.in_batch();
  if (auto r = db.run_cached(savepoint ? "SAVEPOINT job" : db.begin_sql(mode)); !r) return r.error();
  ++db.open_transactions_;
  return Transaction(&db, savepoint ? Kind::savepoint : Kind::outermost);
}

Transaction::~Transaction() {
  if (!db_) return;
  if (auto r = rollback(); !r) spdlog::error("{}", r.error().message);
}

Result<void> Transaction::commit() {
  if (!db_) return Error::make(ErrorKind::internal, "commit of a finished transaction");
  // An aborted transaction's COMMIT would quietly roll back (PostgreSQL) or fail (SQLite): say so.
  if (!db_->transaction_usable()) {
    Error e = Error::make(ErrorKind::unavailable, "the transaction was aborted and rolled back");
    e.retryable = true;
    return e;  // still open: the destructor rolls back
  }
  if (kind_ != Kind::joined)
    if (auto r = db_->run_cached(kind_ == Kind::savepoint ? "RELEASE job" : "COMMIT"); !r) return r;
  --db_->open_transactions_;
  db_ = nullptr;
  return {};
}

Result<void> Transaction::rollback() {
  if (!db_) return {};
  Db* db = db_;
  db_ = nullptr;
  --db->open_transactions_;
  if (!db->in_transaction()) return {};  // rolled back already (SQLITE_FULL, a lost connection)
  if (kind_ == Kind::joined) {
    // Nothing changed, nothing to undo (a refused pre-charge, a settle that found no row).
    if (db->total_changes() != changes_at_begin_) db->batch_tainted_ = true;
    return {};
  }
  if (kind_ == Kind::savepoint) {
    if (auto r = db->run_cached("ROLLBACK TO job"); !r) return r;
    return db->run_cached("RELEASE job");
  }
  return db->run_cached("ROLLBACK");
}

}  // namespace oneapi::store::sql
