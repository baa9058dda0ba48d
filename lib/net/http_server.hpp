#pragma once
// HTTP/1.1 server over TCP and Unix sockets (Beast stays inside http_server.cpp).
// Keep-alive, a request body limit, a timeout on every read and write, chunked streaming.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "net/http_types.hpp"

namespace boost::asio {
class io_context;
}

namespace oneapi::net {

struct ServerRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as received
  std::string path;    // target without the query
  std::string query;   // after '?', without it
  Headers headers;
  std::string body;
  std::string peer_ip;    // empty for Unix sockets
  std::string client_ip;  // peer_ip, or X-Forwarded-For's client when the peer is a trusted proxy
  bool over_unix = false;

  std::string_view header(std::string_view name) const { return find_header(headers, name); }
  std::string query_param(std::string_view name) const;  // url-decoded; empty when absent
};

class ResponseWriter {
 public:
  virtual ~ResponseWriter() = default;
  // A whole response with Content-Length. Returns false when the client is gone.
  virtual boost::asio::awaitable<bool> send(int status, Headers headers, std::string body) = 0;
  // A chunked response: begin_stream once, write_chunk per piece, end_stream at the end.
  virtual boost::asio::awaitable<bool> begin_stream(int status, Headers headers) = 0;
  virtual boost::asio::awaitable<bool> write_chunk(std::string_view data) = 0;
  virtual boost::asio::awaitable<bool> end_stream() = 0;
  // True once any byte of the response has been handed to the socket.
  virtual bool started() const = 0;
};

using Handler = std::function<boost::asio::awaitable<void>(ServerRequest&, ResponseWriter&)>;

struct ServerLimits {
  size_t body_limit = 32 * 1024 * 1024;
  std::chrono::milliseconds header_timeout{30'000};  // reading one request's headers/body
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::chrono::milliseconds write_timeout{60'000};   // each write to the client
  // Give every response an X-Oneapi-Request-Id (a fresh one unless the handler set its own).
  bool add_request_id = false;
  // Comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed (TRUSTED_PROXIES).
  std::string trusted_proxies;
};

class HttpServer {
 public:
  HttpServer(boost::asio::io_context& ioc, Handler handler, ServerLimits limits);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting; returns the bound port (useful with port 0). Throws on failure.
  uint16_t listen_tcp(const std::string& address, uint16_t port);
  // Binds a Unix socket with file mode 0600 (a stale socket file is replaced). Throws on failure.
  void listen_unix(const std::string& path);

  // Graceful shutdown: stop accepting, close idle keep-alive connections, and let requests in
  // flight finish; connections close after their current response.
  void stop_accepting();
  size_t in_flight() const;  // requests being handled right now
  size_t connections() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace oneapi::net
