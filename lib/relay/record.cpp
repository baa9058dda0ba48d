#include <spdlog/spdlog.h>

#include "relay/steps.hpp"

namespace oneapi::relay {

void count_request(const RelayState& s, int status) {
  auto& m = metrics::global();
  metrics::RequestSample sample;
  sample.route = s.route;
  sample.model = s.model;
  sample.channel = s.channel ? s.channel->channel.id : 0;
  sample.status = status;
  sample.prompt_tokens = s.billed_prompt_tokens;
  sample.completion_tokens = s.billed_completion_tokens;
  sample.quota = s.billed_quota;
  m.count_request(sample);
  const auto total = std::chrono::steady_clock::now() - s.started;
  m.request_duration(s.route).observe(total);
  m.gateway_overhead(s.route).observe(total - s.upstream_wait);
}

void record(const RelayState& s, int status, const Usage* usage, const Error* error, bool final) {
  if (final) count_request(s, status);
  const char* token = s.token ? s.token->name.c_str() : "-";
  const int64_t channel = s.channel ? s.channel->channel.id : 0;
  if (error) {
    spdlog::info("request {} token={} model={} channel={} status={} elapsed_ms={} error=\"{}\"", s.request_id, token,
                 s.model.empty() ? "-" : s.model, channel, status, elapsed_ms(s), error->message);
    return;
  }
  spdlog::info("request {} token={} model={} channel={} status={} stream={} prompt={} completion={} elapsed_ms={}",
               s.request_id, token, s.model, channel, status, s.stream, usage ? usage->prompt_tokens : 0,
               usage ? usage->completion_tokens : 0, elapsed_ms(s));
}

}  // namespace oneapi::relay
