// Issue 4's fault matrix: a faulty top-priority channel A and a healthy backup B, RetryTimes 1 and
// auto-disable on. For each fault: what the client sees, which channels were tried, A's status
// afterwards, and what was billed. Long waits of the real world (20 s first token, 30 s stall) are
// scaled down with RELAY_TIMEOUT / STREAMING_TIMEOUT of one second.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <functional>
#include <thread>

#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

// Accepts connections on 127.0.0.1 and resets each one (SO_LINGER 0) as soon as the request arrives.
class ResettingServer {
 public:
  ResettingServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 8) == 0);
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0 || stop_) {
          if (c >= 0) ::close(c);
          return;
        }
        char buf[4096];
        (void)::recv(c, buf, sizeof buf, 0);
        linger l{1, 0};
        ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        ::close(c);
        ++resets_;
      }
    });
  }
  ~ResettingServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int resets() const { return resets_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> resets_{0};
  std::thread thread_;
};

void stream_ok(MockReply& r) {
  r.status = 200;
  r.headers = {{"Content-Type", "text/event-stream"}};
  for (auto& e : openai_stream_events({"Hello from B"}, true, 12, 3)) r.chunks.push_back({0, e});
}

void json_error(MockReply& r, int status, const std::string& message) {
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = R"({"error":{"message":")" + message + R"(","type":"upstream_error","code":null}})";
}

struct Outcome {
  HttpResult response;
  size_t a_tried = 0, b_tried = 0;
  int a_status = 0;
  int64_t billed = 0;
};

// Runs one request (stream or not) against A (faulty, priority 10) then B (healthy, priority 0).
Outcome run_fault(const std::function<void(MockReply&)>& fault, bool stream, Env env = {},
                  const std::string& a_url_override = "") {
  MockUpstream a([&](const net::ServerRequest&, MockReply& r) { fault(r); });
  MockUpstream b([](const net::ServerRequest& req, MockReply& r) {
    if (req.body.find("\"stream\":true") != std::string::npos)
      stream_ok(r);
    else
      reply_chat(r, "Hello from B");
  });
  Gateway g(std::move(env));
  const int64_t a_id =
      g.add_channel(a_url_override.empty() ? a.base_url() : a_url_override, "gpt-4o-mini", {"--priority", "10"});
  g.add_channel(b.base_url(), "gpt-4o-mini", {"--priority", "0"});
  const std::string key = g.add_token(10'000'000);
  REQUIRE(g.daemon.ctl({"option", "set", "RetryTimes", "1"}).exit_code == 0);
  REQUIRE(g.daemon.ctl({"option", "set", "AutomaticDisableChannelEnabled", "true"}).exit_code == 0);

  Outcome o;
  o.response = post_json(g.port(), "/v1/chat/completions", key, chat_body(stream));
  o.a_tried = a.request_count();
  o.b_tried = b.request_count();
  auto ch = g.daemon.ctl({"--json", "channel", "get", std::to_string(a_id)});
  REQUIRE(ch.exit_code == 0);
  o.a_status = json::parse(ch.out)["status"].get<int>();
  o.billed = db_int(g.db(), "SELECT used_quota FROM tokens WHERE name = 'test'");
  return o;
}

bool served_by_b(const Outcome& o) {
  return o.response.status == 200 && o.response.body.find("from B") != std::string::npos;
}

}  // namespace

TEST_CASE("fault matrix: errors before the answer move the request to the backup", "[e2e][faults]") {
  SECTION("429 with Retry-After") {
    auto o = run_fault(
        [](MockReply& r) {
          json_error(r, 429, "Rate limit reached");
          r.headers.push_back({"Retry-After", "7"});
        },
        false);
    CHECK(served_by_b(o));
    CHECK(o.a_tried == 1);
    CHECK(o.b_tried == 1);
    CHECK(o.a_status == 1);  // rested, not disabled
    CHECK(o.billed > 0);     // B's answer, once
  }
  SECTION("429 without Retry-After") {
    auto o = run_fault([](MockReply& r) { json_error(r, 429, "Rate limit reached"); }, true);
    CHECK(served_by_b(o));
    CHECK(o.response.body.find("data: [DONE]") != std::string::npos);
    CHECK((o.a_tried == 1 && o.b_tried == 1 && o.a_status == 1));
  }
  SECTION("a single 500") {
    auto o = run_fault([](MockReply& r) { json_error(r, 500, "internal error"); }, false);
    CHECK(served_by_b(o));
    CHECK((o.a_tried == 1 && o.b_tried == 1 && o.a_status == 1));
  }
  SECTION("a persistent 503 (stream)") {
    auto o = run_fault([](MockReply& r) { json_error(r, 503, "overloaded"); }, true);
    CHECK(served_by_b(o));
    CHECK((o.a_tried == 1 && o.b_tried == 1 && o.a_status == 1));
  }
  SECTION("TCP reset") {
    ResettingServer reset;
    auto o = run_fault([](MockReply& r) { reply_chat(r, "Hello from B"); }, false, {}, reset.base_url());
    CHECK(served_by_b(o));
    CHECK(reset.resets() >= 1);
    CHECK((o.b_tried == 1 && o.a_status == 1));
  }
  SECTION("no response at all (RELAY_TIMEOUT)") {
    auto o = run_fault(
        [](MockReply& r) {
          reply_chat(r, "Hello from B");
          r.delay_before_headers_ms = 3000;
        },
        false, Env{{"RELAY_TIMEOUT", "1"}});
    CHECK(served_by_b(o));
    CHECK((o.a_tried == 1 && o.b_tried == 1 && o.a_status == 1));
  }
  SECTION("a 400 is the request's fault: not retried, not billed, channel untouched") {
    auto o = run_fault([](MockReply& r) { json_error(r, 400, "Invalid value for 'temperature'"); }, false);
    CHECK(o.response.status == 400);
    CHECK(json::parse(o.response.body)["error"]["message"].get<std::string>().find("temperature") != std::string::npos);
    CHECK((o.a_tried == 1 && o.b_tried == 0 && o.a_status == 1 && o.billed == 0));
  }
  SECTION("a dead key (401) disables A and the backup answers") {
    auto o = run_fault([](MockReply& r) { json_error(r, 401, "Incorrect API key provided"); }, false);
    CHECK(served_by_b(o));
    CHECK((o.a_tried == 1 && o.b_tried == 1 && o.a_status == 3));
  }
}

TEST_CASE("fault matrix: faults after bytes reached the client end the stream with an error event", "[e2e][faults]") {
  const Env slow{{"STREAMING_TIMEOUT", "1"}};
  auto words = [](MockReply& r, int n) {
    r.status = 200;
    r.headers = {{"Content-Type", "text/event-stream"}};
    std::vector<std::string> w;
    for (int i = 0; i < n; ++i) w.push_back("w" + std::to_string(i) + " ");
    for (auto& e : openai_stream_events(w, false)) r.chunks.push_back({0, e});
  };
  auto ends_with_error = [](const Outcome& o) {
    return o.response.status == 200 && o.response.body.find("data: [DONE]") == std::string::npos &&
           o.response.body.find("\"error\"") != std::string::npos;
  };

  SECTION("the first token comes too late (20 s in the wild): nothing delivered, nothing billed, not retried") {
    auto o = run_fault(
        [&](MockReply& r) {
          words(r, 3);
          r.chunks[0].delay_ms = 3000;
        },
        true, slow);
    CHECK(ends_with_error(o));
    CHECK((o.a_tried == 1 && o.b_tried == 0 && o.billed == 0));
  }
  SECTION("cut after some tokens: the delivered words are billed") {
    auto o = run_fault(
        [&](MockReply& r) {
          words(r, 4);
          r.chunks.resize(2);
          r.cut_after_chunks = true;
        },
        true);
    CHECK(ends_with_error(o));
    CHECK(o.response.body.find("w1") != std::string::npos);
    CHECK((o.a_tried == 1 && o.b_tried == 0 && o.billed > 0 && o.a_status == 1));
  }
  SECTION("a stall mid-stream (30 s in the wild)") {
    auto o = run_fault(
        [&](MockReply& r) {
          words(r, 4);
          r.chunks[2].delay_ms = 3000;
        },
        true, slow);
    CHECK(ends_with_error(o));
    CHECK(o.response.body.find("w1") != std::string::npos);
    CHECK((o.a_tried == 1 && o.b_tried == 0 && o.billed > 0));
  }
  SECTION("a missing [DONE] on a clean close") {
    auto o = run_fault(
        [&](MockReply& r) {
          words(r, 3);
          r.chunks.pop_back();
        },
        true);
    CHECK(ends_with_error(o));
    CHECK(o.response.body.find("stream_incomplete") != std::string::npos);
    CHECK((o.a_tried == 1 && o.b_tried == 0 && o.billed > 0));
  }
  SECTION("a malformed chunk is passed on, the stream still completes") {
    auto o = run_fault(
        [&](MockReply& r) {
          words(r, 3);
          r.chunks.insert(r.chunks.begin() + 1, MockChunk{0, "data: {not json\n\n"});
        },
        true);
    CHECK(o.response.status == 200);
    CHECK(o.response.body.find("data: {not json") != std::string::npos);
    CHECK(o.response.body.find("data: [DONE]") != std::string::npos);
    CHECK((o.a_tried == 1 && o.b_tried == 0 && o.billed > 0));
  }
}
