#include "relay/channel_balance.hpp"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/util.hpp"
#include "relay/adaptor.hpp"
#include "relay/background.hpp"
#include "relay/channel_health.hpp"

namespace oneapi::relay {

using boost::asio::awaitable;
using nlohmann::json;

namespace {

Error bad_answer(std::string what) {
  return Error::make(ErrorKind::upstream_error, "unexpected balance answer: " + std::move(what));
}

Result<json> parse_object(std::string_view body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad_answer("not a JSON object");
  return j;
}

// A JSON number, or a string holding one ("110.00", as DeepSeek and SiliconFlow send).
std::optional<double> number_of(const json& j) {
  if (j.is_number()) return j.get<double>();
  if (!j.is_string()) return std::nullopt;
  const std::string s = j.get<std::string>();
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<double> field_number(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key)) return std::nullopt;
  return number_of(obj[key]);
}

}  // namespace

Result<Balance> parse_deepseek_balance(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.error();
  const json& infos = (*j).contains("balance_infos") ? (*j)["balance_infos"] : json();
  if (!infos.is_array() || infos.empty()) return bad_answer("no balance_infos");
  const json* chosen = &infos.front();
  for (const auto& info : infos)
    if (info.is_object() && info.value("currency", "") == "CNY") chosen = &info;
  auto total = field_number(*chosen, "total_balance");
  if (!total) return bad_answer("balance_infos[].total_balance is not a number");
  return Balance{*total, chosen->is_object() ? chosen->value("currency", "") : ""};
}

Result<Balance> parse_openrouter_credits(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.error();
  const json& data = (*j).contains("data") ? (*j)["data"] : json();
  auto credits = field_number(data, "total_credits");
  auto usage = field_number(data, "total_usage");
  if (!credits || !usage) return bad_answer("data.total_credits or data.total_usage missing");
  return Balance{*credits - *usage, "USD"};
}

Result<Balance> parse_siliconflow_user_info(std::string_view body, std::string currency) {
  auto j = parse_object(body);
  if (!j) return j.error();
  const int64_t code = (*j).value("code", int64_t{0});
  if (code != 20000)
    return Error::make(ErrorKind::upstream_error,
                       "SiliconFlow answered code " + std::to_string(code) + ": " + (*j).value("message", ""));
  const json& data = (*j).contains("data") ? (*j)["data"] : json();
  auto total = field_number(data, "totalBalance");
  if (!total) return bad_answer("data.totalBalance is not a number");
  return Balance{*total, std::move(currency)};
}

Result<OpenAISubscription> parse_openai_subscription(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.error();
  auto limit = field_number(*j, "hard_limit_usd");
  if (!limit) return bad_answer("hard_limit_usd missing");
  return OpenAISubscription{*limit, (*j).value("has_payment_method", false)};
}

Result<double> parse_openai_usage_cents(std::string_view body) {
  auto j = parse_object(body);
  if (!j) return j.error();
  auto usage = field_number(*j, "total_usage");
  if (!usage) return bad_answer("total_usage missing");
  return *usage;
}

std::string openai_usage_query(int64_t now_unix, bool has_payment_method) {
  auto day = [](int64_t t) {
    const std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    return tm;
  };
  const std::tm today = day(now_unix);
  std::tm start = has_payment_method ? today : day(now_unix - 100 * 86400);
  if (has_payment_method) start.tm_mday = 1;
  char buf[160];  // room for any int the compiler imagines in each field
  std::snprintf(buf, sizeof buf, "start_date=%04d-%02d-%02d&end_date=%04d-%02d-%02d", start.tm_year + 1900,
                start.tm_mon + 1, start.tm_mday, today.tm_year + 1900, today.tm_mon + 1, today.tm_mday);
  return buf;
}

namespace {

// The message of an upstream's error answer, if it has one we can read.
std::string error_text(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_object()) {
    if (j.contains("error") && j["error"].is_object() && j["error"].contains("message") &&
        j["error"]["message"].is_string())
      return j["error"]["message"].get<std::string>();
    if (j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  }
  return body.substr(0, 200);
}

awaitable<Result<std::string>> get_body(net::HttpClient& client, std::string url, const std::string& key) {
  net::ClientRequest request;
  request.method = "GET";
  request.url = std::move(url);
  request.headers = {{"Authorization", "Bearer " + key}, {"Accept", "application/json"}};
  auto response = co_await client.send(std::move(request));
  if (!response) co_return response.error();
  auto body = co_await (*response)->read_all(1024 * 1024);
  if (!body) co_return body.error();
  const int status = (*response)->status();
  if (status != 200) {
    Error e = Error::make(ErrorKind::upstream_error, "HTTP " + std::to_string(status) + ": " + error_text(*body));
    e.status = status;
    co_return e;
  }
  co_return std::move(*body);
}

awaitable<Result<Balance>> query_deepseek(const std::string& base, const std::string& key, net::HttpClient& client) {
  auto body = co_await get_body(client, base + "/user/balance", key);
  if (!body) co_return body.error();
  co_return parse_deepseek_balance(*body);
}

// The default base https://openrouter.ai/api makes this https://openrouter.ai/api/v1/credits.
awaitable<Result<Balance>> query_openrouter(const std::string& base, const std::string& key, net::HttpClient& client) {
  auto body = co_await get_body(client, base + "/v1/credits", key);
  if (!body) co_return body.error();
  co_return parse_openrouter_credits(*body);
}

awaitable<Result<Balance>> query_siliconflow(const std::string& base, const std::string& key, net::HttpClient& client) {
  auto body = co_await get_body(client, base + "/v1/user/info", key);
  if (!body) co_return body.error();
  // siliconflow.cn bills in yuan, siliconflow.com in dollars.
  std::string currency = base.find("siliconflow.com") != std::string::npos ? "USD" : "CNY";
  co_return parse_siliconflow_user_info(*body, std::move(currency));
}

awaitable<Result<Balance>> query_openai(const std::string& base, const std::string& key, net::HttpClient& client) {
  auto sub_body = co_await get_body(client, base + "/v1/dashboard/billing/subscription", key);
  if (!sub_body) co_return sub_body.error();
  auto subscription = parse_openai_subscription(*sub_body);
  if (!subscription) co_return subscription.error();
  const std::string query = openai_usage_query(unix_now(), subscription->has_payment_method);
  auto usage_body = co_await get_body(client, base + "/v1/dashboard/billing/usage?" + query, key);
  if (!usage_body) co_return usage_body.error();
  auto cents = parse_openai_usage_cents(*usage_body);
  if (!cents) co_return cents.error();
  Balance balance{subscription->hard_limit_usd - *cents / 100.0, "USD"};
  co_return balance;
}

// Channel types whose upstream reports a balance; One API also reads a few resellers'
// (CloseAI, OpenAI-SB, AIProxy, API2GPT, AIGC2D) that are not here.
const BalanceProvider kProviders[] = {
    {1, "OpenAI", query_openai},  // the dashboard billing endpoints (also served by One API gateways)
    {8, "Custom", query_openai},  // One API treats Custom as OpenAI here
    {20, "OpenRouter", query_openrouter}, {36, "DeepSeek", query_deepseek}, {44, "SiliconFlow", query_siliconflow},
};

std::function<Result<void>(store::Store&)> store_balance(int64_t id, double balance, int64_t when) {
  return [=](store::Store& db) { return db.record_channel_balance(id, balance, when); };
}

}  // namespace

const BalanceProvider* balance_provider_for(int channel_type) {
  for (const auto& p : kProviders)
    if (p.channel_type == channel_type) return &p;
  return nullptr;
}

awaitable<BalanceCheck> BalanceUpdater::update(const store::Channel& c) {
  BalanceCheck out;
  out.id = c.id;
  out.name = c.name;
  out.type = c.type;
  out.balance = c.balance;
  out.updated_time = c.balance_updated_time;
  out.status = c.status;
  const BalanceProvider* provider = balance_provider_for(c.type);
  if (!provider) {
    out.error = "not supported: channel type " + std::to_string(c.type) + " has no balance API";
    co_return out;
  }
  out.supported = true;
  const std::string base = c.base_url.empty() ? std::string(default_base_url(c.type)) : c.base_url;
  if (base.empty()) {
    out.error = "the channel has no base URL";
    co_return out;
  }
  // A multi-key channel reports the balance of its first key still in rotation.
  const auto keys = store::usable_channel_keys(c);
  const std::string key = keys.empty() ? c.key : keys.front();
  Result<Balance> balance = co_await provider->query(base, key, client_);
  if (!balance) {
    out.error = balance.error().message;
    co_return out;
  }
  const int64_t now = unix_now();
  auto job = store_balance(c.id, balance->amount, now);
  auto saved = co_await store_.run(std::move(job));
  if (!saved) {
    out.error = "storing the balance failed: " + saved.error().message;
    co_return out;
  }
  out.ok = true;
  out.balance = balance->amount;
  out.currency = balance->currency;
  out.updated_time = now;
  const bool auto_disable = catalog_.get()->option("AutomaticDisableChannelEnabled", "false") == "true";
  if (auto_disable && out.balance <= 0 && c.status == static_cast<int>(store::ChannelStatus::enabled)) {
    char amount[64];
    std::snprintf(amount, sizeof amount, "%.2f", out.balance);
    std::string why = std::string("insufficient balance: ") + amount + (out.currency.empty() ? "" : " ") + out.currency;
    if (co_await auto_disable_channel(store_, catalog_, c.id, std::move(why)))
      out.status = static_cast<int>(store::ChannelStatus::auto_disabled);
  }
  co_return out;
}

awaitable<Result<BalanceCheck>> BalanceUpdater::update_id(int64_t id) {
  auto load = [id](store::Store& db) { return db.get_channel(id); };
  auto channel = co_await store_.run(std::move(load));
  if (!channel) co_return channel.error();
  BalanceCheck result = co_await update(*channel);
  co_return result;
}

awaitable<Result<std::vector<BalanceCheck>>> BalanceUpdater::update_all() {
  auto load = [](store::Store& db) { return db.list_channels(); };
  auto channels = co_await store_.run(std::move(load));
  if (!channels) co_return channels.error();
  std::vector<BalanceCheck> results;
  bool queried = false;
  for (const auto& c : *channels) {
    if (stopping_ && stopping_->load()) break;
    const bool asks_upstream = balance_provider_for(c.type) != nullptr;
    if (asks_upstream && queried && !co_await pause_unless_stopped(pause_, stopping_)) break;
    queried = queried || asks_upstream;
    BalanceCheck one = co_await update(c);
    results.push_back(std::move(one));
  }
  co_return results;
}

}  // namespace oneapi::relay
