#include "store/postgres.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <cstdlib>
#include <vector>

namespace oneapi::store::postgres {

namespace {

// libpq's built-in type OIDs (catalog/pg_type_d.h, stable across versions).
constexpr Oid kInt8Oid = 20;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kTextOid = 25;

std::string trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// SQLSTATE classes: 23 integrity (a taken name), 40 serialization or deadlock (try again),
// 08 and 57P0x connection and shutdown (the server went away).
Error error_of(PGconn* conn, PGresult* res, std::string_view what) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string detail = trimmed(res ? PQresultErrorMessage(res) : nullptr);
  if (detail.empty()) detail = trimmed(PQerrorMessage(conn));
  const std::string_view code = state ? state : "";
  if (PQstatus(conn) == CONNECTION_BAD || code.substr(0, 2) == "08" || code.substr(0, 4) == "57P0")
    return sql::database_unavailable(detail);
  ErrorKind kind = ErrorKind::internal;
  if (code.substr(0, 2) == "23") kind = ErrorKind::invalid_request;
  if (code.substr(0, 2) == "40") kind = ErrorKind::unavailable;
  Error e = Error::make(kind, "postgres: " + std::string(what) + ": " + detail);
  e.retryable = kind == ErrorKind::unavailable;
  return e;
}

class PgDb;

class PgStatement final : public sql::Statement {
 public:
  PgStatement(PgDb& db, std::string_view sql);
  ~PgStatement() override;
  PgStatement(const PgStatement&) = delete;
  PgStatement& operator=(const PgStatement&) = delete;

  using sql::Statement::bind;
  sql::Statement& bind(int index, int64_t v) override {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    return set(index, std::string(buf, end), kInt8Oid);
  }
  sql::Statement& bind(int index, double v) override {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    return set(index, std::string(buf, end), kFloat8Oid);
  }
  sql::Statement& bind(int index, std::string_view v) override { return set(index, std::string(v), kTextOid); }
  sql::Statement& bind_null(int index) override {
    if (!in_range(index)) return *this;
    null_[index - 1] = true;
    types_[index - 1] = 0;  // the server infers it
    return *this;
  }

  Result<bool> step() override;
  void reset() override;

  int64_t column_int64(int col) const override {
    const char* v = value(col);
    return v ? std::strtoll(v, nullptr, 10) : 0;
  }
  double column_double(int col) const override {
    const char* v = value(col);
    return v ? std::strtod(v, nullptr) : 0.0;
  }
  std::string column_text(int col) const override {
    const char* v = value(col);
    return v ? std::string(v, static_cast<size_t>(PQgetlength(result_, row_, col))) : std::string();
  }
  bool column_is_null(int col) const override { return !result_ || PQgetisnull(result_, row_, col); }
  std::string_view sql() const override { return sql_; }

 private:
  bool in_range(int index) {
    if (index >= 1 && index <= count_) return true;
    if (bad_bind_ == 0) bad_bind_ = index;
    return false;
  }
  sql::Statement& set(int index, std::string v, Oid type) {
    if (!in_range(index)) return *this;
    values_[index - 1] = std::move(v);
    null_[index - 1] = false;
    types_[index - 1] = type;
    return *this;
  }
  const char* value(int col) const {
    if (!result_ || row_ < 0 || row_ >= rows_ || PQgetisnull(result_, row_, col)) return nullptr;
    return PQgetvalue(result_, row_, col);
  }
  Result<void> execute();

  PgDb& db_;
  std::string sql_;     // as written, for messages
  std::string pg_sql_;  // with $N parameters
  int count_ = 0;
  std::vector<std::string> values_;
  std::vector<char> null_;
  std::vector<Oid> types_;
  int bad_bind_ = 0;
  // Prepared as name_ on connection generation prepared_in_ with prepared_types_.
  std::string name_;
  uint64_t prepared_in_ = 0;
  std::vector<Oid> prepared_types_;
  PGresult* result_ = nullptr;
  int row_ = -1;
  int rows_ = 0;
};

class PgDb final : public sql::Db {
 public:
  PgDb(std::string dsn, int connect_timeout_s) : dsn_(std::move(dsn)), timeout_(std::to_string(connect_timeout_s)) {}
  ~PgDb() override {
    clear_statement_cache();  // they deallocate on this connection
    if (conn_) PQfinish(conn_);
  }

  Result<void> open() {
    // expand_dbname: the DSN is a URI; the keywords after it override what it says.
    const char* keys[] = {"dbname", "connect_timeout", "application_name", nullptr};
    const char* values[] = {dsn_.c_str(), timeout_.c_str(), "oneapid", nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, 1);
    if (!conn) return sql::database_unavailable("out of memory");
    if (PQstatus(conn) != CONNECTION_OK) {
      Error e = sql::database_unavailable(trimmed(PQerrorMessage(conn)));
      PQfinish(conn);
      return e;
    }
    if (conn_) PQfinish(conn_);
    conn_ = conn;
    connected_at_ = std::chrono::steady_clock::now();
    ++generation_;
    // Quiet NOTICEs ("relation already exists, skipping") instead of libpq printing them to stderr.
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    return {};
  }

  // Before a statement: a broken connection is replaced, unless a transaction was open on it.
  Result<PGconn*> connection() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return conn_;
    if (inside_transaction_scope()) return sql::database_unavailable("the connection was lost during a transaction");
    if (auto recent = backoff_.too_soon()) return *recent;
    if (conn_) {
      PQreset(conn_);
      if (PQstatus(conn_) == CONNECTION_OK) {
        connected_at_ = std::chrono::steady_clock::now();
        ++generation_;
        backoff_.succeeded();
        return conn_;
      }
      Error e = sql::database_unavailable(trimmed(PQerrorMessage(conn_)));
      backoff_.failed(e);
      return e;
    }
    if (auto r = open(); !r) {
      backoff_.failed(r.error());
      return r.error();
    }
    backoff_.succeeded();
    return conn_;
  }

  sql::Dialect dialect() const override { return sql::Dialect::postgres; }
  bool connected() const override { return conn_ && PQstatus(conn_) == CONNECTION_OK; }
  std::chrono::steady_clock::time_point connected_at() const override { return connected_at_; }
  void disconnect() override {
    if (!conn_ || inside_transaction_scope()) return;
    PQfinish(conn_);  // its prepared statements go with it: the generation tells them
    conn_ = nullptr;
  }

  Result<void> exec(const std::string& sql) override {
    auto conn = connection();
    if (!conn) return conn.error();
    PGresult* res = PQexec(*conn, sql.c_str());
    const ExecStatusType st = PQresultStatus(res);
    Result<void> out;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) out = error_of(*conn, res, "exec");
    PQclear(res);
    return out;
  }

  Result<std::unique_ptr<sql::Statement>> prepare(std::string_view sql) override {
    return std::unique_ptr<sql::Statement>(std::make_unique<PgStatement>(*this, sql));
  }

  int changes() const override { return changes_; }
  std::string_view begin_sql(TxMode) const override { return "BEGIN"; }
  bool in_transaction() const override {
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return false;
    const auto st = PQtransactionStatus(conn_);
    return st == PQTRANS_INTRANS || st == PQTRANS_INERROR || st == PQTRANS_ACTIVE;
  }
  bool transaction_usable() const override {
    if (!conn_ || PQstatus(conn_) != CONNECTION_OK) return false;
    const auto st = PQtransactionStatus(conn_);
    return st == PQTRANS_INTRANS || st == PQTRANS_ACTIVE;
  }

  PGconn* raw() const { return conn_; }
  uint64_t generation() const { return generation_; }
  std::string next_statement_name() { return "oneapi_" + std::to_string(++statements_); }
  void set_changes(int n) { changes_ = n; }

 private:
  std::string dsn_;
  std::string timeout_;
  PGconn* conn_ = nullptr;
  std::chrono::steady_clock::time_point connected_at_{};
  uint64_t generation_ = 0;  // a new connection forgets every prepared statement
  uint64_t statements_ = 0;
  sql::ReconnectBackoff backoff_;
  int changes_ = 0;
};

PgStatement::PgStatement(PgDb& db, std::string_view sql) : db_(db), sql_(sql) {
  pg_sql_ = numbered_parameters(sql, count_);
  values_.resize(static_cast<size_t>(count_));
  null_.assign(static_cast<size_t>(count_), 1);
  types_.assign(static_cast<size_t>(count_), 0);
}

PgStatement::~PgStatement() {
  if (result_) PQclear(result_);
  if (prepared_in_ != 0 && prepared_in_ == db_.generation() && db_.raw() && PQstatus(db_.raw()) == CONNECTION_OK &&
      !db_.in_transaction()) {
    PGresult* res = PQexec(db_.raw(), ("DEALLOCATE " + name_).c_str());
    PQclear(res);
  }
}

Result<void> PgStatement::execute() {
  if (bad_bind_ != 0)
    return Error::make(ErrorKind::internal,
                       "postgres: bind parameter " + std::to_string(bad_bind_) + " of: " + std::string(sql_));
  auto conn = db_.connection();
  if (!conn) return conn.error();
  // The types are part of the prepared statement: prepare again when they change (a NULL bind).
  if (prepared_in_ != db_.generation() || prepared_types_ != types_) {
    if (prepared_in_ == db_.generation() && !db_.in_transaction()) {
      PGresult* res = PQexec(*conn, ("DEALLOCATE " + name_).c_str());
      PQclear(res);
    }
    name_ = db_.next_statement_name();
    PGresult* res = PQprepare(*conn, name_.c_str(), pg_sql_.c_str(), count_, types_.data());
    const bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    Error e = ok ? Error{} : error_of(*conn, res, "prepare: " + sql_);
    PQclear(res);
    if (!ok) return e;
    prepared_in_ = db_.generation();
    prepared_types_ = types_;
  }
  std::vector<const char*> params(static_cast<size_t>(count_));
  for (size_t i = 0; i < params.size(); ++i) params[i] = null_[i] ? nullptr : values_[i].c_str();
  result_ = PQexecPrepared(*conn, name_.c_str(), count_, params.data(), nullptr, nullptr, 0);
  const ExecStatusType st = PQresultStatus(result_);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    Error e = error_of(*conn, result_, "step: " + sql_);
    PQclear(result_);
    result_ = nullptr;
    return e;
  }
  const char* touched = PQcmdTuples(result_);
  db_.set_changes(touched && *touched ? std::atoi(touched) : 0);
  rows_ = st == PGRES_TUPLES_OK ? PQntuples(result_) : 0;
  row_ = -1;
  return {};
}

Result<bool> PgStatement::step() {
  if (!result_)
    if (auto r = execute(); !r) return r.error();
  if (row_ < rows_) ++row_;
  return row_ < rows_;
}

void PgStatement::reset() {
  if (result_) PQclear(result_);
  result_ = nullptr;
  row_ = -1;
  rows_ = 0;
  bad_bind_ = 0;
  std::fill(null_.begin(), null_.end(), 1);
  std::fill(types_.begin(), types_.end(), 0);
}

}  // namespace

bool is_postgres_dsn(std::string_view dsn) {
  return dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0;
}

std::string redact_dsn(std::string_view dsn) {
  const auto scheme = dsn.find("://");
  const auto at = dsn.find('@', scheme == std::string_view::npos ? 0 : scheme + 3);
  if (scheme == std::string_view::npos || at == std::string_view::npos) return std::string(dsn);
  const auto colon = dsn.substr(0, at).find(':', scheme + 3);
  if (colon == std::string_view::npos) return std::string(dsn);
  return std::string(dsn.substr(0, colon + 1)) + "***" + std::string(dsn.substr(at));
}

std::string numbered_parameters(std::string_view sql, int& count) {
  std::string out;
  out.reserve(sql.size() + 16);
  count = 0;
  int next = 0;
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote) {
      if (c == quote) quote = 0;
      out += c;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
      continue;
    }
    if (c != '?') {
      out += c;
      continue;
    }
    int n = 0;
    size_t j = i + 1;
    while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') n = n * 10 + (sql[j++] - '0');
    if (j == i + 1) n = ++next;  // plain ?: the next one
    i = j - 1;
    out += '$' + std::to_string(n);
    if (n > count) count = n;
  }
  return out;
}

Result<std::unique_ptr<sql::Db>> connect(const std::string& dsn, int connect_timeout_s) {
  auto db = std::make_unique<PgDb>(dsn, connect_timeout_s);
  if (auto r = db->open(); !r) return r.error();
  return std::unique_ptr<sql::Db>(std::move(db));
}

Result<std::unique_ptr<sql::Db>> connect_later(const std::string& dsn, int connect_timeout_s) {
  return std::unique_ptr<sql::Db>(std::make_unique<PgDb>(dsn, connect_timeout_s));
}

}  // namespace oneapi::store::postgres
