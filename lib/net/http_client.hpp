#pragma once
// Upstream HTTP/1.1 client: http and https (certificate and host-name verification), pooled
// keep-alive connections per host, a timeout on connect, on the response head and on each read.
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "net/http_types.hpp"

namespace boost::asio {
class io_context;
}

namespace oneapi::net {

struct ClientRequest {
  std::string method = "POST";
  std::string url;  // http://host[:port]/path?query or https://...
  Headers headers;  // Host, Content-Length and Connection are set by the client
  std::string body;
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  // Time allowed for the response head (status line + headers) after the request is sent.
  // RELAY_TIMEOUT; 0 = none (One API's default), capped at 10 minutes in practice.
  std::chrono::milliseconds response_timeout{0};
  // Longest silence between two body reads (per stream chunk).
  std::chrono::milliseconds idle_timeout{300'000};
  size_t max_idle_per_host = 64;
  std::string ca_file;  // extra CA bundle (PEM); system defaults are always loaded
  // RELAY_PROXY: http://[user:password@]host:port. Every upstream connection is tunnelled through
  // it with HTTP CONNECT (TLS to the upstream stays end to end).
  std::string proxy;
  // Without RELAY_PROXY: HTTPS_PROXY for https upstreams, HTTP_PROXY for http ones (the same form,
  // also tunnelled), except the hosts NO_PROXY names and loopback, as Go's net/http does.
  std::string https_proxy;
  std::string http_proxy;
  std::string no_proxy;
};

// Checks a proxy URL (RELAY_PROXY, HTTPS_PROXY, HTTP_PROXY); the error says what is wrong without
// echoing a password, and without the variable's name, which the caller adds.
Result<void> validate_proxy_url(const std::string& proxy);

// A response whose body is read incrementally. Destroying it before the body was read to the
// end closes the connection (that is how a client disconnect cancels the upstream request).
class ClientResponse {
 public:
  virtual ~ClientResponse() = default;
  virtual int status() const = 0;
  virtual const Headers& headers() const = 0;
  std::string_view header(std::string_view name) const { return find_header(headers(), name); }
  // Next piece of the body; an empty string with no error at the end of the body.
  virtual boost::asio::awaitable<Result<std::string>> read_some() = 0;
  // The rest of the body; an error if it exceeds `limit` bytes.
  virtual boost::asio::awaitable<Result<std::string>> read_all(size_t limit = 64 * 1024 * 1024) = 0;
};

class HttpClient {
 public:
  HttpClient(boost::asio::io_context& ioc, ClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends the request and reads the response head. Errors: upstream_timeout, upstream_error
  // (connect/TLS/transport failure, with the reason in the message), invalid_request (bad URL).
  boost::asio::awaitable<Result<std::unique_ptr<ClientResponse>>> send(ClientRequest request);

  size_t idle_connections() const;
  // A reload's new response and idle timeouts; requests already waiting keep the old ones.
  void set_timeouts(std::chrono::milliseconds response_timeout, std::chrono::milliseconds idle_timeout);

  struct Impl;  // internal; public so the response type in http_client.cpp can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace oneapi::net
