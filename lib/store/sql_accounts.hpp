#pragma once
// Users, redemptions and log maintenance, on any database. Called by SqlStore (sql_store.cpp) on
// the store thread; each function that moves money is one transaction.
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "store/models.hpp"
#include "store/sql.hpp"

namespace oneapi::store::sql_accounts {

Result<User> get_user_by_username(sql::Db& db, const std::string& username);
Result<User> create_user(sql::Db& db, const NewUser& n);
Result<User> update_user(sql::Db& db, const User& u);
Result<void> delete_user(sql::Db& db, int64_t id);
Result<User> topup_user(sql::Db& db, int64_t id, int64_t quota, const std::string& content);
Result<std::string> regenerate_access_token(sql::Db& db, int64_t user_id);

Result<std::vector<Redemption>> create_redemptions(sql::Db& db, const Redemption& tmpl, int count);
Result<std::vector<Redemption>> list_redemptions(sql::Db& db);
Result<Redemption> get_redemption(sql::Db& db, int64_t id);
Result<Redemption> update_redemption(sql::Db& db, const Redemption& r);
Result<void> delete_redemption(sql::Db& db, int64_t id);
Result<int64_t> redeem(sql::Db& db, const std::string& key, int64_t user_id);

using SqlParams = std::vector<std::variant<int64_t, std::string>>;
// Appends " AND …" conditions for `f` to `sql`, with their parameters.
void log_filter_sql(const LogFilter& f, std::string& sql, SqlParams& params);
// The page query of list_logs: newest first, limit and offset bound last. `from` is the table
// or view holding the logs ("logs", or log_archive::kAllLogsView when they are split).
std::string log_page_sql(const LogFilter& f, SqlParams& params, std::string_view from = "logs");
// Runs that query on `db`: one page of logs.
Result<std::vector<Log>> read_log_page(sql::Db& db, const LogFilter& f, std::string_view from = "logs");
Result<LogStat> log_stat(sql::Db& db, const LogFilter& f, std::string_view from = "logs");
// `split`: the log database is attached; purge it too.
Result<int64_t> purge_logs(sql::Db& db, int64_t before, bool split = false);

}  // namespace oneapi::store::sql_accounts
