// SIGHUP reloads the environment file and the database without dropping connections; SIGTERM
// past SHUTDOWN_TIMEOUT settles what it cuts.

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

void write_file(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  { std::ofstream(tmp, std::ios::trunc) << text; }
  std::filesystem::rename(tmp, path);  // as an editor saving it would
}

// Sends SIGHUP and waits until the daemon has logged `marker` one more time than before.
void hang_up_and_wait(Daemon& d, int pid, const std::string& marker) {
  const auto count = [&] {
    const std::string log = d.log();
    size_t n = 0;
    for (size_t at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) ++n;
    return n;
  };
  const size_t before = count();
  REQUIRE(::kill(pid, SIGHUP) == 0);
  for (int i = 0; i < 250 && count() == before; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(count() == before + 1);
}

int daemon_pid(const Daemon& d) {
  std::ifstream in(d.data_dir() + "/ready.json");
  return json::parse(in)["pid"].get<int>();
}

struct EnvFile {
  std::string dir;
  std::string path;
  explicit EnvFile(const std::string& text) {
    char tmpl[] = "/tmp/oneapi-envfile-XXXXXX";
    dir = ::mkdtemp(tmpl);
    path = dir + "/oneapid.env";
    write_file(path, text);
  }
  ~EnvFile() { std::filesystem::remove_all(dir); }
};

}  // namespace

TEST_CASE("SIGHUP applies a new log level and relay limit while a stream in flight completes", "[e2e][reload]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    if (req.body.find("\"stream\":true") == std::string::npos) return reply_chat(r);
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events({"one ", "two ", "three ", "four ", "five"}, true, 7, 5))
      r.chunks.push_back({250, e});
  });
  EnvFile env("# limits\nLOG_LEVEL=warn\nGLOBAL_RELAY_RATE_LIMIT=100\n");
  Gateway g({{"ONEAPI_ENV_FILE", env.path}});
  g.add_channel(mock.base_url());
  const std::string key = g.add_token();
  const int pid = daemon_pid(g.daemon);

  auto stream =
      std::async(std::launch::async, [&] { return post_json(g.port(), "/v1/chat/completions", key, chat_body(true)); });
  for (int i = 0; i < 200 && mock.request_count() == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  REQUIRE(mock.request_count() == 1);
  const auto quiet = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  REQUIRE(quiet.status == 200);
  // LOG_LEVEL=warn: the info line of each request is not written.
  CHECK(g.daemon.log().find("request " + quiet.header("x-oneapi-request-id")) == std::string::npos);

  write_file(env.path, "LOG_LEVEL=debug\nGLOBAL_RELAY_RATE_LIMIT=2\n");
  hang_up_and_wait(g.daemon, pid, "SIGHUP: applied");
  const std::string log = g.daemon.log();
  CHECK(log.find("applied LOG_LEVEL, GLOBAL_RELAY_RATE_LIMIT;") != std::string::npos);
  CHECK(log.find("=debug") == std::string::npos);                                  // names only, never values
  CHECK(stream.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);  // still streaming

  // Two requests counted (the stream and one more): with the new limit of 2 the next is refused.
  const auto limited = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  CHECK(limited.status == 429);
  CHECK(limited.body.find("at most 2 per") != std::string::npos);
  CHECK(g.daemon.log().find("request " + limited.header("x-oneapi-request-id")) != std::string::npos);

  const auto streamed = stream.get();
  CHECK(streamed.status == 200);
  CHECK(streamed.body.find("five") != std::string::npos);
  CHECK(streamed.body.find("data: [DONE]") != std::string::npos);
  const std::string stream_id = streamed.header("x-oneapi-request-id");
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type=2 AND quota>0 AND request_id='" + stream_id + "'") == 1);
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type=6") == 0);
  CHECK(mock.aborted_streams() == 0);
}

TEST_CASE("SIGHUP reloads options changed in the database and keeps restart-only settings", "[e2e][reload]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) { reply_chat(r, "hi", 1000, 1000); });
  EnvFile env("GLOBAL_RELAY_RATE_LIMIT=0\n");
  Gateway g({{"ONEAPI_ENV_FILE", env.path}});
  g.add_channel(mock.base_url());
  const std::string key = g.add_token();
  const int pid = daemon_pid(g.daemon);
  const auto cost_of = [&](const HttpResult& r) {
    return db_int(g.db(),
                  "SELECT quota FROM logs WHERE type=2 AND request_id='" + r.header("x-oneapi-request-id") + "'");
  };

  const auto first = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  REQUIRE(first.status == 200);
  const int64_t base_cost = cost_of(first);
  REQUIRE(base_cost > 0);

  // Behind the daemon's back: the running catalog does not see it yet.
  db_exec(g.db(), R"(INSERT INTO options ("key", value) VALUES ('GroupRatio', '{"default":2}'))"
                  R"( ON CONFLICT("key") DO UPDATE SET value = excluded.value)");
  const auto before_reload = post_json(g.port(), "/v1/chat/completions", key, chat_body());
  REQUIRE(before_reload.status == 200);
  CHECK(cost_of(before_reload) == base_cost);

  const int port = g.port();
  write_file(env.path, "GLOBAL_RELAY_RATE_LIMIT=0\nLOG_RETENTION_DAYS=5\nSQLITE_BUSY_TIMEOUT=10\nBUSY_POLL_US=50\n");
  hang_up_and_wait(g.daemon, pid, "options, channels and tokens reloaded from the database");
  const std::string log = g.daemon.log();
  CHECK(log.find("SIGHUP: no setting changed;") != std::string::npos);
  CHECK(log.find("SIGHUP: changed settings that only a restart applies, kept as they were: BUSY_POLL_US, "
                 "SQLITE_BUSY_TIMEOUT, LOG_RETENTION_DAYS") != std::string::npos);

  const auto after_reload = post_json(port, "/v1/chat/completions", key, chat_body());
  REQUIRE(after_reload.status == 200);
  CHECK(cost_of(after_reload) == 2 * base_cost);
}

TEST_CASE("a broken environment file at SIGHUP changes nothing and the daemon keeps serving", "[e2e][reload]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  EnvFile env("GLOBAL_RELAY_RATE_LIMIT=3\nLOG_LEVEL=info\n");
  Gateway g({{"ONEAPI_ENV_FILE", env.path}});
  g.add_channel(mock.base_url());
  const std::string key = g.add_token();
  const int pid = daemon_pid(g.daemon);

  write_file(env.path, "GLOBAL_RELAY_RATE_LIMIT=1\nLOG_LEVEL=error\nthis line is no assignment\n");
  hang_up_and_wait(g.daemon, pid, "SIGHUP: configuration not reloaded");
  CHECK(g.daemon.log().find("oneapid.env line 3: not a VARIABLE=value line") != std::string::npos);

  write_file(env.path, "GLOBAL_RELAY_RATE_LIMIT=-1\nLOG_LEVEL=error\n");
  hang_up_and_wait(g.daemon, pid, "SIGHUP: configuration not reloaded");
  CHECK(g.daemon.log().find("GLOBAL_RELAY_RATE_LIMIT=-1: not a non-negative integer") != std::string::npos);

  std::filesystem::remove(env.path);
  hang_up_and_wait(g.daemon, pid, "SIGHUP: configuration not reloaded");

  // Still the first file's limit of 3, and still logging at info.
  for (int i = 0; i < 3; ++i) {
    const auto ok = post_json(g.port(), "/v1/chat/completions", key, chat_body());
    CHECK(ok.status == 200);
    CHECK(g.daemon.log().find("request " + ok.header("x-oneapi-request-id")) != std::string::npos);
  }
  CHECK(post_json(g.port(), "/v1/chat/completions", key, chat_body()).status == 429);
  CHECK(g.daemon.stop(SIGTERM) == 0);
}

TEST_CASE("an unreadable or malformed environment file stops the start", "[e2e][reload]") {
  EnvFile env("PORT=3000\nGLOBAL_API_RATE_LIMIT=many\n");
  auto bad = run_command({ONEAPID_PATH, "--env-file", env.path, "--check-config"});
  CHECK(bad.exit_code == 2);
  CHECK(bad.err.find("GLOBAL_API_RATE_LIMIT=many: not a non-negative integer") != std::string::npos);
  auto missing = run_command({ONEAPID_PATH, "--check-config"}, {{"ONEAPI_ENV_FILE", env.dir + "/absent.env"}});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("cannot read the environment file " + env.dir + "/absent.env") != std::string::npos);
}

TEST_CASE("the environment file overrides the environment and flags override both", "[e2e][reload]") {
  EnvFile env("LOG_LEVEL='error'\n");
  Daemon d(Env{{"LOG_LEVEL", "info"}});
  d.add_args({"--env-file", env.path});
  d.start();
  CHECK(d.log().find("listening on") == std::string::npos);  // an info line, hidden at error
  d.stop(SIGTERM);

  Daemon flagged(Env{{"LOG_LEVEL", "info"}});
  flagged.add_args({"--env-file", env.path, "--log-level", "info"});
  flagged.start();
  CHECK(flagged.log().find("listening on") != std::string::npos);
}

TEST_CASE("SIGTERM past SHUTDOWN_TIMEOUT exits and refunds the cut stream at once", "[e2e][reload][lifecycle]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events({"a", "b", "c", "d", "e", "f", "g", "h"}, true, 5, 8))
      r.chunks.push_back({500, e});
  });
  char tmpl[] = "/tmp/oneapi-cut-XXXXXX";
  const std::string dir = ::mkdtemp(tmpl);
  // Under 100 × its pre-charge (about 38): not trusted, so the request has a provisional row.
  const int64_t quota = 2000;
  {
    Daemon d(Env{{"SHUTDOWN_TIMEOUT", "1"}}, dir);
    d.start();
    REQUIRE(d.ctl({"channel", "add", "--type", "openai", "--name", "m", "--base-url", mock.base_url(), "--key", "k",
                   "--models", "gpt-4o-mini"})
                .exit_code == 0);
    const std::string key =
        json::parse(d.ctl({"--json", "token", "create", "--name", "t", "--quota", std::to_string(quota)}).out)["key"];
    auto cut = std::async(std::launch::async,
                          [&] { return post_json(d.port(), "/v1/chat/completions", key, chat_body(true)); });
    for (int i = 0; i < 200 && db_int(d.db_path(), "SELECT COUNT(*) FROM logs WHERE type=6") == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(db_int(d.db_path(), "SELECT remain_quota FROM tokens") < quota);  // reserved

    const auto t0 = std::chrono::steady_clock::now();
    CHECK(d.stop(SIGTERM) == 0);
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took >= std::chrono::milliseconds(900));
    CHECK(took < std::chrono::seconds(3));  // the stream alone would take 4.5 s
    const auto res = cut.get();
    CHECK(res.body.find("[DONE]") == std::string::npos);

    // Settled before exiting: no provisional row, the reservation back, the reason in the log row.
    CHECK(db_int(d.db_path(), "SELECT COUNT(*) FROM logs WHERE type=6") == 0);
    CHECK(db_int(d.db_path(), "SELECT remain_quota FROM tokens") == quota);
    CHECK(db_int(d.db_path(), "SELECT used_quota FROM tokens") == 0);
    CHECK(db_int(d.db_path(), "SELECT COUNT(*) FROM logs WHERE content LIKE '%SHUTDOWN_TIMEOUT%'") == 1);
    CHECK(d.log().find("refunded 1 request(s) cut at shutdown") != std::string::npos);
  }
  {
    Daemon d({}, dir);
    d.start();
    CHECK(d.log().find("left unfinished by a previous run") == std::string::npos);  // nothing left over
    CHECK(db_int(d.db_path(), "SELECT remain_quota FROM tokens") == quota);
    CHECK(d.stop(SIGTERM) == 0);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "ENFORCE_INCLUDE_USAGE=false: streams go without stream_options, billed by the local count, and SIGHUP "
    "turns it back on",
    "[e2e][reload][stream]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events({"one ", "two ", "three ", "four ", "five"}, false)) r.chunks.push_back({0, e});
  });
  EnvFile env("ENFORCE_INCLUDE_USAGE=false\n");
  Gateway g({{"ONEAPI_ENV_FILE", env.path}});
  g.add_channel(mock.base_url());
  const std::string key = g.add_token();
  const int pid = daemon_pid(g.daemon);
  const auto sent = [&](size_t i) { return json::parse(mock.requests().at(i).body); };

  const auto plain = post_json(g.port(), "/v1/chat/completions", key, chat_body(true));
  REQUIRE(plain.status == 200);
  CHECK_FALSE(sent(0).contains("stream_options"));
  auto row = log_row(g, plain.header("x-oneapi-request-id"));
  CHECK(as_int(row, "completion_tokens") == 5);  // "one two three four five", counted here
  CHECK(as_int(row, "quota") > 0);

  // A client's own stream_options still go as they came; a Claude client's converted stream gets none.
  REQUIRE(post_json(g.port(), "/v1/chat/completions", key,
                    chat_body(true, "gpt-4o-mini", R"(,"stream_options":{"include_usage":true})"))
              .status == 200);
  CHECK(sent(1)["stream_options"]["include_usage"] == true);
  const auto claude = post_json(
      g.port(), "/v1/messages", key,
      R"({"model":"gpt-4o-mini","max_tokens":50,"stream":true,"messages":[{"role":"user","content":"Say hello"}]})");
  REQUIRE(claude.status == 200);
  CHECK(claude.body.find("event: message_stop") != std::string::npos);
  CHECK_FALSE(sent(2).contains("stream_options"));
  CHECK(as_int(log_row(g, claude.header("x-oneapi-request-id")), "completion_tokens") == 5);

  write_file(env.path, "ENFORCE_INCLUDE_USAGE=true\n");
  hang_up_and_wait(g.daemon, pid, "SIGHUP: applied");
  CHECK(g.daemon.log().find("applied ENFORCE_INCLUDE_USAGE;") != std::string::npos);
  REQUIRE(post_json(g.port(), "/v1/chat/completions", key, chat_body(true)).status == 200);
  CHECK(sent(3)["stream_options"]["include_usage"] == true);
}
