// The written billing rule (README "What a request costs when things go wrong"), one test per
// case, through the real daemon, a real SQLite file and a mock upstream on loopback.
#include <catch2/catch.hpp>
#include <future>
#include <thread>

#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

std::vector<std::string> words(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back("word" + std::to_string(i) + " ");
  return out;
}

void stream_words(MockReply& r, int n, bool with_usage = false, int delay_ms = 0) {
  r.status = 200;
  r.headers = {{"Content-Type", "text/event-stream"}};
  for (auto& e : openai_stream_events(words(n), with_usage, 12, n)) r.chunks.push_back({delay_ms, e});
}

// The last consume row: quota, prompt and completion tokens.
std::map<std::string, std::string> last_bill(const Gateway& g) {
  auto rows = db_rows(g.db(), "SELECT * FROM logs WHERE type = 2 ORDER BY id DESC LIMIT 1");
  REQUIRE(rows.size() == 1);
  return rows[0];
}

}  // namespace

TEST_CASE("upstream cuts the stream: the words delivered are billed, the error is not", "[e2e][stream][billing]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    const bool cut = req.body.find("cut") != std::string::npos;
    stream_words(r, 3);
    if (cut) {
      r.chunks.pop_back();  // no [DONE]
      r.cut_after_chunks = true;
    }
  });
  Gateway g;
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(10'000'000);

  // The same three words, complete, for reference.
  auto whole = post_json(g.port(), "/v1/chat/completions", key, chat_body(true));
  REQUIRE(whole.status == 200);
  CHECK(whole.body.find("data: [DONE]") != std::string::npos);
  const auto reference = last_bill(g);

  auto cut = post_json(g.port(), "/v1/chat/completions", key, chat_body(true, "gpt-4o-mini", R"(,"user":"cut")"));
  REQUIRE(cut.status == 200);  // headers had gone out
  CHECK(cut.body.find("word2") != std::string::npos);
  CHECK(cut.body.find("data: [DONE]") == std::string::npos);  // never looks complete
  CHECK(cut.body.find("\"error\"") != std::string::npos);
  const auto bill = last_bill(g);
  CHECK(as_int(bill, "completion_tokens") == as_int(reference, "completion_tokens"));
  CHECK(as_int(bill, "quota") == as_int(reference, "quota"));
  CHECK(token_used(g) == as_int(reference, "quota") * 2);
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type = 6") == 0);
}

TEST_CASE("upstream stalls mid-stream: billed what was delivered, stalls before any word: free",
          "[e2e][stream][billing]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    stream_words(r, 4);
    const bool early = req.body.find("early") != std::string::npos;
    r.chunks[early ? 0 : 2].delay_ms = 3000;  // longer than STREAMING_TIMEOUT
  });
  Gateway g(Env{{"STREAMING_TIMEOUT", "1"}});
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(10'000'000);

  auto stalled = post_json(g.port(), "/v1/chat/completions", key, chat_body(true));
  REQUIRE(stalled.status == 200);
  CHECK(stalled.body.find("word1") != std::string::npos);
  CHECK(stalled.body.find("word2") == std::string::npos);
  CHECK(stalled.body.find("\"error\"") != std::string::npos);
  CHECK(stalled.body.find("data: [DONE]") == std::string::npos);
  const auto bill = last_bill(g);
  CHECK(as_int(bill, "completion_tokens") > 0);
  CHECK(as_int(bill, "quota") > 0);
  const int64_t used = token_used(g);
  CHECK(used == as_int(bill, "quota"));

  auto early = post_json(g.port(), "/v1/chat/completions", key, chat_body(true, "gpt-4o-mini", R"(,"user":"early")"));
  REQUIRE(early.status == 200);
  CHECK(early.body.find("word0") == std::string::npos);
  CHECK(early.body.find("\"error\"") != std::string::npos);
  CHECK(as_int(last_bill(g), "quota") == 0);  // refunded in full
  CHECK(token_used(g) == used);
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type = 6") == 0);
}

TEST_CASE("a request that used no tokens costs nothing", "[e2e][billing]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = json{{"id", "cmpl-1"},
                  {"object", "text_completion"},
                  {"model", "gpt-3.5-turbo-instruct"},
                  {"choices", json::array({{{"index", 0}, {"text", ""}, {"finish_reason", "stop"}}})},
                  {"usage", {{"prompt_tokens", 0}, {"completion_tokens", 0}, {"total_tokens", 0}}}}
                 .dump();
  });
  Gateway g;
  g.add_channel(mock.base_url(), "gpt-3.5-turbo-instruct");
  const std::string key = g.add_token(10'000'000);
  auto r = post_json(g.port(), "/v1/completions", key, R"({"model":"gpt-3.5-turbo-instruct","prompt":""})");
  REQUIRE(r.status == 200);
  const auto bill = last_bill(g);
  CHECK(as_int(bill, "quota") == 0);
  CHECK(token_used(g) == 0);
}

TEST_CASE("quota running out during a stream: the stream finishes, the bill is whole, the next request is refused",
          "[e2e][stream][billing]") {
  // 12 prompt + 4000 completion tokens of gpt-4o-mini: ceil((12 + 4000 × 4) × 0.075) = 1201 quota.
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.status = 200;
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events(words(20), true, 12, 4000)) r.chunks.push_back({0, e});
  });
  Gateway g;
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(1000);  // covers the pre-charge (about 38), not the bill

  auto r = post_json(g.port(), "/v1/chat/completions", key, chat_body(true));
  REQUIRE(r.status == 200);
  CHECK(r.body.find("word19") != std::string::npos);
  CHECK(r.body.find("data: [DONE]") != std::string::npos);
  CHECK(as_int(last_bill(g), "quota") == 1201);
  CHECK(token_used(g) == 1201);
  CHECK(db_int(g.db(), "SELECT remain_quota FROM tokens WHERE name = 'test'") == 1000 - 1201);
  CHECK(db_int(g.db(), "SELECT status FROM tokens WHERE name = 'test'") == 4);  // exhausted

  auto next = post_json(g.port(), "/v1/chat/completions", key, chat_body(true));
  CHECK(next.status == 403);
  CHECK(next.body.find("quota has been exhausted") != std::string::npos);
}

TEST_CASE("cached prompt tokens are billed at the cached-input ratio", "[e2e][billing]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    json body = json::parse(openai_chat_body("Hi", 1000, 10));
    body["usage"]["prompt_tokens_details"] = {{"cached_tokens", 800}};
    r.body = body.dump();
  });
  Gateway g;
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(10'000'000);

  // gpt-4o-mini: ratio 0.075, completion ratio 4, cached input at half price.
  auto r = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  REQUIRE(r.status == 200);
  auto bill = last_bill(g);
  CHECK(as_int(bill, "cached_prompt_tokens") == 800);
  CHECK(as_int(bill, "quota") == 48);  // ceil((200 + 800 × 0.5 + 10 × 4) × 0.075); uncached would be 78
  json cost = json::parse(g.daemon.ctl({"--json", "cost", r.header("x-oneapi-request-id")}).out);
  CHECK(cost.at("cached_prompt_tokens") == 800);

  REQUIRE(g.daemon.ctl({"option", "set", "CachedInputRatio", R"({"gpt-4o-mini":0})"}).exit_code == 0);
  REQUIRE(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
  CHECK(as_int(last_bill(g), "quota") == 18);  // ceil((200 + 10 × 4) × 0.075)
}

TEST_CASE("a trusted request (balance over 100x its pre-charge) has no row while it runs, one when it ends",
          "[e2e][stream][billing]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) { stream_words(r, 3, true, 300); });
  Gateway g;
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(10'000'000);

  auto running =
      std::async(std::launch::async, [&] { return post_json(g.port(), "/v1/chat/completions", key, chat_body(true)); });
  for (int i = 0; i < 200 && mock.request_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(mock.request_count() == 1);
  // Held on the node only: no provisional row, nothing taken from the token yet.
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs") == 0);
  CHECK(db_int(g.db(), "SELECT remain_quota FROM tokens") == 10'000'000);

  const auto res = running.get();
  REQUIRE(res.status == 200);
  CHECK(res.body.find("data: [DONE]") != std::string::npos);
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs") == 1);
  const auto row = log_row(g, res.header("x-oneapi-request-id"));
  CHECK(as_int(row, "type") == 2);
  CHECK(as_int(row, "is_stream") == 1);
  CHECK(row.at("model_name") == "gpt-4o-mini");
  CHECK(row.at("token_name") == "test");
  CHECK(as_int(row, "quota") == expected_quota("gpt-4o-mini", 1, 12, 3, 0));
  CHECK(token_used(g) == as_int(row, "quota"));
  CHECK(db_int(g.db(), "SELECT remain_quota FROM tokens") == 10'000'000 - as_int(row, "quota"));
}

TEST_CASE("a trusted user's next requests are trusted on what the last read found, less what they spent",
          "[e2e][billing]") {
  // "big" asks for an answer of five million completion tokens.
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    reply_chat(r, "Hello!", 12, req.body.find("big") != std::string::npos ? 5'000'000 : 3);
  });
  Gateway g(Env{{"METRICS_TOKEN", ""}});
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(-1);
  REQUIRE(g.daemon.ctl({"user", "update", "root", "--quota", "1000000"}).exit_code == 0);
  auto db_jobs = [&] {
    auto res = http_call(g.port(), "GET", "/metrics");
    REQUIRE(res.status == 200);
    const std::string name = "\noneapi_db_job_seconds_count ";
    const size_t at = res.body.find(name);
    REQUIRE(at != std::string::npos);
    return std::stoll(res.body.substr(at + name.size()));
  };

  REQUIRE(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);  // read, trusted
  const int64_t before = db_jobs();
  for (int i = 0; i < 5; ++i) REQUIRE(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);
  CHECK(db_jobs() - before == 5);  // one job each: the settle; the balances were not read again
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type = 2") == 6);
  CHECK(db_int(g.db(), "SELECT SUM(quota) FROM logs WHERE type = 2") == token_used(g));

  // One answer spends more than the user has (the settle may overdraw, as One API's does).
  auto big = post_json(g.port(), "/v1/chat/completions", key, chat_body(false, "gpt-4o-mini", R"(,"user":"big")"));
  REQUIRE(big.status == 200);
  REQUIRE(db_int(g.db(), "SELECT quota FROM users WHERE username = 'root'") < 0);
  // What was remembered less what was spent is under the line: the database is read, and refuses.
  auto refused = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  CHECK(refused.status == 403);
  CHECK(refused.body.find("user quota is not enough") != std::string::npos);
  CHECK(mock.request_count() == 7);

  // An admin's change reloads the catalog: what was remembered under the old one is read again.
  REQUIRE(g.daemon.ctl({"user", "update", "root", "--quota", "1000000"}).exit_code == 0);
  REQUIRE(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 200);  // read, trusted
  REQUIRE(g.daemon.ctl({"user", "update", "root", "--quota", "0"}).exit_code == 0);
  auto after_admin = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  CHECK(after_admin.status == 403);
  CHECK(mock.request_count() == 8);
}
