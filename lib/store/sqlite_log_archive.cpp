#include "store/sqlite_log_archive.hpp"

#include <set>
#include <vector>

#include "store/models.hpp"
#include "store/sql_rows.hpp"

namespace oneapi::store::log_archive {

namespace {

using sqlite::Db;

constexpr int64_t kLogProvisional = static_cast<int64_t>(LogType::provisional);

struct Column {
  std::string name, type, default_sql;
};

Result<std::vector<Column>> columns_of(Db& db, const std::string& schema) {
  auto st = db.prepare("PRAGMA " + schema + ".table_info(logs)");
  if (!st) return st.error();
  std::vector<Column> out;
  for (;;) {
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back({(*st)->column_text(1), (*st)->column_text(2), (*st)->column_text(4)});
  }
  return out;
}

// `CREATE TABLE logs (...)` / `CREATE INDEX name ON logs(...)` from main, re-aimed at logdb.
Result<void> mirror_schema(Db& db) {
  auto st = db.prepare(
      "SELECT type, name, sql FROM main.sqlite_master WHERE tbl_name = 'logs' AND sql IS NOT NULL "
      "ORDER BY type DESC");
  if (!st) return st.error();
  std::vector<std::string> statements;
  for (;;) {
    auto row = (*st)->step();
    if (!row) return row.error();
    if (!*row) break;
    const std::string type = (*st)->column_text(0), name = (*st)->column_text(1), sql = (*st)->column_text(2);
    if (type == "table") {
      const auto open = sql.find('(');
      if (open == std::string::npos) return Error::make(ErrorKind::internal, "unexpected logs schema: " + sql);
      statements.insert(statements.begin(), "CREATE TABLE IF NOT EXISTS logdb.logs " + sql.substr(open));
    } else if (type == "index") {
      const auto on = sql.find(" ON ");
      if (on == std::string::npos) continue;
      statements.push_back("CREATE INDEX IF NOT EXISTS logdb.\"" + name + "\"" + sql.substr(on));
    }
  }
  if (statements.empty() || statements.front().rfind("CREATE TABLE", 0) != 0)
    return Error::make(ErrorKind::internal, "the main database has no logs table");
  // The table first, then the columns an older log database lacks, then the indexes on them.
  if (auto r = db.exec(statements.front()); !r) return r;

  // A log database made by an older version lacks the columns later migrations added.
  auto main_cols = columns_of(db, "main");
  if (!main_cols) return main_cols.error();
  auto log_cols = columns_of(db, "logdb");
  if (!log_cols) return log_cols.error();
  std::set<std::string> have;
  for (const auto& c : *log_cols) have.insert(c.name);
  for (const auto& c : *main_cols) {
    if (have.count(c.name)) continue;
    std::string add = "ALTER TABLE logdb.logs ADD COLUMN \"" + c.name + "\" " + c.type;
    if (!c.default_sql.empty()) add += " DEFAULT " + c.default_sql;
    if (auto r = db.exec(add); !r) return r;
  }
  for (size_t i = 1; i < statements.size(); ++i)
    if (auto r = db.exec(statements[i]); !r) return r;
  return {};
}

}  // namespace

Result<void> attach(Db& db, const std::string& path) {
  {
    auto st = db.prepare("ATTACH DATABASE ? AS logdb");
    if (!st) return st.error();
    if (auto r = (*st)->bind(1, path).run(); !r) return r;
  }
  {
    auto q = db.prepare("PRAGMA logdb.journal_mode=WAL");
    if (!q) return q.error();
    auto row = (*q)->step();
    if (!row) return row.error();
    const std::string mode = *row ? (*q)->column_text(0) : std::string();
    if (mode != "wal" && mode != "memory")
      return Error::make(ErrorKind::internal, "log database journal_mode is '" + mode + "', not WAL");
  }
  if (auto r = db.exec("PRAGMA logdb.synchronous=NORMAL"); !r) return r;
  if (auto r = mirror_schema(db); !r) return r;
  const std::string& cols = rows::kLogCols;
  return db.exec("CREATE TEMP VIEW IF NOT EXISTS " + std::string(kAllLogsView) + " AS SELECT " + cols +
                 " FROM logdb.logs UNION ALL SELECT " + cols +
                 " FROM main.logs AS m WHERE NOT EXISTS (SELECT 1 FROM logdb.logs AS l WHERE l.id = m.id)");
}

Result<int64_t> ship(Db& db, int64_t max_rows) {
  // Two transactions, in this order: a copy that is committed before its original is deleted.
  static const std::string copy = "INSERT OR IGNORE INTO logdb.logs (" + rows::kLogCols + ") SELECT " + rows::kLogCols +
                                  " FROM main.logs WHERE type != ? ORDER BY id LIMIT ?";
  static const std::string drop =
      "DELETE FROM main.logs WHERE type != ? AND id IN (SELECT m.id FROM main.logs AS m "
      "JOIN logdb.logs AS l ON l.id = m.id WHERE m.type != ? ORDER BY m.id LIMIT ?)";
  {
    auto tx = sql::Transaction::begin(db);
    if (!tx) return tx.error();
    if (auto r = rows::run(db, copy, kLogProvisional, max_rows); !r) return r.error();
    if (auto r = tx->commit(); !r) return r.error();
  }
  auto tx = sql::Transaction::begin(db);
  if (!tx) return tx.error();
  if (auto r = rows::run(db, drop, kLogProvisional, kLogProvisional, max_rows); !r) return r.error();
  const int64_t moved = db.changes();
  if (auto r = tx->commit(); !r) return r.error();
  return moved;
}

}  // namespace oneapi::store::log_archive
