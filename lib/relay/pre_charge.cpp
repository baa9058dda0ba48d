#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/util.hpp"
#include "relay/steps.hpp"

namespace oneapi::relay {

boost::asio::awaitable<Result<void>> pre_charge(RelayState& s, store::StoreExecutor& store) {
  store::PreChargeRequest r;
  r.token_id = s.token->id;
  r.user_id = s.user->id;
  const int64_t amount =
      billing::pre_charge_amount(s.price, s.catalog->pre_consumed_quota, s.prompt_tokens, s.max_tokens);
  r.amount = amount;
  r.pending.user_id = s.user->id;
  r.pending.token_id = s.token->id;
  r.pending.created_at = unix_now();
  r.pending.username = s.user->username;
  r.pending.token_name = s.token->name;
  r.pending.model_name = s.model;
  r.pending.channel_id = s.channel->channel.id;
  r.pending.request_id = s.request_id;
  r.pending.is_stream = s.stream;
  r.pending.content = "pending";
  TokenFlights* flights = s.flights;
  auto job = [r = std::move(r), flights](store::Store& db) mutable -> Result<int64_t> {
    r.others_in_flight = flights && flights->enter(r.token_id) > 0;
    auto id = db.pre_charge(r);
    if (!id && flights) flights->leave(r.token_id);
    return id;
  };
  // A pre-charge lost with its batch's commit is no request in flight.
  auto undo = [token_id = s.token->id, flights] {
    if (flights) flights->leave(token_id);
  };
  const store::StoreExecutor::LockOrder order{s.user->id, s.token->id};
  auto log_id = co_await store.run_batched(order, std::move(job), std::move(undo));
  if (!log_id) {
    // The database's own words (its address among them) go to the log, not to the client.
    if (log_id.error().retryable && log_id.error().kind == ErrorKind::unavailable) {
      spdlog::warn("request {}: pre-charge failed: {}", s.request_id, log_id.error().message);
      co_return Error::make(ErrorKind::unavailable, "the database is unavailable, please try again later",
                            "database_unavailable");
    }
    co_return log_id.error();
  }
  s.pre_charged = amount;
  s.log_id = *log_id;
  s.pre_charged_channel_id = s.channel->channel.id;
  co_return Result<void>{};
}

}  // namespace oneapi::relay
