// One API's ShouldDisableChannel rule.
#include "relay/channel_health.hpp"

#include <catch2/catch.hpp>

using oneapi::Error;
using oneapi::ErrorKind;

namespace {
Error upstream(int status, std::string type, std::string code, std::string message) {
  Error e = Error::make(ErrorKind::upstream_error, std::move(message), std::move(code));
  e.status = status;
  e.type = std::move(type);
  return e;
}
}  // namespace

TEST_CASE("which upstream errors disable a channel", "[unit][health]") {
  using oneapi::relay::should_disable_channel;
  CHECK(should_disable_channel(upstream(401, "upstream_error", "", "whatever")));
  CHECK(should_disable_channel(upstream(429, "insufficient_quota", "", "You exceeded your current quota")));
  CHECK(should_disable_channel(upstream(403, "permission_error", "", "")));
  CHECK(should_disable_channel(upstream(400, "invalid_request_error", "invalid_api_key", "")));
  CHECK(should_disable_channel(upstream(403, "", "account_deactivated", "")));
  CHECK(should_disable_channel(upstream(400, "", "", "Your credit balance is too low to access the API")));
  CHECK(should_disable_channel(upstream(400, "", "", "API key not valid. Please pass a valid API key.")));
  CHECK(should_disable_channel(upstream(403, "", "", "Organization has been restricted")));
  // Transient or the client's fault: never.
  CHECK_FALSE(should_disable_channel(upstream(429, "rate_limit_exceeded", "", "Rate limit reached")));
  CHECK_FALSE(should_disable_channel(upstream(500, "server_error", "", "The server had an error")));
  CHECK_FALSE(should_disable_channel(upstream(400, "invalid_request_error", "", "max_tokens is too large")));
  // The gateway's own errors never disable a channel.
  Error local = Error::make(ErrorKind::unauthorized, "Invalid token", "invalid_api_key");
  local.status = 401;
  CHECK_FALSE(should_disable_channel(local));
}
