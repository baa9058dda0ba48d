// GET /metrics through the real oneapid: request counters, histograms, tokens and quota against
// the SQLite log, channel gauges, and the METRICS_TOKEN guard.
#include <catch2/catch.hpp>
#include <sstream>

#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

// The value of the sample whose name and labels are exactly `series`; -1 when absent.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ')
      return std::stod(line.substr(series.size() + 1));
  return -1;
}

void reply_chat_or_stream(const net::ServerRequest& req, MockReply& r) {
  r.status = 200;
  if (json::parse(req.body).value("stream", false)) {
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events({"Hello", " there", "!"}, true, 21, 3)) r.chunks.push_back({5, e});
  } else {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = openai_chat_body("Hello!", 12, 7);
  }
}

}  // namespace

TEST_CASE("metrics: /metrics counts requests, histograms, tokens and quota as the log does", "[metrics][e2e]") {
  MockUpstream mock(reply_chat_or_stream);
  Gateway g(Env{{"METRICS_TOKEN", ""}});  // open, whatever the developer's environment says
  const int64_t channel = g.add_channel(mock.base_url());
  const std::string key = g.add_token();

  REQUIRE(post_json(g.port(), "/v1/chat/completions", key, chat_body(false)).status == 200);
  auto streamed = post_json(g.port(), "/v1/chat/completions", key, chat_body(true));
  REQUIRE(streamed.status == 200);
  REQUIRE(streamed.body.find("[DONE]") != std::string::npos);
  REQUIRE(post_json(g.port(), "/v1/chat/completions", "sk-not-a-real-key", chat_body(false)).status == 401);

  auto res = http_call(g.port(), "GET", "/metrics");
  REQUIRE(res.status == 200);
  CHECK(res.header("content-type").rfind("text/plain; version=0.0.4", 0) == 0);
  const std::string& text = res.body;
  const std::string ch = std::to_string(channel);

  const std::string chat_route = R"(route="/v1/chat/completions")";
  CHECK(sample(text, "oneapi_requests_total{" + chat_route + R"(,model="gpt-4o-mini",channel=")" + ch +
                         R"(",status="200"})") == 2);
  CHECK(sample(text, "oneapi_requests_total{" + chat_route + R"(,model="",channel="",status="401"})") == 1);

  // Every request is timed once; only the two that reached the upstream waited on it; one streamed.
  for (std::string name : {"oneapi_request_duration_seconds", "oneapi_gateway_overhead_seconds"}) {
    CHECK(sample(text, name + "_count{" + chat_route + "}") == 3);
    CHECK(sample(text, name + "_bucket{" + chat_route + R"(,le="+Inf"})") == 3);
  }
  CHECK(sample(text, "oneapi_upstream_latency_seconds_count{" + chat_route + "}") == 2);
  CHECK(sample(text, "oneapi_upstream_latency_seconds_bucket{" + chat_route + R"(,le="+Inf"})") == 2);
  CHECK(sample(text, "oneapi_time_to_first_token_seconds_count{" + chat_route + "}") == 1);
  // The upstream sent its chunks 5 ms apart: the stream took longer than its first token.
  CHECK(sample(text, "oneapi_time_to_first_token_seconds_sum{" + chat_route + "}") > 0);
  CHECK(sample(text, "oneapi_request_duration_seconds_sum{" + chat_route + "}") >
        sample(text, "oneapi_gateway_overhead_seconds_sum{" + chat_route + "}"));
  CHECK(sample(text, "oneapi_db_job_seconds_count") > 0);
  CHECK(sample(text, "oneapi_db_wait_seconds_count") == sample(text, "oneapi_db_job_seconds_count"));
  CHECK(sample(text, "oneapi_streams_in_flight") == 0);

  // Tokens and quota equal what the log recorded.
  const std::string where = " FROM logs WHERE type = 2 AND channel = " + ch;
  const int64_t prompt = db_int(g.db(), "SELECT SUM(prompt_tokens)" + where);
  const int64_t completion = db_int(g.db(), "SELECT SUM(completion_tokens)" + where);
  const int64_t quota = db_int(g.db(), "SELECT SUM(quota)" + where);
  CHECK(prompt == 12 + 21);
  CHECK(completion == 7 + 3);
  REQUIRE(quota > 0);
  const std::string labels = R"(model="gpt-4o-mini",channel=")" + ch + "\"";
  CHECK(sample(text, "oneapi_tokens_total{" + labels + R"(,type="prompt"})") == prompt);
  CHECK(sample(text, "oneapi_tokens_total{" + labels + R"(,type="completion"})") == completion);
  CHECK(sample(text, "oneapi_quota_total{" + labels + "}") == quota);

  CHECK(sample(text, R"(oneapi_channel_status{channel=")" + ch + R"(",name="mock"})") == 1);
  CHECK(sample(text, R"(oneapi_channel_suspended{channel=")" + ch + R"(",name="mock"})") == 0);

  // A disabled channel shows as 2 at the next scrape.
  REQUIRE(g.daemon.ctl({"channel", "disable", ch}).exit_code == 0);
  auto after = http_call(g.port(), "GET", "/metrics");
  CHECK(sample(after.body, R"(oneapi_channel_status{channel=")" + ch + R"(",name="mock"})") == 2);
}

TEST_CASE("metrics: METRICS_TOKEN guards /metrics with a bearer token", "[metrics][e2e]") {
  Gateway g(Env{{"METRICS_TOKEN", "scrape-secret"}});
  auto bare = http_call(g.port(), "GET", "/metrics");
  CHECK(bare.status == 401);
  auto err = json::parse(bare.body);
  CHECK(err["error"]["code"] == "invalid_metrics_token");
  CHECK(err["error"]["message"].get<std::string>().find("METRICS_TOKEN") != std::string::npos);
  CHECK(bare.body.find("oneapi_requests_total") == std::string::npos);

  auto wrong = http_call(g.port(), "GET", "/metrics", "", {{"Authorization", "Bearer scrape-secreT"}});
  CHECK(wrong.status == 401);
  auto no_scheme = http_call(g.port(), "GET", "/metrics", "", {{"Authorization", "scrape-secret"}});
  CHECK(no_scheme.status == 401);

  auto ok = http_call(g.port(), "GET", "/metrics", "", {{"Authorization", "Bearer scrape-secret"}});
  CHECK(ok.status == 200);
  CHECK(ok.body.find("# TYPE oneapi_requests_total counter") != std::string::npos);
  CHECK(ok.body.find("# TYPE oneapi_db_job_seconds histogram") != std::string::npos);
}

TEST_CASE("metrics: with BUSY_POLL_US the daemon serves and counts polls that found work and sleeps",
          "[metrics][e2e]") {
  MockUpstream mock(reply_chat_or_stream);
  Gateway quiet(Env{{"METRICS_TOKEN", ""}});
  Gateway polling(Env{{"METRICS_TOKEN", ""}, {"BUSY_POLL_US", "10000"}});
  for (Gateway* g : {&quiet, &polling}) {
    g->add_channel(mock.base_url());
    const std::string key = g->add_token();
    for (int i = 0; i < 3; ++i) {
      auto res = post_json(g->port(), "/v1/chat/completions", key, chat_body(i == 1));
      REQUIRE(res.status == 200);
      CHECK(res.body.find("Hello") != std::string::npos);
    }
  }
  auto off = http_call(quiet.port(), "GET", "/metrics");
  REQUIRE(off.status == 200);
  CHECK(sample(off.body, "oneapi_busy_poll_hits_total") == 0);
  CHECK(sample(off.body, "oneapi_busy_poll_sleeps_total") == 0);
  // Each request leaves the I/O thread waiting on the mock and on the database, well within 10 ms
  // each: those waits are polled through rather than slept.
  auto on = http_call(polling.port(), "GET", "/metrics");
  REQUIRE(on.status == 200);
  CHECK(sample(on.body, "oneapi_busy_poll_hits_total") >= 3);
  CHECK(sample(on.body, "oneapi_busy_poll_sleeps_total") >= 1);  // idle between the test's steps
  CHECK(polling.daemon.log().find("busy polling: 1 I/O thread(s) poll 10000 µs before they sleep") !=
        std::string::npos);

  auto too_long = run_command({ONEAPID_PATH, "--check-config"}, {{"BUSY_POLL_US", "20000"}});
  CHECK(too_long.exit_code == 2);
  CHECK(too_long.err.find("BUSY_POLL_US=20000: more than 10000 (microseconds)") != std::string::npos);
}
