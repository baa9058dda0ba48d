#include "admin/handlers.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "admin/protocol.hpp"
#include "admin/routes.hpp"
#include "core/util.hpp"
#include "relay/channel_health.hpp"
#include "relay/channel_test.hpp"

namespace oneapi::admin {

using boost::asio::awaitable;
using nlohmann::json;

namespace {

std::string test_model_for(const store::Channel& c, const std::string& requested) {
  auto models = split_csv(c.models);
  const std::string wanted = requested.empty() ? "gpt-3.5-turbo" : requested;
  for (const auto& m : models)
    if (m == wanted) return m;
  if (!requested.empty()) return requested;
  return models.empty() ? wanted : models.front();
}

}  // namespace

awaitable<json> AdminApi::test_channel(const store::Channel& c, const std::string& requested) {
  const std::string model = test_model_for(c, requested);
  auto r = co_await relay::test_channel(c, model, d_.test_prompt, d_.client);
  if (r.success) {
    const int64_t id = c.id, ms = r.response_time_ms, now = unix_now();
    auto record = [=](store::Store& db) { return db.record_channel_test(id, ms, now); };
    auto saved = co_await d_.store.run(std::move(record));
    if (!saved) spdlog::warn("recording the test of channel #{} failed: {}", id, saved.error().message);
  }
  // One API: a dead key disables the channel, a slow answer (ChannelDisableThreshold seconds)
  // too; a passing test brings an auto-disabled channel back. Each only when its option is on.
  auto catalog = d_.catalog.get();
  const bool auto_disable = catalog->option("AutomaticDisableChannelEnabled", "false") == "true";
  const bool auto_enable = catalog->option("AutomaticEnableChannelEnabled", "false") == "true";
  const int64_t threshold_ms = std::atoll(catalog->option("ChannelDisableThreshold", "5").c_str()) * 1000;
  std::string disable_reason;
  if (!r.success && r.upstream_refused && relay::should_disable_channel(r.upstream_error))
    disable_reason = "channel test failed: " + r.message;
  else if (r.success && threshold_ms > 0 && r.response_time_ms > threshold_ms)
    disable_reason = "channel test took " + std::to_string(r.response_time_ms) + " ms, over ChannelDisableThreshold";
  if (auto_disable && !disable_reason.empty())
    co_await relay::auto_disable_channel(d_.store, d_.catalog, c.id, disable_reason);
  else if (auto_enable && r.success && c.status == static_cast<int>(store::ChannelStatus::auto_disabled))
    co_await relay::auto_enable_channel(d_.store, d_.catalog, c.id);
  co_return json{{"channel_id", c.id},
                 {"name", c.name},
                 {"success", r.success},
                 {"time", static_cast<double>(r.response_time_ms) / 1000.0},
                 {"response_time", r.response_time_ms},
                 {"model", r.model},
                 {"message", r.message}};
}

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

awaitable<json> AdminApi::run_tests(std::vector<int64_t> ids, bool include_disabled, std::string model) {
  auto load = [ids, include_disabled](store::Store& db) -> Result<std::vector<store::Channel>> {
    std::vector<store::Channel> out;
    if (!ids.empty()) {
      auto c = db.get_channel(ids.front());
      if (!c) return c.error();
      out.push_back(*c);
      return out;
    }
    auto all = db.list_channels();
    if (!all) return all.error();
    for (auto& c : *all)
      if (include_disabled || c.status == static_cast<int>(store::ChannelStatus::enabled)) out.push_back(c);
    return out;
  };
  auto targets = co_await d_.store.run(std::move(load));
  if (!targets) co_return fail(targets.error());
  json results = json::array();
  for (const auto& c : *targets) results.push_back(co_await test_channel(c, model));
  if (!ids.empty()) co_return ok(results.at(0));
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
  else if (matched->test)
    reply = co_await run_tests(matched->test_ids, matched->test_include_disabled, matched->test_model);
  else
    reply = co_await d_.store.run(std::move(matched->work));
  if ((matched->changes || matched->test) && reply.value("success", false)) co_await reload_catalog();
  co_await writer.send(200, net::json_headers(), reply.dump());
  co_return true;
}

}  // namespace oneapi::admin
