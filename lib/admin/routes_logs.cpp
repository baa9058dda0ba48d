#include "admin/routes.hpp"
#include "billing/quota.hpp"
#include "core/util.hpp"

namespace oneapi::admin {

namespace {

store::LogFilter filter_from(const net::ServerRequest& req) {
  store::LogFilter f;
  if (!req.query_param("type").empty()) f.type = static_cast<int>(query_int(req, "type", 0));
  f.username = req.query_param("username");
  f.token_name = req.query_param("token_name");
  f.model_name = req.query_param("model_name");
  if (!req.query_param("channel").empty()) f.channel_id = query_int(req, "channel", 0);
  if (!req.query_param("user_id").empty()) f.user_id = query_int(req, "user_id", 0);
  f.start_timestamp = query_int(req, "start_timestamp", 0);
  f.end_timestamp = query_int(req, "end_timestamp", 0);
  f.limit = static_cast<int>(std::clamp<int64_t>(query_int(req, "page_size", 10), 1, 10000));
  f.offset = static_cast<int>(std::max<int64_t>(query_int(req, "p", 0), 0) * f.limit);
  return f;
}

Matched list_logs(store::LogFilter f) {
  return store_work([f](store::Store& db) {
    return envelope(db.list_logs(f), [](const std::vector<store::Log>& list) {
      json a = json::array();
      for (const auto& l : list) a.push_back(log_json(l));
      return a;
    });
  });
}

Matched log_stat(store::LogFilter f, int64_t quota_per_unit) {
  return store_work([f, quota_per_unit](store::Store& db) {
    return envelope(db.log_stat(f), [&](const store::LogStat& s) {
      return json{{"quota", s.quota},
                  {"cost_usd", billing::quota_to_usd(s.quota, quota_per_unit)},
                  {"requests", s.requests},
                  {"prompt_tokens", s.prompt_tokens},
                  {"completion_tokens", s.completion_tokens},
                  {"rpm", s.rpm},
                  {"tpm", s.tpm}};
    });
  });
}

Matched purge_logs(const net::ServerRequest& req) {
  const int64_t before = query_int(req, "target_timestamp", 0);
  if (before <= 0) return answer(fail(invalid("target_timestamp (unix seconds) is required")));
  return store_work([before](store::Store& db) {
    return envelope(db.purge_logs(before), [](int64_t n) { return json{{"deleted", n}}; });
  });
}

Matched cost_of(std::string request_id, int64_t quota_per_unit) {
  return store_work([request_id, quota_per_unit](store::Store& db) {
    return envelope(db.get_log_by_request_id(request_id), [&](const store::Log& l) {
      return json{{"request_id", l.request_id},
                  {"quota", l.quota},
                  {"cost_usd", billing::quota_to_usd(l.quota, quota_per_unit)},
                  {"model_name", l.model_name},
                  {"prompt_tokens", l.prompt_tokens},
                  {"completion_tokens", l.completion_tokens},
                  {"cached_prompt_tokens", l.cached_prompt_tokens},
                  {"token_name", l.token_name},
                  {"created_at", l.created_at},
                  {"is_stream", l.is_stream},
                  {"elapsed_time", l.elapsed_time},
                  {"pending", l.type == static_cast<int>(store::LogType::provisional)}};
    });
  });
}

}  // namespace

// GET /api/log/ (admin: everyone's), GET /api/log/self (a user's own), the same with /stat,
// DELETE /api/log/?target_timestamp= (admin), and the public cost of one request.
std::optional<Matched> route_logs(const RouteCtx& ctx) {
  const auto& parts = ctx.parts;
  if (parts[0] == "cost") {
    if (ctx.is("GET", 3) && parts[1] == "request")
      return cost_of(std::string(parts[2]), ctx.deps.catalog.get()->quota_per_unit);
    return std::nullopt;
  }
  if (parts[0] != "log") return std::nullopt;
  const int64_t quota_per_unit = ctx.deps.catalog.get()->quota_per_unit;
  const bool self = ctx.n() >= 2 && parts[1] == "self";
  if (self) {
    if (auto denied = require(ctx, store::Role::common)) return denied;
    store::LogFilter f = filter_from(ctx.req);
    f.user_id = ctx.caller.user_id;
    f.username.clear();
    if (ctx.is("GET", 2)) return list_logs(f);
    if (ctx.is("GET", 3) && parts[2] == "stat") return log_stat(f, quota_per_unit);
    return std::nullopt;
  }
  if (auto denied = require(ctx, store::Role::admin)) return denied;
  if (ctx.is("GET", 1)) return list_logs(filter_from(ctx.req));
  if (ctx.is("GET", 2) && parts[1] == "stat") return log_stat(filter_from(ctx.req), quota_per_unit);
  if (ctx.is("DELETE", 1)) return purge_logs(ctx.req);
  return std::nullopt;
}

}  // namespace oneapi::admin
