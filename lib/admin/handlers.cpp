#include "admin/handlers.hpp"

#include <nlohmann/json.hpp>

#include "admin/protocol.hpp"
#include "admin/routes.hpp"
#include "core/util.hpp"
#include "relay/channel_health.hpp"

namespace oneapi::admin {

using boost::asio::awaitable;
using nlohmann::json;

namespace {

json check_json(const relay::ChannelCheck& c) {
  return {{"id", c.id},
          {"name", c.name},
          {"ok", c.ok},
          {"response_time_ms", c.response_time_ms},
          {"error", c.ok ? json(nullptr) : json(c.error)},
          {"model", c.model},
          {"answer", c.answer},
          {"status", c.status}};
}

json balance_json(const relay::BalanceCheck& b) {
  return {{"id", b.id},
          {"name", b.name},
          {"type", b.type},
          {"supported", b.supported},
          {"ok", b.ok},
          {"balance", b.balance},
          {"currency", b.currency},
          {"balance_updated_time", b.updated_time},
          {"error", b.ok ? json(nullptr) : json(b.error)},
          {"status", b.status}};
}

}  // namespace

awaitable<void> AdminApi::reload_catalog() { co_await relay::reload_catalog(d_.store, d_.catalog); }

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

json status_json(const AdminDeps& d) {
  auto c = d.catalog.get();
  return {{"version", ONEAPI_VERSION},
          {"start_time", d.start_time},
          {"uptime_seconds", unix_now() - d.start_time},
          {"system_name", c->option("SystemName", "One API")},
          {"quota_per_unit", c->quota_per_unit},
          {"display_in_currency", c->option("DisplayInCurrencyEnabled", "true") == "true"},
          {"channels", c->channels.size()},
          {"tokens", c->tokens.size()}};
}

std::optional<Matched> match(const net::ServerRequest& req, const AdminDeps& d, const Caller& caller) {
  auto parts = split_path(req.path);
  if (parts.size() < 2 || parts[0] != "api") return std::nullopt;
  parts.erase(parts.begin());
  if (parts.size() == 1 && parts[0] == "status" && req.method == "GET") return answer(ok(status_json(d)));
  const RouteCtx ctx{req, d, caller, parts, req.method, Page{query_int(req, "p", 0), query_int(req, "page_size", 0)}};
  for (auto route : {route_channels, route_tokens, route_users, route_redemptions, route_logs, route_options})
    if (auto m = route(ctx)) return m;
  return std::nullopt;
}

std::string_view access_token_of(const net::ServerRequest& req) {
  std::string_view v = trim(req.header("Authorization"));
  if (v.size() >= 7 && iequals(v.substr(0, 7), "bearer ")) v = trim(v.substr(7));
  return v;
}

bool is_public(const net::ServerRequest& req) {
  return req.method == "GET" && (req.path == "/api/status" || req.path.rfind("/api/cost/request/", 0) == 0);
}

}  // namespace

awaitable<json> AdminApi::run_tests(std::optional<int64_t> id, relay::TestScope scope, std::string model) {
  if (id) {
    auto one = co_await d_.tester.check_id(*id, model);
    if (!one) co_return fail(one.error());
    co_return ok(check_json(*one));
  }
  auto all = co_await d_.tester.check_all(scope, model);
  if (!all) co_return fail(all.error());
  json results = json::array();
  for (const auto& c : *all) results.push_back(check_json(c));
  co_return ok(results);
}

awaitable<json> AdminApi::run_balances(std::optional<int64_t> id) {
  if (id) {
    auto one = co_await d_.balances.update_id(*id);
    if (!one) co_return fail(one.error());
    co_return ok(balance_json(*one));
  }
  auto all = co_await d_.balances.update_all();
  if (!all) co_return fail(all.error());
  json results = json::array();
  for (const auto& b : *all) results.push_back(balance_json(b));
  co_return ok(results);
}

awaitable<bool> AdminApi::handle_socket(net::ServerRequest& req, net::ResponseWriter& writer) {
  // The socket's file mode makes whoever reaches it root-equivalent: act as the first root user.
  Caller caller{0, static_cast<int>(store::Role::root), true};
  auto catalog = d_.catalog.get();
  for (const auto& [id, u] : catalog->users)
    if (u.role >= static_cast<int>(store::Role::root) && (caller.user_id == 0 || id < caller.user_id))
      caller.user_id = id;
  co_return co_await serve(req, writer, caller);
}

awaitable<bool> AdminApi::handle_tcp(net::ServerRequest& req, net::ResponseWriter& writer) {
  if (is_public(req)) co_return co_await serve(req, writer, Caller{});
  const std::string_view token = access_token_of(req);
  auto catalog = d_.catalog.get();
  const store::User* user = catalog->find_user_by_access_token(token);
  json refusal;
  int status = 401;
  if (token.empty())
    refusal = {{"success", false},
               {"message", "Unauthorized: not logged in and no access token provided"},
               {"code", kCodeUnauthorized}};
  else if (!user)
    refusal = {{"success", false}, {"message", "Unauthorized: access token is invalid"}, {"code", kCodeUnauthorized}};
  else if (user->status != static_cast<int>(store::UserStatus::enabled)) {
    status = 403;
    refusal = {{"success", false}, {"message", "user has been banned"}, {"code", kCodeForbidden}};
  }
  if (!refusal.is_null()) {
    co_await writer.send(status, net::json_headers(), refusal.dump());
    co_return true;
  }
  co_return co_await serve(req, writer, Caller{user->id, user->role, false});
}

awaitable<bool> AdminApi::serve(net::ServerRequest& req, net::ResponseWriter& writer, Caller caller) {
  std::optional<Matched> matched = match(req, d_, caller);
  if (!matched) co_return false;
  json reply;
  if (matched->immediate)
    reply = std::move(*matched->immediate);
  else if (matched->network == Matched::Network::test)
    reply = co_await run_tests(matched->channel_id, matched->test_scope, matched->test_model);
  else if (matched->network == Matched::Network::balance)
    reply = co_await run_balances(matched->channel_id);
  else
    reply = co_await d_.store.run(std::move(matched->work));
  const bool touched_channels = matched->changes || matched->network != Matched::Network::none;
  if (touched_channels && reply.value("success", false)) {
    co_await reload_catalog();
    if (d_.on_catalog_changed) d_.on_catalog_changed();
  }
  co_await writer.send(200, net::json_headers(), reply.dump());
  co_return true;
}

}  // namespace oneapi::admin
