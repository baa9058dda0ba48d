#pragma once
// Sends a small real chat request through one channel (One API's channel test).
#include <boost/asio/awaitable.hpp>
#include <string>

#include "core/result.hpp"
#include "net/http_client.hpp"
#include "store/models.hpp"

namespace oneapi::relay {

struct ChannelTestResult {
  bool success = false;
  int64_t response_time_ms = 0;
  std::string model;
  std::string message;            // the upstream's answer on success, the error otherwise
  bool upstream_refused = false;  // the upstream answered with an error status
  Error upstream_error;           // that error (for auto-disable)
};

boost::asio::awaitable<ChannelTestResult> test_channel(const store::Channel& channel, const std::string& model,
                                                       const std::string& prompt, net::HttpClient& client);

}  // namespace oneapi::relay
