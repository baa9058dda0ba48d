// The store on any SQL database (sql.hpp): one connection used by the store thread, cached
// statements. On SQLite: WAL journal, a checkpointer thread and an optional log database file.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>
#include <variant>

#include "core/util.hpp"
#include "store/migrations.hpp"
#include "store/mysql.hpp"
#include "store/postgres.hpp"
#include "store/server_log_archive.hpp"
#include "store/sql_accounts.hpp"
#include "store/sql_rows.hpp"
#include "store/sqlite.hpp"
#include "store/sqlite_log_archive.hpp"
#include "store/store.hpp"

namespace oneapi::store {

namespace {

using sql::Db;
using sql::Statement;
using sql::Transaction;
using namespace rows;

constexpr int kTokenEnabled = static_cast<int>(TokenStatus::enabled);
constexpr int kTokenExpired = static_cast<int>(TokenStatus::expired);
constexpr int kTokenExhausted = static_cast<int>(TokenStatus::exhausted);
constexpr int kUserEnabled = static_cast<int>(UserStatus::enabled);
constexpr int kLogConsume = static_cast<int>(LogType::consume);
constexpr int kLogProvisional = static_cast<int>(LogType::provisional);
constexpr int64_t kRootQuota = 500000000000000;

// ---- the SQL, built once ----

// Deleted users (status 3) are gone for every purpose but old logs.
const std::string kSelectUser = "SELECT " + kUserCols + " FROM users WHERE id = ? AND status != 3";
const std::string kSelectUserByAccessToken = "SELECT " + kUserCols + " FROM users WHERE access_token = ?";
const std::string kSelectUsers = "SELECT " + kUserCols + " FROM users WHERE status != 3 ORDER BY id";
constexpr const char* kInsertUser =
    R"(INSERT INTO users (username, password, display_name, role, status, email, access_token, quota, used_quota,
       request_count, "group", aff_code, inviter_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id)";

const std::string kSelectToken = "SELECT " + kTokenCols + " FROM tokens WHERE id = ?";
const std::string kSelectTokens = "SELECT " + kTokenCols + " FROM tokens ORDER BY id";
const std::string kSelectUserTokens = "SELECT " + kTokenCols + " FROM tokens WHERE user_id = ? ORDER BY id";
constexpr const char* kInsertToken =
    R"(INSERT INTO tokens (user_id, "key", status, name, created_time, accessed_time, expired_time, remain_quota,
       unlimited_quota, used_quota, models, subnet) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id)";
// user_id, key, created/accessed time and used_quota are not editable: used_quota belongs to billing.
constexpr const char* kUpdateToken =
    "UPDATE tokens SET name = ?, status = ?, expired_time = ?, remain_quota = ?, unlimited_quota = ?, models = ?, "
    "subnet = ? WHERE id = ?";

const std::string kSelectChannel = "SELECT " + kChannelCols + " FROM channels WHERE id = ?";
const std::string kSelectChannels = "SELECT " + kChannelCols + " FROM channels ORDER BY id";
constexpr const char* kInsertChannel =
    R"(INSERT INTO channels (type, "key", status, name, weight, created_time, test_time, response_time, base_url,
       other, balance, balance_updated_time, models, "group", used_quota, model_mapping, priority, config,
       system_prompt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id)";
// id, created_time, test results and used_quota (billing's) are not editable.
constexpr const char* kUpdateChannel =
    R"(UPDATE channels SET type = ?, "key" = ?, status = ?, name = ?, weight = ?, base_url = ?, other = ?,
       balance = ?, balance_updated_time = ?, models = ?, "group" = ?, model_mapping = ?, priority = ?, config = ?,
       system_prompt = ? WHERE id = ?)";

constexpr const char* kInsertAbility =
    R"(INSERT INTO abilities ("group", model, channel_id, enabled, priority) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT DO NOTHING)";

constexpr const char* kInsertLog =
    "INSERT INTO logs (user_id, created_at, type, content, username, token_name, model_name, quota, prompt_tokens, "
    "completion_tokens, channel, request_id, elapsed_time, is_stream, system_prompt_reset, token_id, node) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";

// A trusted request's row, written once when it ends (no provisional row came before it).
constexpr const char* kInsertSettledLog =
    "INSERT INTO logs (user_id, created_at, type, content, username, token_name, model_name, quota, prompt_tokens, "
    "completion_tokens, channel, request_id, elapsed_time, is_stream, system_prompt_reset, token_id, node, "
    "cached_prompt_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

// Moves a delta (may be negative; bound to the first four parameters) from a token's remaining
// quota into its used quota, and stamps accessed_time unless the next two parameters are 0. Only
// limited tokens have their remaining quota and "exhausted" status follow it; the CASEs read the
// row's old values.
constexpr const char* kTokenApplyDelta = R"(UPDATE tokens SET
  status = CASE
    WHEN unlimited_quota = 0 AND status = 1 AND remain_quota - ? <= 0 THEN 4
    WHEN unlimited_quota = 0 AND status = 4 AND remain_quota - ? > 0 THEN 1
    ELSE status END,
  remain_quota = CASE WHEN unlimited_quota = 0 THEN remain_quota - ? ELSE remain_quota END,
  used_quota = used_quota + ?,
  accessed_time = CASE WHEN ? = 0 THEN accessed_time ELSE ? END
WHERE id = ?)";

constexpr const char* kAddChannelQuota = "UPDATE channels SET used_quota = used_quota + ? WHERE id = ?";

// `accessed_at` 0 leaves the token's last use as it was.
Result<void> token_apply_delta(Db& db, int64_t token_id, int64_t delta, int64_t accessed_at = 0) {
  return run(db, kTokenApplyDelta, delta, delta, delta, delta, accessed_at, accessed_at, token_id);
}

std::string strip_sk(std::string key) {
  if (key.rfind("sk-", 0) == 0) key.erase(0, 3);
  return key;
}

[[noreturn]] void fail_open(const std::string& path, const std::string& why) {
  throw std::runtime_error("cannot open the database " + path + ": " + why);
}

class SqlStore final : public Store {
 public:
  // `sqlite_path`: the file `db` has open, when it is SQLite (WAL checkpoints, log database).
  SqlStore(std::unique_ptr<Db> db, const StoreOptions& opts, const std::string& sqlite_path)
      : conn_(std::move(db)),
        db_(*conn_),
        node_(opts.node_name),
        select_token_to_charge_(
            "SELECT status, remain_quota, unlimited_quota, expired_time, name FROM tokens WHERE id = ?" +
            std::string(db_.for_update())),
        select_user_to_charge_("SELECT status, quota FROM users WHERE id = ?" + std::string(db_.for_update())) {
    const std::string where = sqlite_path.empty() ? "SQL_DSN" : sqlite_path;
    if (opts.connect_lazily) {
      // A further pool connection: the first one migrated or checked the schema.
    } else if (opts.migrate) {
      if (auto r = migrate(db_); !r) fail_open(where, r.error().message);
    } else if (auto v = store::schema_version(db_); !v || *v != latest_schema_version()) {
      // No schema_migrations table yet reads as version 0.
      fail_open(where, "its schema is at version " + std::to_string(v ? *v : 0) + ", this oneapid needs " +
                           std::to_string(latest_schema_version()) +
                           ": a NODE_TYPE=slave node does not migrate; start the master node first");
    }
    if (sqlite_path.empty()) {
      if (!opts.log_sql_dsn.empty()) open_server_logs(opts);
      return;
    }
    auto& lite = static_cast<sqlite::Db&>(db_);
    if (!opts.log_sqlite_path.empty()) {
      if (opts.log_sqlite_path == sqlite_path) fail_open(sqlite_path, "the log database must be another file");
      if (auto r = log_archive::attach(lite, opts.log_sqlite_path); !r)
        fail_open(sqlite_path, "attaching the log database " + opts.log_sqlite_path + ": " + r.error().message);
      logs_from_ = std::string(log_archive::kAllLogsView);
    }
    if (sqlite_path != ":memory:") start_checkpointer(lite.handle(), sqlite_path, opts.log_sqlite_path);
  }

  ~SqlStore() override {
    if (wal_writer_) sqlite3_wal_hook(wal_writer_, nullptr, nullptr);
    if (!checkpointer_.joinable()) return;
    {
      std::lock_guard lock(checkpoint_mu_);
      checkpoint_stop_ = true;
    }
    checkpoint_cv_.notify_all();
    checkpointer_.join();
  }

  bool connection_open() const override { return db_.connected(); }
  std::chrono::steady_clock::duration connection_age() const override {
    return db_.connected() ? std::chrono::steady_clock::now() - db_.connected_at()
                           : std::chrono::steady_clock::duration{};
  }
  void close_connection() override {
    db_.disconnect();
    if (server_logs_) server_logs_->db().disconnect();
  }

  Result<void> ensure_root(const std::string& initial_root_token,
                           const std::string& initial_root_access_token) override {
    auto tx = Transaction::begin(db_);
    if (!tx) return tx.error();
    auto any_user =
        select_one<int64_t>(db_, "SELECT id FROM users LIMIT 1", [](const Statement& s) { return s.column_int64(0); });
    if (!any_user) return any_user.error();
    if (!*any_user) {
      User root;
      root.username = "root";
      root.display_name = "Root User";
      root.role = static_cast<int>(Role::root);
      root.status = kUserEnabled;
      root.quota = kRootQuota;
      root.group = "default";
      root.access_token = initial_root_access_token.empty() ? random_hex32() : initial_root_access_token;
      root.aff_code = random_alnum(4);
      if (auto r = insert_user_row(root); !r) return r.error();
    }
    if (!initial_root_token.empty()) {
      const std::string key = strip_sk(initial_root_token);
      auto exists = select_one<int64_t>(
          db_, R"(SELECT id FROM tokens WHERE "key" = ?)", [](const Statement& s) { return s.column_int64(0); }, key);
      if (!exists) return exists.error();
      if (!*exists) {
        auto root_id = select_one<int64_t>(
            db_, "SELECT id FROM users WHERE role >= ? ORDER BY id LIMIT 1",
            [](const Statement& s) { return s.column_int64(0); }, static_cast<int>(Role::root));
        if (!root_id) return root_id.error();
        if (!*root_id) return Error::make(ErrorKind::internal, "no root user to own INITIAL_ROOT_TOKEN");
        Token t;
        t.user_id = **root_id;
        t.key = key;
        t.status = kTokenEnabled;
        t.name = "Initial Root Token";
        t.created_time = unix_now();
        t.expired_time = -1;
        t.unlimited_quota = true;
        if (auto r = insert_token_row(t); !r) return r.error();
      }
    }
    return tx->commit();
  }

  Result<void> begin_batch(bool savepoints) override {
    batch_channel_quota_.clear();
    return db_.begin_batch(savepoints);
  }
  Result<void> rollback_batch() override {
    batch_channel_quota_.clear();
    return db_.rollback_batch();
  }
  bool batch_needs_savepoints() override { return db_.batch_needs_savepoints(); }
  Result<void> commit_batch() override {
    std::map<int64_t, int64_t> channels;  // ordered: the locks in id order
    channels.swap(batch_channel_quota_);
    if (db_.batch_alive())
      for (const auto& [id, quota] : channels)
        if (auto r = run(db_, kAddChannelQuota, quota, id); !r) {
          (void)db_.rollback_batch();  // the batch fails as a whole
          return r;
        }
    return db_.commit_batch();
  }
  bool batch_alive() override { return db_.batch_alive(); }

  int schema_version() override {
    auto v = store::schema_version(db_);
    return v ? *v : 0;
  }

  Result<Snapshot> load_snapshot() override {
    // One read transaction: the catalog never sees a channel without its abilities.
    auto tx = Transaction::begin(db_, Transaction::Mode::deferred);
    if (!tx) return tx.error();
    Snapshot snap;
    auto users = list_users();
    if (!users) return users.error();
    snap.users = std::move(*users);
    auto tokens = list_tokens(std::nullopt);
    if (!tokens) return tokens.error();
    snap.tokens = std::move(*tokens);
    auto channels = list_channels();
    if (!channels) return channels.error();
    snap.channels = std::move(*channels);
    auto abilities = select_all<Ability>(
        db_,
        R"(SELECT "group", model, channel_id, enabled, priority FROM abilities ORDER BY channel_id, "group", model)",
        read_ability);
    if (!abilities) return abilities.error();
    snap.abilities = std::move(*abilities);
    auto options = list_options();
    if (!options) return options.error();
    snap.options = std::move(*options);
    if (auto r = tx->commit(); !r) return r.error();
    return snap;
  }

  // ---- users ----

  Result<User> get_user(int64_t id) override {
    auto u = select_one<User>(db_, kSelectUser, read_user, id);
    if (!u) return u.error();
    if (!*u) return not_found("user", id);
    return std::move(**u);
  }

  Result<User> get_user_by_access_token(const std::string& access_token) override {
    if (access_token.empty()) return Error::make(ErrorKind::not_found, "user not found");
    auto u = select_one<User>(db_, kSelectUserByAccessToken, read_user, access_token);
    if (!u) return u.error();
    if (!*u) return Error::make(ErrorKind::not_found, "user not found");
    return std::move(**u);
  }

  Result<std::vector<User>> list_users() override { return select_all<User>(db_, kSelectUsers, read_user); }

  Result<User> insert_user(User u) override {
    if (u.aff_code.empty()) u.aff_code = random_alnum(4);
    if (auto r = insert_user_row(u); !r) return r.error();
    return get_user(u.id);
  }

  // ---- tokens ----

  Result<std::vector<Token>> list_tokens(std::optional<int64_t> user_id) override {
    if (user_id) return select_all<Token>(db_, kSelectUserTokens, read_token, *user_id);
    return select_all<Token>(db_, kSelectTokens, read_token);
  }

  Result<Token> get_token(int64_t id) override {
    auto t = select_one<Token>(db_, kSelectToken, read_token, id);
    if (!t) return t.error();
    if (!*t) return not_found("token", id);
    return std::move(**t);
  }

  Result<Token> insert_token(Token t) override {
    t.key = strip_sk(std::move(t.key));
    if (t.key.empty()) t.key = new_token_key();
    if (t.created_time == 0) t.created_time = unix_now();
    if (auto r = insert_token_row(t); !r) return r.error();
    return get_token(t.id);
  }

  Result<Token> update_token(const Token& t) override {
    auto q = db_.query(kUpdateToken);
    if (!q) return q.error();
    (*q)->bind_all(t.name, t.status, t.expired_time, t.remain_quota, t.unlimited_quota, t.models, t.subnet, t.id);
    if (auto r = (*q)->run(); !r) return r.error();
    if (db_.changes() == 0) return not_found("token", t.id);
    return get_token(t.id);
  }

  Result<void> delete_token(int64_t id) override {
    if (auto r = run(db_, "DELETE FROM tokens WHERE id = ?", id); !r) return r;
    if (db_.changes() == 0) return not_found("token", id);
    return {};
  }

  Result<void> set_token_status(int64_t id, TokenStatus status) override {
    if (auto r = run(db_, "UPDATE tokens SET status = ? WHERE id = ?", static_cast<int>(status), id); !r) return r;
    if (db_.changes() == 0) return not_found("token", id);
    return {};
  }

  // ---- channels ----

  Result<std::vector<Channel>> list_channels() override {
    auto channels = select_all<Channel>(db_, kSelectChannels, read_channel);
    if (!channels) return channels;
    if (auto r = attach_disabled_keys(*channels, 0); !r) return r.error();
    return channels;
  }

  Result<Channel> get_channel(int64_t id) override {
    auto c = select_one<Channel>(db_, kSelectChannel, read_channel, id);
    if (!c) return c.error();
    if (!*c) return not_found("channel", id);
    std::vector<Channel> one{std::move(**c)};
    if (auto r = attach_disabled_keys(one, id); !r) return r.error();
    return std::move(one.front());
  }

  Result<bool> disable_channel_key(int64_t channel_id, const std::string& key_hash, const std::string& why) override {
    auto tx = Transaction::begin(db_);
    if (!tx) return tx.error();
    if (auto r = run(db_,
                     "INSERT INTO channel_disabled_keys (channel_id, key_hash, reason, disabled_at) "
                     "SELECT id, ?, ?, ? FROM channels WHERE id = ? ON CONFLICT DO NOTHING",
                     key_hash, why, unix_now(), channel_id);
        !r)
      return r.error();
    if (db_.changes() == 0) return false;  // already out of rotation, or no such channel
    if (auto r = run(db_, "INSERT INTO logs (created_at, type, content, channel) VALUES (?, ?, ?, ?)", unix_now(),
                     static_cast<int>(LogType::system), why, channel_id);
        !r)
      return r.error();
    if (auto r = tx->commit(); !r) return r.error();
    return true;
  }

  Result<Channel> insert_channel(Channel c) override {
    if (c.created_time == 0) c.created_time = unix_now();
    auto tx = Transaction::begin(db_);
    if (!tx) return tx.error();
    auto id = sql::insert_returning_id(db_, kInsertChannel, c.type, c.key, c.status, c.name, c.weight, c.created_time,
                                       c.test_time, c.response_time, c.base_url, c.other, c.balance,
                                       c.balance_updated_time, c.models, c.group, c.used_quota, c.model_mapping,
                                       c.priority, c.config, c.system_prompt);
    if (!id) return id.error();
    c.id = *id;
    if (auto r = rebuild_abilities(c); !r) return r.error();
    if (auto r = tx->commit(); !r) return r.error();
    return get_channel(c.id);
  }

  Result<Channel> update_channel(const Channel& c) override {
    auto tx = Transaction::begin(db_);
    if (!tx) return tx.error();
    auto previous_status = select_one<int64_t>(
        db_, "SELECT status FROM channels WHERE id = ?", [](const Statement& st) { return st.column_int64(0); }, c.id);
    if (!previous_status) return previous_status.error();
    {
      auto q = db_.query(kUpdateChannel);
      if (!q) return q.error();
      (*q)->bind_all(c.type, c.key, c.status, c.name, c.weight, c.base_url, c.other, c.balance, c.balance_updated_time,
                     c.models, c.group, c.model_mapping, c.priority, c.config, c.system_prompt, c.id);
      if (auto r = (*q)->run(); !r) return r.error();
    }
    if (db_.changes() == 0) return not_found("channel", c.id);
    if (auto r = rebuild_abilities(c); !r) return r.error();
    if (auto r = forget_disabled_keys(c, previous_status->value_or(0)); !r) return r.error();
    if (auto r = tx->commit(); !r) return r.error();
    return get_channel(c.id);
  }

  Result<void> delete_channel(int64_t id) override {
    auto tx = Transaction::begin(db_);
    if (!tx) return tx.error();
    if (auto r = run(db_, "DELETE FROM channels WHERE id = ?", id); !r) return r;
    if (db_.changes() == 0) return not_found("channel", id);
    if (auto r = run(db_, "DELETE FROM abilities WHERE channel_id = ?", id); !r) return r;
    if (auto r = run(db_, "DELETE FROM channel_disabled_keys WHERE channel_id = ?", id); !r) return r;
    return tx->commit();
  }

  Result<bool> set_channel_status_if(int64_t id, ChannelStatus from, ChannelStatus to,
                                     const std::string& why) override {
    auto tx = Transaction::begin(db_);
    if (!tx) return tx.error();
    if (auto r = run(db_, "UPDATE channels SET status = ? WHERE id = ? AND status = ?", static_cast<int>(to), id,
                     static_cast<int>(from));
        !r)
      return r.error();
    if (db_.changes() == 0) return false;
    auto c = get_channel(id);
    if (!c) return c.error();
    if (auto r = rebuild_abilities(*c); !r) return r.error();
    if (to == ChannelStatus::enabled)  // its test passed: every key gets another chance
      if (auto r = run(db_, "DELETE FROM channel_disabled_keys WHERE channel_id = ?", id); !r) return r.error();
    if (auto r = run(db_, "INSERT INTO logs (created_at, type, content, channel) VALUES (?, ?, ?, ?)", unix_now(),
                     static_cast<int>(LogType::system), why, id);
        !r)
      return r.error();
    if (auto r = tx->commit(); !r) return r.error();
    return true;
  }

  Result<void> record_channel_test(int64_t id, int64_t response_time_ms, int64_t test_time) override {
    if (auto r = run(db_, "UPDATE channels SET response_time = ?, test_time = ? WHERE id = ?", response_time_ms,
                     test_time, id);
        !r)
      return r;
    if (db_.changes() == 0) return not_found("channel", id);
    return {};
  }

  Result<void> record_channel_balance(int64_t id, double balance, int64_t updated_time) override {
    if (auto r = run(db_, "UPDATE channels SET balance = ?, balance_updated_time = ? WHERE id = ?", balance,
                     updated_time, id);
        !r)
      return r;
    if (db_.changes() == 0) return not_found("channel", id);
    return {};
  }

  // ---- options ----

  Result<std::map<std::string, std::string>> list_options() override {
    auto q = db_.query(R"(SELECT "key", value FROM options)");
    if (!q) return q.error();
    std::map<std::string, std::string> out;
    for (;;) {
      auto row = (*q)->step();
      if (!row) return row.error();
      if (!*row) break;
      out[(*q)->column_text(0)] = (*q)->column_text(1);
    }
    return out;
  }

  Result<void> set_option(const std::string& key, const std::string& value) override {
    return run(
        db_,
        R"(INSERT INTO options ("key", value) VALUES (?, ?) ON CONFLICT("key") DO UPDATE SET value = excluded.value)",
        key, value);
  }

  // ---- billing ----

  Result<int64_t> pre_charge(const PreChargeRequest& r) override {
    if (r.amount < 0) return Error::make(ErrorKind::internal, "pre-charge of a negative amount");
    const int64_t now = unix_now();
    auto tx = Transaction::begin(db_);
    if (!tx) return tx.error();

    struct UserRow {
      int status;
      int64_t quota;
    };
    // The user's row before the token's: every transaction locks in this order (executor.hpp).
    auto user = select_one<UserRow>(
        db_, select_user_to_charge_,
        [](const Statement& s) {
          return UserRow{s.column_int(0), s.column_int64(1)};
        },
        r.user_id);
    struct TokenRow {
      int status;
      int64_t remain;
      bool unlimited;
      int64_t expired_time;
      std::string name;
    };
    auto token = select_one<TokenRow>(
        db_, select_token_to_charge_,
        [](const Statement& s) {
          return TokenRow{s.column_int(0), s.column_int64(1), s.column_bool(2), s.column_int64(3), s.column_text(4)};
        },
        r.token_id);
    if (!token) return token.error();
    if (!*token) return Error::make(ErrorKind::unauthorized, "invalid token", "invalid_api_key");
    const TokenRow& t = **token;
    auto who = [&] { return t.name + " (#" + std::to_string(r.token_id) + ")"; };  // only for refusals
    // The catalog may still think the token usable: answer as authenticate() would.
    if (t.status == static_cast<int>(TokenStatus::exhausted))
      return Error::make(ErrorKind::insufficient_quota, "API Key " + who() + " quota has been exhausted",
                         "token_quota_exhausted");
    if (t.status == static_cast<int>(TokenStatus::expired))
      return Error::make(ErrorKind::unauthorized, "token " + who() + " has expired", "token_expired");
    if (t.status != kTokenEnabled)
      return Error::make(ErrorKind::unauthorized,
                         "token " + who() + " status is not available (status: " + std::to_string(t.status) + ")",
                         "token_disabled");
    if (t.expired_time != -1 && t.expired_time < now) {
      if (auto e = mark_token_and_commit(*tx, r.token_id, kTokenExpired); !e) return e.error();
      return Error::make(ErrorKind::unauthorized, "token " + who() + " has expired", "token_expired");
    }
    if (!t.unlimited) {
      if (t.remain <= 0) {
        if (auto e = mark_token_and_commit(*tx, r.token_id, kTokenExhausted); !e) return e.error();
        return Error::make(ErrorKind::insufficient_quota, "API Key " + who() + " quota has been exhausted",
                           "token_quota_exhausted");
      }
      if (r.others_in_flight && t.remain < 100 * std::max<int64_t>(r.amount, 1))
        return Error::make(ErrorKind::rate_limited,
                           "token quota is low: one request at a time; retry when the request in flight finishes",
                           "token_quota_low_concurrency");
      if (t.remain < r.amount)
        return Error::make(ErrorKind::insufficient_quota,
                           "token quota is not enough, token remain quota: " + std::to_string(t.remain) +
                               ", need quota: " + std::to_string(r.amount),
                           "pre_consume_token_quota_failed");
    }

    if (!user) return user.error();
    if (!*user || (*user)->status != kUserEnabled)
      return Error::make(ErrorKind::forbidden, "user has been banned", "user_banned");
    if ((*user)->quota <= 0 || (*user)->quota < r.amount)
      return Error::make(ErrorKind::insufficient_quota, "user quota is not enough", "insufficient_user_quota");
    // Trusted: the transaction read only, and rolls back; the request's row is written once, at its end.
    if (r.trust && r.trust((*user)->quota, t.remain, t.unlimited)) return int64_t{0};

    {
      auto q = db_.query(
          "UPDATE tokens SET remain_quota = CASE WHEN unlimited_quota = 0 THEN remain_quota - ? "
          "ELSE remain_quota END, used_quota = used_quota + ?, accessed_time = ? WHERE id = ?");
      if (!q) return q.error();
      if (auto e = (*q)->bind_all(r.amount, r.amount, now, r.token_id).run(); !e) return e.error();
    }
    if (auto e = run(db_, "UPDATE users SET quota = quota - ? WHERE id = ?", r.amount, r.user_id); !e) return e.error();

    const Log& p = r.pending;
    auto log_id = sql::insert_returning_id(db_, kInsertLog, r.user_id, p.created_at != 0 ? p.created_at : now,
                                           kLogProvisional, p.content, p.username, p.token_name, p.model_name, r.amount,
                                           p.prompt_tokens, p.completion_tokens, p.channel_id, p.request_id,
                                           p.elapsed_time, p.is_stream, p.system_prompt_reset, r.token_id, node_);
    if (!log_id) return log_id.error();
    if (auto e = tx->commit(); !e) return e.error();
    return *log_id;
  }

  Result<void> settle(const Settlement& s) override {
    if (s.quota < 0) return Error::make(ErrorKind::internal, "settlement of a negative quota");
    auto tx = Transaction::begin(db_);
    if (!tx) return tx.error();
    if (s.trusted_row) {
      Log row = *s.trusted_row;
      row.type = kLogConsume;
      row.quota = s.quota;
      row.prompt_tokens = s.prompt_tokens;
      row.completion_tokens = s.completion_tokens;
      row.cached_prompt_tokens = s.cached_prompt_tokens;
      row.elapsed_time = s.elapsed_ms;
      row.is_stream = s.is_stream;
      row.system_prompt_reset = s.system_prompt_reset;
      row.model_name = s.model_name;
      row.content = s.content;
      if (s.channel_id != 0) row.channel_id = s.channel_id;
      auto inserted = insert_trusted_row(row, s.retried);
      if (!inserted) return inserted.error();
      if (!*inserted) return {};
    } else if (auto turned = settle_provisional_row(s); !turned) {
      return turned.error();
    } else if (!*turned) {
      return {};
    }
    const int64_t delta = s.quota - s.pre_charged;
    if (auto r =
            run(db_,
                "UPDATE users SET quota = quota - ?, used_quota = used_quota + ?, request_count = request_count + 1 "
                "WHERE id = ?",
                delta, s.quota, s.user_id);
        !r)
      return r;
    // A trusted pre-charge wrote nothing, so the token's last use is stamped here.
    if (auto r = token_apply_delta(db_, s.token_id, delta, s.trusted_row ? unix_now() : 0); !r) return r;
    if (s.channel_id != 0 && !db_.in_batch()) {
      if (auto r = run(db_, kAddChannelQuota, s.quota, s.channel_id); !r) return r;
    }
    if (auto r = tx->commit(); !r) return r;
    // In a batch, channels are locked last, in id order, at its commit (commit_batch).
    if (s.channel_id != 0 && db_.in_batch()) batch_channel_quota_[s.channel_id] += s.quota;
    return {};
  }

  // Whether the provisional row was turned (a second settle, or one after a refund, finds none).
  Result<bool> settle_provisional_row(const Settlement& s) {
    // Turning the row from provisional into consume is the guard: a second settle (or a settle
    // after a refund) finds nothing to turn and moves no money. Most settles keep the pre-charge's
    // model and channel and leave those indexed columns alone (two pages fewer in the commit).
    if (s.same_model_and_channel) {
      auto q = db_.query(
          "UPDATE logs SET type = ?, quota = ?, prompt_tokens = ?, completion_tokens = ?, elapsed_time = ?, "
          "is_stream = ?, content = ?, cached_prompt_tokens = ?, system_prompt_reset = ? WHERE id = ? AND type = ?");
      if (!q) return q.error();
      (*q)->bind_all(kLogConsume, s.quota, s.prompt_tokens, s.completion_tokens, s.elapsed_ms, s.is_stream, s.content,
                     s.cached_prompt_tokens, s.system_prompt_reset, s.log_id, kLogProvisional);
      if (auto r = (*q)->run(); !r) return r.error();
    } else {
      auto q = db_.query(
          "UPDATE logs SET type = ?, quota = ?, prompt_tokens = ?, completion_tokens = ?, elapsed_time = ?, "
          "is_stream = ?, model_name = ?, content = ?, channel = CASE WHEN ? = 0 THEN channel ELSE ? END, "
          "cached_prompt_tokens = ?, system_prompt_reset = ? WHERE id = ? AND type = ?");
      if (!q) return q.error();
      // A retried request is logged against the channel that answered it.
      (*q)->bind_all(kLogConsume, s.quota, s.prompt_tokens, s.completion_tokens, s.elapsed_ms, s.is_stream,
                     s.model_name, s.content, s.channel_id, s.channel_id, s.cached_prompt_tokens, s.system_prompt_reset,
                     s.log_id, kLogProvisional);
      if (auto r = (*q)->run(); !r) return r.error();
    }
    return db_.changes() != 0;
  }

  // The one row of a trusted request. Whether it was written: not when a retry finds that an
  // earlier attempt's commit went through after all.
  Result<bool> insert_trusted_row(const Log& row, bool retried) {
    if (retried) {
      auto there = select_one<int64_t>(
          db_, "SELECT id FROM logs WHERE request_id = ? AND token_id = ? AND type = ? LIMIT 1",
          [](const Statement& st) { return st.column_int64(0); }, row.request_id, row.token_id, kLogConsume);
      if (!there) return there.error();
      if (*there) return false;
    }
    if (auto r = run(db_, kInsertSettledLog, row.user_id, row.created_at, row.type, row.content, row.username,
                     row.token_name, row.model_name, row.quota, row.prompt_tokens, row.completion_tokens,
                     row.channel_id, row.request_id, row.elapsed_time, row.is_stream, row.system_prompt_reset,
                     row.token_id, node_, row.cached_prompt_tokens);
        !r)
      return r.error();
    return true;
  }

  Result<void> refund(const Refund& r) override {
    auto tx = Transaction::begin(db_);
    if (!tx) return tx.error();
    if (r.trusted_row) {
      // Nothing was reserved in the database: only the row, at no cost, saying why.
      Log row = *r.trusted_row;
      row.type = kLogConsume;
      row.quota = 0;
      row.elapsed_time = r.elapsed_ms;
      row.content = r.content;
      if (r.channel_id != 0) row.channel_id = r.channel_id;
      if (auto done = insert_trusted_row(row, false); !done) return done.error();
      return tx->commit();
    }
    auto done = refund_row(r.log_id, r.token_id, r.user_id, r.pre_charged, r.elapsed_ms, r.content);
    if (!done) return done.error();
    return tx->commit();
  }

  using Store::reconcile_pending;
  Result<int> reconcile_pending(std::string_view note) override {
    auto tx = Transaction::begin(db_);
    if (!tx) return tx.error();
    struct Pending {
      int64_t id, token_id, user_id, quota, elapsed_time;
    };
    auto rows = select_all<Pending>(
        db_,
        "SELECT id, token_id, user_id, quota, elapsed_time FROM logs WHERE type = ? AND node = ? "
        "ORDER BY user_id, token_id, id",
        [](const Statement& s) {
          return Pending{s.column_int64(0), s.column_int64(1), s.column_int64(2), s.column_int64(3), s.column_int64(4)};
        },
        kLogProvisional, node_);
    if (!rows) return rows.error();
    int count = 0;
    for (const Pending& p : *rows) {
      auto done = refund_row(p.id, p.token_id, p.user_id, p.quota, p.elapsed_time, std::string(note));
      if (!done) return done.error();
      if (*done) ++count;
    }
    if (auto c = tx->commit(); !c) return c.error();
    return count;
  }

  // ---- logs ----

  Result<std::vector<Log>> list_logs(const LogFilter& f) override {
    if (server_logs_) return server_logs_->list_logs(db_, f);
    return sql_accounts::read_log_page(db_, f, logs_from_);
  }

  Result<Log> get_log_by_request_id(const std::string& request_id) override {
    if (server_logs_) return server_logs_->get_log_by_request_id(db_, request_id);
    const std::string sql =
        "SELECT " + kLogCols + " FROM " + logs_from_ + " WHERE request_id = ? ORDER BY id DESC LIMIT 1";
    auto l = select_one<Log>(db_, sql, read_log, request_id);
    if (!l) return l.error();
    if (!*l) return Error::make(ErrorKind::not_found, "log with request id " + request_id + " not found");
    return std::move(**l);
  }

  Result<LogStat> log_stat(const LogFilter& f) override {
    if (server_logs_) return server_logs_->log_stat(db_, f);
    return sql_accounts::log_stat(db_, f, logs_from_);
  }
  Result<int64_t> purge_logs(int64_t before) override {
    if (server_logs_) return server_logs_->purge_logs(db_, before);
    return sql_accounts::purge_logs(db_, before, logs_split());
  }
  Result<int64_t> ship_logs(int64_t max_rows) override {
    if (server_logs_) return server_logs_->ship(db_, max_rows);
    if (!logs_split()) return int64_t{0};
    return log_archive::ship(static_cast<sqlite::Db&>(db_), max_rows);
  }
  bool logs_split() const override { return server_logs_ || logs_from_ != "logs"; }

  // ---- accounts (sqlite_accounts.cpp) ----

  Result<User> get_user_by_username(const std::string& username) override {
    return sql_accounts::get_user_by_username(db_, username);
  }
  Result<User> create_user(const NewUser& n) override { return sql_accounts::create_user(db_, n); }
  Result<User> update_user(const User& u) override { return sql_accounts::update_user(db_, u); }
  Result<void> delete_user(int64_t id) override { return sql_accounts::delete_user(db_, id); }
  Result<User> topup_user(int64_t id, int64_t quota, const std::string& content) override {
    return sql_accounts::topup_user(db_, id, quota, content);
  }
  Result<std::string> regenerate_access_token(int64_t user_id) override {
    return sql_accounts::regenerate_access_token(db_, user_id);
  }
  Result<std::vector<Redemption>> create_redemptions(const Redemption& tmpl, int count) override {
    return sql_accounts::create_redemptions(db_, tmpl, count);
  }
  Result<std::vector<Redemption>> list_redemptions() override { return sql_accounts::list_redemptions(db_); }
  Result<Redemption> get_redemption(int64_t id) override { return sql_accounts::get_redemption(db_, id); }
  Result<Redemption> update_redemption(const Redemption& r) override { return sql_accounts::update_redemption(db_, r); }
  Result<void> delete_redemption(int64_t id) override { return sql_accounts::delete_redemption(db_, id); }
  Result<int64_t> redeem(const std::string& key, int64_t user_id) override {
    return sql_accounts::redeem(db_, key, user_id);
  }

 private:
  // Fills Channel::disabled_keys (of one channel, or of all when id is 0).
  Result<void> attach_disabled_keys(std::vector<Channel>& channels, int64_t id) {
    struct Row {
      int64_t channel_id;
      DisabledKey key;
    };
    auto rows = select_all<Row>(
        db_,
        "SELECT channel_id, key_hash, reason, disabled_at FROM channel_disabled_keys WHERE ? = 0 OR channel_id = ? "
        "ORDER BY channel_id, disabled_at",
        [](const Statement& st) {
          return Row{st.column_int64(0), DisabledKey{st.column_text(1), st.column_text(2), st.column_int64(3)}};
        },
        id, id);
    if (!rows) return rows.error();
    if (rows->empty()) return {};
    std::unordered_map<int64_t, Channel*> by_id;
    for (auto& c : channels) by_id[c.id] = &c;
    for (auto& r : *rows)
      if (auto it = by_id.find(r.channel_id); it != by_id.end()) it->second->disabled_keys.push_back(std::move(r.key));
    return {};
  }

  // After an update: keys that are gone are forgotten; a channel enabled by hand again gets all
  // its keys back.
  Result<void> forget_disabled_keys(const Channel& c, int64_t previous_status) {
    if (c.status == static_cast<int>(ChannelStatus::enabled) && previous_status != c.status)
      return run(db_, "DELETE FROM channel_disabled_keys WHERE channel_id = ?", c.id);
    auto current = select_all<std::string>(
        db_, "SELECT key_hash FROM channel_disabled_keys WHERE channel_id = ?",
        [](const Statement& st) { return st.column_text(0); }, c.id);
    if (!current) return current.error();
    if (current->empty()) return {};
    std::vector<std::string> present;
    for (const auto& k : channel_keys(c)) present.push_back(channel_key_hash(k));
    for (const auto& hash : *current)
      if (std::find(present.begin(), present.end(), hash) == present.end())
        if (auto r = run(db_, "DELETE FROM channel_disabled_keys WHERE channel_id = ? AND key_hash = ?", c.id, hash);
            !r)
          return r;
    return {};
  }

  // WAL checkpoints write the database file and fsync it: milliseconds. Done inline they stall
  // whichever request commits the 1000th page, so a second connection on its own thread does them
  // (PASSIVE: never blocks the writer) and the writer's automatic checkpoints are off.
  //
  // A pass starts once kPassPages pages came since the last one, and at least every 500 ms. On the
  // timer alone a busy WAL grew to 70 MB between checkpoints, and while the disk took its fsync
  // the writer's own WAL writes waited: at c=1, 1 request in 20 stalled for 1-40 ms (p99 8 ms).
  // One pass per 4000 pages took 10 ms, and the writer's commits ran 3-5 times slower meanwhile:
  // at c=1 p99 was 1.65 ms that way and 1.2 ms with a pass per 1000 pages, whose checkpoints cost
  // about 3 µs of CPU a request at c=64 instead of 2.
  //
  // The WAL starts over only at a write that finds every frame copied. Under steady load the
  // writer appends while the checkpointer copies, so that never happened: at c=1 the WAL grew by
  // 150 MB a second, without end. Now, once a pass leaves a WAL of kCheckpointPages (16 MB) or
  // more, the store thread copies the few frames that came meanwhile itself, after the job it is
  // on has answered (after_job), and its next write starts the WAL over: the WAL stays near 20 MB.
  // That costs the store thread one fsync (about 1 ms) per 4000 pages. Without a store thread
  // (tests, tools) the writer copies at the commit that takes the WAL past
  // kWriterCheckpointPages, as SQLite's own automatic checkpoint would.
  static constexpr int kCheckpointPages = 4000;
  static constexpr int kPassPages = 1000;
  static constexpr int kWriterCheckpointPages = 4 * kCheckpointPages;
  static constexpr int kCatchUpPages = 64;

  void after_job() override {
    // A plain load first: this runs after every job, and the copy is due once per 4000 pages. Only
    // the checkpointer, which exists with wal_writer_, sets the flag.
    if (!wal_catch_up_.load(std::memory_order_relaxed) || !wal_catch_up_.exchange(false, std::memory_order_relaxed))
      return;
    // BUSY: the checkpointer is in a pass; try again after the next job.
    if (sqlite3_wal_checkpoint_v2(wal_writer_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) == SQLITE_BUSY)
      wal_catch_up_.store(true, std::memory_order_relaxed);
  }

  static int on_wal_commit(void* self, sqlite3* writer, const char* db_name, int wal_pages) {
    auto* store = static_cast<SqlStore*>(self);
    if (wal_pages >= kWriterCheckpointPages)
      sqlite3_wal_checkpoint_v2(writer, db_name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    // A WAL smaller than what was copied has started over.
    const int copied = store->copied_to_[std::strcmp(db_name, "main") == 0 ? 0 : 1].load(std::memory_order_relaxed);
    const int uncopied = wal_pages >= copied ? wal_pages - copied : wal_pages;
    // While the writer's catch-up is due, another pass would only take the lock it needs.
    if (uncopied >= kPassPages && !store->wal_catch_up_.load(std::memory_order_relaxed) &&
        !store->checkpoint_wanted_.load(std::memory_order_relaxed)) {
      std::lock_guard lock(store->checkpoint_mu_);
      store->checkpoint_wanted_ = true;
      store->checkpoint_cv_.notify_one();
    }
    return SQLITE_OK;
  }

  // On the checkpointer's thread: passes over database `db` (0 main, 1 logs). Frames keep coming
  // while a pass copies; another pass copies those, fewer, and so on, until the writer's own copy
  // would have only a handful left. Returns whether the WAL is large enough for that copy to start
  // it over (a smaller one starts over at a lull, which light load has).
  bool copy_wal(sqlite3* conn, size_t db) {
    bool start_over = false;
    int last_log = 0;
    for (int pass = 0; pass < 4; ++pass) {
      int log = 0, done = 0;
      if (sqlite3_wal_checkpoint_v2(conn, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done) != SQLITE_OK) break;
      start_over = start_over || (done > 0 && log >= kCheckpointPages);
      copied_to_[db].store(done, std::memory_order_relaxed);
      if (log - last_log <= kCatchUpPages) break;  // also when the WAL started over
      last_log = log;
    }
    return start_over;
  }

  void start_checkpointer(sqlite3* writer, const std::string& path, const std::string& log_path) {
    if (auto r = db_.exec("PRAGMA wal_autocheckpoint=0;"); !r) fail_open(path, r.error().message);
    checkpointer_ = std::thread([this, path, log_path] {
      auto open = [](const std::string& p) -> sqlite3* {
        sqlite3* conn = nullptr;
        if (p.empty() || sqlite3_open_v2(p.c_str(), &conn, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
          sqlite3_close(conn);
          return nullptr;
        }
        sqlite3_busy_timeout(conn, 1000);
        // A connection learns that the file is in WAL mode at its first read; until then
        // sqlite3_wal_checkpoint_v2 does nothing and says SQLITE_OK, and the WAL grows forever.
        if (sqlite3_exec(conn, "SELECT COUNT(*) FROM sqlite_master", nullptr, nullptr, nullptr) != SQLITE_OK) {
          sqlite3_close(conn);
          return nullptr;
        }
        return conn;
      };
      sqlite3* conns[] = {open(path), open(log_path)};  // the log database's WAL too, when split
      std::unique_lock lock(checkpoint_mu_);
      while (!checkpoint_stop_) {
        checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(500),
                                [this] { return checkpoint_stop_ || checkpoint_wanted_; });
        lock.unlock();
        bool catch_up = false;
        for (size_t db = 0; db < 2; ++db)
          if (conns[db] && copy_wal(conns[db], db)) catch_up = true;
        if (catch_up) wal_catch_up_.store(true, std::memory_order_relaxed);
        lock.lock();
        checkpoint_wanted_ = false;  // commits during the passes asked again for what they did
        // At most one every 5 ms: a reader holding an old snapshot keeps the WAL long, and every
        // commit would ask again.
        checkpoint_cv_.wait_for(lock, std::chrono::milliseconds(5), [this] { return checkpoint_stop_; });
      }
      lock.unlock();
      for (sqlite3* conn : conns) sqlite3_close(conn);
    });
    // Set after the thread exists: the hook's first call may come with the next commit.
    sqlite3_wal_hook(writer, &SqlStore::on_wal_commit, this);
    wal_writer_ = writer;
  }

  // LOG_SQL_DSN on a server (server_log_archive.hpp): this store's own connection to it.
  void open_server_logs(const StoreOptions& opts) {
    const std::string where = redact_server_dsn(opts.sql_dsn);
    if (opts.log_sql_dsn == opts.sql_dsn) fail_open(where, "the log database (LOG_SQL_DSN) must be another database");
    auto archive = ServerLogArchive::open(opts.log_sql_dsn, opts.connect_timeout_s, opts.migrate, opts.connect_lazily);
    if (!archive) fail_open(where, archive.error().message);
    server_logs_ = std::move(*archive);
  }

  std::unique_ptr<ServerLogArchive> server_logs_;
  std::thread checkpointer_;
  std::mutex checkpoint_mu_;  // guards checkpoint_stop_
  std::condition_variable checkpoint_cv_;
  bool checkpoint_stop_ = false;
  std::atomic<bool> checkpoint_wanted_{false};  // kPassPages came since the last pass
  std::atomic<int> copied_to_[2] = {0, 0};      // frames the last pass left copied: main, logs
  std::atomic<bool> wal_catch_up_{false};       // passes copied a full WAL: the writer copies the rest
  sqlite3* wal_writer_ = nullptr;               // the connection whose commits call on_wal_commit
  Result<void> insert_user_row(User& u) {
    auto q = db_.query(kInsertUser);
    if (!q) return q.error();
    Statement& s = **q;
    s.bind_all(u.username, u.password, u.display_name, u.role, u.status, u.email);
    s.bind_text_or_null(7, u.access_token);  // UNIQUE: "no token" must not collide
    s.bind(8, u.quota).bind(9, u.used_quota).bind(10, u.request_count).bind(11, u.group);
    s.bind_text_or_null(12, u.aff_code).bind(13, u.inviter_id);
    auto row = s.step();
    if (!row) return row.error();
    if (!*row) return Error::make(ErrorKind::internal, "INSERT INTO users returned no id");
    u.id = s.column_int64(0);
    return s.run();
  }

  Result<void> insert_token_row(Token& t) {
    auto id =
        sql::insert_returning_id(db_, kInsertToken, t.user_id, t.key, t.status, t.name, t.created_time, t.accessed_time,
                                 t.expired_time, t.remain_quota, t.unlimited_quota, t.used_quota, t.models, t.subnet);
    if (!id) return id.error();
    t.id = *id;
    return {};
  }

  // One row per (group, model) of the channel; caller holds the transaction.
  Result<void> rebuild_abilities(const Channel& c) {
    if (auto r = run(db_, "DELETE FROM abilities WHERE channel_id = ?", c.id); !r) return r;
    const bool enabled = c.status == static_cast<int>(ChannelStatus::enabled);
    const auto models = split_csv(c.models);
    for (const auto& group : split_csv(c.group)) {
      for (const auto& model : models) {
        // DO NOTHING: a model listed twice is one ability.
        if (auto r = run(db_, kInsertAbility, group, model, c.id, enabled, c.priority); !r) return r;
      }
    }
    return {};
  }

  // A refusal that changes the token's status must still be committed.
  Result<void> mark_token_and_commit(Transaction& tx, int64_t token_id, int status) {
    if (auto r = run(db_, "UPDATE tokens SET status = ? WHERE id = ?", status, token_id); !r) return r;
    return tx.commit();
  }

  // Gives a provisional row's pre-charge back; false when the row was no longer provisional.
  // Caller holds the transaction.
  Result<bool> refund_row(int64_t log_id, int64_t token_id, int64_t user_id, int64_t pre_charged, int64_t elapsed_ms,
                          const std::string& content) {
    if (auto r =
            run(db_, "UPDATE logs SET type = ?, quota = 0, elapsed_time = ?, content = ? WHERE id = ? AND type = ?",
                kLogConsume, elapsed_ms, content, log_id, kLogProvisional);
        !r)
      return r.error();
    if (db_.changes() == 0) return false;
    if (auto r = run(db_, "UPDATE users SET quota = quota + ? WHERE id = ?", pre_charged, user_id); !r)
      return r.error();
    if (auto r = token_apply_delta(db_, token_id, -pre_charged); !r) return r.error();
    return true;
  }

  std::unique_ptr<Db> conn_;
  Db& db_;
  std::map<int64_t, int64_t> batch_channel_quota_;  // settled in the open batch, by channel
  const std::string node_;                          // NODE_NAME
  // pre_charge's reads, with the row locks a database server needs.
  const std::string select_token_to_charge_;
  const std::string select_user_to_charge_;
  std::string logs_from_ = "logs";  // or the view over both files when logs are split
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const StoreOptions& opts) {
  const std::string& path = opts.sqlite_path;
  if (path.empty()) fail_open(path, "no path given");
  if (path != ":memory:" && path.rfind("file:", 0) != 0) {
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) fail_open(path, "creating " + parent.string() + ": " + ec.message());
  }
  auto db = std::make_unique<sqlite::Db>();
  if (auto r = db->open(path); !r) fail_open(path, r.error().message);
  if (auto r = db->set_busy_timeout(opts.busy_timeout_ms); !r) fail_open(path, r.error().message);
  {
    // journal_mode answers with the mode in effect, which is not WAL when WAL is unavailable.
    auto q = db->query("PRAGMA journal_mode=WAL");
    if (!q) fail_open(path, q.error().message);
    auto row = (*q)->step();
    if (!row) fail_open(path, row.error().message);
    const std::string mode = *row ? (*q)->column_text(0) : std::string();
    if (mode != "wal" && mode != "memory") fail_open(path, "journal_mode is '" + mode + "', not WAL");
  }
  // NORMAL with WAL: a committed transaction survives a killed process (not a power cut).
  if (auto r = db->exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"); !r) fail_open(path, r.error().message);
  return std::make_unique<SqlStore>(std::move(db), opts, path);
}

std::unique_ptr<Store> open_postgres_store(const StoreOptions& opts) {
  auto db = opts.connect_lazily ? postgres::connect_later(opts.sql_dsn, opts.connect_timeout_s)
                                : postgres::connect(opts.sql_dsn, opts.connect_timeout_s);
  if (!db) fail_open(postgres::redact_dsn(opts.sql_dsn), db.error().message);
  return std::make_unique<SqlStore>(std::move(*db), opts, std::string());
}

std::unique_ptr<Store> open_mysql_store(const StoreOptions& opts) {
  auto db = opts.connect_lazily ? mysql::connect_later(opts.sql_dsn, opts.connect_timeout_s)
                                : mysql::connect(opts.sql_dsn, opts.connect_timeout_s);
  if (!db) fail_open(mysql::redact_dsn(opts.sql_dsn), db.error().message);
  return std::make_unique<SqlStore>(std::move(*db), opts, std::string());
}

bool is_server_dsn(std::string_view dsn) { return postgres::is_postgres_dsn(dsn) || mysql::is_mysql_dsn(dsn); }

std::string redact_server_dsn(std::string_view dsn) {
  return postgres::is_postgres_dsn(dsn) ? postgres::redact_dsn(dsn) : mysql::redact_dsn(dsn);
}

Result<std::unique_ptr<sql::Db>> connect_server(const std::string& dsn, int connect_timeout_s) {
  if (postgres::is_postgres_dsn(dsn)) return postgres::connect(dsn, connect_timeout_s);
  return mysql::connect(dsn, connect_timeout_s);
}

Result<std::unique_ptr<sql::Db>> connect_server_later(const std::string& dsn, int connect_timeout_s) {
  if (postgres::is_postgres_dsn(dsn)) return postgres::connect_later(dsn, connect_timeout_s);
  return mysql::connect_later(dsn, connect_timeout_s);
}

std::unique_ptr<Store> open_store(const StoreOptions& opts) {
  if (postgres::is_postgres_dsn(opts.sql_dsn)) return open_postgres_store(opts);
  if (mysql::is_mysql_dsn(opts.sql_dsn)) return open_mysql_store(opts);
  if (!opts.sql_dsn.empty())
    throw std::runtime_error(
        "SQL_DSN: unsupported database (expected postgres://user:password@host:port/dbname or "
        "user:password@tcp(host:port)/dbname)");
  return open_sqlite_store(opts);
}

}  // namespace oneapi::store
