#pragma once
// Column lists, row readers and small query helpers shared by the store's files (any database).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/models.hpp"
#include "store/sql.hpp"

namespace oneapi::store::rows {

using sql::Db;
using sql::Statement;

// Inline: other files build SQL from it during static initialisation.
inline const std::string kUserCols =
    "id, username, password, display_name, role, status, email, access_token, quota, used_quota, request_count, "
    "\"group\", aff_code, inviter_id";
inline const std::string kTokenCols =
    "id, user_id, \"key\", status, name, created_time, accessed_time, expired_time, remain_quota, unlimited_quota, "
    "used_quota, models, subnet";
inline const std::string kChannelCols =
    "id, type, \"key\", status, name, weight, created_time, test_time, response_time, base_url, other, balance, "
    "balance_updated_time, models, \"group\", used_quota, model_mapping, priority, config, system_prompt";
inline const std::string kLogCols =
    "id, user_id, created_at, type, content, username, token_name, model_name, quota, prompt_tokens, "
    "completion_tokens, channel, request_id, elapsed_time, is_stream, system_prompt_reset, token_id, "
    "cached_prompt_tokens";
User read_user(const Statement& s);
Token read_token(const Statement& s);
Channel read_channel(const Statement& s);
Ability read_ability(const Statement& s);
Log read_log(const Statement& s);

Error not_found(std::string_view what, int64_t id);

template <class... Args>
Result<void> run(Db& db, std::string_view sql, const Args&... args) {
  auto q = db.query(sql);
  if (!q) return q.error();
  return (*q)->bind_all(args...).run();
}

template <class T, class Read, class... Args>
Result<std::vector<T>> select_all(Db& db, std::string_view sql, Read read, const Args&... args) {
  auto q = db.query(sql);
  if (!q) return q.error();
  (*q)->bind_all(args...);
  std::vector<T> out;
  for (;;) {
    auto row = (*q)->step();
    if (!row) return row.error();
    if (!*row) break;
    out.push_back(read(**q));
  }
  return out;
}

template <class T, class Read, class... Args>
Result<std::optional<T>> select_one(Db& db, std::string_view sql, Read read, const Args&... args) {
  auto q = db.query(sql);
  if (!q) return q.error();
  auto row = (*q)->bind_all(args...).step();
  if (!row) return row.error();
  if (!*row) return std::optional<T>();
  return std::optional<T>(read(**q));
}

}  // namespace oneapi::store::rows
