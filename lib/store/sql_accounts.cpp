#include "store/sql_accounts.hpp"

#include <limits>

#include "core/util.hpp"
#include "store/sql_rows.hpp"

namespace oneapi::store::sql_accounts {

using namespace rows;
using sql::Transaction;

namespace {

constexpr int kUserEnabled = static_cast<int>(UserStatus::enabled);
constexpr int kUserDeleted = static_cast<int>(UserStatus::deleted);
constexpr int kCodeEnabled = static_cast<int>(RedemptionStatus::enabled);
constexpr int kCodeDisabled = static_cast<int>(RedemptionStatus::disabled);
constexpr int kCodeUsed = static_cast<int>(RedemptionStatus::used);
constexpr int kLogProvisional = static_cast<int>(LogType::provisional);

const std::string kRedemptionCols =
    "id, user_id, \"key\", status, name, quota, created_time, redeemed_time, redeemed_by";

Redemption read_redemption(const Statement& s) {
  Redemption r;
  r.id = s.column_int64(0);
  r.user_id = s.column_int64(1);
  r.key = s.column_text(2);
  r.status = s.column_int(3);
  r.name = s.column_text(4);
  r.quota = s.column_int64(5);
  r.created_time = s.column_int64(6);
  r.redeemed_time = s.column_int64(7);
  r.redeemed_by = s.column_int64(8);
  return r;
}

Error invalid(std::string msg) { return Error::make(ErrorKind::invalid_request, std::move(msg)); }

// A manage, system or topup row (never a consume row: those belong to pre-charge and settle).
Result<void> insert_log(Db& db, int type, int64_t user_id, const std::string& username, int64_t quota,
                        const std::string& content) {
  return run(db, "INSERT INTO logs (user_id, created_at, type, content, username, quota) VALUES (?, ?, ?, ?, ?, ?)",
             user_id, unix_now(), type, content, username, quota);
}

Result<std::optional<User>> find_user(Db& db, int64_t id) {
  static const std::string sql = "SELECT " + kUserCols + " FROM users WHERE id = ? AND status != ?";
  return select_one<User>(db, sql, read_user, id, kUserDeleted);
}

// The same, locking the row until the transaction ends (on a database server).
Result<std::optional<User>> find_user_for_update(Db& db, int64_t id) {
  const std::string sql =
      "SELECT " + kUserCols + " FROM users WHERE id = ? AND status != ?" + std::string(db.for_update());
  return select_one<User>(db, sql, read_user, id, kUserDeleted);
}

Result<User> live_user(Db& db, int64_t id) {
  auto u = find_user(db, id);
  if (!u) return u.error();
  if (!*u) return not_found("user", id);
  return std::move(**u);
}

// Four characters as One API, checked against the codes in use.
Result<std::string> unused_aff_code(Db& db) {
  for (int attempt = 0; attempt < 20; ++attempt) {
    std::string code = random_alnum(attempt < 10 ? 4 : 8);
    auto taken = select_one<int64_t>(
        db, "SELECT id FROM users WHERE aff_code = ?", [](const Statement& s) { return s.column_int64(0); }, code);
    if (!taken) return taken.error();
    if (!*taken) return code;
  }
  return Error::make(ErrorKind::internal, "could not find an unused invitation code");
}

}  // namespace

// ---- users ----

Result<User> get_user_by_username(Db& db, const std::string& username) {
  static const std::string sql = "SELECT " + kUserCols + " FROM users WHERE username = ? AND status != ?";
  auto u = select_one<User>(db, sql, read_user, username, kUserDeleted);
  if (!u) return u.error();
  if (!*u) return Error::make(ErrorKind::not_found, "user " + username + " not found");
  return std::move(**u);
}

Result<User> create_user(Db& db, const NewUser& n) {
  auto tx = Transaction::begin(db);
  if (!tx) return tx.error();
  User u = n.user;
  {
    auto taken = select_one<int64_t>(
        db, "SELECT id FROM users WHERE username = ?", [](const Statement& s) { return s.column_int64(0); },
        u.username);
    if (!taken) return taken.error();
    if (*taken) return invalid("username " + u.username + " is already taken");
  }
  std::optional<User> inviter;
  if (!n.inviter_aff_code.empty()) {
    static const std::string sql = "SELECT " + kUserCols + " FROM users WHERE aff_code = ? AND status != ?";
    auto found = select_one<User>(db, sql, read_user, n.inviter_aff_code, kUserDeleted);
    if (!found) return found.error();
    if (!*found) return invalid("invalid invitation code: " + n.inviter_aff_code);
    inviter = std::move(**found);
    u.inviter_id = inviter->id;
  }
  u.quota += n.quota_for_new_user + (inviter ? n.quota_for_invitee : 0);
  if (u.access_token.empty()) u.access_token = random_hex32();
  auto aff = unused_aff_code(db);
  if (!aff) return aff.error();
  u.aff_code = *aff;
  {
    auto id = sql::insert_returning_id(
        db,
        R"(INSERT INTO users (username, password, display_name, role, status, email, access_token, quota, used_quota,
           request_count, "group", aff_code, inviter_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?) RETURNING id)",
        u.username, u.password, u.display_name, u.role, u.status, u.email, u.access_token, u.quota, u.group, u.aff_code,
        u.inviter_id);
    if (!id) return id.error();
    u.id = *id;
  }
  const int kSystem = static_cast<int>(LogType::system);
  if (n.quota_for_new_user > 0)
    if (auto r = insert_log(db, kSystem, u.id, u.username, n.quota_for_new_user,
                            "new user grant: " + std::to_string(n.quota_for_new_user) + " quota");
        !r)
      return r.error();
  if (inviter) {
    if (n.quota_for_invitee > 0)
      if (auto r = insert_log(db, kSystem, u.id, u.username, n.quota_for_invitee,
                              "invitation reward (invited by " + inviter->username +
                                  "): " + std::to_string(n.quota_for_invitee) + " quota");
          !r)
        return r.error();
    if (n.quota_for_inviter > 0) {
      if (auto r = run(db, "UPDATE users SET quota = quota + ? WHERE id = ?", n.quota_for_inviter, inviter->id); !r)
        return r.error();
      if (auto r = insert_log(
              db, kSystem, inviter->id, inviter->username, n.quota_for_inviter,
              "invitation reward (invited " + u.username + "): " + std::to_string(n.quota_for_inviter) + " quota");
          !r)
        return r.error();
    }
  }
  if (n.default_token) {
    const int64_t now = unix_now();
    auto q = db.query(
        R"(INSERT INTO tokens (user_id, "key", status, name, created_time, accessed_time, expired_time, remain_quota,
           unlimited_quota, used_quota, models, subnet) VALUES (?, ?, 1, 'default', ?, ?, -1, 0, 1, 0, '', ''))");
    if (!q) return q.error();
    if (auto r = (*q)->bind_all(u.id, new_token_key(), now, now).run(); !r) return r.error();
  }
  if (auto r = tx->commit(); !r) return r.error();
  return live_user(db, u.id);
}

Result<User> update_user(Db& db, const User& u) {
  auto q = db.query(
      R"(UPDATE users SET username = ?, password = ?, display_name = ?, role = ?, status = ?, email = ?, quota = ?,
         "group" = ? WHERE id = ? AND status != ?)");
  if (!q) return q.error();
  (*q)->bind_all(u.username, u.password, u.display_name, u.role, u.status, u.email, u.quota, u.group, u.id,
                 kUserDeleted);
  if (auto r = (*q)->run(); !r) {
    if (r.error().kind == ErrorKind::invalid_request) return invalid("username " + u.username + " is already taken");
    return r.error();
  }
  if (db.changes() == 0) return not_found("user", u.id);
  return live_user(db, u.id);
}

Result<void> delete_user(Db& db, int64_t id) {
  if (auto r = run(db,
                   "UPDATE users SET username = 'deleted_' || ?, status = ?, access_token = NULL WHERE id = ? AND "
                   "status != ?",
                   random_hex32(), kUserDeleted, id, kUserDeleted);
      !r)
    return r;
  if (db.changes() == 0) return not_found("user", id);
  return {};
}

Result<User> topup_user(Db& db, int64_t id, int64_t quota, const std::string& content) {
  auto tx = Transaction::begin(db);
  if (!tx) return tx.error();
  auto found = find_user_for_update(db, id);
  if (!found) return found.error();
  if (!*found) return not_found("user", id);
  const User* u = &**found;
  if (u->quota + quota < 0)
    return invalid("the top-up would make the balance negative (balance " + std::to_string(u->quota) + ")");
  if (auto r = run(db, "UPDATE users SET quota = quota + ? WHERE id = ?", quota, id); !r) return r.error();
  if (auto r = insert_log(db, static_cast<int>(LogType::topup), id, u->username, quota, content); !r) return r.error();
  if (auto r = tx->commit(); !r) return r.error();
  return live_user(db, id);
}

Result<std::string> regenerate_access_token(Db& db, int64_t user_id) {
  std::string token = random_hex32();
  if (auto r = run(db, "UPDATE users SET access_token = ? WHERE id = ? AND status != ?", token, user_id, kUserDeleted);
      !r)
    return r.error();
  if (db.changes() == 0) return not_found("user", user_id);
  return token;
}

// ---- redemptions ----

Result<std::vector<Redemption>> create_redemptions(Db& db, const Redemption& tmpl, int count) {
  auto tx = Transaction::begin(db);
  if (!tx) return tx.error();
  std::vector<int64_t> ids;
  for (int i = 0; i < count; ++i) {
    auto id = sql::insert_returning_id(
        db,
        R"(INSERT INTO redemptions (user_id, "key", status, name, quota, created_time, redeemed_time, redeemed_by)
           VALUES (?, ?, ?, ?, ?, ?, 0, 0) RETURNING id)",
        tmpl.user_id, random_hex32(), kCodeEnabled, tmpl.name, tmpl.quota, unix_now());
    if (!id) return id.error();
    ids.push_back(*id);
  }
  if (auto r = tx->commit(); !r) return r.error();
  std::vector<Redemption> out;
  for (int64_t id : ids) {
    auto r = get_redemption(db, id);
    if (!r) return r.error();
    out.push_back(std::move(*r));
  }
  return out;
}

Result<std::vector<Redemption>> list_redemptions(Db& db) {
  static const std::string sql = "SELECT " + kRedemptionCols + " FROM redemptions ORDER BY id DESC";
  return select_all<Redemption>(db, sql, read_redemption);
}

Result<Redemption> get_redemption(Db& db, int64_t id) {
  static const std::string sql = "SELECT " + kRedemptionCols + " FROM redemptions WHERE id = ?";
  auto r = select_one<Redemption>(db, sql, read_redemption, id);
  if (!r) return r.error();
  if (!*r) return not_found("redemption", id);
  return std::move(**r);
}

Result<Redemption> update_redemption(Db& db, const Redemption& r) {
  auto tx = Transaction::begin(db);
  if (!tx) return tx.error();
  auto current = get_redemption(db, r.id);
  if (!current) return current.error();
  if (current->status == kCodeUsed && r.status != kCodeUsed) return invalid("a used redemption code cannot be changed");
  if (r.status != current->status && r.status != kCodeEnabled && r.status != kCodeDisabled)
    return invalid("status must be 1 (enabled) or 2 (disabled)");
  if (auto e = run(db, "UPDATE redemptions SET name = ?, quota = ?, status = ? WHERE id = ?", r.name, r.quota, r.status,
                   r.id);
      !e)
    return e.error();
  if (auto e = tx->commit(); !e) return e.error();
  return get_redemption(db, r.id);
}

Result<void> delete_redemption(Db& db, int64_t id) {
  if (auto r = run(db, "DELETE FROM redemptions WHERE id = ?", id); !r) return r;
  if (db.changes() == 0) return not_found("redemption", id);
  return {};
}

Result<int64_t> redeem(Db& db, const std::string& key, int64_t user_id) {
  auto tx = Transaction::begin(db);  // IMMEDIATE: the check and the update see the same row
  if (!tx) return tx.error();
  const std::string sql =
      "SELECT " + kRedemptionCols + " FROM redemptions WHERE \"key\" = ?" + std::string(db.for_update());
  auto code = select_one<Redemption>(db, sql, read_redemption, key);
  if (!code) return code.error();
  if (!*code) return invalid("invalid redemption code");
  if ((*code)->status == kCodeUsed) return invalid("this redemption code has already been used");
  if ((*code)->status != kCodeEnabled) return invalid("this redemption code is disabled");
  auto u = find_user(db, user_id);
  if (!u) return u.error();
  if (!*u) return not_found("user", user_id);
  if ((*u)->status != kUserEnabled) return Error::make(ErrorKind::forbidden, "user has been banned", "user_banned");
  const int64_t now = unix_now();
  if (auto r =
          run(db, "UPDATE redemptions SET status = ?, redeemed_time = ?, redeemed_by = ? WHERE id = ? AND status = ?",
              kCodeUsed, now, user_id, (*code)->id, kCodeEnabled);
      !r)
    return r.error();
  if (db.changes() != 1) return invalid("this redemption code has already been used");
  if (auto r = run(db, "UPDATE users SET quota = quota + ? WHERE id = ?", (*code)->quota, user_id); !r)
    return r.error();
  if (auto r = insert_log(db, static_cast<int>(LogType::topup), user_id, (*u)->username, (*code)->quota,
                          "redeemed code " + (*code)->name + " (#" + std::to_string((*code)->id) +
                              "): " + std::to_string((*code)->quota) + " quota");
      !r)
    return r.error();
  if (auto r = tx->commit(); !r) return r.error();
  return (*code)->quota;
}

// ---- logs ----

void log_filter_sql(const LogFilter& f, std::string& sql, SqlParams& params) {
  auto add = [&](const char* clause, std::variant<int64_t, std::string> p) {
    sql += clause;
    params.push_back(std::move(p));
  };
  if (f.type) add(" AND type = ?", int64_t{*f.type});
  if (f.user_id) add(" AND user_id = ?", *f.user_id);
  if (!f.username.empty()) add(" AND username = ?", f.username);
  if (!f.token_name.empty()) add(" AND token_name = ?", f.token_name);
  if (!f.model_name.empty()) add(" AND model_name = ?", f.model_name);
  if (f.channel_id) add(" AND channel = ?", *f.channel_id);
  if (f.start_timestamp != 0) add(" AND created_at >= ?", f.start_timestamp);
  if (f.end_timestamp != 0) add(" AND created_at <= ?", f.end_timestamp);
}

std::string log_page_sql(const LogFilter& f, SqlParams& params, std::string_view from) {
  std::string sql = "SELECT " + kLogCols + " FROM " + std::string(from) + " WHERE 1 = 1";
  log_filter_sql(f, sql, params);
  // (created_at, id): the order every log index ends in (see migration 2). limit <= 0: no limit.
  sql += " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?";
  params.emplace_back(int64_t{f.limit > 0 ? f.limit : std::numeric_limits<int64_t>::max()});
  params.emplace_back(int64_t{f.offset > 0 ? f.offset : 0});
  return sql;
}

namespace {
Result<LogStat> sum_logs(Db& db, const LogFilter& f, std::string_view from) {
  std::string sql =
      "SELECT COALESCE(SUM(quota), 0), COUNT(*), COALESCE(SUM(prompt_tokens), 0), "
      "COALESCE(SUM(completion_tokens), 0) FROM " +
      std::string(from) + " WHERE 1 = 1";
  std::vector<std::variant<int64_t, std::string>> params;
  log_filter_sql(f, sql, params);
  auto q = db.query(sql);
  if (!q) return q.error();
  int i = 0;
  for (const auto& p : params) std::visit([&](const auto& v) { (*q)->bind(++i, v); }, p);
  auto row = (*q)->step();
  if (!row) return row.error();
  LogStat s;
  if (*row) {
    s.quota = (*q)->column_int64(0);
    s.requests = (*q)->column_int64(1);
    s.prompt_tokens = (*q)->column_int64(2);
    s.completion_tokens = (*q)->column_int64(3);
  }
  return s;
}
}  // namespace

Result<LogStat> log_stat(Db& db, const LogFilter& f, std::string_view from) {
  LogFilter consumed = f;
  if (!consumed.type) consumed.type = static_cast<int>(LogType::consume);  // One API sums consumption
  auto total = sum_logs(db, consumed, from);
  if (!total) return total;
  LogFilter last_minute = consumed;
  last_minute.start_timestamp = std::max<int64_t>(consumed.start_timestamp, unix_now() - 60);
  auto recent = sum_logs(db, last_minute, from);
  if (!recent) return recent;
  total->rpm = recent->requests;
  total->tpm = recent->prompt_tokens + recent->completion_tokens;
  return total;
}

Result<int64_t> purge_logs(Db& db, int64_t before, bool split) {
  auto tx = Transaction::begin(db);
  if (!tx) return tx.error();
  // A row shipped but not yet deleted from main is in both files: count it once.
  int64_t purged = 0;
  if (split) {
    if (auto r =
            run(db,
                "DELETE FROM main.logs WHERE created_at < ? AND type != ? AND EXISTS (SELECT 1 FROM logdb.logs AS l "
                "WHERE l.id = main.logs.id)",
                before, kLogProvisional);
        !r)
      return r.error();
    if (auto r = run(db, "DELETE FROM logdb.logs WHERE created_at < ? AND type != ?", before, kLogProvisional); !r)
      return r.error();
    purged = db.changes();
  }
  // "main." only where a second database is attached (SQLite): other databases have no such schema.
  const char* purge = split ? "DELETE FROM main.logs WHERE created_at < ? AND type != ?"
                            : "DELETE FROM logs WHERE created_at < ? AND type != ?";
  if (auto r = run(db, purge, before, kLogProvisional); !r) return r.error();
  purged += db.changes();
  if (auto r = tx->commit(); !r) return r.error();
  return purged;
}

Result<std::vector<Log>> read_log_page(sql::Db& db, const LogFilter& f, std::string_view from) {
  SqlParams params;
  const std::string sql = log_page_sql(f, params, from);
  // At most 2^8 distinct texts, so the statement cache stays small.
  auto q = db.query(sql);
  if (!q) return q.error();
  int i = 0;
  for (const auto& p : params) std::visit([&](const auto& v) { (*q)->bind(++i, v); }, p);
  std::vector<Log> out;
  for (;;) {
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(read_log(**q));
  }
  return out;
}

}  // namespace oneapi::store::sql_accounts
