#pragma once
// Numbered schema migrations, each applied once in its own transaction and recorded in
// schema_migrations(version, applied_at).
#include <string>

#include "core/result.hpp"
#include "store/sql.hpp"

namespace oneapi::store {

Result<void> migrate(sql::Db& db);
// Highest applied version; 0 for an empty database.
Result<int> schema_version(sql::Db& db);
int latest_schema_version();
// A log database (LOG_SQL_DSN on a server): the migrations' statements on the logs table alone,
// recorded in its own log_schema_migrations; and the highest version applied there.
Result<void> migrate_log_database(sql::Db& db);
Result<int> log_schema_version(sql::Db& db);
// A migration's SQL (written for SQLite) in `dialect`'s types.
std::string ddl_for(sql::Dialect dialect, const std::string& sql);

}  // namespace oneapi::store
