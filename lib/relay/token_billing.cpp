// Billing endpoints that API keys call directly: the dashboard balance and usage, and reporting
// usage consumed outside the gateway.
#include <nlohmann/json.hpp>

#include "core/util.hpp"
#include "relay/relay.hpp"

namespace oneapi::relay {

using nlohmann::json;

namespace {

struct Balances {
  store::Token token;
  store::User user;
};

// Fresh from the database: the catalog's copies do not follow every settle.
std::function<Result<Balances>(store::Store&)> read_balances(int64_t token_id, int64_t user_id) {
  return [token_id, user_id](store::Store& db) -> Result<Balances> {
    auto t = db.get_token(token_id);
    if (!t) return t.error();
    auto u = db.get_user(user_id);
    if (!u) return u.error();
    return Balances{std::move(*t), std::move(*u)};
  };
}

// One API's rule: with DisplayTokenStatEnabled (default) the token's numbers, else the user's; in
// USD when DisplayInCurrencyEnabled. An unlimited token shows its user's balance (One API shows
// 100000000, which no front end can use).
json billing_body(Relay::BillingView view, const Balances& b, const Catalog& c) {
  const bool token_view = c.option("DisplayTokenStatEnabled", "true") == "true" && !b.token.unlimited_quota;
  const int64_t remain = token_view ? b.token.remain_quota : b.user.quota;
  const int64_t used = token_view ? b.token.used_quota : b.user.used_quota;
  const bool currency = c.option("DisplayInCurrencyEnabled", "true") == "true";
  const double scale = currency ? static_cast<double>(c.quota_per_unit) : 1.0;
  if (view == Relay::BillingView::usage)
    return {{"object", "list"}, {"total_usage", static_cast<double>(used) / scale * 100.0}};
  const double amount = static_cast<double>(remain + used) / scale;
  const int64_t access_until = b.token.expired_time > 0 ? b.token.expired_time : 0;
  return {{"object", "billing_subscription"}, {"has_payment_method", true},      {"soft_limit_usd", amount},
          {"hard_limit_usd", amount},         {"system_hard_limit_usd", amount}, {"access_until", access_until}};
}

struct ConsumeRequest {
  int64_t quota = 0;
  std::string reason;
};

Result<ConsumeRequest> parse_consume(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Error::make(ErrorKind::invalid_request, "invalid request body: expected a JSON object", "invalid_json");
  ConsumeRequest r;
  auto q = j.find("add_used_quota");
  if (q == j.end() || !q->is_number_integer() || q->get<int64_t>() <= 0)
    return Error::make(ErrorKind::invalid_request, "add_used_quota must be a positive integer", "invalid_request");
  r.quota = q->get<int64_t>();
  if (auto reason = j.find("add_reason"); reason != j.end() && reason->is_string())
    r.reason = reason->get<std::string>();
  if (r.reason.size() > 255) r.reason.resize(255);
  return r;
}

// Pre-charge then settle at the same amount: the usual two transactions, so the guards that
// keep a token and its user from overspending apply, and a crash in between is refunded.
std::function<Result<int64_t>(store::Store&)> charge(const RelayState& s, const ConsumeRequest& c) {
  store::PreChargeRequest pre;
  pre.token_id = s.token->id;
  pre.user_id = s.user->id;
  pre.amount = c.quota;
  pre.pending.username = s.user->username;
  pre.pending.token_name = s.token->name;
  pre.pending.model_name = "external";
  pre.pending.request_id = s.request_id;
  store::Settlement done;
  done.token_id = s.token->id;
  done.user_id = s.user->id;
  done.pre_charged = c.quota;
  done.quota = c.quota;
  done.model_name = "external";
  done.content = c.reason.empty() ? "usage reported by the token" : "usage reported by the token: " + c.reason;
  return [pre, done](store::Store& db) mutable -> Result<int64_t> {
    auto log_id = db.pre_charge(pre);
    if (!log_id) return log_id.error();
    done.log_id = *log_id;
    if (auto r = db.settle(done); !r) return r.error();
    return *log_id;
  };
}

}  // namespace

boost::asio::awaitable<void> Relay::billing(BillingView view, net::ServerRequest& req, net::ResponseWriter& writer) {
  RelayState s = start_state(RelayMode::chat_completions, catalog_.get());
  s.route = metrics::Route::billing;
  if (auto r = authenticate(s, req); !r) co_return co_await respond_error(s, writer, r.error());
  auto read = read_balances(s.token->id, s.user->id);
  auto balances = co_await store_.run(std::move(read));
  if (!balances) co_return co_await respond_error(s, writer, balances.error());
  const std::string body = billing_body(view, *balances, *s.catalog).dump();
  count_request(s, 200);
  co_await writer.send(200, base_headers(s, "application/json"), body);
}

boost::asio::awaitable<void> Relay::consume(net::ServerRequest& req, net::ResponseWriter& writer) {
  RelayState s = start_state(RelayMode::chat_completions, catalog_.get());
  s.route = metrics::Route::consume;
  if (auto r = authenticate(s, req); !r) co_return co_await respond_error(s, writer, r.error());
  auto parsed = parse_consume(req.body);
  if (!parsed) co_return co_await respond_error(s, writer, parsed.error());
  auto work = charge(s, *parsed);
  auto charged = co_await store_.run(std::move(work));
  if (!charged) co_return co_await respond_error(s, writer, charged.error());
  s.billed_quota = parsed->quota;
  auto read = read_balances(s.token->id, s.user->id);
  auto after = co_await store_.run(std::move(read));
  json data = {{"request_id", s.request_id}, {"quota", parsed->quota}};
  if (after) {
    data["token_remain_quota"] = after->token.remain_quota;
    data["unlimited_quota"] = after->token.unlimited_quota;
    data["token_used_quota"] = after->token.used_quota;
  }
  const std::string body = json{{"success", true}, {"message", ""}, {"data", data}}.dump();
  count_request(s, 200);
  co_await writer.send(200, base_headers(s, "application/json"), body);
}

}  // namespace oneapi::relay
