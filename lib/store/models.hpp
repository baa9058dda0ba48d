#pragma once
// Rows of One API's tables (same table and column names, so data can move between the two).
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oneapi::store {

enum class Role : int { guest = 0, common = 1, admin = 10, root = 100 };
enum class UserStatus : int { enabled = 1, disabled = 2, deleted = 3 };
enum class TokenStatus : int { enabled = 1, disabled = 2, expired = 3, exhausted = 4 };
enum class ChannelStatus : int { unknown = 0, enabled = 1, manually_disabled = 2, auto_disabled = 3 };
// 6 = provisional: written by pre-charge, turned into consume (2) by settle or refund.
enum class RedemptionStatus : int { enabled = 1, disabled = 2, used = 3 };
enum class LogType : int { unknown = 0, topup = 1, consume = 2, manage = 3, system = 4, test = 5, provisional = 6 };

struct User {
  int64_t id = 0;
  std::string username;
  std::string password;  // hash; empty = password login disabled
  std::string display_name;
  int role = 1;
  int status = 1;
  std::string email;
  std::string access_token;
  int64_t quota = 0;
  int64_t used_quota = 0;
  int64_t request_count = 0;
  std::string group = "default";
  std::string aff_code;
  int64_t inviter_id = 0;
};

struct Token {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string key;  // 48 chars, stored without "sk-"
  int status = 1;
  std::string name;
  int64_t created_time = 0;
  int64_t accessed_time = 0;
  int64_t expired_time = -1;  // -1 = never
  int64_t remain_quota = 0;
  bool unlimited_quota = false;
  int64_t used_quota = 0;
  std::string models;  // comma-separated allow-list; empty = all
  std::string subnet;  // comma-separated CIDRs; empty = any
};

// A key of a multi-key channel taken out of rotation because the upstream rejected it.
struct DisabledKey {
  std::string key_hash;  // channel_key_hash(key): names the key without storing it again
  std::string reason;
  int64_t disabled_at = 0;
};

struct Channel {
  int64_t id = 0;
  int type = 1;
  std::string key;
  int status = 1;
  std::string name;
  int64_t weight = 0;
  int64_t created_time = 0;
  int64_t test_time = 0;
  int64_t response_time = 0;  // ms
  std::string base_url;
  std::string other;
  double balance = 0;
  int64_t balance_updated_time = 0;
  std::string models;             // comma-separated
  std::string group = "default";  // comma-separated
  int64_t used_quota = 0;
  std::string model_mapping;  // JSON {"from":"to"}
  int64_t priority = 0;
  std::string config;  // JSON
  std::string system_prompt;
  std::vector<DisabledKey> disabled_keys;  // from channel_disabled_keys
};

// A channel's keys: one per line (blank lines and surrounding spaces ignored); a key text that is
// one JSON object (a service-account file) is a single key however many lines it has.
std::vector<std::string> channel_keys(const Channel& c);
// The keys still in rotation, in order; all keys when every one is disabled (the channel itself
// is disabled then, so this only matters to tests run by hand).
std::vector<std::string> usable_channel_keys(const Channel& c);
std::string channel_key_hash(std::string_view key);

// A voucher: `key` (32 hex chars) adds `quota` to the balance of the user who redeems it, once.
struct Redemption {
  int64_t id = 0;
  int64_t user_id = 0;  // who created it
  std::string key;
  int status = 1;
  std::string name;
  int64_t quota = 100;
  int64_t created_time = 0;
  int64_t redeemed_time = 0;
  int64_t redeemed_by = 0;  // user who redeemed it (0 = not yet)
};

// A user to create with One API's sign-up grants (QuotaForNewUser, invitation rewards), all in
// one transaction with their system logs.
struct NewUser {
  User user;  // password already hashed
  int64_t quota_for_new_user = 0;
  std::string inviter_aff_code;  // empty: not invited
  int64_t quota_for_inviter = 0;
  int64_t quota_for_invitee = 0;
  bool default_token = false;  // also create an unlimited token named "default"
};

struct Ability {
  std::string group;
  std::string model;
  int64_t channel_id = 0;
  bool enabled = true;
  int64_t priority = 0;
};

struct Log {
  int64_t id = 0;
  int64_t user_id = 0;
  int64_t created_at = 0;
  int type = 0;
  std::string content;
  std::string username;
  std::string token_name;
  std::string model_name;
  int64_t quota = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t channel_id = 0;  // column "channel"
  std::string request_id;
  int64_t elapsed_time = 0;  // ms
  bool is_stream = false;
  bool system_prompt_reset = false;
  int64_t token_id = 0;
  int64_t cached_prompt_tokens = 0;  // part of prompt_tokens, billed at the cached-input ratio
};

struct LogFilter {
  std::optional<int> type;
  std::optional<int64_t> user_id;
  std::string username;
  std::string token_name;
  std::string model_name;
  std::optional<int64_t> channel_id;
  int64_t start_timestamp = 0;  // inclusive, 0 = unbounded
  int64_t end_timestamp = 0;    // inclusive, 0 = unbounded
  int limit = 100;
  int offset = 0;
};

// Totals over the logs a filter selects (limit and offset ignored); rpm/tpm over its last minute.
struct LogStat {
  int64_t quota = 0;
  int64_t requests = 0;
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t rpm = 0;
  int64_t tpm = 0;
};

// Everything the in-memory catalog needs, read in one transaction.
struct Snapshot {
  std::vector<User> users;
  std::vector<Token> tokens;
  std::vector<Channel> channels;
  std::vector<Ability> abilities;
  std::map<std::string, std::string> options;
};

// Reserve quota before relaying: one transaction that checks and decrements token and user and
// writes a provisional log row.
struct PreChargeRequest {
  int64_t token_id = 0;
  int64_t user_id = 0;
  int64_t amount = 0;
  Log pending;  // written with type provisional and quota = amount
  // Other requests of this token are in flight on this node: a limited token close to its end
  // (less than 100 × the amount left, One API's trust line) is refused, so requests running in
  // parallel cannot together overspend it by more than one request's cost. Checked under the
  // token's row lock, so it holds however many connections the node has.
  bool others_in_flight = false;
  // One API's trust rule: asked once the token and user pass every check, with their balances as
  // the database has them now. True means the request is trusted and nothing is written:
  // pre_charge returns 0 and settle (or refund) writes the request's one row (`trusted_row`).
  std::function<bool(int64_t user_quota, int64_t token_remain, bool token_unlimited)> trust;
};

struct Settlement {
  int64_t log_id = 0;
  int64_t token_id = 0;
  int64_t user_id = 0;
  int64_t channel_id = 0;
  int64_t pre_charged = 0;
  int64_t quota = 0;  // final
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t cached_prompt_tokens = 0;
  int64_t elapsed_ms = 0;
  bool is_stream = false;
  bool system_prompt_reset = false;
  std::string model_name;
  std::string content;
  // The provisional row already names this model and channel (no retry moved the request): settle
  // leaves those columns alone, since an UPDATE that names an indexed column rewrites its index
  // entries even when the value stays the same.
  bool same_model_and_channel = false;
  // Pre-charge was trusted and wrote no row: settle inserts this one, filled in (log_id is 0).
  std::optional<Log> trusted_row;
  // An earlier attempt may have committed unseen (a connection lost at COMMIT): a trusted row
  // already there for this request id is not written twice.
  bool retried = false;
};

struct Refund {
  int64_t log_id = 0;
  int64_t token_id = 0;
  int64_t user_id = 0;
  int64_t channel_id = 0;
  int64_t pre_charged = 0;
  int64_t elapsed_ms = 0;
  std::string content;             // why
  std::optional<Log> trusted_row;  // as in Settlement: nothing was reserved, only the row is written
};

}  // namespace oneapi::store
