#include "net/http_server.hpp"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <array>
#include <atomic>
#include <filesystem>
#include <iterator>
#include <list>
#include <memory>
#include <mutex>

#include "core/error.hpp"
#include "core/util.hpp"
#include "net/asio.hpp"
#include "net/http_parse.hpp"
#include "net/http_wire.hpp"

namespace oneapi::net {

namespace {

std::string url_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_digit_value(s[i + 1]) >= 0 && hex_digit_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_digit_value(s[i + 1]) * 16 + hex_digit_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// A connection the server may have to close on shutdown while it waits for a next request.
struct ConnectionEntry {
  std::function<void()> close;
  std::atomic<bool> busy{false};
};

}  // namespace

std::string ServerRequest::query_param(std::string_view name) const {
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    size_t eq = pair.find('=');
    if (url_decode(pair.substr(0, eq)) == name)
      return eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return {};
}

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  asio::io_context& ioc;
  Handler handler;
  ServerLimits limits;
  std::vector<std::unique_ptr<tcp::acceptor>> tcp_acceptors;
  std::vector<std::unique_ptr<unix_socket::acceptor>> unix_acceptors;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> in_flight{0};
  std::atomic<size_t> connections{0};
  std::mutex mu;  // guards `open`
  std::list<std::shared_ptr<ConnectionEntry>> open;

  Impl(asio::io_context& io, Handler h, ServerLimits l) : ioc(io), handler(std::move(h)), limits(l) {}

  template <class Stream>
  asio::awaitable<void> session(std::shared_ptr<Stream> stream, std::string peer_ip, bool over_unix);
  template <class Acceptor>
  asio::awaitable<void> accept_loop(Acceptor& acceptor);
};

namespace {

constexpr std::string_view kRequestIdHeader = "X-Oneapi-Request-Id";

std::string error_body(ErrorKind kind, std::string msg) {
  return to_openai_error_json(Error::make(kind, std::move(msg)));
}

template <class Stream>
class Writer final : public ResponseWriter {
 public:
  Writer(Stream& s, unsigned version, bool keep_alive, const ServerLimits& limits)
      : stream_(s),
        version_(version),
        keep_alive_(keep_alive),
        timeout_(limits.write_timeout),
        add_request_id_(limits.add_request_id) {}

  asio::awaitable<bool> send(int status, Headers headers, std::string body) override {
    if (started_) co_return false;
    started_ = true;
    Framing framing;
    framing.keep_alive = keep_alive_;
    if (bodiless_status(status))
      body.clear();
    else
      framing.content_length = body.size();
    write_head(status, headers, framing);
    stream_.expires_after(timeout_);
    const std::array<asio::const_buffer, 2> pieces{asio::buffer(head_), asio::buffer(body)};
    auto [ec, n] = co_await asio::async_write(stream_, pieces, kTok);
    failed_ = failed_ || ec;
    co_return !ec;
  }

  asio::awaitable<bool> begin_stream(int status, Headers headers) override {
    if (started_) co_return false;
    started_ = true;
    streaming_ = true;
    // HTTP/1.0 has no chunked encoding: the body ends where the connection does.
    Framing framing;
    framing.chunked = version_ >= 11;
    if (!framing.chunked) keep_alive_ = false;
    framing.keep_alive = keep_alive_;
    write_head(status, headers, framing);
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(head_), kTok);
    head_ = std::string();  // a held stream keeps no copy of its head
    failed_ = failed_ || ec;
    co_return !ec;
  }

  asio::awaitable<bool> write_chunk(std::string_view data) override {
    if (!streaming_ || failed_ || ended_) co_return false;
    if (data.empty()) co_return true;  // an empty chunk would end the body
    stream_.expires_after(timeout_);
    const size_t line = version_ >= 11 ? chunk_size_line(chunk_line_, data.size()) : 0;
    const std::array<asio::const_buffer, 3> pieces{asio::buffer(chunk_line_, line), asio::buffer(data),
                                                   asio::buffer(kCrlf, line ? 2 : 0)};
    auto [ec, n] = co_await asio::async_write(stream_, pieces, kTok);
    failed_ = failed_ || ec;
    co_return !ec;
  }

  asio::awaitable<bool> end_stream() override {
    if (!streaming_ || failed_ || ended_) co_return false;
    ended_ = true;
    if (version_ < 11) co_return true;  // closing the connection ends the body
    stream_.expires_after(timeout_);
    auto [ec, n] = co_await asio::async_write(stream_, asio::buffer(kLastChunk, 5), kTok);
    failed_ = failed_ || ec;
    co_return !ec;
  }

  bool started() const override { return started_; }
  // The connection can carry another request only after a complete, successful response.
  bool reusable() const { return keep_alive_ && !failed_ && (!streaming_ || ended_); }

 private:
  static constexpr char kCrlf[] = "\r\n";
  static constexpr char kLastChunk[] = "0\r\n\r\n";

  void write_head(int status, const Headers& headers, const Framing& framing) {
    std::optional<Header> id;
    if (add_request_id_ && find_header(headers, kRequestIdHeader).empty())
      id = Header{std::string(kRequestIdHeader), new_request_id()};
    head_.clear();
    append_response_head(head_, status, version_, headers, id ? &*id : nullptr, framing);
  }

  Stream& stream_;
  unsigned version_;
  bool keep_alive_;
  std::chrono::milliseconds timeout_;
  bool add_request_id_;
  std::string head_;
  char chunk_line_[20] = {};
  bool started_ = false;
  bool streaming_ = false;
  bool ended_ = false;
  bool failed_ = false;
};

// How reading a request ended. status: 0 read (version and keep_alive set), -1 the connection
// ended or timed out (nothing to answer), else the error status to answer with before closing.
struct ReadEnd {
  int status = 0;
  std::string message;
  unsigned version = 11;
  bool keep_alive = false;
};

ReadEnd connection_ended() {
  ReadEnd end;
  end.status = -1;
  return end;
}

ReadEnd body_too_large(size_t limit) {
  return ReadEnd{413, "request body too large (limit " + std::to_string(limit) + " bytes)"};
}

template <class Stream>
asio::awaitable<beast::error_code> read_more(Stream& stream, ReadBuffer& buffer, size_t min_room) {
  auto [to, room] = buffer.prepare(min_room);
  auto [ec, n] = co_await stream.async_read_some(asio::buffer(to, room), kTok);
  buffer.commit(n);
  co_return ec;
}

template <class Stream>
asio::awaitable<ReadEnd> read_request(Stream& stream, ReadBuffer& buffer, const ServerLimits& limits,
                                      ServerRequest& req) {
  RequestHead head;
  for (;;) {
    const HeadParse parsed = parse_request_head(buffer.data(), kHeadLimit, head);
    if (parsed.status == ParseStatus::bad)
      co_return ReadEnd{400, "malformed HTTP request: " + std::string(parsed.reason)};
    if (parsed.status == ParseStatus::too_large) co_return ReadEnd{431, "request headers too large"};
    if (parsed.status == ParseStatus::complete) {
      buffer.consume(parsed.consumed);
      break;
    }
    if (co_await read_more(stream, buffer, 512)) co_return connection_ended();
  }
  const bool chunked = head.body.kind == BodyFraming::Kind::chunked;
  const uint64_t length = head.body.kind == BodyFraming::Kind::length ? head.body.length : 0;
  if (length > limits.body_limit) co_return body_too_large(limits.body_limit);
  // curl and others wait for this before a large body (or give up waiting after a second).
  if (head.expect_continue && (chunked || buffer.size() < length)) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(kContinue.data(), kContinue.size()), kTok);
    if (ec) co_return connection_ended();
  }
  if (chunked) {
    ChunkedDecoder decoder;
    for (;;) {
      buffer.consume(decoder.feed(buffer.data(), req.body));
      if (!decoder.error().empty()) co_return ReadEnd{400, "malformed HTTP request: " + std::string(decoder.error())};
      if (req.body.size() > limits.body_limit) co_return body_too_large(limits.body_limit);
      if (decoder.done()) break;
      if (co_await read_more(stream, buffer, 512)) co_return connection_ended();
    }
  } else if (length > 0) {
    // Grown as the bytes arrive: a declared length alone allocates at most 1 MB.
    req.body.reserve(std::min<uint64_t>(length, 1 << 20));
    for (;;) {
      const size_t take = std::min<size_t>(buffer.size(), length - req.body.size());
      req.body.append(buffer.data().data(), take);
      buffer.consume(take);
      if (req.body.size() == length) break;
      if (co_await read_more(stream, buffer, std::min<size_t>(length - req.body.size(), 64 * 1024)))
        co_return connection_ended();
    }
  }
  req.method = std::move(head.method);
  req.target = std::move(head.target);
  const size_t q = req.target.find('?');
  req.path = req.target.substr(0, q);
  if (q != std::string::npos) req.query = req.target.substr(q + 1);
  req.headers = std::move(head.headers);
  co_return ReadEnd{0, {}, head.version, head.keep_alive};
}

}  // namespace

template <class Stream>
asio::awaitable<void> HttpServer::Impl::session(std::shared_ptr<Stream> stream, std::string peer_ip, bool over_unix) {
  auto self = shared_from_this();
  auto entry = std::make_shared<ConnectionEntry>();
  std::weak_ptr<Stream> weak = stream;
  std::weak_ptr<ConnectionEntry> weak_entry = entry;
  entry->close = [weak, weak_entry, this] {
    asio::post(ioc, [weak, weak_entry] {
      // Checked again here: a request may have arrived since stop_accepting() looked.
      auto e = weak_entry.lock();
      if (e && e->busy) return;
      if (auto s = weak.lock()) {
        beast::error_code ignored;
        s->socket().shutdown(asio::socket_base::shutdown_both, ignored);
        s->socket().close(ignored);
      }
    });
  };
  std::list<std::shared_ptr<ConnectionEntry>>::iterator registered;
  {
    std::lock_guard lock(mu);
    registered = open.insert(open.end(), entry);
  }
  ++connections;
  ReadBuffer buffer;
  for (;;) {
    if (stopping) break;
    // One deadline for the whole request: the keep-alive wait, then its head and body.
    stream->expires_after(buffer.empty() ? limits.idle_timeout : limits.header_timeout);
    ServerRequest req;
    const ReadEnd read = co_await read_request(*stream, buffer, limits, req);
    if (read.status != 0) {
      if (read.status > 0) {
        Writer<Stream> w(*stream, 11, false, limits);
        // Built outside the co_await: g++ 12 double-destroys ?: temporaries inside one.
        std::string answer = error_body(read.status == 400 ? ErrorKind::invalid_request : ErrorKind::payload_too_large,
                                        std::string(read.message));
        co_await w.send(read.status, json_headers(), std::move(answer));
      }
      break;
    }
    entry->busy = true;
    ++in_flight;
    req.peer_ip = peer_ip;
    req.client_ip = limits.trusted_proxies.empty()
                        ? peer_ip
                        : client_ip(peer_ip, req.header("X-Forwarded-For"), limits.trusted_proxies);
    req.over_unix = over_unix;
    Writer<Stream> writer(*stream, read.version, read.keep_alive && !stopping, limits);
    buffer.release_if_empty();  // nothing pipelined: free it while the request runs
    try {
      co_await handler(req, writer);
    } catch (const std::exception& e) {
      spdlog::error("handler for {} {} failed: {}", req.method, req.path, e.what());
    }
    if (!writer.started())
      co_await writer.send(500, json_headers(), error_body(ErrorKind::internal, "internal error: no response"));
    --in_flight;
    entry->busy = false;
    if (!writer.reusable()) break;
  }
  beast::error_code ignored;
  stream->socket().shutdown(asio::socket_base::shutdown_send, ignored);
  stream->socket().close(ignored);
  {
    std::lock_guard lock(mu);
    open.erase(registered);
  }
  --connections;
}

template <class Acceptor>
asio::awaitable<void> HttpServer::Impl::accept_loop(Acceptor& acceptor) {
  auto self = shared_from_this();
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kTok);
    if (stopping || ec == asio::error::operation_aborted) co_return;
    if (ec) {  // e.g. too many open files: back off instead of spinning
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(ioc, std::chrono::milliseconds(50));
      co_await t.async_wait(kTok);
      continue;
    }
    auto on_done = [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::error("connection ended with an exception: {}", ex.what());
      }
    };
    if constexpr (std::is_same_v<Acceptor, tcp::acceptor>) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::string ip = socket.remote_endpoint(ignored).address().to_string();
      if (ip.rfind("::ffff:", 0) == 0) ip = ip.substr(7);
      auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
      asio::co_spawn(ioc, session(std::move(stream), std::move(ip), false), on_done);
    } else {
      using UnixStream = beast::basic_stream<unix_socket, asio::any_io_executor, beast::unlimited_rate_policy>;
      auto stream = std::make_shared<UnixStream>(std::move(socket));
      asio::co_spawn(ioc, session(std::move(stream), std::string(), true), on_done);
    }
  }
}

HttpServer::HttpServer(asio::io_context& ioc, Handler handler, ServerLimits limits)
    : impl_(std::make_shared<Impl>(ioc, std::move(handler), limits)) {}

HttpServer::~HttpServer() {
  impl_->stopping = true;
  beast::error_code ignored;
  for (auto& a : impl_->tcp_acceptors) a->close(ignored);
  for (auto& a : impl_->unix_acceptors) a->close(ignored);
}

uint16_t HttpServer::listen_tcp(const std::string& address, uint16_t port) {
  auto acceptor = std::make_unique<tcp::acceptor>(impl_->ioc);
  tcp::endpoint ep{asio::ip::make_address(address), port};
  acceptor->open(ep.protocol());
  acceptor->set_option(asio::socket_base::reuse_address(true));
  acceptor->bind(ep);
  acceptor->listen(asio::socket_base::max_listen_connections);
  const uint16_t bound = acceptor->local_endpoint().port();
  auto& ref = *acceptor;
  impl_->tcp_acceptors.push_back(std::move(acceptor));
  asio::co_spawn(impl_->ioc, impl_->accept_loop(ref), asio::detached);
  return bound;
}

void HttpServer::listen_unix(const std::string& path) {
  std::error_code fs_ec;
  if (std::filesystem::is_socket(path, fs_ec)) std::filesystem::remove(path, fs_ec);  // stale socket
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, fs_ec);
  auto acceptor = std::make_unique<unix_socket::acceptor>(impl_->ioc);
  acceptor->open();
  const mode_t old_mask = ::umask(0177);  // the socket file is born 0600: root-equivalent
  beast::error_code ec;
  acceptor->bind(unix_socket::endpoint(path), ec);
  ::umask(old_mask);
  if (ec) throw std::runtime_error("cannot bind admin socket " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0600);
  acceptor->listen();
  auto& ref = *acceptor;
  impl_->unix_acceptors.push_back(std::move(acceptor));
  asio::co_spawn(impl_->ioc, impl_->accept_loop(ref), asio::detached);
}

void HttpServer::stop_accepting() {
  impl_->stopping = true;
  asio::post(impl_->ioc, [impl = impl_] {
    beast::error_code ignored;
    for (auto& a : impl->tcp_acceptors) a->close(ignored);
    for (auto& a : impl->unix_acceptors) a->close(ignored);
  });
  std::lock_guard lock(impl_->mu);
  for (auto& e : impl_->open)
    if (!e->busy) e->close();
}

size_t HttpServer::in_flight() const { return impl_->in_flight; }
size_t HttpServer::connections() const { return impl_->connections; }

}  // namespace oneapi::net
