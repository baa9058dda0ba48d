#pragma once
// The storage interface. Implementations are synchronous and are called from one thread only
// (the store executor). One implementation, SqlStore (sql_store.cpp), serves every database.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "store/models.hpp"

namespace oneapi::store {

namespace sql {
class Db;
}

struct StoreOptions {
  StoreOptions() = default;
  StoreOptions(std::string sqlite, int busy_ms, std::string log_sqlite)
      : sqlite_path(std::move(sqlite)), busy_timeout_ms(busy_ms), log_sqlite_path(std::move(log_sqlite)) {}

  std::string sqlite_path;  // used when sql_dsn is empty
  int busy_timeout_ms = 3000;
  // LOG_SQL_DSN as a SQLite file: logs move there once their request is settled (see
  // sqlite_log_archive.hpp). Empty: logs stay in the main database.
  std::string log_sqlite_path;
  // LOG_SQL_DSN as a server DSN (PostgreSQL or MariaDB), with sql_dsn a server too: the same
  // scheme on a second server database (see server_log_archive.hpp).
  std::string log_sql_dsn;
  // SQL_DSN: postgres://… (or postgresql://…) selects PostgreSQL, user:password@tcp(host:port)/db
  // MariaDB (One API's MySQL form); empty keeps SQLite.
  std::string sql_dsn;
  int connect_timeout_s = 5;
  // False on a NODE_TYPE=slave node: the master migrates; a slave only checks the version.
  bool migrate = true;
  // NODE_NAME: stamped on this node's provisional log rows; reconcile_pending refunds only those.
  std::string node_name;
  // A further connection of a server pool: it connects at its first statement, and neither
  // migrates nor checks the schema (the pool's first connection did).
  bool connect_lazily = false;
};

class Store {
 public:
  virtual ~Store() = default;

  // Creates the root user (and INITIAL_ROOT_TOKEN / INITIAL_ROOT_ACCESS_TOKEN) on first start.
  virtual Result<void> ensure_root(const std::string& initial_root_token,
                                   const std::string& initial_root_access_token) = 0;
  virtual int schema_version() = 0;
  // Group commit (StoreExecutor::run_batched): one transaction around several jobs. A backend
  // without it answers begin_batch with an error and the jobs run one by one. Without
  // `savepoints` a job that rolls back its changes taints the batch (sql::Db::begin_batch): it is
  // rolled back whole and run again with savepoints.
  virtual Result<void> begin_batch(bool /*savepoints*/) {
    return Error::make(ErrorKind::internal, "batches not supported");
  }
  virtual Result<void> commit_batch() { return {}; }
  virtual Result<void> rollback_batch() { return {}; }
  virtual bool batch_alive() { return false; }
  virtual bool batch_needs_savepoints() { return false; }

  virtual Result<Snapshot> load_snapshot() = 0;

  // users
  virtual Result<User> get_user(int64_t id) = 0;
  virtual Result<User> get_user_by_access_token(const std::string& access_token) = 0;
  virtual Result<std::vector<User>> list_users() = 0;
  virtual Result<User> insert_user(User u) = 0;
  virtual Result<User> get_user_by_username(const std::string& username) = 0;
  // Errors: invalid_request for a taken username or an unknown inviter code.
  virtual Result<User> create_user(const NewUser& n) = 0;
  // By u.id: username, password, display_name, role, status, email, quota, group.
  virtual Result<User> update_user(const User& u) = 0;
  // Soft delete as One API: status deleted, username freed ("deleted_…"), access token cleared.
  virtual Result<void> delete_user(int64_t id) = 0;
  // Adds quota (may be negative, never below zero) and writes a topup log, in one transaction.
  virtual Result<User> topup_user(int64_t id, int64_t quota, const std::string& content) = 0;
  virtual Result<std::string> regenerate_access_token(int64_t user_id) = 0;

  // redemptions
  virtual Result<std::vector<Redemption>> create_redemptions(const Redemption& tmpl, int count) = 0;
  virtual Result<std::vector<Redemption>> list_redemptions() = 0;
  virtual Result<Redemption> get_redemption(int64_t id) = 0;
  virtual Result<Redemption> update_redemption(const Redemption& r) = 0;  // name, quota, status
  virtual Result<void> delete_redemption(int64_t id) = 0;
  // One transaction: marks the code used, adds its quota to the user, writes a topup log.
  // Returns the quota added. Errors: invalid_request "invalid redemption code" /
  // "this redemption code has already been used" / "this redemption code is disabled".
  virtual Result<int64_t> redeem(const std::string& key, int64_t user_id) = 0;

  // tokens (key without "sk-")
  virtual Result<std::vector<Token>> list_tokens(std::optional<int64_t> user_id) = 0;
  virtual Result<Token> get_token(int64_t id) = 0;
  virtual Result<Token> insert_token(Token t) = 0;
  virtual Result<Token> update_token(const Token& t) = 0;  // by t.id, all editable columns
  virtual Result<void> delete_token(int64_t id) = 0;
  virtual Result<void> set_token_status(int64_t id, TokenStatus status) = 0;

  // channels; abilities are rebuilt in the same transaction as every change
  virtual Result<std::vector<Channel>> list_channels() = 0;
  virtual Result<Channel> get_channel(int64_t id) = 0;
  virtual Result<Channel> insert_channel(Channel c) = 0;
  virtual Result<Channel> update_channel(const Channel& c) = 0;
  virtual Result<void> delete_channel(int64_t id) = 0;
  virtual Result<void> record_channel_test(int64_t id, int64_t response_time_ms, int64_t test_time) = 0;
  // The balance an upstream reported (its own unit: USD, CNY, credits) and when.
  virtual Result<void> record_channel_balance(int64_t id, double balance, int64_t updated_time) = 0;
  // Health: moves the channel from `from` to `to` (abilities follow) and writes a system log row
  // with `why`, in one transaction; false when the channel was not in `from`.
  virtual Result<bool> set_channel_status_if(int64_t id, ChannelStatus from, ChannelStatus to,
                                             const std::string& why) = 0;
  // Takes one key of a multi-key channel out of rotation, with a system log row `why`, in one
  // transaction; false when it already was (or the channel is gone).
  virtual Result<bool> disable_channel_key(int64_t channel_id, const std::string& key_hash, const std::string& why) = 0;

  // options
  virtual Result<std::map<std::string, std::string>> list_options() = 0;
  virtual Result<void> set_option(const std::string& key, const std::string& value) = 0;

  // billing: every money-moving step is one transaction
  // Errors: unauthorized/forbidden for a token or user not usable, insufficient_quota with
  // One API's messages when token or user cannot cover `amount`.
  virtual Result<int64_t> pre_charge(const PreChargeRequest& r) = 0;  // the log id; 0 when trusted (r.trust)
  virtual Result<void> settle(const Settlement& s) = 0;
  virtual Result<void> refund(const Refund& r) = 0;
  // Provisional rows left by a killed daemon (this node's: StoreOptions::node_name): refund
  // them; returns how many. `note` is the log content they get.
  virtual Result<int> reconcile_pending(std::string_view note) = 0;
  Result<int> reconcile_pending() {
    return reconcile_pending("refunded at startup: the daemon stopped before this request finished");
  }

  // logs
  virtual Result<std::vector<Log>> list_logs(const LogFilter& f) = 0;
  virtual Result<Log> get_log_by_request_id(const std::string& request_id) = 0;
  virtual Result<LogStat> log_stat(const LogFilter& f) = 0;
  // Deletes logs created before `before` (unix s), except requests still in flight; returns how many.
  virtual Result<int64_t> purge_logs(int64_t before) = 0;
  // With a separate log database: moves up to `max_rows` settled log rows there; returns how
  // many (0 without one).
  virtual Result<int64_t> ship_logs(int64_t max_rows) = 0;
  virtual bool logs_split() const = 0;

  // Connection pooling (StoreExecutor): a server connection may be closed while no transaction
  // is open; the next statement opens a new one. A SQLite file stays open.
  virtual bool connection_open() const { return true; }
  virtual std::chrono::steady_clock::duration connection_age() const { return {}; }
  virtual void close_connection() {}
  // Called on the store thread after each job, once its results are on their way back and its
  // transaction is over: upkeep that must run on this connection without holding up an answer.
  virtual void after_job() {}
};

// Each throws std::runtime_error on failure to open or migrate.
std::unique_ptr<Store> open_sqlite_store(const StoreOptions& opts);
std::unique_ptr<Store> open_postgres_store(const StoreOptions& opts);
std::unique_ptr<Store> open_mysql_store(const StoreOptions& opts);
// A SQL_DSN this build can open: PostgreSQL (postgres://…) or MariaDB (user:pass@tcp(…)/db).
bool is_server_dsn(std::string_view dsn);
// The DSN with its password replaced by "***", for messages and log lines.
std::string redact_server_dsn(std::string_view dsn);
// A raw connection to the server a SQL_DSN names (--check-config).
Result<std::unique_ptr<sql::Db>> connect_server(const std::string& dsn, int connect_timeout_s);
// The same, connecting at the first statement (a pool's further connections).
Result<std::unique_ptr<sql::Db>> connect_server_later(const std::string& dsn, int connect_timeout_s);
// By opts.sql_dsn: PostgreSQL for postgres://…, MariaDB for user:pass@tcp(…)/db, SQLite when
// empty; anything else is refused.
std::unique_ptr<Store> open_store(const StoreOptions& opts);

}  // namespace oneapi::store
