#pragma once
// LOG_SQL_DSN on SQLite: logs kept in a second database file.
//
// Charging and its log row must stay one transaction, and SQLite cannot commit two files
// atomically in WAL mode. So every request still writes its log row into the main database,
// atomically with the quota, and a shipper moves finished rows to the log database afterwards:
// first copied (committed in the log file), then deleted from the main file. A crash between the
// two leaves a row in both; the view below hides the copy still in main, and the next shipment
// deletes it. Row ids never repeat (AUTOINCREMENT), so a copy is recognised by its id.
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/sqlite.hpp"

namespace oneapi::store::log_archive {

// What readers select from when logs are split: shipped rows plus those not shipped yet.
inline constexpr std::string_view kAllLogsView = "all_logs";

// Attaches `path` as schema `logdb`, gives it the main `logs` table's columns and indexes (and
// any column a later migration added), and creates the temporary view `all_logs`.
Result<void> attach(sqlite::Db& db, const std::string& path);

// Moves up to `max_rows` finished log rows (oldest first) from main to the log database;
// returns how many were moved.
Result<int64_t> ship(sqlite::Db& db, int64_t max_rows);

}  // namespace oneapi::store::log_archive
