#pragma once
// An HTTP CONNECT proxy on 127.0.0.1:0 for proxy tests: answers CONNECT with 200 (or with
// the status it was told to refuse with), then copies bytes both ways. Blocking sockets, a thread
// per tunnel; everything stops in the destructor.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace oneapi::test {

class ConnectProxy {
 public:
  explicit ConnectProxy(int refuse_with_status = 0);
  ~ConnectProxy();
  ConnectProxy(const ConnectProxy&) = delete;
  ConnectProxy& operator=(const ConnectProxy&) = delete;

  int port() const { return port_; }
  // The request heads received ("CONNECT host:port HTTP/1.1\r\n…").
  std::vector<std::string> heads() const;

 private:
  void serve(int client);
  void release(int client);

  int refuse_with_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::vector<std::string> heads_;
  std::vector<int> open_fds_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace oneapi::test
