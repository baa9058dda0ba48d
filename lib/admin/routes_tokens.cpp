#include "admin/routes.hpp"
#include "core/util.hpp"

namespace oneapi::admin {

namespace {

Result<void> validate_token(const store::Token& t) {
  if (trim(t.name).empty()) return invalid("token name is required");
  if (t.name.size() > 30) return invalid("token name is too long (at most 30 characters)");
  if (!t.unlimited_quota && t.remain_quota < 0) return invalid("remain_quota must not be negative");
  if (t.expired_time != -1 && t.expired_time <= 0) return invalid("expired_time must be -1 (never) or a unix time");
  if (auto bad = invalid_subnet_item(t.subnet); !bad.empty()) return invalid("invalid subnet: " + bad);
  if (t.status < 1 || t.status > 4) return invalid("status must be 1 (enabled) or 2 (disabled)");
  return {};
}

void read_token_fields(Fields& f, store::Token& t) {
  f.str("name", t.name);
  f.integer("remain_quota", t.remain_quota);
  f.boolean("unlimited_quota", t.unlimited_quota);
  f.integer("expired_time", t.expired_time);
  f.str("models", t.models);
  f.str("subnet", t.subnet);
  f.integer("status", t.status);
  t.models = join_csv(split_csv(t.models));
  t.subnet = join_csv(split_csv(t.subnet));
}

// The admin socket sees every token; a user on the TCP port only their own (One API). Another
// user's token answers "not found", so its existence does not leak.
std::optional<int64_t> owner_scope(const Caller& caller) {
  if (caller.admin_socket) return std::nullopt;
  return caller.user_id;
}

Result<store::Token> visible_token(store::Store& db, int64_t id, std::optional<int64_t> owner) {
  auto t = db.get_token(id);
  if (!t) return t.error();
  if (owner && t->user_id != *owner)
    return Error::make(ErrorKind::not_found, "token " + std::to_string(id) + " not found");
  return t;
}

Matched create_token(const RouteCtx& ctx) {
  auto j = parse_body(ctx.req.body);
  if (!j) return answer(fail(j.error()));
  store::Token t;
  t.created_time = unix_now();
  t.accessed_time = t.created_time;
  Fields f{*j, {}};
  read_token_fields(f, t);
  if (ctx.caller.admin_socket) f.integer("user_id", t.user_id);  // oneapictl token create --user
  if (t.user_id == 0) t.user_id = ctx.caller.user_id;
  t.status = static_cast<int>(store::TokenStatus::enabled);
  Result<void> valid = f.error ? Result<void>(*f.error) : validate_token(t);
  if (valid && t.expired_time != -1 && t.expired_time <= unix_now()) valid = invalid("expired_time is in the past");
  if (!valid) return answer(fail(valid.error()));
  t.key = new_token_key();
  return store_work(
      [t](store::Store& db) {
        auto u = db.get_user(t.user_id);
        if (!u) return fail(u.error());
        return envelope(db.insert_token(t), token_json);
      },
      true);
}

Matched update_token(const RouteCtx& ctx) {
  auto j = parse_body(ctx.req.body);
  if (!j) return answer(fail(j.error()));
  if (!j->contains("id") || !(*j)["id"].is_number_integer()) return answer(fail(invalid("id is required")));
  const auto owner = owner_scope(ctx.caller);
  // ?status_only=1 (One API's web UI toggling a token) changes nothing but the status.
  const bool status_only = ctx.req.query_param("status_only") == "1";
  return store_work(
      [j = *j, owner, status_only](store::Store& db) {
        auto current = visible_token(db, j["id"].get<int64_t>(), owner);
        if (!current) return fail(current.error());
        store::Token t = *current;
        Fields f{j, {}};
        if (status_only)
          f.integer("status", t.status);
        else
          read_token_fields(f, t);
        Result<void> valid = f.error ? Result<void>(*f.error) : validate_token(t);
        const bool enabling = t.status == static_cast<int>(store::TokenStatus::enabled);
        const bool expired = t.expired_time != -1 && t.expired_time <= unix_now();
        const bool exhausted = !t.unlimited_quota && t.remain_quota <= 0;
        if (valid && enabling && expired)
          valid = invalid("the token has expired and cannot be enabled; change its expiry first");
        if (valid && enabling && exhausted)
          valid = invalid("the token's quota is used up and it cannot be enabled; raise its quota first");
        // A token stopped by expiry or exhaustion comes back once what stopped it is fixed.
        const int old_status = current->status;
        const bool was_stopped = old_status == static_cast<int>(store::TokenStatus::exhausted) ||
                                 old_status == static_cast<int>(store::TokenStatus::expired);
        if (valid && !j.contains("status") && was_stopped && !expired && !exhausted)
          t.status = static_cast<int>(store::TokenStatus::enabled);
        if (!valid) return fail(valid.error());
        return envelope(db.update_token(t), token_json);
      },
      true);
}

}  // namespace

// Every signed-in user manages their own tokens (One API's UserAuth).
std::optional<Matched> route_tokens(const RouteCtx& ctx) {
  if (ctx.parts[0] != "token") return std::nullopt;
  if (auto denied = require(ctx, store::Role::common)) return denied;
  const auto owner = owner_scope(ctx.caller);
  const Page page = ctx.page;
  if (ctx.is("GET", 1)) {
    std::optional<int64_t> user = owner;
    if (!owner && !ctx.req.query_param("user_id").empty()) user = query_int(ctx.req, "user_id", 0);
    return store_work([page, user](store::Store& db) {
      return envelope(db.list_tokens(user), [&](const auto& l) { return page_of(l, page, token_json); });
    });
  }
  if (ctx.is("POST", 1)) return create_token(ctx);
  if (ctx.is("PUT", 1)) return update_token(ctx);
  if (ctx.n() != 2) return std::nullopt;
  auto id = parse_id(ctx.parts[1]);
  if (!id) return answer(fail(id.error()));
  const int64_t token_id = *id;
  if (ctx.method == "GET")
    return store_work(
        [token_id, owner](store::Store& db) { return envelope(visible_token(db, token_id, owner), token_json); });
  if (ctx.method == "DELETE")
    return store_work(
        [token_id, owner](store::Store& db) {
          auto t = visible_token(db, token_id, owner);
          if (!t) return fail(t.error());
          return envelope_void(db.delete_token(token_id));
        },
        true);
  return std::nullopt;
}

}  // namespace oneapi::admin
