#pragma once
// LOG_SQL_DSN on a database server: logs kept in a second database (PostgreSQL or MariaDB, of
// either kind whatever the main database is).
//
// As with a SQLite log file (sqlite_log_archive.hpp), charging and its log row stay one
// transaction in the main database, and a shipper moves settled rows afterwards: copied into the
// log database (idempotent by id) and committed there, then deleted from main. A crash between the
// two leaves a row in both; readers count it once, by id, and the next shipment deletes it.
// Provisional rows are never shipped: their request may still be settled or refunded.
//
// Readers read main first, then the log database: a row is only ever on its way from main to the
// log database, so a row missing from main at the first read is in the log database at the second,
// and one seen in both is counted once.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "store/models.hpp"
#include "store/sql.hpp"

namespace oneapi::store {

class ServerLogArchive {
 public:
  // Connects to `dsn`; `migrate`: gives it the logs table (and the columns and indexes later
  // migrations added); false (a NODE_TYPE=slave node) only checks that it is up to date.
  // `lazily` (a further connection of a pool): connects at the first statement, checks nothing.
  // Error messages never hold the password.
  static Result<std::unique_ptr<ServerLogArchive>> open(const std::string& dsn, int connect_timeout_s, bool migrate,
                                                        bool lazily = false);

  // Moves up to `max_rows` settled rows (oldest first) from `main`; returns how many left main.
  Result<int64_t> ship(sql::Db& main, int64_t max_rows);

  Result<std::vector<Log>> list_logs(sql::Db& main, const LogFilter& f);
  Result<Log> get_log_by_request_id(sql::Db& main, const std::string& request_id);
  Result<LogStat> log_stat(sql::Db& main, const LogFilter& f);
  // Both databases; a row deleted from both counts once.
  Result<int64_t> purge_logs(sql::Db& main, int64_t before);

  sql::Db& db() { return *db_; }

 private:
  explicit ServerLogArchive(std::unique_ptr<sql::Db> db) : db_(std::move(db)) {}
  std::unique_ptr<sql::Db> db_;
};

}  // namespace oneapi::store
