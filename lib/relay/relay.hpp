#pragma once
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string_view>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "relay/adaptor.hpp"
#include "relay/catalog.hpp"
#include "relay/steps.hpp"
#include "relay/success_window.hpp"
#include "store/executor.hpp"

namespace oneapi::relay {

// Several nodes on one database (REDIS_CONN_STRING): how this node counts a token's requests
// with the others and tells them what it learnt. Every member may be empty.
// 0 = admitted, else seconds to wait; an error means "count on this node" (Redis unavailable).
using SharedAcquire = std::function<boost::asio::awaitable<Result<int64_t>>(
    std::string_view kind, std::string_view key, int64_t limit, std::chrono::seconds window)>;

// GLOBAL_*_RATE_LIMIT for one request under `key`: 0 = admitted, else seconds to wait. Counted with
// the other nodes through `shared` when there is one and it answers, by `local` otherwise.
boost::asio::awaitable<int64_t> admit(RateLimiter& local, const SharedAcquire& shared, std::string_view kind,
                                      const std::string& key);

struct ClusterHooks {
  SharedAcquire shared_acquire;
  std::function<void(int64_t channel_id, std::chrono::seconds for_how_long)> channel_suspended;
  std::function<void()> catalog_changed;  // this node changed channels in the database
};

class Relay {
 public:
  Relay(CatalogHolder& catalog, store::StoreExecutor& store, net::HttpClient& client, RelayConfig config)
      : catalog_(catalog),
        store_(store),
        client_(client),
        config_(std::make_shared<const RelayConfig>(config)),
        token_limits_(config.token_rate_limit, config.token_rate_window),
        success_window_(config.metric_queue_size, config.metric_success_rate_threshold) {}

  // POST /v1/chat/completions, /v1/completions, /v1/embeddings; with a client format,
  // /v1/messages (Claude) and /v1/responses (served as chat completions).
  boost::asio::awaitable<void> handle(RelayMode mode, net::ServerRequest& req, net::ResponseWriter& writer,
                                      ClientFormat format = ClientFormat::openai);
  // POST /v1/messages/count_tokens: the local count of a Claude Messages request; nothing charged.
  boost::asio::awaitable<void> count_claude_tokens(net::ServerRequest& req, net::ResponseWriter& writer);
  // GET /v1/models and /v1/models/{id}
  boost::asio::awaitable<void> list_models(net::ServerRequest& req, net::ResponseWriter& writer);
  boost::asio::awaitable<void> get_model(const std::string& id, net::ServerRequest& req, net::ResponseWriter& writer);

  // GET /v1/dashboard/billing/subscription and /usage (also without /v1): One API's legacy
  // OpenAI shapes, so chat front ends show the balance of the key they hold.
  enum class BillingView { subscription, usage };
  boost::asio::awaitable<void> billing(BillingView view, net::ServerRequest& req, net::ResponseWriter& writer);
  // POST /api/token/consume (Laisky fork): the key's owner reports usage spent elsewhere,
  // {"add_used_quota": N, "add_reason": "..."}; charged to token and user and logged at once.
  boost::asio::awaitable<void> consume(net::ServerRequest& req, net::ResponseWriter& writer);

  // A reload (SIGHUP): requests from now on use `config`; those in flight keep theirs. The
  // success window's size and threshold stay as they were built.
  void reconfigure(const RelayConfig& config);

  // Before serving: the other nodes' share of rate limits, suspensions and channel changes.
  void set_cluster(ClusterHooks hooks) { cluster_ = std::move(hooks); }
  const ClusterHooks& cluster_hooks() const { return cluster_; }
  // Another node rested this channel: rest it here too, without telling anyone.
  void suspend_from_peer(int64_t channel_id, std::chrono::seconds for_how_long) {
    suspensions_.suspend(channel_id, for_how_long);
  }

  // For the metrics scrape: which channels rest now.
  const ChannelSuspensions& suspensions() const { return suspensions_; }

 private:
  void rest_channel(const ChannelInfo& channel, const Error& e);
  boost::asio::awaitable<Result<void>> check_token_rate(const RelayState& s);
  boost::asio::awaitable<void> disable_channel(const RelayState& s, const Error& e);
  // ENABLE_METRIC: one attempt's outcome; disables the channel when its window says so.
  boost::asio::awaitable<void> record_outcome(int64_t channel_id, bool success);

  CatalogHolder& catalog_;
  store::StoreExecutor& store_;
  net::HttpClient& client_;
  std::atomic<std::shared_ptr<const RelayConfig>> config_;
  TokenFlights flights_;  // owned here, used by the store threads
  TrustLedger trust_;     // likewise
  ChannelSuspensions suspensions_;
  RateLimiter token_limits_;                                // GLOBAL_RELAY_RATE_LIMIT, by token id
  RateLimiter channel_limits_{0, std::chrono::minutes(1)};  // each channel's own limit per minute
  SuccessWindow success_window_;
  ClusterHooks cluster_;
};

}  // namespace oneapi::relay
