#include "net/http_parse.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <type_traits>
#include <vector>

#include "net/http_client.hpp"
#include "support/mock_upstream.hpp"
#include "support/raw_peer.hpp"
#include "support/run_coro.hpp"

using namespace oneapi;
using namespace oneapi::net;
using namespace oneapi::test;

namespace {

using Kind = BodyFraming::Kind;

HeadParse request(std::string_view bytes, RequestHead& head, size_t limit = 64 * 1024) {
  return parse_request_head(bytes, limit, head);
}

std::string_view bad_reason(std::string_view bytes) {
  RequestHead head;
  const HeadParse p = request(bytes, head);
  return p.status == ParseStatus::bad ? p.reason : std::string_view("(not bad)");
}

HeadParse response(std::string_view bytes, ResponseHead& head, bool head_request = false) {
  return parse_response_head(bytes, 64 * 1024, head_request, head);
}

struct Fetched {
  int status = 0;
  std::string body;
  Error error;
  bool failed = false;
};

Fetched fetch(const std::string& url, const std::string& method = "GET") {
  return run_coro<Fetched>([&](boost::asio::io_context& ioc) -> boost::asio::awaitable<Fetched> {
    HttpClient client(ioc, {});
    Fetched f;
    ClientRequest req{method, url, {}, ""};
    auto r = co_await client.send(std::move(req));
    if (!r) {
      f.failed = true;
      f.error = r.error();
      co_return f;
    }
    f.status = (*r)->status();
    auto body = co_await (*r)->read_all();
    if (!body) {
      f.failed = true;
      f.error = body.error();
      co_return f;
    }
    f.body = *body;
    co_return f;
  });
}

}  // namespace

TEST_CASE("request head: line, fields, length, and incomplete at every cut", "[net][parse]") {
  const std::string bytes =
      "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: gw\r\nContent-Length:  12 \r\nX-Empty:\r\n"
      "Authorization: Bearer sk-a b\r\n\r\n";
  RequestHead head;
  const HeadParse p = request(bytes + "{\"a\":1}", head);
  REQUIRE(p.status == ParseStatus::complete);
  CHECK(p.consumed == bytes.size());
  CHECK(head.method == "POST");
  CHECK(head.target == "/v1/chat/completions?x=1");
  CHECK(head.version == 11);
  CHECK(head.keep_alive);
  CHECK_FALSE(head.expect_continue);
  CHECK(head.body.kind == Kind::length);
  CHECK(head.body.length == 12);
  REQUIRE(head.headers.size() == 4);
  CHECK(head.headers[1].value == "12");  // surrounding spaces dropped
  CHECK(head.headers[2].name == "X-Empty");
  CHECK(head.headers[2].value.empty());
  CHECK(find_header(head.headers, "authorization") == "Bearer sk-a b");

  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    RequestHead partial;
    INFO("cut at " << cut);
    CHECK(request(std::string_view(bytes).substr(0, cut), partial).status == ParseStatus::incomplete);
  }
}

TEST_CASE("request head: keep-alive by version and Connection, Expect, leading blank lines, chunked", "[net][parse]") {
  RequestHead head;
  REQUIRE(request("GET / HTTP/1.0\r\n\r\n", head).status == ParseStatus::complete);
  CHECK(head.version == 10);
  CHECK_FALSE(head.keep_alive);
  CHECK(head.body.kind == Kind::none);
  REQUIRE(request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", head).status == ParseStatus::complete);
  CHECK(head.keep_alive);
  REQUIRE(request("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", head).status == ParseStatus::complete);
  CHECK_FALSE(head.keep_alive);

  const std::string chunked =
      "\r\n\r\nPUT /u HTTP/1.1\r\nExpect: 100-Continue\r\nTransfer-Encoding: gzip, chunked\r\n\r\n";
  const HeadParse p = request(chunked, head);
  REQUIRE(p.status == ParseStatus::complete);
  CHECK(p.consumed == chunked.size());
  CHECK(head.method == "PUT");
  CHECK(head.expect_continue);
  CHECK(head.body.kind == Kind::chunked);

  REQUIRE(request("POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n", head).status ==
          ParseStatus::complete);
  CHECK(head.body.kind == Kind::none);
}

TEST_CASE("request head: what could frame the message two ways is refused", "[net][parse]") {
  CHECK(bad_reason("GET / HTTP/1.1\nHost: x\r\n\r\n") == "line ends in LF without CR");
  CHECK(bad_reason("GET / HTTP/1.1\r\nHost: x\n\r\n") == "line ends in LF without CR");
  CHECK(bad_reason("GET / HTTP/1.1\r\nHost : x\r\n\r\n") == "bad header name");
  CHECK(bad_reason("GET / HTTP/1.1\r\nA: x\r\n  folded\r\n\r\n") == "folded header line");
  CHECK(bad_reason("GET / HTTP/1.1\r\nA: x\ry\r\n\r\n") == "bad character in a header value");
  CHECK(bad_reason("GET / HTTP/1.1\r\nNoColon\r\n\r\n") == "header line without a name");
  CHECK(bad_reason("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n") ==
        "both Transfer-Encoding and Content-Length");
  CHECK(bad_reason("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n") == "unsupported Transfer-Encoding");
  CHECK(bad_reason("POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n") ==
        "conflicting Content-Length headers");
  CHECK(bad_reason("POST / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n") == "bad Content-Length");
  CHECK(bad_reason("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n") == "bad Content-Length");
  CHECK(bad_reason("POST / HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n") == "bad Content-Length");
  CHECK(bad_reason("GET / HTTP/2.0\r\n\r\n") == "unsupported HTTP version");
  CHECK(bad_reason("GET /  HTTP/1.1\r\n\r\n") == "unsupported HTTP version");
  CHECK(bad_reason("GET /\x01 HTTP/1.1\r\n\r\n") == "bad request target");
  CHECK(bad_reason("G(T / HTTP/1.1\r\n\r\n") == "bad method");
  CHECK(bad_reason("GET\r\n\r\n") == "bad request line");

  RequestHead head;
  const std::string big = "GET / HTTP/1.1\r\nX: " + std::string(200, 'a') + "\r\n\r\n";
  CHECK(request(big, head, 100).status == ParseStatus::too_large);
  CHECK(request(big.substr(0, 150), head, 100).status == ParseStatus::too_large);
  CHECK(request(big.substr(0, 90), head, 100).status == ParseStatus::incomplete);
}

TEST_CASE("response head: status, framing by status, length, coding or close", "[net][parse]") {
  ResponseHead head;
  HeadParse p = response("HTTP/1.1 200\r\nContent-Length: 3\r\n\r\nabc", head);
  REQUIRE(p.status == ParseStatus::complete);
  CHECK(p.consumed == 35);
  CHECK(head.status == 200);
  CHECK(head.body.kind == Kind::length);
  CHECK(head.body.length == 3);
  CHECK(head.keep_alive);

  REQUIRE(response("HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\n", head).status == ParseStatus::complete);
  CHECK(head.body.kind == Kind::none);
  REQUIRE(response("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", head, true).status == ParseStatus::complete);
  CHECK(head.body.kind == Kind::none);
  REQUIRE(response("HTTP/1.1 100 Continue\r\n\r\n", head).status == ParseStatus::complete);
  CHECK(head.status == 100);
  CHECK(head.body.kind == Kind::none);

  REQUIRE(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", head).status == ParseStatus::complete);
  CHECK(head.body.kind == Kind::chunked);
  CHECK(head.keep_alive);
  REQUIRE(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", head).status == ParseStatus::complete);
  CHECK(head.body.kind == Kind::until_close);
  CHECK_FALSE(head.keep_alive);
  REQUIRE(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n", head).status ==
          ParseStatus::complete);
  CHECK(head.body.kind == Kind::chunked);
  CHECK_FALSE(head.keep_alive);
  REQUIRE(response("HTTP/1.0 200 OK\r\n\r\n", head).status == ParseStatus::complete);
  CHECK(head.body.kind == Kind::until_close);
  CHECK_FALSE(head.keep_alive);

  CHECK(response("HTTP/1.1 20 OK\r\n\r\n", head).status == ParseStatus::bad);
  CHECK(response("HTTP/1.1 2000 OK\r\n\r\n", head).status == ParseStatus::bad);
  CHECK(response("ICY 200 OK\r\n\r\n", head).status == ParseStatus::bad);
  CHECK(response("HTTP/1.1 200 OK\r\n", head).status == ParseStatus::incomplete);
}

TEST_CASE("chunked decoder: one byte at a time or all at once, extensions and trailers dropped", "[net][parse]") {
  const std::string body = "5;name=value\r\nhello\r\n1A\r\n" + std::string(26, 'z') + "\r\n0\r\nTrailer: x\r\n\r\nNEXT";
  const std::string want = "hello" + std::string(26, 'z');

  ChunkedDecoder whole;
  std::string out;
  CHECK(whole.feed(body, out) == body.size() - 4);  // stops at the end of the body
  CHECK(whole.done());
  CHECK(out == want);

  ChunkedDecoder bytewise;
  std::string pending, got;
  for (char c : body.substr(0, body.size() - 4)) {
    pending += c;
    pending.erase(0, bytewise.feed(pending, got));
    REQUIRE(bytewise.error().empty());
  }
  CHECK(bytewise.done());
  CHECK(pending.empty());
  CHECK(got == want);

  const auto error_of = [](const std::string& bytes) {
    ChunkedDecoder d;
    std::string sink;
    d.feed(bytes, sink);
    return std::string(d.error());
  };
  CHECK(error_of("zz\r\n") == "bad chunk size");
  CHECK(error_of("\r\n") == "bad chunk size");
  CHECK(error_of("3\r\nabcX\r\n") == "chunk data not followed by CRLF");
  CHECK(error_of("3\nabc") == "chunk line ends in LF without CR");
  CHECK(error_of("1000000000000000\r\n") == "chunk size too large");
  CHECK(error_of(std::string(5000, '1')) == "chunk line too long");
}

namespace {

// Small random edits of valid messages: the bytes that framing turns on, inserted, replaced,
// deleted, and whole lines repeated (a second Content-Length, a second blank line).
std::string mutate(std::string s, std::mt19937& rng) {
  static constexpr std::string_view kBytes("\r\n \t:,;09aAfF/H\0\x7f\x80\xff", 20);
  const auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  const size_t edits = 1 + pick(3);
  for (size_t i = 0; i < edits && !s.empty(); ++i) {
    const size_t at = pick(s.size());
    switch (pick(5)) {
      case 0:
        s[at] = kBytes[pick(kBytes.size())];
        break;
      case 1:
        s.insert(at, 1, kBytes[pick(kBytes.size())]);
        break;
      case 2:
        s.erase(at, 1);
        break;
      case 3: {
        const size_t start = s.rfind('\n', at) == std::string::npos ? 0 : s.rfind('\n', at) + 1;
        const size_t end = s.find('\n', at);
        if (end != std::string::npos) s.insert(start, s.substr(start, end + 1 - start));
        break;
      }
      default:
        s.resize(at);
        break;
    }
  }
  return s;
}

// The parse of `bytes` as `parse(view, limit, head)` sees it, with what the head says.
template <class Head, class Parse>
std::string outcome(std::string_view bytes, size_t limit, Parse parse) {
  Head head;
  const HeadParse p = parse(bytes, limit, head);
  std::string out =
      std::to_string(static_cast<int>(p.status)) + " " + std::to_string(p.consumed) + " " + std::string(p.reason);
  if (p.status != ParseStatus::complete) return out;
  if constexpr (std::is_same_v<Head, RequestHead>)
    out += " " + head.method + " " + head.target;
  else
    out += " " + std::to_string(head.status);
  out += " v" + std::to_string(head.version) + (head.keep_alive ? " ka" : " close") + " body " +
         std::to_string(static_cast<int>(head.body.kind)) + "/" + std::to_string(head.body.length);
  for (const Header& h : head.headers) out += "|" + h.name + "=" + h.value;
  return out;
}

// What must hold for any bytes, whatever they are: the same answer however they arrive.
template <class Head, class Parse>
void check_head_properties(const std::string& bytes, Parse parse, std::map<ParseStatus, int>& seen) {
  constexpr size_t kLimit = 1024;
  Head head;
  const HeadParse p = parse(bytes, kLimit, head);
  ++seen[p.status];
  INFO("bytes: " << bytes);
  switch (p.status) {
    case ParseStatus::complete: {
      REQUIRE(p.consumed <= bytes.size());
      REQUIRE(p.consumed >= 2);
      CHECK(bytes.compare(p.consumed - 2, 2, "\r\n") == 0);
      const std::string whole = outcome<Head>(bytes, kLimit, parse);
      // The head alone, or with anything after it (a body, the next message), reads the same.
      CHECK(outcome<Head>(std::string_view(bytes).substr(0, p.consumed), kLimit, parse) == whole);
      CHECK(outcome<Head>(bytes.substr(0, p.consumed) + "GET / HTTP/1.1\n\n\r", kLimit, parse) == whole);
      // Every shorter read waits for more; a limit one byte short refuses it.
      for (size_t cut = 0; cut < p.consumed; ++cut) {
        Head partial;
        INFO("cut at " << cut);
        REQUIRE(parse(std::string_view(bytes).substr(0, cut), kLimit, partial).status == ParseStatus::incomplete);
      }
      Head limited;
      CHECK(parse(bytes, p.consumed - 1, limited).status == ParseStatus::too_large);
      for (const Header& h : head.headers) {
        CHECK_FALSE(h.name.empty());
        CHECK(h.name.find_first_of(std::string_view(" \t\r\n:\0", 6)) == std::string::npos);
        CHECK(h.value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
      }
      break;
    }
    case ParseStatus::bad:
      CHECK_FALSE(p.reason.empty());
      // More bytes never make a bad head good.
      CHECK(outcome<Head>(bytes + "\r\n\r\nGET / HTTP/1.1\r\n\r\n", kLimit, parse) ==
            outcome<Head>(bytes, kLimit, parse));
      break;
    case ParseStatus::incomplete:
      CHECK(bytes.size() <= kLimit);
      break;
    case ParseStatus::too_large:
      break;
  }
}

}  // namespace

TEST_CASE("request and response heads: 4,000 mutated messages read the same however they arrive", "[net][parse]") {
  const std::vector<std::string> requests = {
      "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Length: 5\r\nAuthorization: Bearer sk-x\r\n\r\nhello",
      "GET /v1/models HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      "\r\n\r\nPUT /y?a=%20 HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\nX-Empty:\r\n\r\n"};
  const std::vector<std::string> responses = {
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "HTTP/1.0 204\r\nConnection: close\r\n\r\n", "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\n\r\n"};
  const auto parse_request = [](std::string_view d, size_t limit, RequestHead& h) {
    return parse_request_head(d, limit, h);
  };
  const auto parse_response = [](std::string_view d, size_t limit, ResponseHead& h) {
    return parse_response_head(d, limit, false, h);
  };
  std::mt19937 rng(20261129);
  std::map<ParseStatus, int> requests_seen, responses_seen;
  for (const std::string& seed : requests) {
    check_head_properties<RequestHead>(seed, parse_request, requests_seen);
    for (int i = 0; i < 500; ++i) check_head_properties<RequestHead>(mutate(seed, rng), parse_request, requests_seen);
  }
  for (const std::string& seed : responses) {
    check_head_properties<ResponseHead>(seed, parse_response, responses_seen);
    for (int i = 0; i < 500; ++i)
      check_head_properties<ResponseHead>(mutate(seed, rng), parse_response, responses_seen);
  }
  // Both outcomes well represented, or the properties above were checked on nothing.
  for (auto* seen : {&requests_seen, &responses_seen}) {
    CHECK((*seen)[ParseStatus::complete] > 300);
    CHECK((*seen)[ParseStatus::bad] > 300);
    CHECK((*seen)[ParseStatus::incomplete] > 100);
  }
}

TEST_CASE("chunked decoder: mutated bodies decode the same in one read or in random pieces", "[net][parse]") {
  const std::vector<std::string> bodies = {
      "5;name=value\r\nhello\r\n1A\r\n" + std::string(26, 'z') + "\r\n0\r\nTrailer: x\r\n\r\n",
      "3\r\nabc\r\n000002\r\nde\r\n0;end\r\n\r\n", "a \t;x\r\n0123456789\r\n0\r\n\r\n",
      // A chunk-size line past the 4 KiB limit is refused whether it comes whole or in pieces.
      "1;" + std::string(5000, 'e') + "\r\nx\r\n0\r\n\r\n"};
  struct Decoded {
    std::string out;
    size_t consumed = 0;
    bool done = false;
    std::string error;
    bool operator==(const Decoded&) const = default;
  };
  const auto whole = [](const std::string& bytes) {
    ChunkedDecoder d;
    Decoded r;
    r.consumed = d.feed(bytes, r.out);
    r.done = d.done();
    r.error = d.error();
    return r;
  };
  // As a connection reads: each read appends to what is pending, the decoder takes what it can.
  const auto pieces = [](const std::string& bytes, std::mt19937& rng) {
    ChunkedDecoder d;
    Decoded r;
    std::string pending;
    for (size_t at = 0; at < bytes.size() && !d.done() && d.error().empty();) {
      const size_t n = std::min(bytes.size() - at, std::uniform_int_distribution<size_t>(1, 700)(rng));
      pending.append(bytes, at, n);
      at += n;
      const size_t used = d.feed(pending, r.out);
      r.consumed += used;
      pending.erase(0, used);
    }
    r.done = d.done();
    r.error = d.error();
    return r;
  };
  std::mt19937 rng(7);
  int done = 0, failed = 0;
  for (const std::string& seed : bodies) {
    for (int i = 0; i < 400; ++i) {
      const std::string bytes = i == 0 ? seed : mutate(seed, rng);
      INFO("bytes: " << bytes);
      const Decoded all = whole(bytes);
      CHECK(all.consumed <= bytes.size());
      CHECK(pieces(bytes, rng) == all);
      done += all.done;
      failed += !all.error.empty();
    }
  }
  CHECK(whole(bodies.back()).error == "chunk line too long");
  CHECK(done > 100);
  CHECK(failed > 200);
}

TEST_CASE("read buffer: grows only when full, keeps what is pending, frees when empty", "[net][parse]") {
  ReadBuffer b;
  auto [to, room] = b.prepare(512);
  REQUIRE(room >= 512);
  std::memcpy(to, "abcdef", 6);
  b.commit(6);
  b.consume(2);
  CHECK(b.data() == "cdef");
  auto [to2, room2] = b.prepare(4096);
  REQUIRE(room2 >= 4096);
  std::memcpy(to2, "gh", 2);
  b.commit(2);
  CHECK(b.data() == "cdefgh");
  b.release_if_empty();
  CHECK(b.size() == 6);
  b.consume(6);
  CHECK(b.empty());
  b.release_if_empty();
  CHECK(b.prepare(1).second >= 512);
}

TEST_CASE("server: chunked and 100-continue request bodies, refused framing, a body over the limit", "[net][parse]") {
  MockUpstream mock([](const ServerRequest& req, MockReply& r) {
    r.headers = {{"Content-Type", "text/plain"}};
    r.body = "got " + req.body;
  });
  const auto port = static_cast<uint16_t>(mock.port());

  const std::string chunked = raw_exchange(
      port,
      "POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "4\r\nabcd\r\n3;x=y\r\nefg\r\n0\r\n\r\n");
  CHECK(chunked.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(chunked.find("\r\n\r\ngot abcdefg") != std::string::npos);

  // Body already sent with the head: no 100 Continue in between.
  const std::string sized = raw_exchange(
      port, "POST /e HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz");
  CHECK(sized.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(sized.find("got xyz") != std::string::npos);

  const std::string smuggled =
      raw_exchange(port, "POST /e HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  CHECK(smuggled.rfind("HTTP/1.1 400 Bad Request\r\n", 0) == 0);
  CHECK(smuggled.find("malformed HTTP request: both Transfer-Encoding and Content-Length") != std::string::npos);
  CHECK(smuggled.find("\"type\":\"invalid_request_error\"") != std::string::npos);

  const std::string bad_chunk = raw_exchange(port, "POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n");
  CHECK(bad_chunk.find("400 Bad Request") != std::string::npos);
  CHECK(bad_chunk.find("bad chunk size") != std::string::npos);

  // Head and body in pieces, as a slow client sends them.
  const std::string pieces = raw_exchange(
      port, {"POST /e HTTP/1.1\r\nContent-Le", "ngth: 10\r\nConnection: close\r\n", "\r\n0123", "456", "789"});
  CHECK(pieces.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(pieces.find("got 0123456789") != std::string::npos);

  const std::string huge = raw_exchange(port, "POST /e HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n");
  CHECK(huge.rfind("HTTP/1.1 413 ", 0) == 0);
  CHECK(huge.find("request body too large") != std::string::npos);
  CHECK(mock.request_count() == 3);
}

TEST_CASE("client: a 100 Continue before the answer, a body ended by the close, HEAD, answers that are not HTTP",
          "[net][parse]") {
  {
    RawUpstream up("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    const Fetched f = fetch(up.url());
    REQUIRE_FALSE(f.failed);
    CHECK(f.status == 201);
    CHECK(f.body == "ok");
  }
  {
    RawUpstream up("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end");
    const Fetched f = fetch(up.url());
    REQUIRE_FALSE(f.failed);
    CHECK(f.body == "to the end");
  }
  {
    // The answer to a HEAD has no body: waiting for 100 bytes would end in a broken connection.
    RawUpstream up("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    const Fetched f = fetch(up.url(), "HEAD");
    REQUIRE_FALSE(f.failed);
    CHECK(f.status == 200);
    CHECK(f.body.empty());
  }
  {
    RawUpstream up("SSH-2.0-OpenSSH\r\n\r\n");
    const Fetched f = fetch(up.url());
    REQUIRE(f.failed);
    CHECK(f.error.kind == ErrorKind::upstream_error);
    CHECK(f.error.message.find("is not valid HTTP: bad status line") != std::string::npos);
  }
  {
    RawUpstream up("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\nzz\r\n");
    const Fetched f = fetch(up.url());
    REQUIRE(f.failed);
    CHECK(f.error.code == "read_response_body_failed");
    CHECK(f.error.message == "upstream sent a malformed chunked body: bad chunk size");
  }
}
