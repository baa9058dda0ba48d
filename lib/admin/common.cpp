// The envelope, request parsing and JSON shapes shared by every admin route.
#include <charconv>

#include "admin/protocol.hpp"
#include "admin/routes.hpp"
#include "core/util.hpp"

namespace oneapi::admin {

// ---- envelope -------------------------------------------------------------------------------

json ok(json data) { return {{"success", true}, {"message", ""}, {"data", std::move(data)}}; }

json fail(const Error& e) {
  std::string_view code = kCodeInternal;
  if (e.kind == ErrorKind::not_found)
    code = kCodeNotFound;
  else if (e.kind == ErrorKind::invalid_request)
    code = kCodeInvalid;
  else if (e.kind == ErrorKind::forbidden)
    code = kCodeForbidden;
  else if (!e.code.empty())
    code = e.code;
  return {{"success", false}, {"message", e.message}, {"code", code}};
}

Error invalid(std::string msg) { return Error::make(ErrorKind::invalid_request, std::move(msg)); }
Error forbidden(std::string msg) { return Error::make(ErrorKind::forbidden, std::move(msg)); }

Matched answer(json reply) {
  Matched m;
  m.immediate = std::move(reply);
  return m;
}

Matched store_work(std::function<json(store::Store&)> work, bool changes) {
  Matched m;
  m.work = std::move(work);
  m.changes = changes;
  return m;
}

std::optional<Matched> require(const RouteCtx& ctx, store::Role role) {
  if (ctx.caller.role >= static_cast<int>(role)) return std::nullopt;
  return answer(fail(forbidden()));
}

// ---- request parsing -----------------------------------------------------------------------

Result<json> parse_body(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid("request body must be a JSON object");
  return j;
}

Result<int64_t> parse_id(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return invalid("invalid id: " + std::string(s));
  return v;
}

int64_t query_int(const net::ServerRequest& req, std::string_view name, int64_t fallback) {
  std::string v = req.query_param(name);
  if (v.empty()) return fallback;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size() ? out : fallback;
}

void Fields::str(const char* k, std::string& out) {
  if (!has(k)) return;
  if (!j[k].is_string()) return set_error(std::string(k) + " must be a string");
  out = j[k].get<std::string>();
}

void Fields::integer(const char* k, int64_t& out) {
  if (!has(k)) return;
  if (!j[k].is_number_integer()) return set_error(std::string(k) + " must be an integer");
  out = j[k].get<int64_t>();
}

void Fields::integer(const char* k, int& out) {
  int64_t v = out;
  integer(k, v);
  out = static_cast<int>(v);
}

void Fields::boolean(const char* k, bool& out) {
  if (!has(k)) return;
  if (!j[k].is_boolean()) return set_error(std::string(k) + " must be true or false");
  out = j[k].get<bool>();
}

void Fields::json_text(const char* k, std::string& out) {
  if (!has(k)) return;
  if (j[k].is_object()) {
    out = j[k].dump();
    return;
  }
  if (!j[k].is_string()) return set_error(std::string(k) + " must be a JSON object");
  out = j[k].get<std::string>();
}

void Fields::set_error(std::string msg) {
  if (!error) error = invalid(std::move(msg));
}

// ---- JSON shapes ---------------------------------------------------------------------------

json channel_json(const store::Channel& c) {
  const auto keys = store::channel_keys(c);
  json disabled = json::array();
  for (const auto& d : c.disabled_keys) {
    int64_t index = 0;  // 1-based position in the key list
    for (size_t i = 0; i < keys.size() && index == 0; ++i)
      if (store::channel_key_hash(keys[i]) == d.key_hash) index = static_cast<int64_t>(i) + 1;
    disabled.push_back({{"key_index", index}, {"reason", d.reason}, {"disabled_at", d.disabled_at}});
  }
  return {{"id", c.id},
          {"key_count", keys.size()},
          {"disabled_keys", std::move(disabled)},
          {"type", c.type},
          {"status", c.status},
          {"name", c.name},
          {"weight", c.weight},
          {"created_time", c.created_time},
          {"test_time", c.test_time},
          {"response_time", c.response_time},
          {"base_url", c.base_url},
          {"other", c.other},
          {"balance", c.balance},
          {"balance_updated_time", c.balance_updated_time},
          {"models", c.models},
          {"group", c.group},
          {"used_quota", c.used_quota},
          {"model_mapping", c.model_mapping},
          {"priority", c.priority},
          {"config", c.config},
          {"system_prompt", c.system_prompt}};
}

json token_json(const store::Token& t) {
  return {{"id", t.id},
          {"user_id", t.user_id},
          {"key", "sk-" + t.key},
          {"status", t.status},
          {"name", t.name},
          {"created_time", t.created_time},
          {"accessed_time", t.accessed_time},
          {"expired_time", t.expired_time},
          {"remain_quota", t.remain_quota},
          {"unlimited_quota", t.unlimited_quota},
          {"used_quota", t.used_quota},
          {"models", t.models},
          {"subnet", t.subnet}};
}

json user_json(const store::User& u) {
  return {{"id", u.id},       {"username", u.username},     {"display_name", u.display_name},
          {"role", u.role},   {"status", u.status},         {"email", u.email},
          {"quota", u.quota}, {"used_quota", u.used_quota}, {"request_count", u.request_count},
          {"group", u.group}, {"aff_code", u.aff_code},     {"inviter_id", u.inviter_id}};
}

json log_json(const store::Log& l) {
  return {{"id", l.id},
          {"user_id", l.user_id},
          {"created_at", l.created_at},
          {"type", l.type},
          {"content", l.content},
          {"username", l.username},
          {"token_name", l.token_name},
          {"model_name", l.model_name},
          {"quota", l.quota},
          {"prompt_tokens", l.prompt_tokens},
          {"completion_tokens", l.completion_tokens},
          {"cached_prompt_tokens", l.cached_prompt_tokens},
          {"channel", l.channel_id},
          {"request_id", l.request_id},
          {"elapsed_time", l.elapsed_time},
          {"is_stream", l.is_stream},
          {"system_prompt_reset", l.system_prompt_reset}};
}

json redemption_json(const store::Redemption& r) {
  return {{"id", r.id},
          {"user_id", r.user_id},
          {"key", r.key},
          {"status", r.status},
          {"name", r.name},
          {"quota", r.quota},
          {"created_time", r.created_time},
          {"redeemed_time", r.redeemed_time},
          {"redeemed_by", r.redeemed_by}};
}

}  // namespace oneapi::admin
