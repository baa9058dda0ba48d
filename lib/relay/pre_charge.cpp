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
  auto log_id = co_await store.run([r = std::move(r)](store::Store& db) { return db.pre_charge(r); });
  if (!log_id) co_return log_id.error();
  s.pre_charged = amount;
  s.log_id = *log_id;
  co_return Result<void>{};
}

}  // namespace oneapi::relay
