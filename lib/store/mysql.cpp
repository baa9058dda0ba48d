#include "store/mysql.hpp"

#include <errmsg.h>
#include <mysql.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <vector>

namespace oneapi::store::mysql {

namespace {

// ANSI_QUOTES: "key" and "group" are identifiers; PIPES_AS_CONCAT: || concatenates;
// SIMULTANEOUS_ASSIGNMENT: UPDATE … SET a = …, b = … reads the row's old values, as in SQLite and
// PostgreSQL (MySQL's default lets b see the new a); STRICT_TRANS_TABLES: refuse rather than
// truncate. READ COMMITTED, PostgreSQL's default: the store locks the rows it reads (FOR UPDATE);
// InnoDB's default REPEATABLE READ also locks the gaps between index entries, and a settlement
// (which moves a log row within idx_created_at_type) then deadlocks with a pre-charge inserting
// its log row on another connection.
constexpr const char* kSessionSetup =
    "SET SESSION sql_mode = 'ANSI_QUOTES,PIPES_AS_CONCAT,SIMULTANEOUS_ASSIGNMENT,STRICT_TRANS_TABLES,"
    "NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ZERO_IN_DATE', time_zone = '+00:00', "
    "tx_isolation = 'READ-COMMITTED'";
constexpr unsigned long kMinServerVersion = 100500;  // MariaDB 10.5: INSERT … RETURNING

// Server error numbers (mysqld_error.h) that need their own handling.
constexpr unsigned kDuplicateEntry = 1062;
constexpr unsigned kLockWaitTimeout = 1205;
constexpr unsigned kDeadlock = 1213;
constexpr unsigned kServerShutdown = 1053;
constexpr unsigned kConnectionKilled = 1927;
constexpr unsigned kTooManyConnections = 1040;

// The connection is gone: the client's own errors (2000-2999) and the server ending the session.
bool connection_lost(unsigned code) {
  return (code >= 2000 && code < 3000) || code == kServerShutdown || code == kConnectionKilled;
}

// SQLSTATE class 23 (a taken name, a NULL where none may be): the caller's input; a deadlock or
// a lock wait that timed out: try again; a lost connection: unavailable.
Error error_of(unsigned code, const char* sqlstate, const char* message, std::string_view what) {
  const std::string detail = message ? message : "";
  if (connection_lost(code) || code == kTooManyConnections) return sql::database_unavailable(detail);
  ErrorKind kind = ErrorKind::internal;
  if (code == kDuplicateEntry || (sqlstate && std::strncmp(sqlstate, "23", 2) == 0)) kind = ErrorKind::invalid_request;
  if (code == kDeadlock || code == kLockWaitTimeout) kind = ErrorKind::unavailable;
  Error e = Error::make(kind, "mysql: " + std::string(what) + ": " + detail);
  e.retryable = kind == ErrorKind::unavailable;
  return e;
}

// Transaction control runs as plain text: not every server prepares it, and it has no parameters.
bool is_transaction_control(std::string_view sql) {
  for (std::string_view word : {"BEGIN", "START ", "COMMIT", "ROLLBACK", "SAVEPOINT ", "RELEASE "})
    if (sql.substr(0, word.size()) == word) return true;
  return false;
}

int count_parameters(std::string_view sql) {
  int count = 0;
  char quote = 0;
  for (const char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"' || c == '`') {
      quote = c;
    } else if (c == '?') {
      ++count;
    }
  }
  return count;
}

class MyDb;

// One result value, fetched in its own type (an integer stays exact, a double keeps every digit).
struct Cell {
  enum class Kind { integer, real, text } kind = Kind::text;  // the column's, set once per execution
  bool null = false;
  int64_t i = 0;
  double d = 0;
  std::string s;
};

class MyStatement final : public sql::Statement {
 public:
  MyStatement(MyDb& db, std::string_view sql)
      : db_(db),
        sql_(sql),
        my_sql_(translate(sql)),
        text_protocol_(is_transaction_control(my_sql_)),
        count_(count_parameters(my_sql_)),
        params_(static_cast<size_t>(count_)) {}
  ~MyStatement() override { close(); }
  MyStatement(const MyStatement&) = delete;
  MyStatement& operator=(const MyStatement&) = delete;

  using sql::Statement::bind;
  sql::Statement& bind(int index, int64_t v) override {
    if (Param* p = param(index)) *p = Param{Param::Kind::integer, v, 0, {}};
    return *this;
  }
  sql::Statement& bind(int index, double v) override {
    if (Param* p = param(index)) *p = Param{Param::Kind::real, 0, v, {}};
    return *this;
  }
  sql::Statement& bind(int index, std::string_view v) override {
    if (Param* p = param(index)) *p = Param{Param::Kind::text, 0, 0, std::string(v)};
    return *this;
  }
  sql::Statement& bind_null(int index) override {
    if (Param* p = param(index)) *p = Param{};
    return *this;
  }

  Result<bool> step() override;
  void reset() override;

  int64_t column_int64(int col) const override {
    const Cell* c = cell(col);
    if (!c || c->null) return 0;
    if (c->kind == Cell::Kind::integer) return c->i;
    if (c->kind == Cell::Kind::real) return static_cast<int64_t>(c->d);
    return std::strtoll(c->s.c_str(), nullptr, 10);  // DECIMAL (SUM of BIGINT), text
  }
  double column_double(int col) const override {
    const Cell* c = cell(col);
    if (!c || c->null) return 0;
    if (c->kind == Cell::Kind::real) return c->d;
    if (c->kind == Cell::Kind::integer) return static_cast<double>(c->i);
    return std::strtod(c->s.c_str(), nullptr);
  }
  std::string column_text(int col) const override {
    const Cell* c = cell(col);
    if (!c || c->null) return {};
    if (c->kind == Cell::Kind::integer) return std::to_string(c->i);
    if (c->kind == Cell::Kind::real) {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, c->d);
      (void)ec;
      return std::string(buf, end);
    }
    return c->s;
  }
  bool column_is_null(int col) const override {
    const Cell* c = cell(col);
    return !c || c->null;
  }
  std::string_view sql() const override { return sql_; }

 private:
  struct Param {
    enum class Kind { null, integer, real, text } kind = Kind::null;
    int64_t i = 0;
    double d = 0;
    std::string s;
  };

  Param* param(int index) {
    if (index >= 1 && index <= count_) return &params_[static_cast<size_t>(index - 1)];
    if (bad_bind_ == 0) bad_bind_ = index;
    return nullptr;
  }
  const Cell* cell(int col) const {
    if (!on_row_ || col < 0 || static_cast<size_t>(col) >= row_.size()) return nullptr;
    return &row_[static_cast<size_t>(col)];
  }
  void close() {
    if (stmt_) mysql_stmt_close(stmt_);
    stmt_ = nullptr;
  }
  Error stmt_error(std::string_view what);
  Result<void> execute();
  Result<void> bind_results();
  Result<bool> fetch();

  MyDb& db_;
  std::string sql_;     // as written, for messages
  std::string my_sql_;  // as MariaDB reads it
  bool text_protocol_ = false;
  int count_ = 0;
  std::vector<Param> params_;
  int bad_bind_ = 0;
  MYSQL_STMT* stmt_ = nullptr;
  uint64_t prepared_in_ = 0;  // the connection generation stmt_ belongs to
  bool executed_ = false;
  bool has_result_ = false;
  bool on_row_ = false;
  // Result buffers, bound once per execution; row_ holds the fetched row.
  std::vector<MYSQL_BIND> result_binds_;
  std::vector<std::vector<char>> text_buffers_;
  std::vector<unsigned long> lengths_;
  std::vector<my_bool> nulls_;
  std::vector<Cell> row_;
};

class MyDb final : public sql::Db {
 public:
  MyDb(Dsn dsn, int connect_timeout_s) : dsn_(std::move(dsn)), timeout_s_(connect_timeout_s) {
    if (dsn_.timeout_s > 0) timeout_s_ = dsn_.timeout_s;
  }
  ~MyDb() override {
    clear_statement_cache();  // they close on this connection
    if (conn_) mysql_close(conn_);
  }

  std::string server_name() const {
    return dsn_.socket.empty() ? dsn_.host + ":" + std::to_string(dsn_.port) : dsn_.socket;
  }

  Result<void> open() {
    MYSQL* conn = mysql_init(nullptr);
    if (!conn) return sql::database_unavailable("out of memory");
    const unsigned timeout = static_cast<unsigned>(timeout_s_ > 0 ? timeout_s_ : 5);
    mysql_options(conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(conn, MYSQL_INIT_COMMAND, kSessionSetup);
    for (const auto& [option, seconds] : {std::pair{MYSQL_OPT_READ_TIMEOUT, dsn_.read_timeout_s},
                                          std::pair{MYSQL_OPT_WRITE_TIMEOUT, dsn_.write_timeout_s}}) {
      const unsigned value = static_cast<unsigned>(seconds);
      if (value > 0) mysql_options(conn, option, &value);
    }
    const my_bool no = 0;
    mysql_options(conn, MYSQL_OPT_RECONNECT, &no);  // we reconnect, and only outside transactions
    if (dsn_.tls) {
      const my_bool yes = 1;
      mysql_options(conn, MYSQL_OPT_SSL_ENFORCE, &yes);
      const my_bool verify = dsn_.tls_verify ? 1 : 0;
      mysql_options(conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
    }
    // FOUND_ROWS: an UPDATE reports the rows it matched, as SQLite and PostgreSQL do; the store
    // reads "0 changes" as "no such row". MULTI_STATEMENTS: exec() runs a migration's script.
    const unsigned long flags = CLIENT_FOUND_ROWS | CLIENT_MULTI_STATEMENTS;
    const bool on_socket = !dsn_.socket.empty();
    if (!mysql_real_connect(conn, on_socket ? nullptr : dsn_.host.c_str(), dsn_.user.c_str(), dsn_.password.c_str(),
                            dsn_.database.c_str(), on_socket ? 0 : dsn_.port, on_socket ? dsn_.socket.c_str() : nullptr,
                            flags)) {
      Error e = sql::database_unavailable(std::string(mysql_error(conn)) + " (" + server_name() + ")");
      mysql_close(conn);
      return e;
    }
    const std::string info = mysql_get_server_info(conn);
    if (info.find("MariaDB") == std::string::npos || mysql_get_server_version(conn) < kMinServerVersion) {
      mysql_close(conn);
      return Error::make(ErrorKind::invalid_request, "SQL_DSN: the server at " + server_name() + " is " + info +
                                                         "; oneapid needs MariaDB 10.5 or later (INSERT … RETURNING)");
    }
    if (conn_) mysql_close(conn_);
    conn_ = conn;
    connected_at_ = std::chrono::steady_clock::now();
    broken_ = false;
    aborted_ = false;
    ++generation_;
    return {};
  }

  // Before a statement: a lost connection is replaced, unless a transaction was open on it.
  // Transaction control (BEGIN, ROLLBACK …) may run on a transaction the server rolled back.
  Result<MYSQL*> connection(bool transaction_control = false) {
    if (conn_ && !broken_) {
      // After a deadlock the rest would run on its own, in autocommit: refuse it instead.
      if (aborted_ && inside_transaction_scope() && !transaction_control)
        return sql::database_unavailable("the server rolled the transaction back");
      if (transaction_control) aborted_ = false;
      return conn_;
    }
    if (inside_transaction_scope()) return sql::database_unavailable("the connection was lost during a transaction");
    if (auto recent = backoff_.too_soon()) return *recent;
    if (auto r = open(); !r) {
      backoff_.failed(r.error());
      return r.error();
    }
    backoff_.succeeded();
    return conn_;
  }

  // Records a failure on the connection; a lost one is reopened at the next statement.
  Error fail(unsigned code, const char* sqlstate, const char* message, std::string_view what) {
    if (connection_lost(code)) broken_ = true;
    // InnoDB undoes the whole transaction on a deadlock; an error packet carries no status flags,
    // so the client would still believe it open.
    if (code == kDeadlock) aborted_ = true;
    return error_of(code, sqlstate, message, what);
  }

  sql::Dialect dialect() const override { return sql::Dialect::mysql; }
  bool connected() const override { return conn_ && !broken_; }
  std::chrono::steady_clock::time_point connected_at() const override { return connected_at_; }
  void disconnect() override {
    if (!conn_ || inside_transaction_scope()) return;
    mysql_close(conn_);  // its statements go with it: the generation tells them
    conn_ = nullptr;
  }

  Result<void> exec(const std::string& sql) override {
    auto conn = connection();
    if (!conn) return conn.error();
    const std::string text = translate(sql);
    if (mysql_real_query(*conn, text.data(), text.size()) != 0) return fail_here("exec");
    // Every statement of a script has a result (rows or not), read in turn.
    for (;;) {
      if (MYSQL_RES* res = mysql_store_result(*conn)) {
        mysql_free_result(res);
      } else if (mysql_field_count(*conn) != 0) {
        return fail_here("exec");
      } else {
        changes_ = static_cast<int>(mysql_affected_rows(*conn));
      }
      const int next = mysql_next_result(*conn);
      if (next > 0) return fail_here("exec");
      if (next < 0) return {};
    }
  }

  Result<std::unique_ptr<sql::Statement>> prepare(std::string_view sql) override {
    return std::unique_ptr<sql::Statement>(std::make_unique<MyStatement>(*this, sql));
  }

  int changes() const override { return changes_; }
  std::string_view begin_sql(TxMode) const override { return "BEGIN"; }
  // As the last OK packet said; a deadlock's victim stays "in" its rolled-back transaction until
  // ROLLBACK, as PostgreSQL's aborted transaction does.
  bool in_transaction() const override { return conn_ && !broken_ && (server_status() & SERVER_STATUS_IN_TRANS); }
  // Other errors (a duplicate key, a lock wait timeout) undo only their statement, as in SQLite.
  bool transaction_usable() const override { return in_transaction() && !aborted_; }

  MYSQL* raw() const { return conn_; }
  uint64_t generation() const { return generation_; }
  void set_changes(int n) { changes_ = n; }

 private:
  Error fail_here(std::string_view what) {
    return fail(mysql_errno(conn_), mysql_sqlstate(conn_), mysql_error(conn_), what);
  }
  unsigned server_status() const {
    unsigned status = 0;
    if (conn_) mariadb_get_infov(conn_, MARIADB_CONNECTION_SERVER_STATUS, &status);
    return status;
  }

  Dsn dsn_;
  int timeout_s_;
  MYSQL* conn_ = nullptr;
  std::chrono::steady_clock::time_point connected_at_{};
  bool broken_ = false;
  bool aborted_ = false;     // a deadlock rolled the open transaction back
  uint64_t generation_ = 0;  // a new connection forgets every prepared statement
  sql::ReconnectBackoff backoff_;
  int changes_ = 0;
};

Error MyStatement::stmt_error(std::string_view what) {
  return db_.fail(mysql_stmt_errno(stmt_), mysql_stmt_sqlstate(stmt_), mysql_stmt_error(stmt_),
                  std::string(what) + ": " + sql_);
}

Result<void> MyStatement::execute() {
  if (bad_bind_ != 0)
    return Error::make(ErrorKind::internal,
                       "mysql: bind parameter " + std::to_string(bad_bind_) + " of: " + std::string(sql_));
  auto conn = db_.connection(text_protocol_);
  if (!conn) return conn.error();
  if (text_protocol_) {
    if (mysql_real_query(*conn, my_sql_.data(), my_sql_.size()) != 0)
      return db_.fail(mysql_errno(*conn), mysql_sqlstate(*conn), mysql_error(*conn), sql_);
    has_result_ = false;
    return {};
  }
  if (prepared_in_ != db_.generation()) {
    close();  // a handle of a closed connection only frees its memory
    stmt_ = mysql_stmt_init(*conn);
    if (!stmt_) return sql::database_unavailable("out of memory");
    if (mysql_stmt_prepare(stmt_, my_sql_.data(), my_sql_.size()) != 0) {
      Error e = stmt_error("prepare");
      close();
      return e;
    }
    if (mysql_stmt_param_count(stmt_) != static_cast<unsigned long>(count_)) {
      close();
      return Error::make(ErrorKind::internal, "mysql: parameter count of: " + sql_);
    }
    const my_bool update_max_length = 1;  // sizes the text buffers after store_result
    mysql_stmt_attr_set(stmt_, STMT_ATTR_UPDATE_MAX_LENGTH, &update_max_length);
    prepared_in_ = db_.generation();
  }
  std::vector<MYSQL_BIND> binds(params_.size());
  std::vector<unsigned long> lengths(params_.size());
  for (size_t i = 0; i < params_.size(); ++i) {
    Param& p = params_[i];
    MYSQL_BIND& b = binds[i];
    switch (p.kind) {
      case Param::Kind::null:
        b.buffer_type = MYSQL_TYPE_NULL;
        break;
      case Param::Kind::integer:
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &p.i;
        break;
      case Param::Kind::real:
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = &p.d;
        break;
      case Param::Kind::text:
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = p.s.data();
        lengths[i] = p.s.size();
        b.buffer_length = p.s.size();
        b.length = &lengths[i];
        break;
    }
  }
  if (count_ > 0 && mysql_stmt_bind_param(stmt_, binds.data()) != 0) return stmt_error("bind");
  if (mysql_stmt_execute(stmt_) != 0) return stmt_error("step");
  has_result_ = mysql_stmt_field_count(stmt_) > 0;
  if (has_result_) {
    // Buffered: the connection is free for other statements while this one's rows are read.
    if (mysql_stmt_store_result(stmt_) != 0) return stmt_error("step");
    if (auto r = bind_results(); !r) return r;
  }
  db_.set_changes(static_cast<int>(mysql_stmt_affected_rows(stmt_)));
  return {};
}

Result<void> MyStatement::bind_results() {
  MYSQL_RES* meta = mysql_stmt_result_metadata(stmt_);
  if (!meta) return stmt_error("step");
  const unsigned n = mysql_num_fields(meta);
  const MYSQL_FIELD* fields = mysql_fetch_fields(meta);
  result_binds_.assign(n, MYSQL_BIND{});
  text_buffers_.assign(n, {});
  lengths_.assign(n, 0);
  nulls_.assign(n, 0);
  row_.assign(n, Cell{});
  for (unsigned i = 0; i < n; ++i) {
    MYSQL_BIND& b = result_binds_[i];
    b.length = &lengths_[i];
    b.is_null = &nulls_[i];
    switch (fields[i].type) {
      case MYSQL_TYPE_TINY:
      case MYSQL_TYPE_SHORT:
      case MYSQL_TYPE_INT24:
      case MYSQL_TYPE_LONG:
      case MYSQL_TYPE_LONGLONG:
      case MYSQL_TYPE_YEAR:
        b.buffer_type = MYSQL_TYPE_LONGLONG;
        b.buffer = &row_[i].i;
        row_[i].kind = Cell::Kind::integer;
        break;
      case MYSQL_TYPE_FLOAT:
      case MYSQL_TYPE_DOUBLE:
        b.buffer_type = MYSQL_TYPE_DOUBLE;
        b.buffer = &row_[i].d;
        row_[i].kind = Cell::Kind::real;
        break;
      default:  // text, DECIMAL (SUM over BIGINT), anything else: as text
        text_buffers_[i].resize(fields[i].max_length + 1);
        b.buffer_type = MYSQL_TYPE_STRING;
        b.buffer = text_buffers_[i].data();
        b.buffer_length = text_buffers_[i].size();
        row_[i].kind = Cell::Kind::text;
        break;
    }
  }
  mysql_free_result(meta);
  if (mysql_stmt_bind_result(stmt_, result_binds_.data()) != 0) return stmt_error("step");
  return {};
}

Result<bool> MyStatement::fetch() {
  const int r = mysql_stmt_fetch(stmt_);
  if (r == MYSQL_NO_DATA) return false;
  if (r == 1) return stmt_error("fetch");
  // MYSQL_DATA_TRUNCATED cannot happen for text (buffers fit max_length); integers are 64-bit.
  for (size_t i = 0; i < row_.size(); ++i) {
    Cell& c = row_[i];
    if (nulls_[i]) {
      c.s.clear();
      c.null = true;
      continue;
    }
    c.null = false;
    if (result_binds_[i].buffer_type == MYSQL_TYPE_STRING) c.s.assign(text_buffers_[i].data(), lengths_[i]);
  }
  return true;
}

Result<bool> MyStatement::step() {
  if (!executed_) {
    if (auto r = execute(); !r) return r.error();
    executed_ = true;
  }
  on_row_ = false;
  if (!has_result_) return false;
  auto row = fetch();
  if (!row) return row.error();
  on_row_ = *row;
  return *row;
}

void MyStatement::reset() {
  if (stmt_ && executed_ && has_result_) mysql_stmt_free_result(stmt_);
  executed_ = false;
  has_result_ = false;
  on_row_ = false;
  bad_bind_ = 0;
  for (Param& p : params_) p = Param{};
}

}  // namespace

bool is_mysql_dsn(std::string_view dsn) {
  if (dsn.find("://") != std::string_view::npos) return false;
  for (std::string_view net : {"tcp(", "unix("})
    if (dsn.rfind(net, 0) == 0 || dsn.find("@" + std::string(net)) != std::string_view::npos) return true;
  return false;
}

namespace {

Error bad_dsn(std::string_view dsn, const std::string& why) {
  return Error::make(ErrorKind::invalid_request,
                     "SQL_DSN " + redact_dsn(dsn) + ": " + why +
                         " (expected user:password@tcp(host:port)/dbname or user:password@unix(/socket)/dbname)");
}

// go-sql-driver's timeout: a Go duration; whole seconds are enough here ("5s", "500ms", "1m").
bool parse_timeout(std::string_view v, int& seconds) {
  double amount = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), amount);
  if (ec != std::errc() || amount < 0) return false;
  const std::string_view unit(end, static_cast<size_t>(v.data() + v.size() - end));
  double scale = 0;
  if (unit == "s") scale = 1;
  if (unit == "ms") scale = 0.001;
  if (unit == "m") scale = 60;
  if (scale == 0) return false;
  seconds = std::max(1, static_cast<int>(amount * scale + 0.999));
  return true;
}

}  // namespace

Result<Dsn> parse_mysql_dsn(std::string_view dsn) {
  Dsn out;
  // As go-sql-driver: the database follows the last '/', the credentials precede the last '@'
  // before it (so a password may contain '@' or ':'); a socket path's own '/'s sit in between.
  std::string_view rest = dsn;
  const auto query = rest.find('?');
  std::string_view params = query == std::string_view::npos ? std::string_view() : rest.substr(query + 1);
  rest = rest.substr(0, query);
  const auto slash = rest.rfind('/');
  if (slash == std::string_view::npos) return bad_dsn(dsn, "no /dbname");
  out.database = std::string(rest.substr(slash + 1));
  rest = rest.substr(0, slash);
  if (out.database.empty()) return bad_dsn(dsn, "no database name after '/'");
  const auto at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view credentials = rest.substr(0, at);
    const auto colon = credentials.find(':');
    out.user = std::string(credentials.substr(0, colon));
    if (colon != std::string_view::npos) out.password = std::string(credentials.substr(colon + 1));
    rest = rest.substr(at + 1);
  }
  if (!rest.empty()) {
    const auto open = rest.find('(');
    const std::string_view net = rest.substr(0, open);
    std::string_view address;
    if (open != std::string_view::npos) {
      if (rest.back() != ')') return bad_dsn(dsn, "no ')' after the address");
      address = rest.substr(open + 1, rest.size() - open - 2);
    }
    if (net == "unix") {
      if (address.empty()) return bad_dsn(dsn, "unix() needs a socket path");
      out.socket = std::string(address);
    } else if (net == "tcp") {
      if (!address.empty()) {
        std::string_view host = address, port;
        if (address.front() == '[') {  // [::1]:3306
          const auto close = address.find(']');
          if (close == std::string_view::npos) return bad_dsn(dsn, "no ']' after the IPv6 address");
          host = address.substr(1, close - 1);
          if (close + 1 < address.size()) {
            if (address[close + 1] != ':') return bad_dsn(dsn, "expected ':port' after ']'");
            port = address.substr(close + 2);
          }
        } else if (const auto colon = address.rfind(':'); colon != std::string_view::npos) {
          host = address.substr(0, colon);
          port = address.substr(colon + 1);
        }
        if (!host.empty()) out.host = std::string(host);
        if (!port.empty()) {
          unsigned p = 0;
          auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
          if (ec != std::errc() || end != port.data() + port.size() || p == 0 || p > 65535)
            return bad_dsn(dsn, "port '" + std::string(port) + "' is not a number from 1 to 65535");
          out.port = p;
        }
      }
    } else {
      return bad_dsn(dsn, "network '" + std::string(net) + "' is not tcp or unix");
    }
  }
  // charset, parseTime, loc and the rest of go-sql-driver's options concern Go's side: the
  // connection is always utf8mb4 and times are integers here. They are accepted and ignored.
  while (!params.empty()) {
    const auto amp = params.find('&');
    const std::string_view pair = params.substr(0, amp);
    params = amp == std::string_view::npos ? std::string_view() : params.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    for (auto [name, seconds] : {std::pair{"timeout", &out.timeout_s}, std::pair{"readTimeout", &out.read_timeout_s},
                                 std::pair{"writeTimeout", &out.write_timeout_s}})
      if (key == name && !parse_timeout(value, *seconds))
        return bad_dsn(dsn, std::string(key) + " '" + std::string(value) + "' is not a duration like 5s");
    if (key == "tls") {
      if (value == "true" || value == "skip-verify" || value == "preferred") {
        out.tls = true;
        out.tls_verify = value == "true";
      } else if (value != "false" && !value.empty()) {
        return bad_dsn(dsn, "tls '" + std::string(value) + "' is not true, false or skip-verify");
      }
    }
  }
  return out;
}

std::string redact_dsn(std::string_view dsn) {
  const auto query = dsn.find('?');
  const auto slash = dsn.substr(0, query).rfind('/');
  const auto at = dsn.substr(0, slash == std::string_view::npos ? query : slash).rfind('@');
  if (at == std::string_view::npos) return std::string(dsn);
  const auto colon = dsn.substr(0, at).find(':');
  if (colon == std::string_view::npos) return std::string(dsn);
  return std::string(dsn.substr(0, colon + 1)) + "***" + std::string(dsn.substr(at));
}

std::string translate(std::string_view sql) {
  static const std::regex do_nothing(R"(\s*ON CONFLICT DO NOTHING)");
  static const std::regex insert_into(R"(^(\s*)INSERT INTO)");
  static const std::regex do_update(R"(ON CONFLICT\s*\([^)]*\)\s*DO UPDATE SET)");
  static const std::regex excluded(R"(excluded\.("?\w+"?))");
  static const std::regex release(R"(^RELEASE (\w+)$)");
  std::string out(sql);
  if (std::regex_search(out, do_nothing)) {
    out = std::regex_replace(out, do_nothing, "");
    out = std::regex_replace(out, insert_into, "$1INSERT IGNORE INTO", std::regex_constants::format_first_only);
  }
  if (std::regex_search(out, do_update)) {
    out = std::regex_replace(out, do_update, "ON DUPLICATE KEY UPDATE");
    out = std::regex_replace(out, excluded, "VALUES($1)");
  }
  return std::regex_replace(out, release, "RELEASE SAVEPOINT $1");
}

Result<std::unique_ptr<sql::Db>> connect(const std::string& dsn, int connect_timeout_s) {
  auto parsed = parse_mysql_dsn(dsn);
  if (!parsed) return parsed.error();
  auto db = std::make_unique<MyDb>(std::move(*parsed), connect_timeout_s);
  if (auto r = db->open(); !r) return r.error();
  return std::unique_ptr<sql::Db>(std::move(db));
}

Result<std::unique_ptr<sql::Db>> connect_later(const std::string& dsn, int connect_timeout_s) {
  auto parsed = parse_mysql_dsn(dsn);
  if (!parsed) return parsed.error();
  return std::unique_ptr<sql::Db>(std::make_unique<MyDb>(std::move(*parsed), connect_timeout_s));
}

}  // namespace oneapi::store::mysql
