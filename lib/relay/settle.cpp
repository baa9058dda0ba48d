#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <utility>

#include "relay/steps.hpp"
#include "tokenizer/tokenizer.hpp"

namespace oneapi::relay {

// 100 ms doubling: about 6 s of waiting in all.
constexpr int kSettleAttempts = 7;

int64_t elapsed_ms(const RelayState& s) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - s.started).count();
}

Usage usage_or_estimate(const RelayState& s, const std::optional<Usage>& reported, const std::string& completion_text) {
  if (usage_counts(reported)) return *reported;
  Usage u;
  u.prompt_tokens = s.prompt_tokens;
  u.completion_tokens =
      s.mode == RelayMode::embeddings ? 0 : tokenizer::count_text_tokens(s.model, completion_text, token_counting(s));
  u.total_tokens = u.prompt_tokens + u.completion_tokens;
  return u;
}

namespace {

// One API's note on the log row. Formatted once per price: most requests repeat the last one.
const std::string& price_note(const billing::Price& price, bool cached) {
  struct Note {
    double model = -1, completion = -1, group = -1, cached_input = -1;
    bool cached = false;
    std::string text;
  };
  thread_local Note last;
  if (last.model == price.model_ratio && last.completion == price.completion_ratio && last.group == price.group_ratio &&
      last.cached == cached && (!cached || last.cached_input == price.cached_input_ratio))
    return last.text;
  char content[200];
  int n = std::snprintf(content, sizeof content, "model ratio %.4g, completion ratio %.4g, group ratio %.4g",
                        price.model_ratio, price.completion_ratio, price.group_ratio);
  if (cached && n > 0 && static_cast<size_t>(n) < sizeof content)
    std::snprintf(content + n, sizeof content - static_cast<size_t>(n), ", cached input ratio %.4g",
                  price.cached_input_ratio);
  last = Note{price.model_ratio, price.completion_ratio, price.group_ratio, price.cached_input_ratio, cached, content};
  return last.text;
}

}  // namespace

boost::asio::awaitable<Result<void>> settle(RelayState& s, store::StoreExecutor& store, const Usage& usage) {
  store::Settlement st;
  st.log_id = s.log_id;
  st.token_id = s.token->id;
  st.user_id = s.user->id;
  st.channel_id = s.channel->channel.id;
  st.same_model_and_channel = st.channel_id == s.pre_charged_channel_id;  // s.model never changes
  st.pre_charged = s.pre_charged;
  st.quota =
      billing::quota_for_usage(s.price, usage.prompt_tokens, usage.completion_tokens, usage.cached_prompt_tokens);
  st.prompt_tokens = usage.prompt_tokens;
  st.completion_tokens = usage.completion_tokens;
  st.cached_prompt_tokens = usage.cached_prompt_tokens;
  st.elapsed_ms = elapsed_ms(s);
  st.is_stream = s.stream;
  st.system_prompt_reset = s.system_prompt_reset;
  st.model_name = s.model;
  st.content = price_note(s.price, usage.cached_prompt_tokens > 0);
  const int64_t quota = st.quota;
  // A database that is briefly away (a server restart, a lost connection) gets a few seconds:
  // settling is idempotent (it only turns a provisional row), and the answer is already paid for
  // upstream. The in-flight count drops once, whichever attempt runs first.
  auto counted = std::make_shared<bool>(false);
  Result<void> r;  // the loop below runs at least once
  auto wait = std::chrono::milliseconds(100);
  const store::StoreExecutor::LockOrder order{s.user->id, s.token->id};
  if (s.trusted_at != 0) st.trusted_row = starting_row(s, std::exchange(s.trusted_at, 0));
  for (int attempt = 0;; ++attempt) {
    st.retried = attempt > 0;
    auto job = [st, flights = s.flights, counted](store::Store& db) {
      auto settled = db.settle(st);
      if (flights && !*counted) flights->leave(st.token_id);
      *counted = true;
      return settled;
    };
    // Lost with its batch's commit, the request is over all the same: its row stays provisional
    // and is refunded at this node's next start (a trusted one reserved nothing, and is not billed).
    auto undo = [] {};
    r = co_await store.run_batched(order, std::move(job), std::move(undo));
    if (r || !r.error().retryable || attempt == kSettleAttempts - 1) break;
    spdlog::warn("request {}: settling the bill failed, retrying in {} ms: {}", s.request_id, wait.count(),
                 r.error().message);
    boost::asio::steady_timer backoff(co_await boost::asio::this_coro::executor, wait);
    co_await backoff.async_wait(boost::asio::use_awaitable);
    wait *= 2;
  }
  s.log_id = 0;
  if (!r) {
    spdlog::error("request {}: settling the bill failed: {}", s.request_id, r.error().message);
    if (s.trust) s.trust->writes_failed();
    co_return r;
  }
  if (s.trust) {
    s.trust->writes_succeeded();
    // Before the request's hold is released: what it took is counted at least once.
    s.trust->spent(s.user->id, s.token->id, quota - st.pre_charged);
  }
  s.billed_prompt_tokens = usage.prompt_tokens;
  s.billed_completion_tokens = usage.completion_tokens;
  s.billed_quota = quota;
  co_return r;
}

Error settle_failed(const Error& why) {
  Error e = Error::make(
      why.retryable ? ErrorKind::unavailable : ErrorKind::internal,
      why.retryable ? "failed to record the request: the database is unavailable" : "failed to record the request",
      "settle_failed");
  return e;
}

boost::asio::awaitable<void> refund(RelayState& s, store::StoreExecutor& store, const Error& why) {
  if (s.log_id == 0 && s.trusted_at == 0) co_return;
  store::Refund rf;
  if (s.trusted_at != 0) rf.trusted_row = starting_row(s, std::exchange(s.trusted_at, 0));
  rf.log_id = s.log_id;
  rf.token_id = s.token->id;
  rf.user_id = s.user->id;
  rf.channel_id = s.channel ? s.channel->channel.id : 0;
  rf.pre_charged = s.pre_charged;
  rf.elapsed_ms = elapsed_ms(s);
  rf.content = "refunded: " + why.message;
  auto counted = std::make_shared<bool>(false);  // its batch may run it twice
  auto job = [rf = std::move(rf), flights = s.flights, counted](store::Store& db) {
    auto refunded = db.refund(rf);
    if (flights && !std::exchange(*counted, true)) flights->leave(rf.token_id);
    return refunded;
  };
  auto undo = [] {};
  const store::StoreExecutor::LockOrder order{s.user->id, s.token->id};
  auto r = co_await store.run_batched(order, std::move(job), std::move(undo));
  if (!r) spdlog::error("request {}: refund failed: {}", s.request_id, r.error().message);
  s.log_id = 0;
}

}  // namespace oneapi::relay
