#pragma once
// A small synchronous HTTP/1.1 client over a Unix socket, for oneapictl (no Beast, no coroutines).
#include <string>

namespace oneapi::admin {

struct UnixResponse {
  int status = 0;
  std::string body;
};

// Returns false and sets `error` (one readable line) when the daemon cannot be reached or the
// answer is not HTTP. Sends Content-Type: application/json when body is non-empty.
bool unix_http_request(const std::string& socket_path, const std::string& method, const std::string& target,
                       const std::string& body, UnixResponse& out, std::string& error, int timeout_seconds = 120);

}  // namespace oneapi::admin
