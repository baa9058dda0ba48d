#include "net/http_wire.hpp"

#include <catch2/catch.hpp>

#include "support/mock_upstream.hpp"
#include "support/raw_peer.hpp"

using namespace oneapi;
using namespace oneapi::test;

TEST_CASE("response head: status line, fields, framing", "[net][wire]") {
  std::string out;
  net::Framing f;
  f.content_length = 12;
  net::append_response_head(out, 200, 11, {{"Content-Type", "application/json"}, {"X-A", "1"}}, nullptr, f);
  CHECK(out == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-A: 1\r\nContent-Length: 12\r\n\r\n");

  out.clear();
  f.keep_alive = false;
  f.content_length = 0;
  const net::Header id{"X-Oneapi-Request-Id", "abc"};
  net::append_response_head(out, 429, 11, {}, &id, f);
  CHECK(out ==
        "HTTP/1.1 429 Too Many Requests\r\nX-Oneapi-Request-Id: abc\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

  out.clear();
  net::Framing stream;
  stream.chunked = true;
  net::append_response_head(out, 298, 11, {}, nullptr, stream);
  CHECK(out == "HTTP/1.1 298 \r\nTransfer-Encoding: chunked\r\n\r\n");  // no reason known: an empty one

  out.clear();
  net::Framing old;
  old.content_length = 2;
  net::append_response_head(out, 200, 10, {}, nullptr, old);
  CHECK(out == "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n");
}

TEST_CASE("response head: the later of two same-named fields wins, framing and unsafe fields are dropped",
          "[net][wire]") {
  std::string out;
  net::Framing f;
  f.content_length = 5;
  const net::Headers headers{
      {"X-Model", "a"},
      {"content-length", "999"},  // the writer frames the body
      {"Transfer-Encoding", "chunked"},
      {"Connection", "upgrade"},
      {"X-Evil", "1\r\nSet-Cookie: s=1"},  // would split the head
      {"Bad Name", "1"},                   // not a token
      {"", "empty"},
      {"x-model", "b"},
      {"X-Nul", std::string("a\0b", 3)},
  };
  const net::Header extra{"X-Model", "c"};
  net::append_response_head(out, 200, 11, headers, nullptr, f);
  CHECK(out == "HTTP/1.1 200 OK\r\nx-model: b\r\nContent-Length: 5\r\n\r\n");
  out.clear();
  net::append_response_head(out, 200, 11, headers, &extra, f);
  CHECK(out == "HTTP/1.1 200 OK\r\nX-Model: c\r\nContent-Length: 5\r\n\r\n");

  CHECK(net::writable_header("X-Request-Id", "value with spaces and \t tab"));
  CHECK_FALSE(net::writable_header("X:Y", "1"));
  CHECK_FALSE(net::writable_header("X-Y", "a\nb"));
  // Names fold only letters: '^' and '~' differ by 0x20 but are different names.
  out.clear();
  net::append_response_head(out, 200, 11, {{"X^", "1"}, {"X~", "2"}}, nullptr, f);
  CHECK(out == "HTTP/1.1 200 OK\r\nX^: 1\r\nX~: 2\r\nContent-Length: 5\r\n\r\n");
}

TEST_CASE("request head: Host, headers, length, a target that would split the line is refused", "[net][wire]") {
  std::string out;
  net::Framing f;
  f.content_length = 2;
  REQUIRE(net::append_request_head(out, "POST", "/v1/chat/completions", "api.example.com:8443",
                                   {{"Authorization", "Bearer sk-x"}, {"Content-Type", "application/json"}}, f));
  CHECK(out ==
        "POST /v1/chat/completions HTTP/1.1\r\nHost: api.example.com:8443\r\nAuthorization: Bearer sk-x\r\n"
        "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n");

  out.clear();
  REQUIRE(net::append_request_head(out, "GET", "/v1/models", "a", {{"host", "b.example"}}, net::Framing{}));
  CHECK(out == "GET /v1/models HTTP/1.1\r\nhost: b.example\r\n\r\n");  // a caller's Host replaces the URL's

  out = "kept";
  CHECK_FALSE(net::append_request_head(out, "POST", "/openai/deployments/gpt 4\r\nX: 1/chat", "a", {}, f));
  CHECK_FALSE(net::append_request_head(out, "POST", "/a", "", {}, f));
  CHECK_FALSE(net::append_request_head(out, "PO ST", "/a", "h", {}, f));
  CHECK(out == "kept");
}

TEST_CASE("chunk size line", "[net][wire]") {
  char line[20];
  CHECK(std::string(line, net::chunk_size_line(line, 1)) == "1\r\n");
  CHECK(std::string(line, net::chunk_size_line(line, 255)) == "ff\r\n");
  CHECK(std::string(line, net::chunk_size_line(line, 4096)) == "1000\r\n");
  CHECK(std::string(line, net::chunk_size_line(line, SIZE_MAX)) == "ffffffffffffffff\r\n");
  CHECK(net::bodiless_status(204));
  CHECK(net::bodiless_status(304));
  CHECK(net::bodiless_status(101));
  CHECK_FALSE(net::bodiless_status(200));
}

TEST_CASE("server: a stream is chunked for HTTP/1.1 and ends with the connection for HTTP/1.0", "[net][wire]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "text/event-stream"}};
    r.chunks = {{0, "one"}, {0, "two-two"}};
  });
  const auto port = static_cast<uint16_t>(mock.port());

  const std::string v11 = raw_exchange(port, "GET /s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const size_t body11 = v11.find("\r\n\r\n");
  REQUIRE(body11 != std::string::npos);
  CHECK(v11.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(v11.find("Transfer-Encoding: chunked\r\n") < body11);
  CHECK(v11.find("Connection: close\r\n") < body11);
  CHECK(v11.substr(body11 + 4) == "3\r\none\r\n7\r\ntwo-two\r\n0\r\n\r\n");

  const std::string v10 = raw_exchange(port, "GET /s HTTP/1.0\r\n\r\n");
  const size_t body10 = v10.find("\r\n\r\n");
  REQUIRE(body10 != std::string::npos);
  CHECK(v10.rfind("HTTP/1.0 200 OK\r\n", 0) == 0);
  CHECK(v10.find("Transfer-Encoding") == std::string::npos);
  CHECK(v10.find("Content-Length") == std::string::npos);
  CHECK(v10.substr(body10 + 4) == "onetwo-two");
}

TEST_CASE("server: a whole answer carries its length and keeps the connection for a second request", "[net][wire]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    r.headers = {{"Content-Type", "text/plain"}, {"Content-Length", "999"}};
    r.body = "echo " + req.path;
  });
  const auto port = static_cast<uint16_t>(mock.port());
  const std::string got =
      raw_exchange(port, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /bb HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const size_t first = got.find("Content-Length: 7\r\n\r\necho /a");
  REQUIRE(first != std::string::npos);
  CHECK(got.find("Content-Length: 999") == std::string::npos);
  const size_t second = got.find("HTTP/1.1 200 OK\r\n", first);
  REQUIRE(second != std::string::npos);
  CHECK(got.substr(second).find("Content-Length: 8\r\nConnection: close\r\n\r\necho /bb") != std::string::npos);
}
