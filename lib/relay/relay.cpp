// The request path, top to bottom: authenticate, parse, pick a channel, pre-charge, convert and
// send (retrying on another channel while nothing reached the client), stream back, settle, log.
#include "relay/relay.hpp"

#include <nlohmann/json.hpp>

#include "core/util.hpp"
#include "relay/channel_health.hpp"

namespace oneapi::relay {

RelayState start_state(RelayMode mode, std::shared_ptr<const Catalog> catalog) {
  RelayState s;
  s.request_id = new_request_id();
  s.started = std::chrono::steady_clock::now();
  s.mode = mode;
  s.catalog = std::move(catalog);
  return s;
}

boost::asio::awaitable<void> Relay::handle(RelayMode mode, net::ServerRequest& req, net::ResponseWriter& writer) {
  RelayState s = start_state(mode, catalog_.get());
  s.flights = &flights_;
  s.suspensions = &suspensions_;

  if (auto r = authenticate(s, req); !r) co_return co_await respond_error(s, writer, r.error());
  if (auto r = parse_request(s, req.body); !r) co_return co_await respond_error(s, writer, r.error());
  if (auto r = authorize_model(s); !r) co_return co_await respond_error(s, writer, r.error());

  auto channel = select_channel(s);
  if (!channel) co_return co_await respond_error(s, writer, channel.error());
  use_channel(s, *channel, req.path);

  if (auto r = co_await pre_charge(s, store_); !r) co_return co_await respond_error(s, writer, r.error());

  // One API's retry rule: RetryTimes more attempts on other channels for retryable errors;
  // never when the client pinned a channel. The failed attempts cost nothing.
  int retries_left = s.pinned_channel_id != 0 ? 0 : s.catalog->retry_times;
  for (;;) {
    auto upstream = co_await send_upstream(s, req.body, client_);
    if (upstream) {
      if (s.stream)
        co_await respond_stream(s, std::move(*upstream), writer, store_, config_);
      else
        co_await respond_whole(s, std::move(*upstream), writer, store_);
      co_return;
    }
    const Error& e = upstream.error();
    rest_channel(s.channel->channel.id, e);
    if (should_disable_channel(e) && s.catalog->option("AutomaticDisableChannelEnabled", "false") == "true") {
      const int64_t dead = s.channel->channel.id;
      std::string reason = "upstream answered " + std::to_string(e.status) + ": " + e.message;
      co_await auto_disable_channel(store_, catalog_, dead, std::move(reason));
    }
    if (retries_left-- > 0 && e.retryable) {
      if (auto next = select_channel(s)) {
        record(s, error_status(e), nullptr, &e);
        use_channel(s, *next, req.path);
        continue;
      }
    }
    co_await refund(s, store_, e);
    co_return co_await respond_error(s, writer, e);
  }
}

// A 429 or 5xx (or no answer at all) rests the channel: the upstream's Retry-After, else the
// configured time. Pinned requests still reach it.
void Relay::rest_channel(int64_t channel_id, const Error& e) {
  std::chrono::seconds rest{0};
  if (e.status == 429)
    rest = config_.suspend_after_429;
  else if (e.status >= 500 || e.kind == ErrorKind::upstream_timeout ||
           (e.kind == ErrorKind::upstream_error && e.status == 0))  // refused, reset, TLS failure
    rest = config_.suspend_after_5xx;
  else
    return;
  if (e.retry_after_seconds > 0) rest = std::chrono::seconds(e.retry_after_seconds);
  suspensions_.suspend(channel_id, rest);
}

namespace {
nlohmann::json model_object(const std::string& id, std::string_view owner) {
  return {{"id", id}, {"object", "model"}, {"created", 1626777600}, {"owned_by", owner}};
}

std::string owner_of(const Catalog& c, const std::string& group, const std::string& model) {
  const auto* routes = c.find_routes(group, model);
  if (routes && !routes->empty())
    if (const Adaptor* a = adaptor_for(routes->front().channel->channel.type)) return std::string(a->name());
  return "custom";
}

// Models this token may use: its allow-list if it has one, else every model of its group.
std::vector<std::string> visible_models(const RelayState& s) {
  if (!s.token->models.empty()) return split_csv(s.token->models);
  return s.catalog->models_for_group(s.user->group);
}
}  // namespace

boost::asio::awaitable<void> Relay::list_models(net::ServerRequest& req, net::ResponseWriter& writer) {
  RelayState s = start_state(RelayMode::chat_completions, catalog_.get());
  if (auto r = authenticate(s, req); !r) co_return co_await respond_error(s, writer, r.error());
  nlohmann::json data = nlohmann::json::array();
  for (const auto& m : visible_models(s)) data.push_back(model_object(m, owner_of(*s.catalog, s.user->group, m)));
  nlohmann::json body = {{"object", "list"}, {"data", std::move(data)}};
  co_await writer.send(200, base_headers(s, "application/json"), body.dump());
}

boost::asio::awaitable<void> Relay::get_model(const std::string& id, net::ServerRequest& req,
                                              net::ResponseWriter& writer) {
  RelayState s = start_state(RelayMode::chat_completions, catalog_.get());
  if (auto r = authenticate(s, req); !r) co_return co_await respond_error(s, writer, r.error());
  for (const auto& m : visible_models(s))
    if (m == id) {
      co_await writer.send(200, base_headers(s, "application/json"),
                           model_object(m, owner_of(*s.catalog, s.user->group, m)).dump());
      co_return;
    }
  Error e = Error::make(ErrorKind::not_found, "The model '" + id + "' does not exist", "model_not_found");
  co_await respond_error(s, writer, e);
}

}  // namespace oneapi::relay
