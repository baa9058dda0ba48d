#include "relay/channel_test.hpp"

#include <chrono>
#include <nlohmann/json.hpp>

#include "relay/adaptor.hpp"

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
  if (!channel.model_mapping.empty()) {
    auto mapping = nlohmann::json::parse(channel.model_mapping, nullptr, false);
    if (mapping.is_object() && mapping.contains(model) && mapping[model].is_string()) {
      ctx.upstream_model = mapping[model].get<std::string>();
      ctx.model_mapped = ctx.upstream_model != model;
    }
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

}  // namespace oneapi::relay
