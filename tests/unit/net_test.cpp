#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <thread>

#include "net/http_client.hpp"
#include "net/sse.hpp"
#include "support/daemon_fixture.hpp"
#include "support/mock_upstream.hpp"
#include "support/raw_peer.hpp"
#include "support/run_coro.hpp"
#include "support/temp_dir.hpp"

using namespace oneapi;
using namespace oneapi::test;
namespace asio = boost::asio;

namespace {

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct Fetched {
  bool ok = false;
  int status = 0;
  std::string body;
  Error error;
};

Fetched fetch(net::ClientOptions options, net::ClientRequest request, int times = 1, size_t* idle_after = nullptr) {
  return run_coro<Fetched>([&](asio::io_context& ioc) -> asio::awaitable<Fetched> {
    net::HttpClient client(ioc, options);
    Fetched f;
    for (int i = 0; i < times; ++i) {
      net::ClientRequest copy = request;
      auto r = co_await client.send(std::move(copy));
      if (!r) {
        f.error = r.error();
        co_return f;
      }
      f.status = (*r)->status();
      auto body = co_await (*r)->read_all();
      if (!body) {
        f.error = body.error();
        co_return f;
      }
      f.body = *body;
    }
    f.ok = true;
    if (idle_after) *idle_after = client.idle_connections();
    co_return f;
  });
}

}  // namespace

TEST_CASE("SSE decoder: fields, comments, CRLF, multi-line data, split anywhere", "[net][sse]") {
  const std::string t =
      "event: delta\r\ndata: {\"a\":1}\r\n\r\n: comment\n\ndata:no-space\ndata: second line\n\ndata: tail";
  std::vector<net::SseEvent> whole;
  net::SseDecoder d;
  d.feed(t, whole);
  net::SseEvent last;
  REQUIRE(d.finish(last));
  REQUIRE(whole.size() == 2);
  CHECK(whole[0].event == "delta");
  CHECK(whole[0].data == "{\"a\":1}");
  CHECK(whole[1].data == "no-space\nsecond line");
  CHECK(last.data == "tail");
  for (size_t split = 0; split <= t.size(); ++split) {
    net::SseDecoder s;
    std::vector<net::SseEvent> events;
    s.feed(std::string_view(t).substr(0, split), events);
    s.feed(std::string_view(t).substr(split), events);
    net::SseEvent tail;
    REQUIRE(s.finish(tail));
    REQUIRE(events.size() == 2);
    REQUIRE(events[1].data == whole[1].data);
    REQUIRE(tail.data == "tail");
  }
  // A byte at a time: every line is carried over reads.
  net::SseDecoder bytewise;
  std::vector<net::SseEvent> events;
  for (char c : t) bytewise.feed(std::string_view(&c, 1), events);
  net::SseEvent tail;
  REQUIRE(bytewise.finish(tail));
  REQUIRE(events.size() == 2);
  CHECK(events[0].event == "delta");
  CHECK(events[0].data == "{\"a\":1}");
  CHECK(events[1].data == "no-space\nsecond line");
  CHECK(tail.data == "tail");
  CHECK(net::sse_encode("x", "ping") == "event: ping\ndata: x\n\n");
  std::string appended = "a";
  net::sse_append(appended, "y");
  CHECK(appended == "adata: y\n\n");
}

TEST_CASE("client and server: round trip and keep-alive reuse", "[net]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    r.headers = {{"Content-Type", "text/plain"}};
    r.body = "echo:" + req.body + ":" + req.query_param("q");
  });
  net::ClientRequest req{"POST", mock.base_url() + "/path?q=a%20b", {{"X-Test", "1"}}, "hello"};
  size_t idle = 0;
  auto f = fetch({}, req, 3, &idle);
  REQUIRE(f.ok);
  CHECK(f.status == 200);
  CHECK(f.body == "echo:hello:a b");
  CHECK(idle == 1);  // three requests, one pooled connection
  auto seen = mock.requests();
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].header("x-test") == "1");
  CHECK(seen[0].path == "/path");
}

TEST_CASE("client: chunked bodies arrive piece by piece", "[net]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.chunks = {{0, "one"}, {150, "two"}, {150, "three"}};
  });
  auto pieces =
      run_coro<std::vector<std::string>>([&](asio::io_context& ioc) -> asio::awaitable<std::vector<std::string>> {
        net::HttpClient client(ioc, {});
        std::vector<std::string> out;
        net::ClientRequest req{"GET", mock.base_url() + "/", {}, ""};
        auto r = co_await client.send(std::move(req));
        if (!r) co_return out;
        for (;;) {
          auto p = co_await (*r)->read_some();
          if (!p || p->empty()) break;
          out.push_back(*p);
        }
        co_return out;
      });
  REQUIRE(pieces.size() == 3);
  CHECK(pieces[2] == "three");
}

TEST_CASE("client: a huge Content-Length is not allocated for, and a cut body is an error", "[net]") {
  // A raw upstream: claims a terabyte, sends five bytes, hangs up.
  RawUpstream upstream("HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\nhello");
  struct Pieces {
    std::vector<std::string> data;
    Error error;
  };
  const std::string url = upstream.url();
  auto got = run_coro<Pieces>([&](asio::io_context& ioc) -> asio::awaitable<Pieces> {
    net::HttpClient client(ioc, {});
    Pieces out;
    net::ClientRequest req{"GET", url, {}, ""};
    auto r = co_await client.send(std::move(req));
    if (!r) {
      out.error = r.error();
      co_return out;
    }
    for (;;) {
      auto p = co_await (*r)->read_some();
      if (!p) {
        out.error = p.error();
        break;
      }
      if (p->empty()) break;
      out.data.push_back(*p);
    }
    co_return out;
  });
  std::string all;
  for (const auto& d : got.data) all += d;
  CHECK(all == "hello");
  CHECK(got.error.kind == ErrorKind::upstream_error);
  CHECK(got.error.code == "read_response_body_failed");
}

TEST_CASE("client errors: refused, head timeout, bad URL", "[net]") {
  auto refused = fetch({}, {"GET", "http://127.0.0.1:1/", {}, ""});
  REQUIRE_FALSE(refused.ok);
  CHECK(refused.error.kind == ErrorKind::upstream_error);
  CHECK(refused.error.retryable);
  CHECK(refused.error.message.find("connect to 127.0.0.1:1 failed") == 0);

  MockUpstream slow([](const net::ServerRequest&, MockReply& r) {
    r.delay_before_headers_ms = 2000;
    r.body = "late";
  });
  net::ClientOptions quick;
  quick.response_timeout = std::chrono::milliseconds(200);
  auto timed_out = fetch(quick, {"GET", slow.base_url() + "/", {}, ""});
  REQUIRE_FALSE(timed_out.ok);
  CHECK(timed_out.error.kind == ErrorKind::upstream_timeout);

  auto bad = fetch({}, {"GET", "ftp://example/", {}, ""});
  REQUIRE_FALSE(bad.ok);
  CHECK(bad.error.kind == ErrorKind::invalid_request);
}

TEST_CASE("client: a dropped response closes the upstream connection", "[net]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    for (int i = 0; i < 50; ++i) r.chunks.push_back({40, "chunk" + std::to_string(i)});
  });
  run_coro<int>([&](asio::io_context& ioc) -> asio::awaitable<int> {
    net::HttpClient client(ioc, {});
    net::ClientRequest req{"GET", mock.base_url() + "/", {}, ""};
    auto r = co_await client.send(std::move(req));
    if (r) co_await (*r)->read_some();
    co_return 0;  // the response is dropped here, mid-body
  });
  for (int i = 0; i < 100 && mock.aborted_streams() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(mock.aborted_streams() == 1);
}

TEST_CASE("client: HTTPS verifies the certificate and the host name", "[net][tls]") {
  TempDir dir;
  const std::string cert = dir.file("cert.pem"), key = dir.file("key.pem");
  auto made = run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                           "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-keyout", key, "-out", cert});
  REQUIRE(made.exit_code == 0);
  // openssl's own test server answers GET with an HTTP status page (-www).
  int port = 0;
  pid_t server = -1;
  for (int attempt = 0; attempt < 5 && server < 0; ++attempt) {
    port = free_loopback_port();
    server = ::fork();
    if (server == 0) {
      ::freopen("/dev/null", "w", stdout);
      ::freopen("/dev/null", "w", stderr);
      ::execl("/usr/bin/openssl", "openssl", "s_server", "-cert", cert.c_str(), "-key", key.c_str(), "-accept",
              std::to_string(port).c_str(), "-www", "-quiet", static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    int status = 0;
    if (::waitpid(server, &status, WNOHANG) == server) server = -1;  // port taken: try another
  }
  REQUIRE(server > 0);
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{server};

  const std::string url = "https://localhost:" + std::to_string(port) + "/";
  net::ClientOptions trusting;
  trusting.ca_file = cert;
  auto good = fetch(trusting, {"GET", url, {}, ""});
  INFO(good.error.message);
  REQUIRE(good.ok);
  CHECK(good.status == 200);

  auto untrusted = fetch({}, {"GET", url, {}, ""});
  REQUIRE_FALSE(untrusted.ok);
  CHECK(untrusted.error.message.find("certificate verify failed") != std::string::npos);

  // The certificate names "localhost" only: the same server reached as 127.0.0.1 is refused.
  auto wrong_name = fetch(trusting, {"GET", "https://127.0.0.1:" + std::to_string(port) + "/", {}, ""});
  REQUIRE_FALSE(wrong_name.ok);
  CHECK(wrong_name.error.message.find("TLS handshake") != std::string::npos);
}
