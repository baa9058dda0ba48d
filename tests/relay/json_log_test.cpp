// --log-format json: every line the daemon writes is one JSON object, the per-request line carries
// its fields, and no key reaches the log.
#include <catch2/catch.hpp>
#include <csignal>
#include <sstream>

#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

TEST_CASE("LOG_FORMAT=json writes one JSON object per line with the request's fields", "[e2e][log-format]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = openai_chat_body("hi", 7, 2);
  });
  Gateway g(Env{{"LOG_FORMAT", "json"}});
  g.add_channel(mock.base_url());
  const std::string key = g.add_token();
  auto ok = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  REQUIRE(ok.status == 200);
  const std::string id = ok.header("x-oneapi-request-id");
  auto refused = post_json(g.port(), "/v1/chat/completions", "sk-wrong", chat_body());
  REQUIRE(refused.status == 401);
  REQUIRE(g.daemon.stop(SIGTERM) == 0);

  std::istringstream lines(g.daemon.log());
  int parsed = 0;
  json request_line;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    INFO(line);
    auto j = json::parse(line, nullptr, false);
    REQUIRE(j.is_object());  // every line, startup and shutdown included
    CHECK(j.contains("time"));
    CHECK(j.contains("level"));
    CHECK(j.contains("msg"));
    if (j.value("request_id", "") == id) request_line = j;
    ++parsed;
  }
  CHECK(parsed >= 3);
  REQUIRE(request_line.is_object());
  CHECK(request_line["token"] == "test");
  CHECK(request_line["model"] == "gpt-4o-mini");
  CHECK(request_line["status"] == 200);
  CHECK(request_line["prompt"] == 7);
  CHECK(request_line["completion"] == 2);
  CHECK(request_line["elapsed_ms"].is_number());
  const std::string all = g.daemon.log();
  CHECK(all.find(key.substr(3)) == std::string::npos);
  CHECK(all.find("sk-upstream-secret") == std::string::npos);

  auto bad = run_command({ONEAPID_PATH, "--data-dir", "/nonexistent-never-created"}, {{"LOG_FORMAT", "xml"}});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("LOG_FORMAT") != std::string::npos);
}
