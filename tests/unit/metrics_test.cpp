// The Prometheus text exposition of lib/metrics: counters, cumulative histograms, label escaping,
// the series cap, and counting from several threads at once.
#include "metrics/metrics.hpp"

#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace oneapi::metrics;

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

RequestSample chat(std::string_view model, int64_t channel, int status) {
  RequestSample s;
  s.route = Route::chat_completions;
  s.model = model;
  s.channel = channel;
  s.status = status;
  return s;
}

}  // namespace

TEST_CASE("metrics: a counter series per route, model, channel and status", "[metrics]") {
  Registry r;
  auto ok = chat("gpt-4o", 3, 200);
  ok.prompt_tokens = 10;
  ok.completion_tokens = 5;
  ok.quota = 42;
  r.count_request(ok);
  r.count_request(ok);
  r.count_request(chat("", 0, 401));
  const std::string text = r.render({});
  CHECK(text.find("# HELP oneapi_requests_total ") != std::string::npos);
  CHECK(text.find("# TYPE oneapi_requests_total counter\n") != std::string::npos);
  CHECK(sample(text,
               R"(oneapi_requests_total{route="/v1/chat/completions",model="gpt-4o",channel="3",status="200"})") == 2);
  CHECK(sample(text, R"(oneapi_requests_total{route="/v1/chat/completions",model="",channel="",status="401"})") == 1);
  CHECK(sample(text, R"(oneapi_tokens_total{model="gpt-4o",channel="3",type="prompt"})") == 20);
  CHECK(sample(text, R"(oneapi_tokens_total{model="gpt-4o",channel="3",type="completion"})") == 10);
  CHECK(sample(text, R"(oneapi_quota_total{model="gpt-4o",channel="3"})") == 84);
  CHECK(sample(text, "oneapi_metrics_series") == 2);
}

TEST_CASE("metrics: histogram buckets are cumulative and +Inf equals the count", "[metrics]") {
  Registry r;
  auto& h = r.upstream_latency(Route::embeddings);
  for (double s : {0.0003, 0.0005, 0.002, 0.7, 100.0}) h.observe_seconds(s);
  const std::string text = r.render({});
  CHECK(text.find("# TYPE oneapi_upstream_latency_seconds histogram\n") != std::string::npos);
  const std::string name = R"(oneapi_upstream_latency_seconds_bucket{route="/v1/embeddings",le=")";
  CHECK(sample(text, name + R"(0.0005"})") == 2);  // the bound itself belongs to its bucket
  CHECK(sample(text, name + R"(0.001"})") == 2);
  CHECK(sample(text, name + R"(0.0025"})") == 3);
  CHECK(sample(text, name + R"(0.5"})") == 3);
  CHECK(sample(text, name + R"(1"})") == 4);
  CHECK(sample(text, name + R"(60"})") == 4);
  CHECK(sample(text, name + R"(+Inf"})") == 5);
  CHECK(sample(text, R"(oneapi_upstream_latency_seconds_count{route="/v1/embeddings"})") == 5);
  CHECK(sample(text, R"(oneapi_upstream_latency_seconds_sum{route="/v1/embeddings"})") ==
        Approx(100.7028).epsilon(1e-6));
  // Routes nothing was observed for are left out; unlabelled histograms are always there.
  CHECK(text.find(R"(oneapi_upstream_latency_seconds_count{route="/v1/chat/completions"})") == std::string::npos);
  CHECK(sample(text, R"(oneapi_db_job_seconds_bucket{le="+Inf"})") == 0);
  CHECK(sample(text, "oneapi_db_job_seconds_count") == 0);
}

TEST_CASE("metrics: label values escape backslashes, quotes and newlines", "[metrics]") {
  CHECK(escape_label("plain") == "plain");
  CHECK(escape_label("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
  Registry r;
  r.count_request(chat("we\"ird\\model\n", 1, 200));
  std::vector<Registry::ChannelGauge> channels = {{7, "my \"best\"\\channel\nA", 3, true}};
  const std::string text = r.render(channels);
  CHECK(
      sample(
          text,
          R"(oneapi_requests_total{route="/v1/chat/completions",model="we\"ird\\model\n",channel="1",status="200"})") ==
      1);
  CHECK(sample(text, R"(oneapi_channel_status{channel="7",name="my \"best\"\\channel\nA"})") == 3);
  CHECK(sample(text, R"(oneapi_channel_suspended{channel="7",name="my \"best\"\\channel\nA"})") == 1);
  // Every line is a comment or a sample: no raw newline leaked out of a label.
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) CHECK((line.rfind("# ", 0) == 0 || line.rfind("oneapi_", 0) == 0));
}

TEST_CASE("metrics: past the series cap new models count as model=\"other\"", "[metrics]") {
  Registry r(3);
  for (std::string model : {"m1", "m2", "m3", "m4", "m5", "m4"}) r.count_request(chat(model, 1, 200));
  r.count_request(chat(std::string(Registry::kMaxModel + 1, 'x'), 1, 200));  // too long to keep
  const std::string text = r.render({});
  const std::string prefix = R"(oneapi_requests_total{route="/v1/chat/completions",model=")";
  CHECK(sample(text, prefix + R"(m1",channel="1",status="200"})") == 1);
  CHECK(sample(text, prefix + R"(m3",channel="1",status="200"})") == 1);
  CHECK(sample(text, prefix + R"(m4",channel="1",status="200"})") == -1);
  CHECK(sample(text, prefix + R"(other",channel="1",status="200"})") == 4);
  CHECK(sample(text, "oneapi_metrics_dropped_total") == 0);
}

TEST_CASE("metrics: counting from several threads loses nothing", "[metrics]") {
  Registry r(1000);
  const std::vector<std::string> models = {"a", "b", "c", "d", "e", "f", "g", "h"};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20000; ++i) {
        auto s = chat(models[static_cast<size_t>(i + t) % models.size()], 1 + i % 3, 200);
        s.quota = 1;
        r.count_request(s);
        r.gateway_overhead(Route::completions).observe(std::chrono::microseconds(i % 2000));
      }
    });
  for (auto& th : threads) th.join();
  const std::string text = r.render({});
  double requests = 0, quota = 0;
  for (const auto& m : models)
    for (int ch = 1; ch <= 3; ++ch) {
      const std::string labels = "model=\"" + m + "\",channel=\"" + std::to_string(ch) + "\"";
      requests += sample(text, "oneapi_requests_total{route=\"/v1/chat/completions\"," + labels + ",status=\"200\"}");
      quota += sample(text, "oneapi_quota_total{" + labels + "}");
    }
  CHECK(requests == 80000);
  CHECK(quota == 80000);
  CHECK(sample(text, "oneapi_metrics_series") == 24);
  CHECK(sample(text, R"(oneapi_gateway_overhead_seconds_count{route="/v1/completions"})") == 80000);
  CHECK(sample(text, R"(oneapi_gateway_overhead_seconds_bucket{route="/v1/completions",le="+Inf"})") == 80000);
}
