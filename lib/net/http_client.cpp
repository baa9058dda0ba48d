#include "net/http_client.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "core/util.hpp"
#include "net/asio.hpp"
#include "net/http_parse.hpp"
#include "net/http_wire.hpp"

namespace oneapi::net {

namespace {

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
  std::string host_header;
  std::string pool_key;
};

Result<Url> parse_url(const std::string& url) {
  Url u;
  std::string_view rest = url;
  if (rest.rfind("https://", 0) == 0) {
    u.tls = true;
    rest.remove_prefix(8);
  } else if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
  } else {
    return Error::make(ErrorKind::invalid_request, "unsupported URL (want http:// or https://): " + url);
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty()) return Error::make(ErrorKind::invalid_request, "URL has no host: " + url);
  std::string_view host = authority, port;
  if (authority.front() == '[') {  // IPv6 literal
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Error::make(ErrorKind::invalid_request, "bad IPv6 host in URL: " + url);
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (!port.empty() && port.find_first_not_of("0123456789") != std::string_view::npos)
    return Error::make(ErrorKind::invalid_request, "bad port in URL: " + url);
  u.host = std::string(host);
  u.port = port.empty() ? (u.tls ? "443" : "80") : std::string(port);
  u.host_header = std::string(authority);
  u.pool_key = (u.tls ? "https://" : "http://") + u.host + ":" + u.port;
  return u;
}

struct Proxy {
  Url url;
  std::string authorization;  // "Basic …" when the URL carried user:password
};

Result<Proxy> parse_proxy(const std::string& proxy) {
  if (proxy.rfind("http://", 0) != 0)
    return Error::make(ErrorKind::invalid_request, "must be an http:// URL (an HTTP CONNECT proxy)");
  std::string rest = proxy.substr(7);
  Proxy p;
  const size_t slash = rest.find('/');
  const size_t at = rest.rfind('@', slash);
  if (at != std::string::npos) {
    p.authorization = "Basic " + base64_encode(rest.substr(0, at));
    rest.erase(0, at + 1);
  }
  auto url = parse_url("http://" + rest);
  if (!url) return Error::make(ErrorKind::invalid_request, "has no usable host and port");
  p.url = std::move(*url);
  return p;
}

// A NO_PROXY list as Go's net/http reads it: "*" (nothing is proxied), host names (the name and
// its subdomains; with a leading dot, subdomains only), IP addresses and CIDR ranges, each with an
// optional port.
struct NoProxy {
  struct Entry {
    std::string host;  // lower case; empty for a CIDR range
    bool subdomains_only = false;
    asio::ip::network_v4 range;
    bool is_range = false;
    std::string port;  // empty: any
  };
  bool everything = false;
  std::vector<Entry> entries;

  explicit NoProxy(std::string_view list) {
    while (!list.empty()) {
      const size_t comma = list.find(',');
      std::string item = to_lower_ascii(list.substr(0, comma));
      list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (item.empty()) continue;
      if (item == "*") {
        everything = true;
        continue;
      }
      Entry e;
      if (item.find('/') != std::string::npos) {
        beast::error_code ec;
        e.range = asio::ip::make_network_v4(item, ec);
        if (ec) continue;  // not an IPv4 range: Go skips what it cannot read too
        e.is_range = true;
        entries.push_back(std::move(e));
        continue;
      }
      if (const size_t colon = item.rfind(':'); colon != std::string::npos && item.find(':') == colon) {
        e.port = item.substr(colon + 1);
        item.resize(colon);
      }
      if (item.empty()) continue;  // ":80" names no host
      if (item.front() == '.') {
        e.subdomains_only = true;
        item.erase(0, 1);
      }
      e.host = std::move(item);
      entries.push_back(std::move(e));
    }
  }

  bool excludes(const Url& u) const {
    if (everything) return true;
    const std::string host = to_lower_ascii(u.host);
    beast::error_code ec;
    const auto ip = asio::ip::make_address(host, ec);  // parse_url took an IPv6 host out of its brackets
    // Go's rule too: loopback is never sent to a proxy.
    if (host == "localhost" || (!ec && ip.is_loopback())) return true;
    for (const Entry& e : entries) {
      if (!e.port.empty() && e.port != u.port) continue;
      if (e.is_range) {
        if (!ec && ip.is_v4() &&
            asio::ip::network_v4(ip.to_v4(), e.range.prefix_length()).network() == e.range.network())
          return true;
        continue;
      }
      if (host == e.host && !e.subdomains_only) return true;
      if (host.size() > e.host.size() && host.ends_with(e.host) && host[host.size() - e.host.size() - 1] == '.')
        return true;
    }
    return false;
  }
};

Error transport_error(const std::string& what, const beast::error_code& ec) {
  if (ec == beast::error::timeout) {
    Error e = Error::make(ErrorKind::upstream_timeout, what + ": timed out", "upstream_timeout");
    e.retryable = true;
    return e;
  }
  Error e = Error::make(ErrorKind::upstream_error, what + ": " + ec.message(), "do_request_failed");
  e.retryable = true;
  return e;
}

struct Connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  ReadBuffer buffer;

  beast::tcp_stream& lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  void close() {
    beast::error_code ignored;
    lowest().socket().shutdown(asio::socket_base::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }
};

template <class F>
auto with_stream(Connection& c, F&& f) {
  return c.tls ? f(*c.tls) : f(*c.plain);
}

}  // namespace

struct HttpClient::Impl {
  asio::io_context& ioc;
  ClientOptions options;
  // RELAY_TIMEOUT and STREAMING_TIMEOUT change at a reload (SIGHUP) while requests run.
  std::atomic<std::chrono::milliseconds> response_timeout;
  std::atomic<std::chrono::milliseconds> idle_timeout;
  ssl::context ssl_ctx{ssl::context::tls_client};
  std::mutex mu;  // guards `idle`
  std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;

  std::optional<Proxy> relay_proxy, https_proxy, http_proxy;
  NoProxy no_proxy;

  static std::optional<Proxy> proxy_of(const std::string& url) {
    if (url.empty()) return std::nullopt;
    auto p = parse_proxy(url);
    if (!p) throw std::invalid_argument(p.error().message);  // validated at startup already
    return std::move(*p);
  }

  Impl(asio::io_context& io, ClientOptions o)
      : ioc(io),
        options(std::move(o)),
        response_timeout(options.response_timeout),
        idle_timeout(options.idle_timeout),
        no_proxy(options.no_proxy) {
    ssl_ctx.set_default_verify_paths();  // honours SSL_CERT_FILE / SSL_CERT_DIR
    if (!options.ca_file.empty()) ssl_ctx.load_verify_file(options.ca_file);
    ssl_ctx.set_verify_mode(ssl::verify_peer);
    relay_proxy = proxy_of(options.proxy);
    https_proxy = proxy_of(options.https_proxy);
    http_proxy = proxy_of(options.http_proxy);
  }

  // RELAY_PROXY for everything; else HTTPS_PROXY or HTTP_PROXY by the upstream's scheme, unless
  // NO_PROXY (or loopback) excludes the host.
  const Proxy* proxy_for(const Url& u) const {
    if (relay_proxy) return &*relay_proxy;
    const std::optional<Proxy>& by_scheme = u.tls ? https_proxy : http_proxy;
    if (!by_scheme || no_proxy.excludes(u)) return nullptr;
    return &*by_scheme;
  }

  // HTTP CONNECT through the proxy to the upstream's host and port.
  asio::awaitable<Result<void>> tunnel(beast::tcp_stream& stream, const Url& u, const Proxy& proxy) {
    http::request<http::empty_body> req{http::verb::connect, u.host + ":" + u.port, 11};
    req.set(http::field::host, u.host + ":" + u.port);
    if (!proxy.authorization.empty()) req.set(http::field::proxy_authorization, proxy.authorization);
    auto [wec, written] = co_await http::async_write(stream, req, kTok);
    if (wec) co_return transport_error("sending CONNECT to the proxy failed", wec);
    beast::flat_buffer buffer;
    http::response_parser<http::empty_body> parser;
    parser.skip(true);  // a CONNECT answer has no body: the tunnel starts right after the head
    auto [rec, read] = co_await http::async_read_header(stream, buffer, parser, kTok);
    if (rec) co_return transport_error("reading the proxy's answer to CONNECT failed", rec);
    const int status = static_cast<int>(parser.get().result_int());
    if (status != 200) {
      Error e = Error::make(ErrorKind::upstream_error,
                            "the proxy refused CONNECT to " + u.host + ":" + u.port + ": " + std::to_string(status) +
                                " " + std::string(parser.get().reason()),
                            "do_request_failed");
      e.retryable = true;
      co_return e;
    }
    co_return Result<void>{};
  }

  std::unique_ptr<Connection> take_idle(const std::string& key) {
    std::lock_guard lock(mu);
    auto it = idle.find(key);
    if (it == idle.end() || it->second.empty()) return nullptr;
    auto c = std::move(it->second.back());
    it->second.pop_back();
    return c;
  }

  void give_back(const std::string& key, std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu);
    auto& list = idle[key];
    if (list.size() >= options.max_idle_per_host) {
      c->close();
      return;
    }
    list.push_back(std::move(c));
  }

  asio::awaitable<Result<std::unique_ptr<Connection>>> connect(const Url& u) {
    const Proxy* proxy = proxy_for(u);
    const Url& dial = proxy ? proxy->url : u;
    tcp::resolver resolver(ioc);
    auto [rec, endpoints] = co_await resolver.async_resolve(dial.host, dial.port, kTok);
    if (rec) co_return transport_error("resolve " + dial.host + " failed", rec);
    auto c = std::make_unique<Connection>();
    if (u.tls)
      c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, ssl_ctx);
    else
      c->plain = std::make_unique<beast::tcp_stream>(ioc);
    auto& tcp_stream = c->lowest();
    tcp_stream.expires_after(options.connect_timeout);
    auto [cec, ep] = co_await tcp_stream.async_connect(endpoints, kTok);
    if (cec)
      co_return transport_error(
          std::string(proxy ? "connect to the proxy " : "connect to ") + dial.host + ":" + dial.port + " failed", cec);
    beast::error_code ignored;
    tcp_stream.socket().set_option(tcp::no_delay(true), ignored);
    if (proxy)
      if (auto t = co_await tunnel(tcp_stream, u, *proxy); !t) co_return t.error();
    if (u.tls) {
      if (!SSL_set_tlsext_host_name(c->tls->native_handle(), u.host.c_str()))
        co_return Error::make(ErrorKind::upstream_error, "TLS: cannot set SNI host name " + u.host,
                              "do_request_failed");
      c->tls->set_verify_callback(ssl::host_name_verification(u.host));
      auto [hec] = co_await c->tls->async_handshake(ssl::stream_base::client, kTok);
      if (hec) co_return transport_error("TLS handshake with " + u.host + " failed", hec);
    }
    co_return std::move(c);
  }
};

namespace {

class Response final : public ClientResponse {
 public:
  Response(std::shared_ptr<HttpClient::Impl> impl, std::string key, std::unique_ptr<Connection> conn)
      : impl_(std::move(impl)), key_(std::move(key)), conn_(std::move(conn)) {}

  ~Response() override {
    // Reuse only a connection whose response was read to the end, with nothing after it; anything
    // else is closed, which also tells the upstream to stop generating.
    if (conn_ && done_ && keep_alive_ && conn_->buffer.empty()) {
      conn_->buffer.release_if_empty(16 * 1024);  // an idle connection keeps a small buffer only
      impl_->give_back(key_, std::move(conn_));
    } else if (conn_)
      conn_->close();
  }

  // Reads the status line and headers (past any 1xx interim answer). A head that is not HTTP
  // sets malformed() and returns an error.
  asio::awaitable<beast::error_code> read_head(std::chrono::milliseconds timeout) {
    if (timeout.count() > 0)
      conn_->lowest().expires_after(timeout);
    else
      conn_->lowest().expires_never();
    ResponseHead head;
    for (;;) {
      const HeadParse parsed = parse_response_head(conn_->buffer.data(), kHeadLimit, head_request_, head);
      if (parsed.status == ParseStatus::complete) {
        conn_->buffer.consume(parsed.consumed);
        if (head.status >= 100 && head.status < 200 && head.status != 101) continue;
        break;
      }
      if (parsed.status != ParseStatus::incomplete) {
        malformed_ =
            parsed.status == ParseStatus::too_large ? std::string_view("headers larger than 64 KB") : parsed.reason;
        co_return http::error::bad_value;
      }
      if (auto ec = co_await read_more(512)) co_return ec;
    }
    status_ = head.status;
    headers_ = std::move(head.headers);
    keep_alive_ = head.keep_alive;
    framing_ = head.body.kind;
    remaining_ = head.body.length;
    done_ = framing_ == BodyFraming::Kind::none;
    co_return beast::error_code{};
  }

  std::string_view malformed() const { return malformed_; }
  // The answer to a HEAD has no body, whatever its Content-Length says.
  void set_head_request(bool head) { head_request_ = head; }
  int status() const override { return status_; }
  const Headers& headers() const override { return headers_; }

  asio::awaitable<Result<std::string>> read_some() override {
    for (;;) {
      if (done_) co_return std::string();
      std::string piece = take_buffered();
      if (!piece.empty()) co_return piece;
      if (done_) co_return std::string();
      if (!chunks_.error().empty())
        co_return Error{ErrorKind::upstream_error,
                        "upstream sent a malformed chunked body: " + std::string(chunks_.error()),
                        "read_response_body_failed",
                        502,
                        "",
                        true};
      conn_->lowest().expires_after(impl_->idle_timeout.load());
      const size_t want = framing_ == BodyFraming::Kind::length ? std::min<uint64_t>(remaining_, 64 * 1024) : 512;
      const beast::error_code ec = co_await read_more(want);
      if (ec == asio::error::eof && framing_ == BodyFraming::Kind::until_close) {
        done_ = true;
        continue;
      }
      if (ec) {
        if (ec == beast::error::timeout)
          co_return Error{ErrorKind::upstream_timeout, "upstream read timed out", "upstream_timeout", 0, "", true};
        co_return Error{ErrorKind::upstream_error,
                        "upstream connection broke: " + ec.message(),
                        "read_response_body_failed",
                        502,
                        "",
                        true};
      }
    }
  }

  asio::awaitable<Result<std::string>> read_all(size_t limit) override {
    std::string all;
    for (;;) {
      auto piece = co_await read_some();
      if (!piece) co_return piece.error();
      if (piece->empty()) co_return all;
      all += *piece;
      if (all.size() > limit)
        co_return Error::make(ErrorKind::upstream_error,
                              "upstream response larger than " + std::to_string(limit) + " bytes",
                              "read_response_body_failed");
    }
  }

  asio::awaitable<beast::error_code> write(const std::string& head, const std::string& body) {
    conn_->lowest().expires_after(impl_->options.connect_timeout);
    const std::array<asio::const_buffer, 2> pieces{asio::buffer(head), asio::buffer(body)};
    auto [ec, n] = co_await with_stream(*conn_, [&](auto& s) { return asio::async_write(s, pieces, kTok); });
    co_return ec;
  }

 private:
  asio::awaitable<beast::error_code> read_more(size_t min_room) {
    auto [to, room] = conn_->buffer.prepare(std::max<size_t>(min_room, 512));
    auto [ec, n] =
        co_await with_stream(*conn_, [&](auto& s) { return s.async_read_some(asio::buffer(to, room), kTok); });
    conn_->buffer.commit(n);
    co_return ec;
  }

  // The body's bytes already read, as the framing delimits them.
  std::string take_buffered() {
    std::string piece;
    ReadBuffer& buffer = conn_->buffer;
    switch (framing_) {
      case BodyFraming::Kind::none:
        done_ = true;
        break;
      case BodyFraming::Kind::length: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, buffer.size()));
        piece.assign(buffer.data().substr(0, take));
        buffer.consume(take);
        remaining_ -= take;
        done_ = remaining_ == 0;
        break;
      }
      case BodyFraming::Kind::chunked:
        buffer.consume(chunks_.feed(buffer.data(), piece));
        done_ = chunks_.done();
        break;
      case BodyFraming::Kind::until_close:
        piece.assign(buffer.data());
        buffer.consume(buffer.size());
        break;
    }
    return piece;
  }

  std::shared_ptr<HttpClient::Impl> impl_;
  std::string key_;
  std::unique_ptr<Connection> conn_;
  int status_ = 0;
  Headers headers_;
  bool keep_alive_ = false;
  bool done_ = false;
  BodyFraming::Kind framing_ = BodyFraming::Kind::none;
  uint64_t remaining_ = 0;
  ChunkedDecoder chunks_;
  std::string_view malformed_;
  bool head_request_ = false;
};

}  // namespace

Result<void> validate_proxy_url(const std::string& proxy) {
  auto p = parse_proxy(proxy);
  if (!p) return p.error();
  return {};
}

HttpClient::HttpClient(asio::io_context& ioc, ClientOptions options)
    : impl_(std::make_shared<Impl>(ioc, std::move(options))) {}

HttpClient::~HttpClient() = default;

void HttpClient::set_timeouts(std::chrono::milliseconds response_timeout, std::chrono::milliseconds idle_timeout) {
  impl_->response_timeout = response_timeout;
  impl_->idle_timeout = idle_timeout;
}

size_t HttpClient::idle_connections() const {
  std::lock_guard lock(impl_->mu);
  size_t n = 0;
  for (auto& [k, v] : impl_->idle) n += v.size();
  return n;
}

asio::awaitable<Result<std::unique_ptr<ClientResponse>>> HttpClient::send(ClientRequest request) {
  auto url = parse_url(request.url);
  if (!url) co_return url.error();
  // As Beast's prepare_payload: a length for any body, and for an empty one where the method
  // expects a body.
  Framing framing;
  const std::string& m = request.method;
  if (!request.body.empty() || m == "POST" || m == "PUT" || m == "PATCH" || m == "OPTIONS")
    framing.content_length = request.body.size();
  std::string head;
  if (!append_request_head(head, m, url->target, url->host_header, request.headers, framing))
    co_return Error::make(
        ErrorKind::invalid_request,
        "cannot send to " + url->host_header + ": the method or path has a space or a control character",
        "invalid_request_target");

  // A pooled connection may have been closed by the upstream meanwhile: if it fails before any
  // byte of the answer, try once more on a fresh connection.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto conn = attempt == 0 ? impl_->take_idle(url->pool_key) : nullptr;
    const bool reused = conn != nullptr;
    if (!conn) {
      auto fresh = co_await impl_->connect(*url);
      if (!fresh) co_return fresh.error();
      conn = std::move(*fresh);
    }
    auto response = std::make_unique<Response>(impl_, url->pool_key, std::move(conn));
    response->set_head_request(m == "HEAD");
    if (auto ec = co_await response->write(head, request.body)) {
      if (reused) continue;
      co_return transport_error("sending the request to " + url->host_header + " failed", ec);
    }
    if (auto ec = co_await response->read_head(impl_->response_timeout.load())) {
      if (!response->malformed().empty()) {
        Error e = Error::make(
            ErrorKind::upstream_error,
            "the response of " + url->host_header + " is not valid HTTP: " + std::string(response->malformed()),
            "do_request_failed");
        e.retryable = true;
        co_return e;
      }
      if (reused && ec != beast::error::timeout) continue;
      co_return transport_error("reading the response of " + url->host_header + " failed", ec);
    }
    co_return std::unique_ptr<ClientResponse>(std::move(response));
  }
  co_return Error::make(ErrorKind::upstream_error, "upstream " + url->host_header + " closed the connection",
                        "do_request_failed");
}

}  // namespace oneapi::net
