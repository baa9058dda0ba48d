// The request path, top to bottom: authenticate, parse, pick a channel, pre-charge, convert and
// send (retrying on another channel while nothing reached the client), stream back, settle, log.
#include "relay/relay.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "core/util.hpp"
#include "relay/channel_health.hpp"
#include "relay/formats/claude_messages.hpp"
#include "tokenizer/tokenizer.hpp"

namespace oneapi::relay {

RelayState start_state(RelayMode mode, std::shared_ptr<const Catalog> catalog, ClientFormat format) {
  RelayState s;
  s.request_id = new_request_id();
  s.started = std::chrono::steady_clock::now();
  s.mode = mode;
  s.route = mode == RelayMode::completions  ? metrics::Route::completions
            : mode == RelayMode::embeddings ? metrics::Route::embeddings
                                            : metrics::Route::chat_completions;
  if (format == ClientFormat::claude_messages) s.route = metrics::Route::messages;
  if (format == ClientFormat::responses) s.route = metrics::Route::responses;
  s.format = format;
  s.bridge = bridge_for(format);
  s.catalog = std::move(catalog);
  return s;
}

boost::asio::awaitable<void> Relay::handle(RelayMode mode, net::ServerRequest& req, net::ResponseWriter& writer,
                                           ClientFormat format) {
  RelayState s = start_state(mode, catalog_.get(), format);
  const std::shared_ptr<const RelayConfig> config = config_.load();
  if (format == ClientFormat::claude_messages)
    for (const char* name : {"anthropic-version", "anthropic-beta"})
      if (std::string_view v = req.header(name); !v.empty()) s.client_headers.push_back({name, std::string(v)});
  s.flights = &flights_;
  s.trust = config->trust_rule ? &trust_ : nullptr;
  s.enforce_include_usage = config->enforce_include_usage;
  s.suspensions = &suspensions_;
  s.channel_limits = &channel_limits_;

  if (auto r = authenticate(s, req); !r) co_return co_await respond_error(s, writer, r.error());
  // Plain checks in front of the steps that are coroutines: a frame each, usually for nothing.
  if (token_limits_.enabled())
    if (auto r = co_await check_token_rate(s); !r) co_return co_await respond_error(s, writer, r.error());
  if (auto r = parse_request(s, req.body); !r) co_return co_await respond_error(s, writer, r.error());
  if (auto r = authorize_model(s); !r) co_return co_await respond_error(s, writer, r.error());

  auto channel = select_channel(s);
  if (!channel) co_return co_await respond_error(s, writer, channel.error());
  use_channel(s, *channel, req.path);

  if (!pre_charge_here(s))
    if (auto r = co_await pre_charge(s, store_); !r) co_return co_await respond_error(s, writer, r.error());

  // One API's retry rule: RetryTimes more attempts on other channels for retryable errors;
  // never when the client pinned a channel. The failed attempts cost nothing.
  int retries_left = s.pinned_channel_id != 0 ? 0 : s.catalog->retry_times;
  for (;;) {
    auto upstream = co_await send_upstream(s, req.body, client_);
    // A request the upstream refused as bad (400) says nothing about the channel's health.
    const bool counts = upstream || upstream.error().retryable || should_disable_channel(upstream.error());
    if (config->metric_enabled && counts) co_await record_outcome(s.channel->channel.id, upstream.has_value());
    if (upstream) {
      if (s.stream) {
        // No retry will send the request again: a stream held for minutes keeps none of its prompt
        // (the client's bytes, their parse, their conversion), often the largest thing it has.
        std::string().swap(req.body);
        s.body = nlohmann::json();
        std::string().swap(s.chat_raw);
        co_await respond_stream(s, std::move(*upstream), writer, store_, *config);
      } else {
        co_await respond_whole(s, std::move(*upstream), writer, store_);
      }
      co_return;
    }
    const Error& e = upstream.error();
    rest_channel(*s.channel, e);
    if (should_disable_channel(e) && s.catalog->option("AutomaticDisableChannelEnabled", "false") == "true")
      co_await disable_channel(s, e);
    if (retries_left-- > 0 && e.retryable) {
      if (auto next = select_channel(s)) {
        record(s, error_status(e), nullptr, &e, false);
        use_channel(s, *next, req.path);
        continue;
      }
    }
    co_await refund(s, store_, e);
    co_return co_await respond_error(s, writer, e);
  }
}

void Relay::reconfigure(const RelayConfig& config) {
  config_.store(std::make_shared<const RelayConfig>(config));
  token_limits_.reconfigure(config.token_rate_limit, config.token_rate_window);
}

boost::asio::awaitable<void> Relay::disable_channel(const RelayState& s, const Error& e) {
  std::string reason = "upstream answered " + std::to_string(e.status) + ": " + e.message;
  // A channel with other keys left loses only the key the upstream rejected.
  bool changed = false;
  if (s.channel->keyed.size() > 1)
    changed = co_await auto_disable_channel_key(store_, catalog_, s.channel->channel, s.adaptor_ctx.channel->key,
                                                std::move(reason));
  else
    changed = co_await auto_disable_channel(store_, catalog_, s.channel->channel.id, std::move(reason));
  if (changed && cluster_.catalog_changed) cluster_.catalog_changed();
}

boost::asio::awaitable<int64_t> admit(RateLimiter& local, const SharedAcquire& shared, std::string_view kind,
                                      const std::string& key) {
  if (!local.enabled()) co_return 0;
  if (shared) {
    auto counted = co_await shared(kind, key, local.limit(), local.window());
    if (counted) co_return *counted;
  }
  co_return local.acquire(key);
}

boost::asio::awaitable<Result<void>> Relay::check_token_rate(const RelayState& s) {
  const std::string key = std::to_string(s.token->id);  // named: no class temporary inside co_await (g++ 12)
  const int64_t wait = co_await admit(token_limits_, cluster_.shared_acquire, "relay", key);
  if (wait == 0) co_return Result<void>{};
  Error e = Error::make(ErrorKind::rate_limited,
                        "too many requests with this token: at most " + std::to_string(token_limits_.limit()) +
                            " per " + std::to_string(token_limits_.window().count()) +
                            " s (GLOBAL_RELAY_RATE_LIMIT); retry in " + std::to_string(wait) + " s",
                        "rate_limit_exceeded");
  e.retry_after_seconds = static_cast<int>(wait);
  co_return e;
}

boost::asio::awaitable<void> Relay::record_outcome(int64_t channel_id, bool success) {
  if (!success_window_.record(channel_id, success)) co_return;
  char why[160];
  std::snprintf(why, sizeof why, "success rate below %.0f%% over the last %zu requests (ENABLE_METRIC)",
                success_window_.threshold() * 100, success_window_.size());
  std::string reason = why;
  const bool changed = co_await auto_disable_channel(store_, catalog_, channel_id, std::move(reason));
  if (changed && cluster_.catalog_changed) cluster_.catalog_changed();
}

// A 429 or 5xx (or no answer at all), or a single key's 401 or 403, rests the channel: the
// upstream's Retry-After, else the configured time. Pinned requests still reach it.
void Relay::rest_channel(const ChannelInfo& channel, const Error& e) {
  const int64_t channel_id = channel.channel.id;
  const std::shared_ptr<const RelayConfig> config = config_.load();
  std::chrono::seconds rest{0};
  if (e.status == 429)
    rest = config->suspend_after_429;
  else if (e.status >= 500 || e.kind == ErrorKind::upstream_timeout ||
           (e.kind == ErrorKind::upstream_error && e.status == 0))  // refused, reset, TLS failure
    rest = config->suspend_after_5xx;
  else if ((e.status == 401 || e.status == 403) && channel.keyed.empty())
    rest = config->suspend_after_auth;
  else
    return;
  if (e.retry_after_seconds > 0) rest = std::chrono::seconds(e.retry_after_seconds);
  suspensions_.suspend(channel_id, rest);
  if (cluster_.channel_suspended && rest.count() > 0) cluster_.channel_suspended(channel_id, rest);
}

boost::asio::awaitable<void> Relay::count_claude_tokens(net::ServerRequest& req, net::ResponseWriter& writer) {
  RelayState s = start_state(RelayMode::chat_completions, catalog_.get(), ClientFormat::claude_messages);
  s.route = metrics::Route::messages_count_tokens;
  if (auto r = authenticate(s, req); !r) co_return co_await respond_error(s, writer, r.error());
  auto body = nlohmann::json::parse(req.body, nullptr, false);
  if (!body.is_object()) {
    Error e = Error::make(ErrorKind::invalid_request, "invalid request body: expected a JSON object", "invalid_json");
    co_return co_await respond_error(s, writer, e);
  }
  auto chat = formats::claude::to_chat_request(body, false);  // count_tokens takes no max_tokens
  if (!chat) co_return co_await respond_error(s, writer, chat.error());
  if (auto model = chat->find("model"); model != chat->end() && model->is_string()) s.model = model->get<std::string>();
  if (s.model.empty()) {
    Error e = Error::make(ErrorKind::invalid_request, "model: Field required", "invalid_request_error");
    co_return co_await respond_error(s, writer, e);
  }
  if (auto r = authorize_model(s); !r) co_return co_await respond_error(s, writer, r.error());
  // The prompt as the relay counts it, and the tool definitions the model reads too.
  int64_t tokens = tokenizer::count_chat_prompt_tokens(s.model, (*chat)["messages"], token_counting(s));
  if (auto tools = chat->find("tools"); tools != chat->end())
    tokens += tokenizer::count_text_tokens(s.model, tools->dump(), token_counting(s));
  count_request(s, 200);
  nlohmann::json answer = {{"input_tokens", tokens}};
  co_await writer.send(200, base_headers(s, "application/json"), answer.dump());
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
  s.route = metrics::Route::models;
  if (auto r = authenticate(s, req); !r) co_return co_await respond_error(s, writer, r.error());
  nlohmann::json data = nlohmann::json::array();
  for (const auto& m : visible_models(s)) data.push_back(model_object(m, owner_of(*s.catalog, s.user->group, m)));
  nlohmann::json body = {{"object", "list"}, {"data", std::move(data)}};
  count_request(s, 200);
  co_await writer.send(200, base_headers(s, "application/json"), body.dump());
}

boost::asio::awaitable<void> Relay::get_model(const std::string& id, net::ServerRequest& req,
                                              net::ResponseWriter& writer) {
  RelayState s = start_state(RelayMode::chat_completions, catalog_.get());
  s.route = metrics::Route::models;
  if (auto r = authenticate(s, req); !r) co_return co_await respond_error(s, writer, r.error());
  for (const auto& m : visible_models(s))
    if (m == id) {
      count_request(s, 200);
      co_await writer.send(200, base_headers(s, "application/json"),
                           model_object(m, owner_of(*s.catalog, s.user->group, m)).dump());
      co_return;
    }
  Error e = Error::make(ErrorKind::not_found, "The model '" + id + "' does not exist", "model_not_found");
  co_await respond_error(s, writer, e);
}

}  // namespace oneapi::relay
