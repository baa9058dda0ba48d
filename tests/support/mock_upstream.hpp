#pragma once
// A scriptable upstream on 127.0.0.1:0 speaking whatever the handler writes (JSON or SSE), built
// on the project's own HttpServer and running on its own thread.
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "net/http_server.hpp"

namespace oneapi::test {

struct MockChunk {
  int delay_ms = 0;  // wait before writing this chunk
  std::string data;
};

struct MockReply {
  int status = 200;
  net::Headers headers;
  std::string body;               // a whole response, when `chunks` is empty
  std::vector<MockChunk> chunks;  // a chunked (streamed) response
  int delay_before_headers_ms = 0;
  bool cut_after_chunks = false;  // close the connection without ending the chunked body
};

class MockUpstream {
 public:
  using Script = std::function<void(const net::ServerRequest&, MockReply&)>;
  explicit MockUpstream(Script script);
  ~MockUpstream();

  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  std::vector<net::ServerRequest> requests() const;
  size_t request_count() const;
  // Streams the peer hung up on before every chunk was written.
  int aborted_streams() const { return aborted_; }

 private:
  struct State;
  std::shared_ptr<State> state_;
  int port_ = 0;
  std::atomic<int>& aborted_;
};

}  // namespace oneapi::test
