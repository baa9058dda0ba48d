#pragma once
// Numbered schema migrations, each applied once in its own transaction and recorded in
// schema_migrations(version, applied_at).
#include "core/result.hpp"
#include "store/sqlite.hpp"

namespace oneapi::store {

Result<void> migrate_sqlite(sqlite::Db& db);
// Highest applied version; 0 for an empty database.
Result<int> sqlite_schema_version(sqlite::Db& db);
int latest_schema_version();

}  // namespace oneapi::store
