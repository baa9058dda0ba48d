#pragma once
// A blocking HTTP/1.1 client on raw sockets, for driving oneapid from tests exactly as a client
// would (and for hanging up mid-stream).
#include <map>
#include <string>
#include <vector>

namespace oneapi::test {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
  bool ok() const { return status >= 200 && status < 300; }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

HttpResult http_call(int port, const std::string& method, const std::string& path, const std::string& body = {},
                     const std::vector<std::pair<std::string, std::string>>& headers = {}, int timeout_seconds = 30);

// Bearer-authenticated JSON POST.
HttpResult post_json(int port, const std::string& path, const std::string& key, const std::string& body);

// Sends a request and closes the connection after `read_bytes` bytes of the response arrived
// (or after `timeout_ms`); returns what was read.
std::string call_and_hang_up(int port, const std::string& path, const std::string& key, const std::string& body,
                             size_t read_bytes, int timeout_ms = 10000);

}  // namespace oneapi::test
