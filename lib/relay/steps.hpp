#pragma once
// The steps of one relayed request, in the order relay.cpp calls them. Each lives in its own file.
#include <algorithm>
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "billing/quota.hpp"
#include "core/rate_limiter.hpp"
#include "core/result.hpp"
#include "metrics/metrics.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "relay/adaptor.hpp"
#include "relay/catalog.hpp"
#include "relay/suspensions.hpp"
#include "store/executor.hpp"
#include "tokenizer/tokenizer.hpp"

namespace oneapi::relay {

struct RelayConfig {
  std::chrono::milliseconds stream_idle_timeout{300'000};
  // How long a channel rests after a 429 or a 5xx (or a transport failure) when the upstream
  // sent no Retry-After (CHANNEL_SUSPEND_SECONDS_FOR_429 / _5XX; 0 = never).
  std::chrono::seconds suspend_after_429{60};
  std::chrono::seconds suspend_after_5xx{30};
  // After a 401 or 403 from a channel with one key (CHANNEL_SUSPEND_SECONDS_FOR_AUTH, the Laisky
  // fork's). A channel with several keys keeps serving with the others.
  std::chrono::seconds suspend_after_auth{60};
  // GLOBAL_RELAY_RATE_LIMIT requests per GLOBAL_RELAY_RATE_LIMIT_DURATION seconds per token (the
  // Laisky fork's default 480 per 180 s); 0 = none.
  int64_t token_rate_limit = 480;
  std::chrono::seconds token_rate_window{180};
  // ENABLE_METRIC, METRIC_QUEUE_SIZE, METRIC_SUCCESS_RATE_THRESHOLD (One API's defaults).
  bool metric_enabled = false;
  size_t metric_queue_size = 10;
  double metric_success_rate_threshold = 0.8;
  // One API's trust rule (TrustLedger): on with SQLite, where this node sees every request of a
  // token. Nodes sharing a server database reserve in it, since none sees what the others hold.
  bool trust_rule = false;
  // ENFORCE_INCLUDE_USAGE (the Laisky fork's, default true): streams sent in OpenAI's format ask
  // the upstream for usage. Off, the gateway adds no stream_options (for upstreams that refuse
  // them), and a stream without usage is billed by the local count.
  bool enforce_include_usage = true;
};

// Requests in flight per token on this node (see PreChargeRequest::others_in_flight). Used from
// every store thread of a pool.
class TokenFlights {
 public:
  // Counts one more; returns how many were in flight before it.
  int enter(int64_t token_id) {
    std::lock_guard lock(mutex_);
    return in_flight_[token_id]++;
  }
  void leave(int64_t token_id) {
    std::lock_guard lock(mutex_);
    auto it = in_flight_.find(token_id);
    if (it != in_flight_.end() && --it->second <= 0) in_flight_.erase(it);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<int64_t, int> in_flight_;
};

// What this node's trusted requests (One API's trust rule) hold in flight, by user and by token.
// The database does not know of them, so trust counts them against the balances it reads.
//
// It also remembers the balances a trusted pre-charge read (`Seen`), so that the next requests of
// the same user and token are trusted without a trip to the store thread: for kSeenFor, under the
// catalog they were read under (an admin change reloads it), less what this node spent since the
// read. A refund is not added back (the safe side); anything else falls back to reading.
class TrustLedger {
 public:
  static constexpr std::chrono::milliseconds kSeenFor{1000};

  // A pre-charge read in progress: what had been spent when it began.
  struct Capture {
    int64_t user_id = 0, token_id = 0;
    int64_t user_spent = 0, token_spent = 0;
    uint64_t catalog = 0;
  };

  // Under one lock (store threads of a pool race here): trusted when the balances the database
  // has now, less what this node's trusted requests hold, exceed 100 × amount; then it is held,
  // and the balances are remembered for the capture's user and token.
  bool try_hold(int64_t user_id, int64_t token_id, int64_t amount, int64_t user_quota, int64_t token_remain,
                bool token_unlimited, const Capture* capture = nullptr) {
    if (writes_failing_.load(std::memory_order_relaxed)) return false;
    std::lock_guard lock(mutex_);
    if (!hold_if_over_line(user_id, token_id, amount, user_quota, token_remain, token_unlimited)) return false;
    if (capture) {
      const auto now = std::chrono::steady_clock::now();
      remember(seen_users_, user_id, user_quota, false, capture->user_spent, capture->catalog, now);
      remember(seen_tokens_, token_id, token_remain, token_unlimited, capture->token_spent, capture->catalog, now);
    }
    return true;
  }

  // Before a pre-charge reads the balances; end_capture after it, whatever it found.
  Capture begin_capture(int64_t user_id, int64_t token_id, uint64_t catalog) {
    std::lock_guard lock(mutex_);
    if (++captures_begun_ % 1024 == 0) sweep(std::chrono::steady_clock::now());
    Seen& u = seen_users_[user_id];
    Seen& t = seen_tokens_[token_id];
    ++u.captures;
    ++t.captures;
    return Capture{user_id, token_id, u.spent, t.spent, catalog};
  }
  void end_capture(const Capture& c) {
    std::lock_guard lock(mutex_);
    release_capture(seen_users_, c.user_id);
    release_capture(seen_tokens_, c.token_id);
  }

  // Trusted from the remembered balances, without the database; false when there are none, or
  // they are stale, or trust would not hold. Held like try_hold when true.
  bool try_hold_seen(int64_t user_id, int64_t token_id, int64_t amount, uint64_t catalog) {
    if (writes_failing_.load(std::memory_order_relaxed)) return false;
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    auto u = seen_users_.find(user_id);
    auto t = seen_tokens_.find(token_id);
    if (u == seen_users_.end() || t == seen_tokens_.end()) return false;
    const bool fresh_u = fresh(u->second, catalog, now), fresh_t = fresh(t->second, catalog, now);
    if (!fresh_u || !fresh_t) {
      if (!fresh_u) forget(seen_users_, u);
      if (!fresh_t) forget(seen_tokens_, t);
      return false;
    }
    return hold_if_over_line(user_id, token_id, amount, u->second.estimate(), t->second.estimate(),
                             t->second.unlimited);
  }

  // What this node took from a user's and a token's balances in the database (a settle, a
  // reservation), once it is committed.
  void spent(int64_t user_id, int64_t token_id, int64_t amount) {
    if (amount <= 0) return;
    std::lock_guard lock(mutex_);
    if (auto u = seen_users_.find(user_id); u != seen_users_.end()) u->second.spent += amount;
    if (auto t = seen_tokens_.find(token_id); t != seen_tokens_.end()) t->second.spent += amount;
  }

  // Whatever was remembered of this user and token is read again next time.
  void forget(int64_t user_id, int64_t token_id) {
    std::lock_guard lock(mutex_);
    if (auto u = seen_users_.find(user_id); u != seen_users_.end()) forget(seen_users_, u);
    if (auto t = seen_tokens_.find(token_id); t != seen_tokens_.end()) forget(seen_tokens_, t);
  }

  // While the database refuses writes (a full disk), nothing is trusted: a trusted request would
  // be served and then fail to be billed, where a reservation is refused before the upstream runs.
  void writes_failed() { writes_failing_.store(true, std::memory_order_relaxed); }
  void writes_succeeded() {
    if (writes_failing_.load(std::memory_order_relaxed)) writes_failing_.store(false, std::memory_order_relaxed);
  }
  void release(int64_t user_id, int64_t token_id, int64_t amount) {
    std::lock_guard lock(mutex_);
    drop(by_user_, user_id, amount);
    drop(by_token_, token_id, amount);
  }

 private:
  using Holdings = std::unordered_map<int64_t, int64_t>;
  struct Seen {
    int64_t spent = 0;  // by this node while the entry lives; only grows
    int captures = 0;   // pre-charge reads in progress
    bool known = false;
    int64_t balance = 0;  // as read
    bool unlimited = false;
    int64_t spent_at_read = 0;
    uint64_t catalog = 0;
    std::chrono::steady_clock::time_point read_at;
    int64_t estimate() const { return balance - (spent - spent_at_read); }
  };
  using SeenMap = std::unordered_map<int64_t, Seen>;

  // Under mutex_: One API's line, balances less what is held above 100 × amount; then held.
  bool hold_if_over_line(int64_t user_id, int64_t token_id, int64_t amount, int64_t user_balance, int64_t token_balance,
                         bool token_unlimited) {
    const int64_t line = 100 * std::max<int64_t>(amount, 1);
    if (user_balance - held(by_user_, user_id) <= line) return false;
    if (!token_unlimited && token_balance - held(by_token_, token_id) <= line) return false;
    by_user_[user_id] += amount;
    by_token_[token_id] += amount;
    return true;
  }

  static int64_t held(const Holdings& h, int64_t id) {
    auto it = h.find(id);
    return it == h.end() ? 0 : it->second;
  }
  static void drop(Holdings& h, int64_t id, int64_t amount) {
    auto it = h.find(id);
    if (it != h.end() && (it->second -= amount) <= 0) h.erase(it);
  }
  static void remember(SeenMap& m, int64_t id, int64_t balance, bool unlimited, int64_t spent_at_read, uint64_t catalog,
                       std::chrono::steady_clock::time_point now) {
    auto it = m.find(id);
    if (it == m.end()) return;  // only a capture in progress has an entry to fill
    Seen& s = it->second;
    s.known = true;
    s.balance = balance;
    s.unlimited = unlimited;
    s.spent_at_read = spent_at_read;
    s.catalog = catalog;
    s.read_at = now;
  }
  static bool fresh(const Seen& s, uint64_t catalog, std::chrono::steady_clock::time_point now) {
    return s.known && s.catalog == catalog && now - s.read_at < kSeenFor;
  }
  static void forget(SeenMap& m, SeenMap::iterator it) {
    if (it->second.captures > 0)
      it->second.known = false;  // its spending still counts for the read in progress
    else
      m.erase(it);
  }
  // Users and tokens not seen lately take no memory.
  void sweep(std::chrono::steady_clock::time_point now) {
    for (SeenMap* m : {&seen_users_, &seen_tokens_})
      std::erase_if(*m, [&](const auto& kv) { return kv.second.captures == 0 && now - kv.second.read_at >= kSeenFor; });
  }
  static void release_capture(SeenMap& m, int64_t id) {
    auto it = m.find(id);
    if (it == m.end()) return;
    if (--it->second.captures <= 0 && !it->second.known) m.erase(it);
  }

  std::mutex mutex_;
  Holdings by_user_, by_token_;
  SeenMap seen_users_, seen_tokens_;
  uint64_t captures_begun_ = 0;
  std::atomic<bool> writes_failing_{false};
};

// A trusted request's hold, given back when the request ends however it ends (after settle has
// written the charge, so for a moment it counts twice: the safe side).
class TrustHold {
 public:
  TrustHold() = default;
  TrustHold(TrustLedger* ledger, int64_t user_id, int64_t token_id, int64_t amount)
      : ledger_(ledger), user_id_(user_id), token_id_(token_id), amount_(amount) {}
  TrustHold(TrustHold&& o) noexcept { *this = std::move(o); }
  TrustHold& operator=(TrustHold&& o) noexcept {
    if (this != &o) {
      reset();
      ledger_ = std::exchange(o.ledger_, nullptr);
      user_id_ = o.user_id_;
      token_id_ = o.token_id_;
      amount_ = o.amount_;
    }
    return *this;
  }
  ~TrustHold() { reset(); }
  void reset() {
    if (ledger_) std::exchange(ledger_, nullptr)->release(user_id_, token_id_, amount_);
  }

 private:
  TrustLedger* ledger_ = nullptr;
  int64_t user_id_ = 0, token_id_ = 0, amount_ = 0;
};

// Everything one request carries from step to step (One API's `meta`).
struct RelayState {
  std::string request_id;
  std::chrono::steady_clock::time_point started;
  RelayMode mode = RelayMode::chat_completions;
  metrics::Route route = metrics::Route::chat_completions;
  std::shared_ptr<const Catalog> catalog;
  // The client's API format; when not openai, `bridge` converts and `client_body` keeps the
  // request as the client sent it (for channels that take it as is).
  ClientFormat format = ClientFormat::openai;
  const FormatBridge* bridge = nullptr;
  net::Headers client_headers;  // the format's own headers, forwarded on pass-through

  // authenticate
  const store::Token* token = nullptr;
  const store::User* user = nullptr;
  int64_t pinned_channel_id = 0;

  // parse_request
  nlohmann::json body;  // always an OpenAI body (converted from client_body for other formats)
  nlohmann::json client_body;
  std::string chat_raw;  // body serialised, when it was converted
  // What the conversion left out; sending to a channel that does not speak the format fails with it.
  std::optional<Error> needs_native;
  std::string model;
  bool stream = false;
  bool client_wants_usage = false;
  bool enforce_include_usage = true;  // RelayConfig's, for this request
  int64_t max_tokens = 0;
  int64_t prompt_tokens = 0;  // local estimate

  // select_channel / convert
  const ChannelInfo* channel = nullptr;
  std::vector<int64_t> tried_channels;
  const ChannelSuspensions* suspensions = nullptr;
  RateLimiter* channel_limits = nullptr;  // per-channel requests per minute
  billing::Price price;
  AdaptorContext adaptor_ctx;
  bool system_prompt_reset = false;  // the channel's prompt replaced the client's

  // pre_charge
  TokenFlights* flights = nullptr;
  int64_t pre_charged = 0;
  int64_t log_id = 0;
  int64_t pre_charged_channel_id = 0;  // the channel the provisional row names
  TrustLedger* trust = nullptr;
  // Trusted (One API's trust rule): when (unix time). No provisional row: settle or refund writes
  // the row, made then from this state (a held stream keeps no copy of it).
  int64_t trusted_at = 0;
  TrustHold trust_hold;

  // metrics: time spent waiting on the upstream (response heads and bodies), and what settle charged
  std::chrono::nanoseconds upstream_wait{0};
  int64_t billed_prompt_tokens = 0;
  int64_t billed_completion_tokens = 0;
  int64_t billed_quota = 0;
};

// 1. The API key: token status, expiry, subnet, and its user. 401 / 403 errors.
Result<void> authenticate(RelayState& s, const net::ServerRequest& req);
// 2. The body: model, stream flags, max_tokens, local prompt count. 400 errors.
Result<void> parse_request(RelayState& s, const std::string& raw_body);
// 3. May this token use the model? 403.
Result<void> authorize_model(const RelayState& s);
// 4. A channel for (group, model): highest priority tier, weighted random; skips tried ones,
// resting ones and those at their own rate limit (counting the request against the one chosen).
Result<const ChannelInfo*> select_channel(const RelayState& s);
void use_channel(RelayState& s, const ChannelInfo* channel, const std::string& request_path);
// 5. Trusted on the balances a recent pre-charge read: the amount held on this node, without the
// store. Most requests end here, and a plain function costs no coroutine frame.
bool pre_charge_here(RelayState& s);
// 5b. When pre_charge_here did not hold it: reserve quota and write the provisional log row, in
// one transaction; or, trusted on the balances read there, hold it on this node and write nothing.
boost::asio::awaitable<Result<void>> pre_charge(RelayState& s, store::StoreExecutor& store);
// The request's log row as it starts: provisional until settled, or a trusted request's only row.
store::Log starting_row(const RelayState& s, int64_t created_at);
// 6a. The channel's forced system prompt: the body to send instead of the client's, or nullopt.
std::optional<nlohmann::json> apply_system_prompt(RelayState& s);
// 6. Convert and send; on an upstream error status, the error (with retryable set).
boost::asio::awaitable<Result<std::unique_ptr<net::ClientResponse>>> send_upstream(RelayState& s,
                                                                                   const std::string& raw_body,
                                                                                   net::HttpClient& client);
// 7. Relay the answer to the client (whole or streamed), settling before the last bytes.
boost::asio::awaitable<void> respond_whole(RelayState& s, std::unique_ptr<net::ClientResponse> upstream,
                                           net::ResponseWriter& writer, store::StoreExecutor& store);
boost::asio::awaitable<void> respond_stream(RelayState& s, std::unique_ptr<net::ClientResponse> upstream,
                                            net::ResponseWriter& writer, store::StoreExecutor& store,
                                            const RelayConfig& config);
// 8. Settle the exact cost (or refund) in one transaction with the log row.
boost::asio::awaitable<Result<void>> settle(RelayState& s, store::StoreExecutor& store, const Usage& usage);
// What the client hears when its answer could not be billed (and so is withheld): 503 while the
// database is unavailable, 500 otherwise; never the database's own message.
Error settle_failed(const Error& why);
boost::asio::awaitable<void> refund(RelayState& s, store::StoreExecutor& store, const Error& why);
// 9. One log line per request, no secrets, and its metrics. An attempt that is retried on another
// channel is logged but not counted as a request (final = false).
void record(const RelayState& s, int status, const Usage* usage, const Error* error, bool final = true);
// The metrics half of record, for answers that write no log line (model lists, balances).
void count_request(const RelayState& s, int status);

// Shared helpers.
RelayState start_state(RelayMode mode, std::shared_ptr<const Catalog> catalog,
                       ClientFormat format = ClientFormat::openai);
net::Headers base_headers(const RelayState& s, std::string_view content_type);
boost::asio::awaitable<void> respond_error(RelayState& s, net::ResponseWriter& writer, const Error& e);
Usage usage_or_estimate(const RelayState& s, const std::optional<Usage>& reported, const std::string& completion_text);
int64_t elapsed_ms(const RelayState& s);
// How this request's local token counts are made (the ApproximateTokenEnabled option).
inline tokenizer::Counting token_counting(const RelayState& s) {
  return s.catalog && s.catalog->approximate_tokens ? tokenizer::Counting::approximate : tokenizer::Counting::tiktoken;
}

}  // namespace oneapi::relay
