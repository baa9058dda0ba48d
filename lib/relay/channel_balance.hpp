#pragma once
// Channel balances (One API's "update balance"): upstreams that report what is left on the key's
// account, queried and stored on the channel (balance, balance_updated_time). The providers are
// one table keyed by channel type (channel_balance.cpp); every other type is "not supported".
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "net/http_client.hpp"
#include "relay/catalog.hpp"
#include "store/executor.hpp"
#include "store/models.hpp"

namespace oneapi::relay {

struct Balance {
  double amount = 0;
  std::string currency;  // as the upstream counts: USD, CNY; empty when it does not say
};

// The providers' documented answers, parsed (public for the unit tests).
// DeepSeek GET /user/balance: {"is_available", "balance_infos": [{"currency", "total_balance": "110.00", …}]};
// the CNY entry when there is one (One API), else the first.
Result<Balance> parse_deepseek_balance(std::string_view body);
// OpenRouter GET /api/v1/credits: {"data": {"total_credits", "total_usage"}} -> credits - usage (USD).
Result<Balance> parse_openrouter_credits(std::string_view body);
// SiliconFlow GET /v1/user/info: {"code": 20000, "message", "status", "data": {"totalBalance": "88.88", …}}.
Result<Balance> parse_siliconflow_user_info(std::string_view body, std::string currency);
// OpenAI's (and One API's own) dashboard: hard_limit_usd from /v1/dashboard/billing/subscription
// minus total_usage (cents) from /v1/dashboard/billing/usage.
struct OpenAISubscription {
  double hard_limit_usd = 0;
  bool has_payment_method = false;
};
Result<OpenAISubscription> parse_openai_subscription(std::string_view body);
Result<double> parse_openai_usage_cents(std::string_view body);
// The usage query's dates (UTC): from the first of the month (100 days back without a payment
// method, as One API) to today.
std::string openai_usage_query(int64_t now_unix, bool has_payment_method);

struct BalanceProvider {
  int channel_type;
  const char* name;
  boost::asio::awaitable<Result<Balance>> (*query)(const std::string& base_url, const std::string& key,
                                                   net::HttpClient& client);
};
const BalanceProvider* balance_provider_for(int channel_type);  // null: not supported

// One channel's balance query.
struct BalanceCheck {
  int64_t id = 0;
  std::string name;
  int type = 0;
  bool supported = false;  // its type has a balance API
  bool ok = false;         // queried and stored
  double balance = 0;
  std::string currency;
  int64_t updated_time = 0;  // balance_updated_time (the stored one when this query failed)
  std::string error;
  int status = 0;  // the channel's status afterwards
};

class BalanceUpdater {
 public:
  // `pause` is POLLING_INTERVAL between two channels of update_all; `stopping` (may be null) ends it early.
  BalanceUpdater(store::StoreExecutor& store, CatalogHolder& catalog, net::HttpClient& client,
                 std::chrono::milliseconds pause, const std::atomic<bool>* stopping = nullptr)
      : store_(store), catalog_(catalog), client_(client), pause_(pause), stopping_(stopping) {}

  // Queries and stores one channel's balance. A balance of 0 or less disables an enabled channel
  // when AutomaticDisableChannelEnabled is on (One API: "insufficient balance").
  boost::asio::awaitable<BalanceCheck> update(const store::Channel& channel);
  boost::asio::awaitable<Result<BalanceCheck>> update_id(int64_t id);
  // Every channel; those of unsupported types are listed without a request.
  boost::asio::awaitable<Result<std::vector<BalanceCheck>>> update_all();

 private:
  store::StoreExecutor& store_;
  CatalogHolder& catalog_;
  net::HttpClient& client_;
  std::chrono::milliseconds pause_;
  const std::atomic<bool>* stopping_;
};

}  // namespace oneapi::relay
