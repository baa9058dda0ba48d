#include <spdlog/spdlog.h>

#include "relay/steps.hpp"

namespace oneapi::relay {

void record(const RelayState& s, int status, const Usage* usage, const Error* error) {
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
