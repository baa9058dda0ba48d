#include "relay/channel_test.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/util.hpp"
#include "relay/access_tokens.hpp"
#include "relay/adaptor.hpp"
#include "relay/background.hpp"
#include "relay/channel_health.hpp"

namespace oneapi::relay {

boost::asio::awaitable<ChannelTestResult> test_channel(const store::Channel& channel, const std::string& model,
                                                       const std::string& prompt, net::HttpClient& client) {
  ChannelTestResult result;
  result.model = model;
  const Adaptor* adaptor = adaptor_for(channel.type);
  if (!adaptor) {
    result.message = "channel type " + std::to_string(channel.type) + " is not supported";
    co_return result;
  }
  // A multi-key channel is tested with its first key still in rotation.
  store::Channel one_key = channel;
  if (auto keys = store::usable_channel_keys(channel); !keys.empty()) one_key.key = keys.front();
  AdaptorContext ctx;
  ctx.mode = RelayMode::chat_completions;
  ctx.channel = &one_key;
  ctx.request_path = "/v1/chat/completions";
  ctx.upstream_model = model;
  ctx.want_text = true;  // the test reports the answer
  if (!channel.model_mapping.empty()) {
    auto mapping = nlohmann::json::parse(channel.model_mapping, nullptr, false);
    if (mapping.is_object() && mapping.contains(model) && mapping[model].is_string()) {
      ctx.upstream_model = mapping[model].get<std::string>();
      ctx.model_mapped = ctx.upstream_model != model;
    }
  }
  auto token = co_await obtain_access_token(ctx, client);
  if (!token) {
    result.message = token.error().message;
    co_return result;
  }
  nlohmann::json body = {{"model", model}, {"messages", {{{"role", "user"}, {"content", prompt}}}}};
  const std::string raw = body.dump();
  auto upstream = adaptor->build_request(ctx, body, raw);
  if (!upstream) {
    result.message = upstream.error().message;
    co_return result;
  }
  net::ClientRequest req{upstream->method, upstream->url, upstream->headers, upstream->body};
  const auto started = std::chrono::steady_clock::now();
  auto response = co_await client.send(std::move(req));
  if (!response) {
    result.message = response.error().message;
    co_return result;
  }
  auto text = co_await (*response)->read_all(4 * 1024 * 1024);
  result.response_time_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  if (!text) {
    result.message = text.error().message;
    co_return result;
  }
  const int status = (*response)->status();
  if (status != 200) {
    result.upstream_error = adaptor->parse_error(status, *text);
    result.upstream_refused = true;
    result.message = result.upstream_error.message;
    co_return result;
  }
  auto parsed = adaptor->parse_response(ctx, std::move(*text));
  if (!parsed) {
    result.message = parsed.error().message;
    co_return result;
  }
  result.success = true;
  result.message = parsed->completion_text;
  co_return result;
}

std::string test_model_for(const store::Channel& channel, const std::string& requested) {
  const std::string wanted = requested.empty() ? "gpt-3.5-turbo" : requested;
  auto models = split_csv(channel.models);
  for (const auto& m : models)
    if (m == wanted) return m;
  return models.empty() ? wanted : models.front();
}

namespace {

// ChannelDisableThreshold is seconds, fractions allowed (One API stores a float); 0 = never.
int64_t disable_threshold_ms(const Catalog& catalog) {
  const std::string v = catalog.option("ChannelDisableThreshold", "5");
  char* end = nullptr;
  const double seconds = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || !std::isfinite(seconds) || seconds <= 0) return 0;
  return static_cast<int64_t>(seconds * 1000.0);
}

std::function<Result<void>(store::Store&)> record_test(int64_t id, int64_t response_time_ms, int64_t when) {
  return [=](store::Store& db) { return db.record_channel_test(id, response_time_ms, when); };
}

}  // namespace

boost::asio::awaitable<ChannelCheck> ChannelTester::check(const store::Channel& c, const std::string& requested) {
  const std::string model = test_model_for(c, requested);
  ChannelTestResult r = co_await test_channel(c, model, options_.prompt, client_);
  auto job = record_test(c.id, r.success ? r.response_time_ms : 0, unix_now());
  auto saved = co_await store_.run(std::move(job));
  if (!saved) spdlog::warn("recording the test of channel #{} failed: {}", c.id, saved.error().message);

  auto catalog = catalog_.get();
  const bool auto_disable = catalog->option("AutomaticDisableChannelEnabled", "false") == "true";
  const bool auto_enable = catalog->option("AutomaticEnableChannelEnabled", "false") == "true";
  const int64_t threshold_ms = disable_threshold_ms(*catalog);
  // A slow answer fails the test too (One API turns it into the test's error).
  const bool slow = r.success && threshold_ms > 0 && r.response_time_ms > threshold_ms;
  std::string unhealthy;  // why the channel should not serve traffic, even though it may have answered
  if (!r.success && r.upstream_refused && should_disable_channel(r.upstream_error))
    unhealthy = "channel test failed: " + r.message;
  else if (slow)
    unhealthy = "channel test took " + std::to_string(r.response_time_ms) + " ms, over ChannelDisableThreshold (" +
                std::to_string(threshold_ms) + " ms)";

  ChannelCheck out;
  out.id = c.id;
  out.name = c.name;
  out.ok = r.success && !slow;
  out.response_time_ms = r.response_time_ms;
  out.model = r.model;
  if (r.success) out.answer = r.message;
  out.error = slow ? unhealthy : r.success ? std::string() : r.message;
  out.status = c.status;
  const bool enabled = c.status == static_cast<int>(store::ChannelStatus::enabled);
  if (!unhealthy.empty() && enabled) {
    if (!auto_disable)
      spdlog::warn("channel #{}: {} (AutomaticDisableChannelEnabled is off)", c.id, unhealthy);
    else if (co_await auto_disable_channel(store_, catalog_, c.id, unhealthy))
      out.status = static_cast<int>(store::ChannelStatus::auto_disabled);
  } else if (out.ok && auto_enable && c.status == static_cast<int>(store::ChannelStatus::auto_disabled)) {
    if (co_await auto_enable_channel(store_, catalog_, c.id))
      out.status = static_cast<int>(store::ChannelStatus::enabled);
  }
  co_return out;
}

boost::asio::awaitable<Result<ChannelCheck>> ChannelTester::check_id(int64_t id, std::string requested_model) {
  auto load = [id](store::Store& db) { return db.get_channel(id); };
  auto channel = co_await store_.run(std::move(load));
  if (!channel) co_return channel.error();
  ChannelCheck result = co_await check(*channel, requested_model);
  co_return result;
}

boost::asio::awaitable<Result<std::vector<ChannelCheck>>> ChannelTester::check_all(TestScope scope,
                                                                                   std::string requested_model) {
  auto load = [](store::Store& db) { return db.list_channels(); };
  auto channels = co_await store_.run(std::move(load));
  if (!channels) co_return channels.error();
  std::vector<ChannelCheck> results;
  bool first = true;
  for (const auto& c : *channels) {
    if (scope == TestScope::auto_disabled && c.status != static_cast<int>(store::ChannelStatus::auto_disabled))
      continue;
    if (!first && !co_await pause_unless_stopped(options_.pause, stopping_)) break;
    if (stopping_ && stopping_->load()) break;
    first = false;
    ChannelCheck one = co_await check(c, requested_model);
    results.push_back(std::move(one));
  }
  co_return results;
}

}  // namespace oneapi::relay
