#include "cache/redis.hpp"

// hiredis's sds.h has C flexible array members.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpedantic"
#include <hiredis.h>
#pragma GCC diagnostic pop
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <optional>

#include "core/util.hpp"
#include "net/asio.hpp"

namespace oneapi::cache {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using net::kTok;
using Clock = std::chrono::steady_clock;

namespace {

Error unavailable(std::string message) {
  Error e = Error::make(ErrorKind::unavailable, "redis: " + std::move(message), "redis_unavailable");
  e.retryable = true;
  return e;
}

Error error_reply(const std::string& text) { return Error::make(ErrorKind::internal, "redis: " + text, "redis_error"); }

Error bad_url(const std::string& why) { return Error::make(ErrorKind::invalid_request, "REDIS_CONN_STRING: " + why); }

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

Reply to_reply(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(to_reply(r->element[i]));
      break;
    default:
      out.type = Reply::Type::nil;
  }
  return out;
}

std::string encode(const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  char* formatted = nullptr;
  const int n = redisFormatCommandArgv(&formatted, static_cast<int>(args.size()), argv.data(), lengths.data());
  if (n < 0) throw std::bad_alloc();  // hiredis fails only when out of memory
  std::string bytes(formatted, static_cast<size_t>(n));
  redisFreeCommand(formatted);
  return bytes;
}

// A completion handler of any type behind one interface, so queued commands can sit in a deque.
// The result is posted to the handler's own executor (the caller's), never run on our strand.
struct Completion {
  virtual ~Completion() = default;
  virtual void complete(Result<Reply> result) = 0;
};

template <class Handler>
struct HandlerCompletion final : Completion {
  explicit HandlerCompletion(Handler&& h)
      : handler(std::move(h)),
        work(asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked)) {}
  void complete(Result<Reply> result) override {
    asio::post(work, [h = std::move(handler), r = std::move(result)]() mutable { std::move(h)(std::move(r)); });
  }
  Handler handler;
  asio::any_io_executor work;
};

struct Inflight {
  std::unique_ptr<Completion> done;
  Clock::time_point deadline;
};

// One TCP connection and its reply parser. All members are touched only on the owner's strand.
struct Connection {
  explicit Connection(const asio::any_io_executor& strand) : socket(strand), timer(strand) {}
  ~Connection() { redisReaderFree(reader); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void close() {
    boost::system::error_code ignored;
    socket.close(ignored);
    timer.cancel();
  }

  tcp::socket socket;
  asio::steady_timer timer;  // the connect deadline, then the oldest command's deadline
  bool watch_armed = false;
  redisReader* reader = redisReaderCreate();
  std::array<char, 16 * 1024> buffer{};
  bool connected = false;  // past AUTH and SELECT
  bool timed_out = false;  // the timer closed the socket
  bool broken = false;
  std::chrono::milliseconds timeout{0};
  std::deque<Inflight> inflight;  // written, replies pending (RedisClient only)
};

Error io_error(const Connection& c, const boost::system::error_code& ec, const std::string& endpoint) {
  if (c.timed_out)
    return unavailable((c.connected ? "command timed out after " : "connect timed out after ") +
                       std::to_string(c.timeout.count()) + " ms (" + endpoint + ")");
  if (ec == asio::error::eof) return unavailable("connection closed by the server (" + endpoint + ")");
  return unavailable(to_lower_ascii(ec.message()) + " (" + endpoint + ")");
}

// The next complete reply, reading the socket as needed. After an error the connection is unusable.
asio::awaitable<Result<Reply>> read_reply(Connection& c, const std::string& endpoint) {
  for (;;) {
    void* raw = nullptr;
    if (redisReaderGetReply(c.reader, &raw) != REDIS_OK)
      co_return unavailable(std::string("protocol error: ") + c.reader->errstr + " (" + endpoint + ")");
    if (raw != nullptr) {
      Reply reply = to_reply(static_cast<const redisReply*>(raw));
      freeReplyObject(raw);
      co_return reply;
    }
    auto [ec, n] = co_await c.socket.async_read_some(asio::buffer(c.buffer), kTok);
    if (ec) co_return io_error(c, ec, endpoint);
    redisReaderFeed(c.reader, c.buffer.data(), n);
  }
}

// Resolves, connects and sends AUTH and SELECT, all within `timeout`. `in_progress` points at the
// connection meanwhile, so that shutting down can close it instead of waiting for the timeout.
asio::awaitable<Result<std::shared_ptr<Connection>>> open_connection(asio::any_io_executor strand, const RedisUrl& url,
                                                                     std::chrono::milliseconds timeout,
                                                                     std::weak_ptr<Connection>* in_progress) {
  auto conn = std::make_shared<Connection>(strand);
  *in_progress = conn;
  const std::string endpoint = url.endpoint();
  auto resolver = std::make_shared<tcp::resolver>(strand);
  conn->timeout = timeout;
  conn->timer.expires_after(timeout);
  std::weak_ptr<Connection> weak = conn;
  auto on_deadline = [weak, resolver](boost::system::error_code ec) {
    if (ec) return;
    resolver->cancel();
    if (auto c = weak.lock()) {
      c->timed_out = true;
      c->close();
    }
  };
  conn->timer.async_wait(on_deadline);

  auto [resolve_ec, endpoints] = co_await resolver->async_resolve(url.host, std::to_string(url.port), kTok);
  if (resolve_ec || conn->timed_out) {
    conn->close();
    if (conn->timed_out) co_return io_error(*conn, resolve_ec, endpoint);
    co_return unavailable("cannot resolve " + url.host + ": " + to_lower_ascii(resolve_ec.message()));
  }
  auto [connect_ec, connected_to] = co_await asio::async_connect(conn->socket, endpoints, kTok);
  if (connect_ec || conn->timed_out) {
    conn->close();
    co_return io_error(*conn, connect_ec, endpoint);
  }
  (void)connected_to;
  boost::system::error_code ignored;
  conn->socket.set_option(tcp::no_delay(true), ignored);
  conn->socket.set_option(asio::socket_base::keep_alive(true), ignored);

  std::vector<std::string> steps;
  std::string hello;
  if (!url.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!url.username.empty()) auth.push_back(url.username);
    auth.push_back(url.password);
    hello += encode(auth);
    steps.push_back("AUTH");
  }
  if (url.db != 0) {
    hello += encode({"SELECT", std::to_string(url.db)});
    steps.push_back("SELECT " + std::to_string(url.db));
  }
  if (!hello.empty()) {
    auto [write_ec, written] = co_await asio::async_write(conn->socket, asio::buffer(hello), kTok);
    (void)written;
    if (write_ec) {
      conn->close();
      co_return io_error(*conn, write_ec, endpoint);
    }
    for (const auto& step : steps) {
      auto reply = co_await read_reply(*conn, endpoint);
      if (!reply) {
        conn->close();
        co_return reply.error();
      }
      if (reply->is_error()) {
        conn->close();
        co_return unavailable(step + " failed: " + reply->str + " (" + endpoint + ")");
      }
    }
  }
  conn->timer.cancel();
  conn->connected = true;
  co_return conn;
}

// Closes the socket when the oldest command waits longer than its deadline; the reader then fails
// every command in flight (their replies can no longer be matched).
void arm_watchdog(const std::shared_ptr<Connection>& conn) {
  if (conn->inflight.empty()) {
    if (conn->watch_armed) conn->timer.cancel();
    conn->watch_armed = false;
    return;
  }
  const auto deadline = conn->inflight.front().deadline;
  if (conn->watch_armed && conn->timer.expiry() == deadline) return;
  conn->timer.expires_at(deadline);
  conn->watch_armed = true;
  std::weak_ptr<Connection> weak = conn;
  auto on_deadline = [weak](boost::system::error_code ec) {
    auto c = weak.lock();
    if (ec || !c || c->broken) return;
    c->watch_armed = false;
    if (c->inflight.empty()) return;
    if (c->inflight.front().deadline <= Clock::now()) {
      c->timed_out = true;
      boost::system::error_code ignored;
      c->socket.close(ignored);
    } else {
      arm_watchdog(c);
    }
  };
  conn->timer.async_wait(on_deadline);
}

}  // namespace

std::string RedisUrl::endpoint() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<RedisUrl> parse_redis_url(std::string_view url) {
  if (url.rfind("rediss://", 0) == 0) return bad_url("TLS (rediss://) is not supported");
  if (url.rfind("redis://", 0) != 0) return bad_url("want redis://[user][:password@]host[:port][/db]");
  std::string_view rest = url.substr(8);
  rest = rest.substr(0, rest.find_first_of("?#"));  // go-redis options in the query are not supported
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);

  RedisUrl out;
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    const size_t colon = userinfo.find(':');
    auto user = percent_decode(userinfo.substr(0, colon));
    auto password = percent_decode(colon == std::string_view::npos ? std::string_view{} : userinfo.substr(colon + 1));
    if (!user || !password) return bad_url("bad percent-encoding in the user or password");
    out.username = std::move(*user);
    out.password = std::move(*password);
  }
  std::string_view host = authority, port;
  if (!authority.empty() && authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad_url("bad IPv6 host");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad_url("bad IPv6 host");
      port = authority.substr(close + 2);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (!host.empty()) out.host = std::string(host);
  if (!port.empty()) {
    if (!all_digits(port) || port.size() > 5 || std::stoi(std::string(port)) < 1 ||
        std::stoi(std::string(port)) > 65535)
      return bad_url("bad port \"" + std::string(port) + "\"");
    out.port = static_cast<uint16_t>(std::stoi(std::string(port)));
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (!path.empty()) {
    if (!all_digits(path) || path.size() > 6)
      return bad_url("the database must be a number, not \"" + std::string(path) + "\"");
    out.db = std::stoi(std::string(path));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// RedisClient: commands are queued on the strand; one writer coroutine writes whatever is queued
// as one pipelined batch, one reader coroutine per connection hands replies out in order.

struct Pending {
  std::string bytes;
  std::unique_ptr<Completion> done;
};

struct RedisClient::Impl : std::enable_shared_from_this<RedisClient::Impl> {
  Impl(asio::any_io_executor executor, RedisUrl u, RedisOptions o)
      : strand(asio::make_strand(std::move(executor))), url(std::move(u)), options(o), endpoint(url.endpoint()) {}

  asio::any_io_executor strand;
  RedisUrl url;
  RedisOptions options;
  std::string endpoint;
  // Everything below: on the strand only.
  std::deque<Pending> queue;  // not yet written
  bool writing = false;
  bool closed = false;
  std::shared_ptr<Connection> conn;
  std::weak_ptr<Connection> connecting;

  void enqueue(Pending p) {
    if (closed) {
      p.done->complete(unavailable("client closed"));
      return;
    }
    queue.push_back(std::move(p));
    if (writing) return;
    writing = true;
    asio::co_spawn(strand, write_loop(shared_from_this()), asio::detached);
  }

  void fail_queue(const Error& why) {
    auto failed = std::move(queue);
    queue.clear();
    for (auto& p : failed) p.done->complete(why);
  }

  // By value: `c` may be the member `conn`, which this resets.
  void break_connection(std::shared_ptr<Connection> c, const Error& why) {
    if (c->broken) return;
    c->broken = true;
    c->close();
    if (conn == c) conn.reset();
    if (!closed) spdlog::warn("{}", why.message);
    auto failed = std::move(c->inflight);
    c->inflight.clear();
    for (auto& f : failed) f.done->complete(why);
  }

  void shut_down() {
    closed = true;
    const Error why = unavailable("client closed");
    fail_queue(why);
    if (conn) break_connection(conn, why);
    if (auto c = connecting.lock()) c->close();
  }

  static asio::awaitable<void> write_loop(std::shared_ptr<Impl> self) {
    while (!self->queue.empty() && !self->closed) {
      if (!self->conn) {
        auto opened =
            co_await open_connection(self->strand, self->url, self->options.connect_timeout, &self->connecting);
        if (!opened) {
          self->fail_queue(opened.error());
          continue;
        }
        if (self->closed) {
          (*opened)->close();
          break;
        }
        self->conn = std::move(*opened);
        self->conn->timeout = self->options.command_timeout;
        asio::co_spawn(self->strand, read_loop(self, self->conn), asio::detached);
      }
      auto c = self->conn;
      std::string batch;
      const auto deadline = Clock::now() + self->options.command_timeout;
      while (!self->queue.empty()) {
        batch += self->queue.front().bytes;
        c->inflight.push_back(Inflight{std::move(self->queue.front().done), deadline});
        self->queue.pop_front();
      }
      arm_watchdog(c);
      auto [ec, n] = co_await asio::async_write(c->socket, asio::buffer(batch), kTok);
      (void)n;
      if (ec) self->break_connection(c, io_error(*c, ec, self->endpoint));
    }
    if (self->closed) self->fail_queue(unavailable("client closed"));
    self->writing = false;
  }

  // Runs for the life of the connection, idle or not, so a server that goes away is noticed at
  // once and the next command reconnects instead of failing on the dead socket.
  static asio::awaitable<void> read_loop(std::shared_ptr<Impl> self, std::shared_ptr<Connection> c) {
    for (;;) {
      auto reply = co_await read_reply(*c, self->endpoint);
      if (c->broken) co_return;
      if (!reply) {
        self->break_connection(c, reply.error());
        co_return;
      }
      if (c->inflight.empty()) {
        self->break_connection(c, unavailable("reply without a request (" + self->endpoint + ")"));
        co_return;
      }
      auto done = std::move(c->inflight.front().done);
      c->inflight.pop_front();
      arm_watchdog(c);
      if (reply->is_error())
        done->complete(error_reply(reply->str));
      else
        done->complete(std::move(*reply));
    }
  }
};

RedisClient::RedisClient(asio::any_io_executor executor, RedisUrl url, RedisOptions options)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(url), options)) {}

RedisClient::~RedisClient() {
  asio::post(impl_->strand, [impl = impl_] { impl->shut_down(); });
}

asio::awaitable<Result<Reply>> RedisClient::command(std::vector<std::string> args) {
  if (args.empty()) co_return Error::make(ErrorKind::invalid_request, "redis: empty command");
  auto initiation = [impl = impl_, bytes = encode(args)](auto handler) mutable {
    auto done = std::make_unique<HandlerCompletion<decltype(handler)>>(std::move(handler));
    Pending pending{std::move(bytes), std::move(done)};
    asio::post(impl->strand, [impl, p = std::move(pending)]() mutable { impl->enqueue(std::move(p)); });
  };
  auto result = co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<Reply>)>(
      std::move(initiation), asio::use_awaitable);
  co_return result;
}

// ---------------------------------------------------------------------------------------------
// RedisSubscriber

struct RedisSubscriber::Impl : std::enable_shared_from_this<RedisSubscriber::Impl> {
  Impl(asio::any_io_executor executor, RedisUrl u, std::vector<std::string> ch, MessageHandler m, SubscribedHandler s,
       RedisOptions o, std::chrono::milliseconds mb)
      : strand(asio::make_strand(std::move(executor))),
        url(std::move(u)),
        channels(std::move(ch)),
        on_message(std::move(m)),
        on_subscribed(std::move(s)),
        options(o),
        max_backoff(mb),
        endpoint(url.endpoint()),
        backoff_timer(strand) {}

  asio::any_io_executor strand;
  RedisUrl url;
  std::vector<std::string> channels;
  MessageHandler on_message;
  SubscribedHandler on_subscribed;
  RedisOptions options;
  std::chrono::milliseconds max_backoff;
  std::string endpoint;
  std::atomic<bool> stopped{false};
  bool started = false;
  // On the strand only.
  asio::steady_timer backoff_timer;
  std::shared_ptr<Connection> conn;
  std::weak_ptr<Connection> connecting;

  struct SessionEnd {
    Error error;
    bool was_subscribed = false;
  };

  // One connection: SUBSCRIBE, then messages until the connection breaks or stop().
  static asio::awaitable<SessionEnd> session(std::shared_ptr<Impl> self) {
    SessionEnd end;
    auto opened = co_await open_connection(self->strand, self->url, self->options.connect_timeout, &self->connecting);
    if (!opened) {
      end.error = opened.error();
      co_return end;
    }
    self->conn = std::move(*opened);
    auto c = self->conn;
    if (self->stopped) {
      c->close();
      co_return end;
    }
    std::vector<std::string> subscribe{"SUBSCRIBE"};
    subscribe.insert(subscribe.end(), self->channels.begin(), self->channels.end());
    const std::string bytes = encode(subscribe);
    auto [write_ec, written] = co_await asio::async_write(c->socket, asio::buffer(bytes), kTok);
    (void)written;
    if (write_ec) {
      end.error = io_error(*c, write_ec, self->endpoint);
      co_return end;
    }
    size_t confirmed = 0;
    for (;;) {
      auto reply = co_await read_reply(*c, self->endpoint);
      if (!reply) {
        end.error = reply.error();
        break;
      }
      if (self->stopped) break;
      const auto& e = reply->elements;
      if (reply->type != Reply::Type::array || e.size() < 3) continue;
      if (e[0].str == "message") {
        if (self->on_message) self->on_message(e[1].str, e[2].str);
      } else if (e[0].str == "subscribe" && ++confirmed == self->channels.size()) {
        end.was_subscribed = true;
        if (self->on_subscribed) self->on_subscribed();
      }
    }
    c->close();
    co_return end;
  }

  static asio::awaitable<void> run(std::shared_ptr<Impl> self) {
    const std::chrono::milliseconds initial_backoff{100};
    auto backoff = initial_backoff;
    while (!self->stopped) {
      SessionEnd end = co_await session(self);
      if (self->conn) self->conn->close();
      self->conn.reset();
      if (self->stopped) break;
      if (end.was_subscribed) backoff = initial_backoff;
      spdlog::warn("redis subscriber: {}; reconnecting in {} ms", end.error.message, backoff.count());
      self->backoff_timer.expires_after(backoff);
      auto [ec] = co_await self->backoff_timer.async_wait(kTok);
      (void)ec;
      backoff = std::min(backoff * 2, self->max_backoff);
    }
  }
};

RedisSubscriber::RedisSubscriber(asio::any_io_executor executor, RedisUrl url, std::vector<std::string> channels,
                                 MessageHandler on_message, SubscribedHandler on_subscribed, RedisOptions options,
                                 std::chrono::milliseconds max_backoff)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(url), std::move(channels), std::move(on_message),
                                   std::move(on_subscribed), options, max_backoff)) {}

RedisSubscriber::~RedisSubscriber() { stop(); }

void RedisSubscriber::start() {
  if (impl_->started || impl_->stopped) return;
  impl_->started = true;
  asio::co_spawn(impl_->strand, Impl::run(impl_), asio::detached);
}

void RedisSubscriber::stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->strand, [impl = impl_] {
    impl->backoff_timer.cancel();
    if (impl->conn) impl->conn->close();
    if (auto c = impl->connecting.lock()) c->close();
  });
}

}  // namespace oneapi::cache
