#include "store/server_log_archive.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <unordered_set>

#include "core/util.hpp"
#include "store/migrations.hpp"
#include "store/sql_accounts.hpp"
#include "store/sql_rows.hpp"
#include "store/store.hpp"

namespace oneapi::store {

namespace {

using namespace rows;
using sql::Transaction;
using sql_accounts::SqlParams;

constexpr int64_t kLogProvisional = static_cast<int64_t>(LogType::provisional);
// Rows per multi-row INSERT or IN list: 100 x 18 parameters stays far below every server's limit.
constexpr size_t kChunk = 100;

void bind_params(sql::Statement& s, const SqlParams& params, int first = 1) {
  int i = first - 1;
  for (const auto& p : params) std::visit([&](const auto& v) { s.bind(++i, v); }, p);
}

std::string placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += i ? ", ?" : "?";
  return out;
}

// The statement texts below depend on a chunk's size: prepared each time, not cached, so the
// statement cache does not grow with them.
Result<void> run_prepared(sql::Db& db, const std::string& sql, const std::vector<int64_t>& ids, int64_t lead) {
  auto st = db.prepare(sql);
  if (!st) return st.error();
  (*st)->bind(1, lead);
  int i = 1;
  for (int64_t id : ids) (*st)->bind(++i, id);
  return (*st)->run();
}

Result<void> insert_chunk(sql::Db& db, const std::vector<Log>& rows, size_t from, size_t to) {
  static const std::string tuple = "(" + placeholders(18) + ")";
  std::string sql = "INSERT INTO logs (" + kLogCols + ") VALUES ";
  for (size_t i = from; i < to; ++i) sql += (i > from ? ", " : "") + tuple;
  sql += " ON CONFLICT DO NOTHING";  // a copy an earlier shipment made: the id is the key
  auto st = db.prepare(sql);
  if (!st) return st.error();
  for (size_t i = from; i < to; ++i) {
    const Log& l = rows[i];
    const int b = static_cast<int>((i - from) * 18);  // this row's parameters follow the ones before
    sql::Statement& s = **st;
    s.bind(b + 1, l.id).bind(b + 2, l.user_id).bind(b + 3, l.created_at).bind(b + 4, l.type).bind(b + 5, l.content);
    s.bind(b + 6, l.username).bind(b + 7, l.token_name).bind(b + 8, l.model_name).bind(b + 9, l.quota);
    s.bind(b + 10, l.prompt_tokens).bind(b + 11, l.completion_tokens).bind(b + 12, l.channel_id);
    s.bind(b + 13, l.request_id).bind(b + 14, l.elapsed_time).bind(b + 15, l.is_stream);
    s.bind(b + 16, l.system_prompt_reset).bind(b + 17, l.token_id).bind(b + 18, l.cached_prompt_tokens);
  }
  return (*st)->run();
}

// Which of `ids` the log database holds.
Result<std::unordered_set<int64_t>> held(sql::Db& log, const std::vector<int64_t>& ids) {
  std::unordered_set<int64_t> out;
  for (size_t from = 0; from < ids.size(); from += kChunk) {
    const size_t n = std::min(kChunk, ids.size() - from);
    auto st = log.prepare("SELECT id FROM logs WHERE id IN (" + placeholders(n) + ")");
    if (!st) return st.error();
    for (size_t i = 0; i < n; ++i) (*st)->bind(static_cast<int>(i + 1), ids[from + i]);
    for (;;) {
      auto row = (*st)->step();
      if (!row) return row.error();
      if (!*row) break;
      out.insert((*st)->column_int64(0));
    }
  }
  return out;
}

struct Sums {
  int64_t quota = 0, requests = 0, prompt_tokens = 0, completion_tokens = 0;
};

// The filter's totals over both databases, each row once.
Result<Sums> sum_both(sql::Db& main, sql::Db& log, const LogFilter& f) {
  // Main row by row (it holds only what is not shipped yet), then the log database in one sum.
  struct Row {
    int64_t id, quota, prompt_tokens, completion_tokens;
  };
  std::string main_sql = "SELECT id, quota, prompt_tokens, completion_tokens FROM logs WHERE 1 = 1";
  SqlParams params;
  sql_accounts::log_filter_sql(f, main_sql, params);
  std::vector<Row> in_main;
  {
    auto q = main.query(main_sql);
    if (!q) return q.error();
    bind_params(**q, params);
    for (;;) {
      auto row = (*q)->step();
      if (!row) return row.error();
      if (!*row) break;
      in_main.push_back({(*q)->column_int64(0), (*q)->column_int64(1), (*q)->column_int64(2), (*q)->column_int64(3)});
    }
  }
  std::string log_sql =
      "SELECT COALESCE(SUM(quota), 0), COUNT(*), COALESCE(SUM(prompt_tokens), 0), COALESCE(SUM(completion_tokens), 0), "
      "COALESCE(MAX(id), 0) FROM logs WHERE 1 = 1";
  params.clear();
  sql_accounts::log_filter_sql(f, log_sql, params);
  Sums s;
  int64_t log_max_id = 0;
  {
    auto q = log.query(log_sql);
    if (!q) return q.error();
    bind_params(**q, params);
    auto row = (*q)->step();
    if (!row) return row.error();
    if (*row) {
      s = {(*q)->column_int64(0), (*q)->column_int64(1), (*q)->column_int64(2), (*q)->column_int64(3)};
      log_max_id = (*q)->column_int64(4);
    }
  }
  // Only a main row at most the highest id the filter found in the log database can be there too.
  std::vector<int64_t> maybe_shipped;
  for (const Row& r : in_main)
    if (r.id <= log_max_id) maybe_shipped.push_back(r.id);
  auto shipped = held(log, maybe_shipped);
  if (!shipped) return shipped.error();
  for (const Row& r : in_main) {
    if (shipped->count(r.id)) continue;
    s.quota += r.quota;
    s.requests += 1;
    s.prompt_tokens += r.prompt_tokens;
    s.completion_tokens += r.completion_tokens;
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<ServerLogArchive>> ServerLogArchive::open(const std::string& dsn, int connect_timeout_s,
                                                                 bool migrate, bool lazily) {
  const std::string name = "the log database " + redact_server_dsn(dsn);
  if (lazily) {  // a further pool connection: the first one migrated or checked the table
    auto db = connect_server_later(dsn, connect_timeout_s);
    if (!db) return Error::make(db.error().kind, name + ": " + db.error().message);
    return std::unique_ptr<ServerLogArchive>(new ServerLogArchive(std::move(*db)));
  }
  auto db = connect_server(dsn, connect_timeout_s);
  if (!db) return Error::make(db.error().kind, name + ": " + db.error().message);
  if (migrate) {
    if (auto r = migrate_log_database(**db); !r)
      return Error::make(ErrorKind::internal, name + ": " + r.error().message);
  } else if (auto v = log_schema_version(**db); !v || *v != latest_schema_version()) {
    return Error::make(ErrorKind::internal, name + ": its logs table is at version " + std::to_string(v ? *v : 0) +
                                                ", this oneapid needs " + std::to_string(latest_schema_version()) +
                                                ": a NODE_TYPE=slave node does not migrate; start the master node "
                                                "first");
  }
  return std::unique_ptr<ServerLogArchive>(new ServerLogArchive(std::move(*db)));
}

Result<int64_t> ServerLogArchive::ship(sql::Db& main, int64_t max_rows) {
  static const std::string settled = "SELECT " + kLogCols + " FROM logs WHERE type != ? ORDER BY id LIMIT ?";
  auto rows = select_all<Log>(main, settled, read_log, kLogProvisional, max_rows);
  if (!rows) return rows.error();
  if (rows->empty()) return int64_t{0};
  // Two transactions, in this order: a copy committed before its original is deleted.
  {
    auto tx = Transaction::begin(*db_);
    if (!tx) return tx.error();
    for (size_t from = 0; from < rows->size(); from += kChunk)
      if (auto r = insert_chunk(*db_, *rows, from, std::min(rows->size(), from + kChunk)); !r) return r.error();
    if (auto r = tx->commit(); !r) return r.error();
  }
  auto tx = Transaction::begin(main);
  if (!tx) return tx.error();
  int64_t moved = 0;
  for (size_t from = 0; from < rows->size(); from += kChunk) {
    std::vector<int64_t> ids;
    for (size_t i = from; i < std::min(rows->size(), from + kChunk); ++i) ids.push_back((*rows)[i].id);
    // By id, not by range: a provisional row between two shipped ones stays.
    if (auto r = run_prepared(main, "DELETE FROM logs WHERE type != ? AND id IN (" + placeholders(ids.size()) + ")",
                              ids, kLogProvisional);
        !r)
      return r.error();
    moved += main.changes();
  }
  if (auto r = tx->commit(); !r) return r.error();
  return moved;
}

Result<std::vector<Log>> ServerLogArchive::list_logs(sql::Db& main, const LogFilter& f) {
  // The page's rows are among the first offset + limit of each database.
  LogFilter wide = f;
  const int64_t offset = std::max(f.offset, 0);
  wide.offset = 0;
  wide.limit = f.limit > 0 ? static_cast<int>(std::min<int64_t>(offset + f.limit, std::numeric_limits<int>::max())) : 0;
  auto from_main = sql_accounts::read_log_page(main, wide);
  if (!from_main) return from_main.error();
  auto from_log = sql_accounts::read_log_page(*db_, wide);
  if (!from_log) return from_log.error();
  // Newest first, as one database would order them; the log database's copy wins a tie.
  std::map<std::pair<int64_t, int64_t>, Log, std::greater<>> merged;
  for (auto* part : {&*from_log, &*from_main})
    for (Log& l : *part) merged.try_emplace({l.created_at, l.id}, std::move(l));
  std::vector<Log> out;
  int64_t skipped = 0;
  for (auto& [key, l] : merged) {
    if (skipped++ < offset) continue;
    if (f.limit > 0 && static_cast<int64_t>(out.size()) >= f.limit) break;
    out.push_back(std::move(l));
  }
  return out;
}

Result<Log> ServerLogArchive::get_log_by_request_id(sql::Db& main, const std::string& request_id) {
  static const std::string sql = "SELECT " + kLogCols + " FROM logs WHERE request_id = ? ORDER BY id DESC LIMIT 1";
  auto in_main = select_one<Log>(main, sql, read_log, request_id);
  if (!in_main) return in_main.error();
  auto in_log = select_one<Log>(*db_, sql, read_log, request_id);
  if (!in_log) return in_log.error();
  if (*in_log && (!*in_main || (*in_log)->id >= (*in_main)->id)) return std::move(**in_log);
  if (*in_main) return std::move(**in_main);
  return Error::make(ErrorKind::not_found, "log with request id " + request_id + " not found");
}

Result<LogStat> ServerLogArchive::log_stat(sql::Db& main, const LogFilter& f) {
  // As sql_accounts::log_stat: consumption by default, rpm and tpm over the last minute.
  LogFilter consumed = f;
  if (!consumed.type) consumed.type = static_cast<int>(LogType::consume);
  auto total = sum_both(main, *db_, consumed);
  if (!total) return total.error();
  LogFilter last_minute = consumed;
  last_minute.start_timestamp = std::max<int64_t>(consumed.start_timestamp, unix_now() - 60);
  auto recent = sum_both(main, *db_, last_minute);
  if (!recent) return recent.error();
  LogStat s;
  s.quota = total->quota;
  s.requests = total->requests;
  s.prompt_tokens = total->prompt_tokens;
  s.completion_tokens = total->completion_tokens;
  s.rpm = recent->requests;
  s.tpm = recent->prompt_tokens + recent->completion_tokens;
  return s;
}

Result<int64_t> ServerLogArchive::purge_logs(sql::Db& main, int64_t before) {
  // The rows main is about to lose that the log database holds too count once.
  auto doomed = select_all<int64_t>(
      main, "SELECT id FROM logs WHERE created_at < ? AND type != ?",
      [](const sql::Statement& s) { return s.column_int64(0); }, before, kLogProvisional);
  if (!doomed) return doomed.error();
  auto twice = held(*db_, *doomed);
  if (!twice) return twice.error();
  auto from_main = sql_accounts::purge_logs(main, before);
  if (!from_main) return from_main.error();
  auto tx = Transaction::begin(*db_);
  if (!tx) return tx.error();
  if (auto r = run(*db_, "DELETE FROM logs WHERE created_at < ? AND type != ?", before, kLogProvisional); !r)
    return r.error();
  const int64_t from_log = db_->changes();
  if (auto r = tx->commit(); !r) return r.error();
  return *from_main + from_log - static_cast<int64_t>(twice->size());
}

}  // namespace oneapi::store
