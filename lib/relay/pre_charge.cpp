#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "core/util.hpp"
#include "relay/steps.hpp"

namespace oneapi::relay {

store::Log starting_row(const RelayState& s, int64_t created_at) {
  store::Log row;
  row.user_id = s.user->id;
  row.token_id = s.token->id;
  row.created_at = created_at;
  row.username = s.user->username;
  row.token_name = s.token->name;
  row.model_name = s.model;
  row.channel_id = s.channel->channel.id;
  row.request_id = s.request_id;
  row.is_stream = s.stream;
  row.content = "pending";
  return row;
}

namespace {

// A trusted request: its amount held on this node (by `ledger`), nothing written until it ends.
void hold_trusted(RelayState& s, TrustLedger* ledger, int64_t amount, int64_t now) {
  s.trust_hold = TrustHold(ledger, s.user->id, s.token->id, amount);
  s.trusted_at = now;
  s.pre_charged_channel_id = s.channel->channel.id;
}

int64_t pre_charge_amount(const RelayState& s) {
  return billing::pre_charge_amount(s.price, s.catalog->pre_consumed_quota, s.prompt_tokens, s.max_tokens);
}

}  // namespace

bool pre_charge_here(RelayState& s) {
  const int64_t amount = pre_charge_amount(s);
  if (!s.trust || !s.trust->try_hold_seen(s.user->id, s.token->id, amount, s.catalog->serial)) return false;
  if (s.flights) s.flights->enter(s.token->id);
  hold_trusted(s, s.trust, amount, unix_now());
  return true;
}

boost::asio::awaitable<Result<void>> pre_charge(RelayState& s, store::StoreExecutor& store) {
  const int64_t amount = pre_charge_amount(s);
  const int64_t now = unix_now();
  TokenFlights* flights = s.flights;
  TrustLedger* ledger = s.trust;
  const uint64_t catalog = s.catalog->serial;

  store::PreChargeRequest r;
  r.token_id = s.token->id;
  r.user_id = s.user->id;
  r.amount = amount;
  r.pending = starting_row(s, now);
  // Set on the store thread when the ledger holds the amount; read here once the job is back.
  auto held = std::make_shared<bool>(false);
  auto job = [r = std::move(r), flights, ledger, held, catalog](store::Store& db) mutable -> Result<int64_t> {
    r.others_in_flight = flights && flights->enter(r.token_id) > 0;
    std::optional<TrustLedger::Capture> capture;
    if (ledger) {
      capture = ledger->begin_capture(r.user_id, r.token_id, catalog);
      r.trust = [ledger, held, &capture, user_id = r.user_id, token_id = r.token_id, amount = r.amount](
                    int64_t user_quota, int64_t token_remain, bool token_unlimited) {
        *held = ledger->try_hold(user_id, token_id, amount, user_quota, token_remain, token_unlimited, &*capture);
        return *held;
      };
    }
    auto id = db.pre_charge(r);
    r.trust = nullptr;  // it refers to `capture`
    if (capture) ledger->end_capture(*capture);
    if (!id && flights) flights->leave(r.token_id);
    return id;
  };
  // A pre-charge lost with its batch's commit is no request in flight, and holds nothing; what it
  // read may have counted the batch's other work, so it is read again.
  auto undo = [user_id = s.user->id, token_id = s.token->id, amount, flights, ledger, held] {
    if (flights) flights->leave(token_id);
    if (ledger) ledger->forget(user_id, token_id);
    if (*held) ledger->release(user_id, token_id, amount);
  };
  const store::StoreExecutor::LockOrder order{s.user->id, s.token->id};
  auto log_id = co_await store.run_batched(order, std::move(job), std::move(undo));
  if (!log_id) {
    if (ledger && (log_id.error().kind == ErrorKind::unavailable || log_id.error().kind == ErrorKind::internal))
      ledger->writes_failed();
    // The database's own words (its address among them) go to the log, not to the client.
    if (log_id.error().retryable && log_id.error().kind == ErrorKind::unavailable) {
      spdlog::warn("request {}: pre-charge failed: {}", s.request_id, log_id.error().message);
      co_return Error::make(ErrorKind::unavailable, "the database is unavailable, please try again later",
                            "database_unavailable");
    }
    co_return log_id.error();
  }
  if (*log_id == 0) {  // trusted: held on this node, nothing written
    hold_trusted(s, ledger, amount, now);
    co_return Result<void>{};
  }
  if (ledger) {
    ledger->writes_succeeded();
    ledger->spent(s.user->id, s.token->id, amount);  // reserved in the database
  }
  s.pre_charged = amount;
  s.log_id = *log_id;
  s.pre_charged_channel_id = s.channel->channel.id;
  co_return Result<void>{};
}

}  // namespace oneapi::relay
