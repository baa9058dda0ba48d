#pragma once
// The SQL layer (sql.hpp) on MariaDB's client library (libmariadb), for One API's MySQL SQL_DSN.
// Statements use the binary protocol with parameters bound by type; the session runs in ANSI_QUOTES
// and PIPES_AS_CONCAT so the store's SQL reads as written, and the few constructs MySQL spells
// differently (ON CONFLICT, RELEASE) are translated once per statement text. The server must be
// MariaDB 10.5 or later (INSERT … RETURNING; IF [NOT] EXISTS in index and column DDL).
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/sql.hpp"

namespace oneapi::store::mysql {

// One API's (go-sql-driver's) form: [user[:password]@][tcp(host[:port])|unix(/socket)]/dbname[?params].
struct Dsn {
  std::string user;
  std::string password;
  std::string host = "127.0.0.1";
  unsigned port = 3306;
  std::string socket;  // unix(…): host and port unused
  std::string database;
  int timeout_s = 0;        // ?timeout=5s; 0: the caller's connect timeout
  int read_timeout_s = 0;   // ?readTimeout=30s: a server that stops answering fails the statement
  int write_timeout_s = 0;  // ?writeTimeout=30s
  bool tls = false;         // ?tls=true|skip-verify
  bool tls_verify = true;
};

// `user:pass@tcp(…)/db`, `user@unix(…)/db` and the like (not a URL: postgres:// is PostgreSQL's).
bool is_mysql_dsn(std::string_view dsn);
// Errors are invalid_request and never contain the password.
Result<Dsn> parse_mysql_dsn(std::string_view dsn);
// The DSN with its password replaced by "***": what messages may show.
std::string redact_dsn(std::string_view dsn);
// The store's shared SQL as MariaDB reads it: ON CONFLICT DO NOTHING → INSERT IGNORE,
// ON CONFLICT(col) DO UPDATE SET c = excluded.c → ON DUPLICATE KEY UPDATE c = VALUES(c),
// RELEASE name → RELEASE SAVEPOINT name. Anything else is returned as it is.
std::string translate(std::string_view sql);

// Connects (waiting at most connect_timeout_s unless the DSN says ?timeout=); errors are
// `unavailable` and name the server but never the password.
Result<std::unique_ptr<sql::Db>> connect(const std::string& dsn, int connect_timeout_s);
// Like connect, without connecting: the first statement does (a pool's further connections).
Result<std::unique_ptr<sql::Db>> connect_later(const std::string& dsn, int connect_timeout_s);

}  // namespace oneapi::store::mysql
