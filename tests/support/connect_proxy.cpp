#include "support/connect_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace oneapi::test {

namespace {

// A host name (not an IPv4 address) is taken to be this machine: tests name upstreams that only
// the proxy can reach, such as "upstream.test".
int connect_to(const std::string& host, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_all(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

}  // namespace

ConnectProxy::ConnectProxy(int refuse_with_status) : refuse_with_(refuse_with_status) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 16) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("ConnectProxy: cannot listen");
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] {
    for (;;) {
      const int client = ::accept(listen_fd_, nullptr, nullptr);
      if (client < 0 || stopping_) {
        if (client >= 0) ::close(client);
        return;
      }
      std::lock_guard lock(mu_);
      open_fds_.push_back(client);
      threads_.emplace_back([this, client] { serve(client); });
    }
  });
}

ConnectProxy::~ConnectProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);  // wakes the tunnels; serve() closes them
  }
  for (auto& t : threads_) t.join();
}

std::vector<std::string> ConnectProxy::heads() const {
  std::lock_guard lock(mu_);
  return heads_;
}

// Closes a client socket after forgetting it, so the destructor never shuts down a reused fd.
void ConnectProxy::release(int client) {
  {
    std::lock_guard lock(mu_);
    std::erase(open_fds_, client);
  }
  ::close(client);
}

void ConnectProxy::serve(int client) {
  std::string head;
  char buf[16 * 1024];
  while (head.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(client, buf, sizeof buf, 0);
    if (n <= 0) {
      release(client);
      return;
    }
    head.append(buf, static_cast<size_t>(n));
  }
  {
    std::lock_guard lock(mu_);
    heads_.push_back(head.substr(0, head.find("\r\n\r\n") + 4));
  }
  if (refuse_with_ != 0) {
    send_all(client, "HTTP/1.1 " + std::to_string(refuse_with_) + " Refused\r\nContent-Length: 0\r\n\r\n");
    release(client);
    return;
  }
  // "CONNECT 127.0.0.1:PORT HTTP/1.1"
  const size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
  const std::string authority = head.substr(sp1 + 1, sp2 - sp1 - 1);
  const size_t colon = authority.rfind(':');
  const int upstream = head.rfind("CONNECT ", 0) == 0 && colon != std::string::npos
                           ? connect_to(authority.substr(0, colon), std::stoi(authority.substr(colon + 1)))
                           : -1;
  if (upstream < 0) {
    send_all(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
    release(client);
    return;
  }
  send_all(client, "HTTP/1.1 200 Connection established\r\n\r\n");
  pollfd fds[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
  while (!stopping_) {
    if (::poll(fds, 2, 200) < 0) break;
    bool closed = false;
    for (int i = 0; i < 2 && !closed; ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
      if (n <= 0) {
        closed = true;
        break;
      }
      send_all(fds[1 - i].fd, std::string(buf, static_cast<size_t>(n)));
    }
    if (closed) break;
  }
  ::close(upstream);
  release(client);
}

}  // namespace oneapi::test
