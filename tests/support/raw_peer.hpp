#pragma once
// Loopback peers that speak raw bytes, for tests that check what goes over the wire exactly:
// a client that sends given bytes, and an upstream that answers with given bytes.
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace oneapi::test {

// Opens a loopback connection to `port`, sends the pieces 20 ms apart, and reads until the server
// closes the connection (5 s at most per read).
std::string raw_exchange(uint16_t port, const std::vector<std::string>& pieces);
inline std::string raw_exchange(uint16_t port, const std::string& bytes) {
  return raw_exchange(port, std::vector<std::string>{bytes});
}

// An upstream that accepts one connection, reads the request, answers with `answer`, hangs up.
class RawUpstream {
 public:
  explicit RawUpstream(std::string answer);
  ~RawUpstream();
  RawUpstream(const RawUpstream&) = delete;
  RawUpstream& operator=(const RawUpstream&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  int listener_ = -1;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace oneapi::test
