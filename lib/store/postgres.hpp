#pragma once
// The SQL layer (sql.hpp) on PostgreSQL's libpq. Parameters are sent as text with the type their
// bind gave (bigint, double precision, text), statements are prepared once per connection, and
// a connection that broke is re-established at the next statement outside a transaction.
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/sql.hpp"

namespace oneapi::store::postgres {

// postgres://… or postgresql://… (libpq's URI form, as One API's SQL_DSN).
bool is_postgres_dsn(std::string_view dsn);
// The DSN with its password replaced by "***": what messages may show.
std::string redact_dsn(std::string_view dsn);
// `?` and `?N` parameters as PostgreSQL's `$N`, quoted text left alone; `count` gets the highest.
std::string numbered_parameters(std::string_view sql, int& count);

// Connects (waiting at most connect_timeout_s); errors are `unavailable`, their message names the
// server but never the password.
Result<std::unique_ptr<sql::Db>> connect(const std::string& dsn, int connect_timeout_s);
// Like connect, without connecting: the first statement does (a pool's further connections).
Result<std::unique_ptr<sql::Db>> connect_later(const std::string& dsn, int connect_timeout_s);

}  // namespace oneapi::store::postgres
