// End to end: the real oneapid binary, a real SQLite file, a mock OpenAI upstream on loopback.
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <thread>

#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

void reply_stream(MockReply& r, const std::vector<std::string>& words, bool with_usage, int prompt = 12,
                  int completion = 4, int delay_ms = 0) {
  r.status = 200;
  r.headers = {{"Content-Type", "text/event-stream"}};
  for (auto& e : openai_stream_events(words, with_usage, prompt, completion)) r.chunks.push_back({delay_ms, e});
}

int64_t token_remain(const Gateway& g) { return db_int(g.db(), "SELECT remain_quota FROM tokens WHERE name='test'"); }
int64_t root_quota(const Gateway& g) { return db_int(g.db(), "SELECT quota FROM users WHERE username='root'"); }
constexpr int64_t kRootQuota = 500000000000000;

}  // namespace

TEST_CASE("non-stream chat completion is relayed, billed, logged and priced by request id", "[e2e]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) { reply_chat(r, "Hello!", 1000, 1000); });
  Gateway g;
  g.add_channel(mock.base_url());
  std::string key = g.add_token(1000000);

  auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  REQUIRE(res.status == 200);
  auto body = json::parse(res.body);
  CHECK(body["choices"][0]["message"]["content"] == "Hello!");
  const std::string request_id = res.header("x-oneapi-request-id");
  REQUIRE(request_id.size() >= 20);

  // The upstream saw the channel's key, never the client's, and the client's body.
  auto seen = mock.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].path == "/v1/chat/completions");
  CHECK(seen[0].header("Authorization") == "Bearer sk-upstream-secret");
  CHECK(json::parse(seen[0].body)["messages"][0]["content"] == "Say hello");

  // gpt-4o-mini: ceil((1000 + 1000 × 4) × 0.075) = 375
  CHECK(token_used(g) == 375);
  CHECK(token_remain(g) == 1000000 - 375);
  CHECK(root_quota(g) == kRootQuota - 375);
  auto logs = db_rows(g.db(), "SELECT * FROM logs WHERE request_id='" + request_id + "'");
  REQUIRE(logs.size() == 1);
  CHECK(logs[0]["type"] == "2");
  CHECK(logs[0]["quota"] == "375");
  CHECK(logs[0]["prompt_tokens"] == "1000");
  CHECK(logs[0]["completion_tokens"] == "1000");
  CHECK(logs[0]["model_name"] == "gpt-4o-mini");
  CHECK(logs[0]["token_name"] == "test");
  CHECK(logs[0]["is_stream"] == "0");
  CHECK(db_int(g.db(), "SELECT request_count FROM users WHERE username='root'") == 1);
  CHECK(db_int(g.db(), "SELECT used_quota FROM channels") == 375);

  auto cost = g.daemon.ctl({"--json", "cost", request_id});
  REQUIRE(cost.exit_code == 0);
  auto c = json::parse(cost.out);
  CHECK(c["quota"] == 375);
  CHECK(c["cost_usd"].get<double>() == Approx(0.00075));
  // The same lookup is public on the TCP port (as in the Laisky fork).
  auto over_tcp = http_call(g.port(), "GET", "/api/cost/request/" + request_id);
  CHECK(json::parse(over_tcp.body)["data"]["quota"] == 375);
}

TEST_CASE("stream is relayed event by event, usage from upstream, hidden unless asked", "[e2e][stream]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    reply_stream(r, {"Hel", "lo", " there"}, true, 20, 3);
  });
  Gateway g;
  g.add_channel(mock.base_url());
  std::string key = g.add_token();

  auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body(true));
  REQUIRE(res.status == 200);
  CHECK(res.header("content-type").find("text/event-stream") == 0);
  CHECK(res.body.find("\"Hel\"") != std::string::npos);
  CHECK(res.body.find(" there") != std::string::npos);
  CHECK(res.body.find("\"usage\":{") == std::string::npos);  // client did not ask for usage
  CHECK(res.body.size() >= 14);
  CHECK(res.body.substr(res.body.size() - 14) == "data: [DONE]\n\n");
  // oneapi asked the upstream for usage
  CHECK(json::parse(mock.requests().at(0).body)["stream_options"]["include_usage"] == true);
  auto log = db_rows(g.db(), "SELECT * FROM logs WHERE request_id='" + res.header("x-oneapi-request-id") + "'");
  REQUIRE(log.size() == 1);
  CHECK(log[0]["prompt_tokens"] == "20");
  CHECK(log[0]["completion_tokens"] == "3");
  CHECK(log[0]["is_stream"] == "1");
  CHECK(log[0]["quota"] == "3");  // ceil((20 + 3×4) × 0.075) = ceil(2.4)

  auto with_usage = post_json(g.port(), "/v1/chat/completions", key,
                              chat_body(true, "gpt-4o-mini", R"(,"stream_options":{"include_usage":true})"));
  CHECK(with_usage.body.find("\"prompt_tokens\":20") != std::string::npos);
}

TEST_CASE("stream without upstream usage is counted locally", "[e2e][stream]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    reply_stream(r, {"one ", "two ", "three ", "four ", "five"}, false);
  });
  Gateway g;
  g.add_channel(mock.base_url());
  std::string key = g.add_token();
  auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body(true));
  REQUIRE(res.status == 200);
  auto log = db_rows(g.db(), "SELECT * FROM logs WHERE request_id='" + res.header("x-oneapi-request-id") + "'");
  REQUIRE(log.size() == 1);
  CHECK(std::stoll(log[0]["completion_tokens"]) > 0);
  CHECK(std::stoll(log[0]["prompt_tokens"]) > 0);
  CHECK(std::stoll(log[0]["quota"]) > 0);
}

TEST_CASE("ApproximateTokenEnabled: local counts are the text's bytes times 0.38, as One API's", "[e2e][stream]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    reply_stream(r, {"one ", "two ", "three ", "four ", "five"}, false);
  });
  Gateway g;
  g.add_channel(mock.base_url());
  std::string key = g.add_token();
  const auto billed = [&] {
    auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body(true));
    REQUIRE(res.status == 200);
    return log_row(g, res.header("x-oneapi-request-id"));
  };
  // tiktoken: "Say hello" 2 + "user" 1 + 3 per message + 3 priming; the five words are 5 tokens.
  auto exact = billed();
  CHECK(as_int(exact, "prompt_tokens") == 9);
  CHECK(as_int(exact, "completion_tokens") == 5);

  REQUIRE(g.daemon.ctl({"option", "set", "ApproximateTokenEnabled", "true"}).exit_code == 0);
  // "Say hello" 9 bytes → 3, "user" 4 → 1, plus the same 3 + 3; "one two three four five" 23 → 8.
  auto approximate = billed();
  CHECK(as_int(approximate, "prompt_tokens") == 10);
  CHECK(as_int(approximate, "completion_tokens") == 8);
  CHECK(as_int(approximate, "quota") == expected_quota("gpt-4o-mini", 1, 10, 8, 0));

  REQUIRE(g.daemon.ctl({"option", "set", "ApproximateTokenEnabled", "false"}).exit_code == 0);
  CHECK(as_int(billed(), "completion_tokens") == 5);
}

TEST_CASE("client disconnect mid-stream cancels the upstream and bills what was delivered", "[e2e][stream]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    std::vector<std::string> words;
    for (int i = 0; i < 60; ++i) words.push_back("word" + std::to_string(i) + " ");
    reply_stream(r, words, true, 10, 60, 50);  // 50 ms apart: 3 s in all
  });
  Gateway g;
  g.add_channel(mock.base_url());
  std::string key = g.add_token(1000000);
  auto got = call_and_hang_up(g.port(), "/v1/chat/completions", key, chat_body(true), 600);
  CHECK(got.find("word0") != std::string::npos);
  // The mock notices its stream was cut well before its 60 chunks were written.
  for (int i = 0; i < 200 && mock.aborted_streams() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK(mock.aborted_streams() == 1);
  // A log row is settled (not left provisional), billing a partial local count, not the pre-charge.
  int64_t settled = 0;
  for (int i = 0; i < 100 && settled == 0; ++i) {
    settled = db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type=2");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(settled == 1);
  auto log = db_rows(g.db(), "SELECT * FROM logs WHERE type=2");
  const int64_t completion = std::stoll(log[0]["completion_tokens"]);
  CHECK(completion > 0);
  CHECK(completion < 60);
  CHECK(token_used(g) == std::stoll(log[0]["quota"]));
}

TEST_CASE("upstream 500 and upstream timeout are refunded in full", "[e2e][failure]") {
  SECTION("500") {
    MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
      r.status = 500;
      r.headers = {{"Content-Type", "application/json"}};
      r.body = R"({"error":{"message":"The server had an error","type":"server_error","code":null}})";
    });
    Gateway g;
    g.add_channel(mock.base_url());
    std::string key = g.add_token(100000);
    auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body());
    CHECK(res.status == 500);
    auto err = json::parse(res.body)["error"];
    CHECK(err["message"].get<std::string>().find("The server had an error") == 0);
    CHECK(token_remain(g) == 100000);
    CHECK(token_used(g) == 0);
    CHECK(root_quota(g) == kRootQuota);
    CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type=6") == 0);  // nothing left pending
    CHECK(db_int(g.db(), "SELECT quota FROM logs WHERE type=2") == 0);
  }
  SECTION("timeout") {
    MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
      r.delay_before_headers_ms = 4000;
      reply_chat(r);
    });
    Gateway g(Env{{"RELAY_TIMEOUT", "1"}});
    g.add_channel(mock.base_url());
    std::string key = g.add_token(100000);
    auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body());
    CHECK(res.status == 504);
    CHECK(json::parse(res.body)["error"]["type"] == "upstream_error");
    CHECK(token_remain(g) == 100000);
    CHECK(root_quota(g) == kRootQuota);
  }
  SECTION("dead upstream") {
    Gateway g;
    g.add_channel("http://127.0.0.1:1");
    std::string key = g.add_token(100000);
    auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body());
    CHECK(res.status >= 500);
    CHECK(json::parse(res.body)["error"]["message"].get<std::string>().size() > 0);
    CHECK(token_remain(g) == 100000);
  }
}

TEST_CASE("bad, expired and exhausted keys, forbidden model, malformed JSON, oversize body", "[e2e][auth]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g(Env{{"MAX_REQUEST_BODY_MB", "1"}});
  g.add_channel(mock.base_url(), "gpt-4o-mini,gpt-4o");
  std::string key = g.add_token(-1, {"--models", "gpt-4o-mini"});

  auto no_key = http_call(g.port(), "POST", "/v1/chat/completions", chat_body());
  CHECK(no_key.status == 401);
  CHECK(json::parse(no_key.body)["error"]["message"].get<std::string>().find("No token provided") == 0);
  CHECK_FALSE(no_key.header("x-oneapi-request-id").empty());

  CHECK(post_json(g.port(), "/v1/chat/completions", "sk-doesnotexist", chat_body()).status == 401);

  auto forbidden = post_json(g.port(), "/v1/chat/completions", key, chat_body(false, "gpt-4o"));
  CHECK(forbidden.status == 403);

  auto malformed = post_json(g.port(), "/v1/chat/completions", key, "{\"model\": ");
  CHECK(malformed.status == 400);
  CHECK(json::parse(malformed.body)["error"]["type"] == "invalid_request_error");

  auto no_model = post_json(g.port(), "/v1/chat/completions", key, R"({"messages":[]})");
  CHECK(no_model.status == 400);

  std::string huge = chat_body(false, "gpt-4o-mini", R"(,"pad":")" + std::string(2 * 1024 * 1024, 'x') + "\"");
  auto big = post_json(g.port(), "/v1/chat/completions", key, huge);
  CHECK(big.status == 413);
  CHECK(json::parse(big.body)["error"]["message"].get<std::string>().size() > 0);

  auto unknown_model =
      post_json(g.port(), "/v1/chat/completions", g.add_token(), chat_body(false, "nobody-serves-this"));
  CHECK(unknown_model.status == 503);

  auto expired_key = g.add_token(-1, {"--expires", "1s"});
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  auto expired = post_json(g.port(), "/v1/chat/completions", expired_key, chat_body());
  CHECK(expired.status == 401);
  CHECK(json::parse(expired.body)["error"]["message"].get<std::string>().find("expired") != std::string::npos);

  auto tiny_key = g.add_token(10);  // less than one request's pre-charge
  auto exhausted = post_json(g.port(), "/v1/chat/completions", tiny_key, chat_body());
  CHECK(exhausted.status == 403);

  auto route = http_call(g.port(), "GET", "/v1/nothing-here");
  CHECK(route.status == 404);
  CHECK(json::parse(route.body)["error"]["message"].get<std::string>().find("Invalid URL (GET /v1/nothing-here)") == 0);

  CHECK(mock.request_count() == 0);  // none of these reached the upstream
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs") == 0);
}

TEST_CASE("models, completions and embeddings", "[e2e]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    r.headers = {{"Content-Type", "application/json"}};
    if (req.path == "/v1/embeddings")
      r.body =
          R"({"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,0.2]}],"model":"text-embedding-3-small","usage":{"prompt_tokens":8,"total_tokens":8}})";
    else
      r.body =
          R"({"id":"c","object":"text_completion","choices":[{"text":"done","index":0}],"usage":{"prompt_tokens":4,"completion_tokens":1,"total_tokens":5}})";
  });
  Gateway g;
  g.add_channel(mock.base_url(), "gpt-3.5-turbo-instruct,text-embedding-3-small,gpt-4o-mini");
  std::string all = g.add_token();
  std::string limited = g.add_token(-1, {"--models", "text-embedding-3-small"});

  auto models = http_call(g.port(), "GET", "/v1/models", "", {{"Authorization", "Bearer " + all}});
  REQUIRE(models.status == 200);
  auto list = json::parse(models.body);
  CHECK(list["object"] == "list");
  CHECK(list["data"].size() == 3);
  auto only = json::parse(http_call(g.port(), "GET", "/v1/models", "", {{"Authorization", "Bearer " + limited}}).body);
  REQUIRE(only["data"].size() == 1);
  CHECK(only["data"][0]["id"] == "text-embedding-3-small");
  CHECK(http_call(g.port(), "GET", "/v1/models/gpt-4o-mini", "", {{"Authorization", "Bearer " + all}}).status == 200);
  CHECK(http_call(g.port(), "GET", "/v1/models/gpt-4o-mini", "", {{"Authorization", "Bearer " + limited}}).status ==
        404);

  auto emb = post_json(g.port(), "/v1/embeddings", all, R"({"model":"text-embedding-3-small","input":"hello"})");
  REQUIRE(emb.status == 200);
  CHECK(json::parse(emb.body)["data"][0]["embedding"].size() == 2);
  auto comp = post_json(g.port(), "/v1/completions", all, R"({"model":"gpt-3.5-turbo-instruct","prompt":"hi"})");
  REQUIRE(comp.status == 200);
  CHECK(db_int(g.db(),
               "SELECT COUNT(*) FROM logs WHERE type=2 AND model_name='text-embedding-3-small' AND prompt_tokens=8") ==
        1);
  CHECK(db_int(
            g.db(),
            "SELECT COUNT(*) FROM logs WHERE type=2 AND model_name='gpt-3.5-turbo-instruct' AND completion_tokens=1") ==
        1);
}

TEST_CASE("many parallel requests on a limited token never overspend it by more than one request",
          "[e2e][concurrency]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) { reply_chat(r, "ok", 1000, 1000); });  // 375 each
  Gateway g;
  g.add_channel(mock.base_url());
  // Each request reserves ~38 (PreConsumedQuota 500 × 0.075) but costs 375: reservations alone
  // could not stop parallel requests from overspending; the low-quota rule must.
  const int64_t quota = 2000;
  std::string key = g.add_token(quota);
  std::atomic<int> ok{0}, refused{0}, busy{0}, other{0};
  std::mutex mu;
  std::string first_other;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {  // until the token is used up (bounded)
        auto r = post_json(g.port(), "/v1/chat/completions", key, chat_body());
        if (r.status == 200)
          ++ok;
        else if (r.status == 429)
          ++busy;
        else if (r.status == 403) {
          ++refused;
          return;
        } else {
          ++other;
          std::lock_guard lock(mu);
          if (first_other.empty()) first_other = std::to_string(r.status) + " " + r.body;
        }
      }
    });
  for (auto& t : threads) t.join();
  INFO(first_other);
  CHECK(other == 0);
  CHECK(refused == 8);  // every thread ends on "quota used up"
  CHECK(ok >= 5);       // 2000 / 375: five fit, the sixth may overspend by one request at most
  const int64_t used = token_used(g);
  CHECK(used == ok * 375);
  CHECK(used <= quota + 375);  // at most one request's cost over
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type=2 AND quota=375") == ok.load());
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type=6") == 0);
}

TEST_CASE("RetryTimes: a retryable failure moves to the next channel, the failed attempt costs nothing",
          "[e2e][retry]") {
  MockUpstream broken([](const net::ServerRequest&, MockReply& r) {
    r.status = 503;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"error":{"message":"overloaded","type":"server_error"}})";
  });
  MockUpstream healthy([](const net::ServerRequest&, MockReply& r) { reply_chat(r, "from healthy", 1000, 1000); });
  Gateway g;
  const int64_t bad = g.add_channel(broken.base_url(), "gpt-4o-mini", {"--priority", "10"});
  const int64_t good = g.add_channel(healthy.base_url(), "gpt-4o-mini", {"--priority", "0"});
  std::string key = g.add_token(100000);

  SECTION("without retries the upstream's error reaches the client, refunded") {
    auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body());
    CHECK(res.status == 503);
    CHECK(token_remain(g) == 100000);
    CHECK(healthy.request_count() == 0);
  }
  SECTION("with RetryTimes 1 the next tier answers") {
    REQUIRE(g.daemon.ctl({"option", "set", "RetryTimes", "1"}).exit_code == 0);
    auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body());
    REQUIRE(res.status == 200);
    CHECK(json::parse(res.body)["choices"][0]["message"]["content"] == "from healthy");
    CHECK(broken.request_count() == 1);
    CHECK(healthy.request_count() == 1);
    CHECK(token_used(g) == 375);  // one charge, for the answer
    auto log = db_rows(g.db(), "SELECT * FROM logs WHERE request_id='" + res.header("x-oneapi-request-id") + "'");
    REQUIRE(log.size() == 1);
    CHECK(log[0]["channel"] == std::to_string(good));
    CHECK(db_int(g.db(), "SELECT used_quota FROM channels WHERE id=" + std::to_string(bad)) == 0);
  }
}
