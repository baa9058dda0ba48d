#include "store/sql_rows.hpp"

namespace oneapi::store::rows {

// The order of each column list matches its reader.

User read_user(const Statement& s) {
  User u;
  u.id = s.column_int64(0);
  u.username = s.column_text(1);
  u.password = s.column_text(2);
  u.display_name = s.column_text(3);
  u.role = s.column_int(4);
  u.status = s.column_int(5);
  u.email = s.column_text(6);
  u.access_token = s.column_text(7);
  u.quota = s.column_int64(8);
  u.used_quota = s.column_int64(9);
  u.request_count = s.column_int64(10);
  u.group = s.column_text(11);
  u.aff_code = s.column_text(12);
  u.inviter_id = s.column_int64(13);
  return u;
}

Token read_token(const Statement& s) {
  Token t;
  t.id = s.column_int64(0);
  t.user_id = s.column_int64(1);
  t.key = s.column_text(2);
  t.status = s.column_int(3);
  t.name = s.column_text(4);
  t.created_time = s.column_int64(5);
  t.accessed_time = s.column_int64(6);
  t.expired_time = s.column_int64(7);
  t.remain_quota = s.column_int64(8);
  t.unlimited_quota = s.column_bool(9);
  t.used_quota = s.column_int64(10);
  t.models = s.column_text(11);
  t.subnet = s.column_text(12);
  return t;
}

Channel read_channel(const Statement& s) {
  Channel c;
  c.id = s.column_int64(0);
  c.type = s.column_int(1);
  c.key = s.column_text(2);
  c.status = s.column_int(3);
  c.name = s.column_text(4);
  c.weight = s.column_int64(5);
  c.created_time = s.column_int64(6);
  c.test_time = s.column_int64(7);
  c.response_time = s.column_int64(8);
  c.base_url = s.column_text(9);
  c.other = s.column_text(10);
  c.balance = s.column_double(11);
  c.balance_updated_time = s.column_int64(12);
  c.models = s.column_text(13);
  c.group = s.column_text(14);
  c.used_quota = s.column_int64(15);
  c.model_mapping = s.column_text(16);
  c.priority = s.column_int64(17);
  c.config = s.column_text(18);
  c.system_prompt = s.column_text(19);
  return c;
}

Ability read_ability(const Statement& s) {
  Ability a;
  a.group = s.column_text(0);
  a.model = s.column_text(1);
  a.channel_id = s.column_int64(2);
  a.enabled = s.column_bool(3);
  a.priority = s.column_int64(4);
  return a;
}

Log read_log(const Statement& s) {
  Log l;
  l.id = s.column_int64(0);
  l.user_id = s.column_int64(1);
  l.created_at = s.column_int64(2);
  l.type = s.column_int(3);
  l.content = s.column_text(4);
  l.username = s.column_text(5);
  l.token_name = s.column_text(6);
  l.model_name = s.column_text(7);
  l.quota = s.column_int64(8);
  l.prompt_tokens = s.column_int64(9);
  l.completion_tokens = s.column_int64(10);
  l.channel_id = s.column_int64(11);
  l.request_id = s.column_text(12);
  l.elapsed_time = s.column_int64(13);
  l.is_stream = s.column_bool(14);
  l.system_prompt_reset = s.column_bool(15);
  l.token_id = s.column_int64(16);
  l.cached_prompt_tokens = s.column_int64(17);
  return l;
}

Error not_found(std::string_view what, int64_t id) {
  return Error::make(ErrorKind::not_found, std::string(what) + " " + std::to_string(id) + " not found");
}

}  // namespace oneapi::store::rows
