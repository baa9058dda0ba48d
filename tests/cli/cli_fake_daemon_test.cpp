// oneapictl against a fake admin socket: a thread answering canned envelopes, so exit codes,
// output and the requests the CLI sends can be checked without the real daemon.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "admin/unix_client.hpp"
#include "support/daemon_fixture.hpp"
#include "support/temp_dir.hpp"

using nlohmann::json;
using oneapi::test::CommandResult;

namespace {

enum class Framing { content_length, chunked, until_eof, hang_up };

struct Canned {
  int status = 200;
  std::string body;
  Framing framing = Framing::content_length;
};

struct Seen {
  std::string method, target, body;
  json json_body() const { return json::parse(body, nullptr, false); }
};

class FakeAdmin {
 public:
  FakeAdmin() : dir_("oneapictl-test-") {
    path_ = dir_.file("admin.sock");
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd_, 16) != 0)
      throw std::runtime_error("fake admin socket: cannot listen on " + path_);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeAdmin() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  FakeAdmin(const FakeAdmin&) = delete;
  FakeAdmin& operator=(const FakeAdmin&) = delete;

  const std::string& path() const { return path_; }

  // Answers "METHOD /path" (query ignored) with the envelope {"success":true,"data":data}.
  void ok(const std::string& route, const json& data) {
    set(route, {200, json{{"success", true}, {"message", ""}, {"data", data}}.dump()});
  }
  void refuse(const std::string& route, const std::string& message, const std::string& code) {
    set(route, {200, json{{"success", false}, {"message", message}, {"code", code}}.dump()});
  }
  void set(const std::string& route, Canned c) {
    std::lock_guard lock(mu_);
    routes_[route] = std::move(c);
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  Seen last() const {
    auto all = seen();
    if (all.empty()) throw std::runtime_error("the fake admin socket got no request");
    return all.back();
  }

  // oneapictl --socket <ours> args...
  CommandResult ctl(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{ONEAPICTL_PATH, "--socket", path_};
    argv.insert(argv.end(), args.begin(), args.end());
    return oneapi::test::run_command(argv);
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      handle(conn);
      ::close(conn);
    }
  }

  void handle(int conn) {
    std::string raw;
    char buf[4096];
    size_t head_end = std::string::npos, need = 0;
    for (;;) {
      pollfd p{conn, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return;
      ssize_t n = ::recv(conn, buf, sizeof buf, 0);
      if (n <= 0) return;
      raw.append(buf, static_cast<size_t>(n));
      if (head_end == std::string::npos) {
        head_end = raw.find("\r\n\r\n");
        if (head_end == std::string::npos) continue;
        auto cl = raw.find("Content-Length: ");
        need = cl != std::string::npos && cl < head_end ? std::stoul(raw.substr(cl + 16)) : 0;
      }
      if (raw.size() >= head_end + 4 + need) break;
    }
    Seen s;
    const std::string request_line = raw.substr(0, raw.find("\r\n"));
    const auto sp1 = request_line.find(' '), sp2 = request_line.rfind(' ');
    s.method = request_line.substr(0, sp1);
    s.target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
    s.body = raw.substr(head_end + 4, need);
    const std::string route = s.method + " " + s.target.substr(0, s.target.find('?'));
    Canned c{404, R"({"error":{"message":"Invalid URL","type":"invalid_request_error"}})", Framing::content_length};
    {
      std::lock_guard lock(mu_);
      seen_.push_back(s);
      if (auto it = routes_.find(route); it != routes_.end()) c = it->second;
    }
    std::string out = "HTTP/1.1 " + std::to_string(c.status) + " X\r\nContent-Type: application/json\r\n";
    switch (c.framing) {
      case Framing::hang_up:
        return;
      case Framing::content_length:
        out += "Content-Length: " + std::to_string(c.body.size()) + "\r\n\r\n" + c.body;
        break;
      case Framing::until_eof:
        out += "Connection: close\r\n\r\n" + c.body;
        break;
      case Framing::chunked: {
        out += "Transfer-Encoding: chunked\r\n\r\n";
        // Uneven chunks, so a chunk boundary falls inside a JSON token.
        for (size_t pos = 0; pos < c.body.size(); pos += 7) {
          const std::string part = c.body.substr(pos, 7);
          char size[16];
          std::snprintf(size, sizeof size, "%zx", part.size());
          out += std::string(size) + "\r\n" + part + "\r\n";
        }
        out += "0\r\n\r\n";
        break;
      }
    }
    size_t sent = 0;
    while (sent < out.size()) {
      ssize_t n = ::send(conn, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return;
      sent += static_cast<size_t>(n);
    }
  }

  oneapi::test::TempDir dir_;
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, Canned> routes_;
  std::vector<Seen> seen_;
};

bool one_error_line(const CommandResult& r) {
  return r.err.rfind("oneapictl: ", 0) == 0 && r.err.find('\n') == r.err.size() - 1;
}

const json kChannel = {{"id", 7},
                       {"type", 1},
                       {"status", 1},
                       {"name", "main"},
                       {"weight", 0},
                       {"created_time", 1700000000},
                       {"test_time", 0},
                       {"response_time", 0},
                       {"base_url", ""},
                       {"models", "gpt-4o,gpt-4o-mini"},
                       {"group", "default"},
                       {"used_quota", 0},
                       {"model_mapping", ""},
                       {"priority", 0},
                       {"system_prompt", ""},
                       // The admin API omits keys; the CLI must drop one even if it comes.
                       {"key", "sk-upstream-SECRET"}};

const json kToken = {{"id", 3},
                     {"user_id", 1},
                     {"key", "sk-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL"},
                     {"status", 1},
                     {"name", "ci"},
                     {"created_time", 1700000000},
                     {"accessed_time", 1700000000},
                     {"expired_time", -1},
                     {"remain_quota", 0},
                     {"unlimited_quota", true},
                     {"used_quota", 0},
                     {"models", ""},
                     {"subnet", ""}};

json test_result(int64_t id, const std::string& name, bool ok, const std::string& message) {
  return {{"id", id},
          {"name", name},
          {"ok", ok},
          {"response_time_ms", 250},
          {"error", ok ? json(nullptr) : json(message)},
          {"model", "gpt-4o"},
          {"answer", ok ? message : ""},
          {"status", 1}};
}

}  // namespace

TEST_CASE("oneapictl status prints the daemon's status, --json prints the data object", "[cli]") {
  FakeAdmin d;
  const json status = {{"version", "0.1.0"},
                       {"start_time", 1700000000},
                       {"uptime_seconds", 3725},
                       {"quota_per_unit", 500000},
                       {"system_name", "One API"},
                       {"channels", 2},
                       {"tokens", 5}};
  d.ok("GET /api/status", status);

  auto r = d.ctl({"status"});
  CHECK(r.exit_code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("0.1.0") != std::string::npos);
  CHECK(r.out.find("1h 2m 5s") != std::string::npos);
  CHECK(d.last().method == "GET");
  CHECK(d.last().target == "/api/status");

  // Global flags after the command work too.
  r = d.ctl({"status", "--json"});
  CHECK(r.exit_code == 0);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j == status);
}

TEST_CASE("oneapictl parses chunked and close-delimited answers", "[cli]") {
  FakeAdmin d;
  const json status = {{"version", "9.9.9"}, {"system_name", "chunky \u4e2d\u6587"}};
  const std::string body = json{{"success", true}, {"message", ""}, {"data", status}}.dump();
  for (Framing f : {Framing::chunked, Framing::until_eof, Framing::content_length}) {
    d.set("GET /api/status", {200, body, f});
    auto r = d.ctl({"--json", "status"});
    CHECK(r.exit_code == 0);
    CHECK(json::parse(r.out, nullptr, false) == status);
  }

  // And straight through the library call.
  d.set("GET /api/status", {200, body, Framing::chunked});
  oneapi::admin::UnixResponse res;
  std::string error;
  REQUIRE(oneapi::admin::unix_http_request(d.path(), "GET", "/api/status", "", res, error, 10));
  CHECK(res.status == 200);
  CHECK(res.body == body);
  CHECK(error.empty());
}

TEST_CASE("oneapictl channel test exits 1 when a test fails and 0 when all pass", "[cli]") {
  FakeAdmin d;
  d.ok("GET /api/channel/test",
       json::array({test_result(1, "good", true, "gpt-4o"), test_result(2, "bad", false, "401 invalid api key")}));

  auto r = d.ctl({"channel", "test", "--all"});
  CHECK(r.exit_code == 1);
  CHECK(r.out.find("FAILED") != std::string::npos);
  CHECK(r.out.find("401 invalid api key") != std::string::npos);
  CHECK(d.last().target == "/api/channel/test");

  r = d.ctl({"channel", "test", "--all", "--json"});
  CHECK(r.exit_code == 1);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 2);
  CHECK(j[1]["ok"] == false);
  CHECK(j[1]["id"] == 2);

  d.ok("GET /api/channel/test",
       json::array({test_result(1, "good", true, "gpt-4o"), test_result(2, "also good", true, "gpt-4o")}));
  r = d.ctl({"channel", "test", "--disabled", "--model", "gpt-4o"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("FAILED") == std::string::npos);
  const std::string target = d.last().target;
  CHECK(target.find("model=gpt-4o") != std::string::npos);
  CHECK(target.find("scope=disabled") != std::string::npos);

  // One channel: --json prints an array too.
  d.ok("GET /api/channel/test/2", test_result(2, "bad", false, "timeout"));
  r = d.ctl({"--json", "channel", "test", "2"});
  CHECK(r.exit_code == 1);
  j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_array());
  REQUIRE(j.size() == 1);
  CHECK(j[0]["name"] == "bad");
  CHECK(j[0]["ok"] == false);
  CHECK(d.last().target == "/api/channel/test/2");
}

TEST_CASE("oneapictl channel balance: exit 0 ok, 1 failed, 5 not supported", "[cli][chanops]") {
  FakeAdmin d;
  auto item = [](int64_t id, bool supported, bool ok) {
    return json{{"id", id},
                {"name", "c" + std::to_string(id)},
                {"type", supported ? 36 : 50},
                {"supported", supported},
                {"ok", ok},
                {"balance", ok ? 110.0 : 0.0},
                {"currency", ok ? "CNY" : ""},
                {"balance_updated_time", ok ? 1700000000 : 0},
                {"error", ok ? json(nullptr) : json(supported ? "HTTP 401: bad key" : "not supported: no balance API")},
                {"status", 1}};
  };
  d.ok("GET /api/channel/update_balance/1", item(1, true, true));
  auto r = d.ctl({"channel", "balance", "1"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("110.00 CNY") != std::string::npos);
  CHECK(d.last().target == "/api/channel/update_balance/1");

  d.ok("GET /api/channel/update_balance/2", item(2, false, false));
  r = d.ctl({"channel", "balance", "2"});
  CHECK(r.exit_code == 5);
  CHECK(r.out.find("not supported") != std::string::npos);

  d.ok("GET /api/channel/update_balance/3", item(3, true, false));
  r = d.ctl({"--json", "channel", "balance", "3"});
  CHECK(r.exit_code == 1);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_array());
  CHECK(j[0]["error"] == "HTTP 401: bad key");

  d.ok("GET /api/channel/update_balance", json::array({item(1, true, true), item(2, false, false)}));
  CHECK(d.ctl({"channel", "balance", "--all"}).exit_code == 0);
  d.ok("GET /api/channel/update_balance", json::array({item(2, false, false)}));
  CHECK(d.ctl({"channel", "balance", "--all"}).exit_code == 5);
  d.ok("GET /api/channel/update_balance", json::array({item(1, true, true), item(3, true, false)}));
  CHECK(d.ctl({"channel", "balance", "--all"}).exit_code == 1);
}

TEST_CASE("oneapictl maps the envelope's code to exit codes", "[cli]") {
  FakeAdmin d;
  d.refuse("GET /api/channel/99", "channel 99 not found", "not_found");
  auto r = d.ctl({"channel", "get", "99"});
  CHECK(r.exit_code == 4);
  CHECK(r.out.empty());
  CHECK(one_error_line(r));
  CHECK(r.err.find("channel 99 not found") != std::string::npos);

  r = d.ctl({"--json", "channel", "get", "99"});
  CHECK(r.exit_code == 4);
  CHECK(r.out.empty());

  d.refuse("POST /api/channel/", "base_url must start with http:// or https://", "invalid_request");
  r = d.ctl(
      {"channel", "add", "--type", "custom", "--name", "x", "--key", "k", "--models", "m", "--base-url", "ftp://x"});
  CHECK(r.exit_code == 1);
  CHECK(one_error_line(r));
  CHECK(r.err.find("base_url must start") != std::string::npos);

  // A route the daemon does not know (404 with an OpenAI error body).
  r = d.ctl({"user", "list"});
  CHECK(r.exit_code == 1);
  CHECK(one_error_line(r));

  // The daemon hangs up without answering.
  d.set("GET /api/status", {200, "", Framing::hang_up});
  r = d.ctl({"status"});
  CHECK(r.exit_code == 3);
  CHECK(one_error_line(r));

  // HTTP 200 without an envelope.
  d.set("GET /api/status", {200, "", Framing::content_length});
  r = d.ctl({"status"});
  CHECK(r.exit_code == 1);
  CHECK(one_error_line(r));
}

TEST_CASE("oneapictl channel add sends One API's fields and never prints the key", "[cli]") {
  FakeAdmin d;
  d.ok("POST /api/channel/", kChannel);
  auto r = d.ctl({"channel",         "add",
                  "--type",          "openai-compatible",
                  "--name",          "main",
                  "--key",           "sk-upstream-SECRET",
                  "--models",        "gpt-4o,gpt-4o-mini",
                  "--base-url",      "https://example.com",
                  "--priority",      "-5",
                  "--weight",        "3",
                  "--model-mapping", R"({"gpt-4":"gpt-4o"})",
                  "--group",         "default,vip"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("7") != std::string::npos);
  CHECK(r.out.find("SECRET") == std::string::npos);
  json body = d.last().json_body();
  REQUIRE(body.is_object());
  CHECK(body["type"] == 50);
  CHECK(body["name"] == "main");
  CHECK(body["key"] == "sk-upstream-SECRET");
  CHECK(body["models"] == "gpt-4o,gpt-4o-mini");
  CHECK(body["base_url"] == "https://example.com");
  CHECK(body["priority"] == -5);
  CHECK(body["weight"] == 3);
  CHECK(body["group"] == "default,vip");
  REQUIRE(body["model_mapping"].is_string());
  CHECK(json::parse(body["model_mapping"].get<std::string>()) == json{{"gpt-4", "gpt-4o"}});
  CHECK_FALSE(body.contains("system_prompt"));

  r = d.ctl({"--json", "channel", "add", "--type", "14", "--name", "a", "--key", "k", "--models", "claude"});
  CHECK(r.exit_code == 0);
  CHECK(d.last().json_body()["type"] == 14);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["id"] == 7);
  CHECK_FALSE(j.contains("key"));

  // --key - reads the key from standard input.
  const std::string cmd = std::string("printf 'from-stdin\\n' | '") + ONEAPICTL_PATH + "' --socket '" + d.path() +
                          "' channel add --type openai --name s --key - --models m";
  r = oneapi::test::run_command({"/bin/sh", "-c", cmd});
  CHECK(r.exit_code == 0);
  CHECK(d.last().json_body()["key"] == "from-stdin");

  // Bad --model-mapping never reaches the daemon.
  const size_t before = d.seen().size();
  r = d.ctl({"channel", "add", "--type", "openai", "--name", "a", "--key", "k", "--models", "m", "--model-mapping",
             "[\"gpt-4\"]"});
  CHECK(r.exit_code == 2);
  CHECK(one_error_line(r));
  CHECK(d.seen().size() == before);
}

TEST_CASE("oneapictl channel update, enable, disable and delete send only what was asked", "[cli]") {
  FakeAdmin d;
  d.ok("PUT /api/channel/", kChannel);
  d.ok("DELETE /api/channel/7", nullptr);

  auto r = d.ctl({"channel", "update", "7", "--priority", "3", "--system-prompt", "be brief"});
  CHECK(r.exit_code == 0);
  CHECK(d.last().json_body() == json{{"id", 7}, {"priority", 3}, {"system_prompt", "be brief"}});

  r = d.ctl({"channel", "disable", "7"});
  CHECK(r.exit_code == 0);
  CHECK(d.last().json_body() == json{{"id", 7}, {"status", 2}});
  CHECK(r.out.find("disabled") != std::string::npos);

  r = d.ctl({"channel", "enable", "7"});
  CHECK(r.exit_code == 0);
  CHECK(d.last().json_body() == json{{"id", 7}, {"status", 1}});

  r = d.ctl({"channel", "delete", "7"});
  CHECK(r.exit_code == 0);
  CHECK(d.last().method == "DELETE");
  CHECK(d.last().target == "/api/channel/7");

  // Nothing to change is a usage error.
  r = d.ctl({"channel", "update", "7"});
  CHECK(r.exit_code == 2);
  CHECK(one_error_line(r));
}

TEST_CASE("oneapictl token create prints the sk- key and sends quota and expiry", "[cli]") {
  FakeAdmin d;
  d.ok("POST /api/token/", kToken);
  d.ok("PUT /api/token/", kToken);

  auto r = d.ctl({"token", "create", "--name", "ci"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(kToken["key"].get<std::string>()) != std::string::npos);
  json body = d.last().json_body();
  CHECK(body["name"] == "ci");
  CHECK(body["unlimited_quota"] == true);  // the default without --quota
  CHECK(body["expired_time"] == -1);

  r = d.ctl({"--json", "token", "create", "--name", "ci", "--quota", "500000", "--expires", "2030-01-01", "--models",
             "gpt-4o", "--subnet", "10.0.0.0/8,2001:db8::/32"});
  CHECK(r.exit_code == 0);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["key"].get<std::string>().rfind("sk-", 0) == 0);
  body = d.last().json_body();
  CHECK(body["remain_quota"] == 500000);
  CHECK(body["unlimited_quota"] == false);
  CHECK(body["expired_time"] == 1893456000);
  CHECK(body["models"] == "gpt-4o");
  CHECK(body["subnet"] == "10.0.0.0/8,2001:db8::/32");

  for (auto [when, expected] : {std::pair<const char*, int64_t>{"2030-01-01T12:30:00", 1893501000},
                                {"1893456000", 1893456000},
                                {"2030-01-01 12:30", 1893501000}}) {
    r = d.ctl({"token", "create", "--name", "ci", "--expires", when});
    CHECK(r.exit_code == 0);
    CHECK(d.last().json_body()["expired_time"] == expected);
  }

  // A relative expiry lands about 30 days ahead (the CLI reads the clock itself).
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  r = d.ctl({"token", "create", "--name", "ci", "--expires", "30d"});
  CHECK(r.exit_code == 0);
  const int64_t expires = d.last().json_body()["expired_time"].get<int64_t>();
  CHECK(expires >= now + 30 * 86400 - 60);
  CHECK(expires <= now + 30 * 86400 + 3600);

  r = d.ctl({"token", "update", "3", "--status", "disabled", "--expires", "never", "--unlimited"});
  CHECK(r.exit_code == 0);
  CHECK(d.last().json_body() == json{{"id", 3}, {"status", 2}, {"expired_time", -1}, {"unlimited_quota", true}});

  r = d.ctl({"token", "update", "3", "--quota", "10"});
  CHECK(r.exit_code == 0);
  CHECK(d.last().json_body() == json{{"id", 3}, {"remain_quota", 10}, {"unlimited_quota", false}});

  // Empty values clear the restrictions.
  r = d.ctl({"token", "update", "3", "--models", "", "--subnet", ""});
  CHECK(r.exit_code == 0);
  CHECK(d.last().json_body() == json{{"id", 3}, {"models", ""}, {"subnet", ""}});

  // Invalid dates, subnets and exclusive flags never reach the daemon.
  const size_t before = d.seen().size();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"token", "create", "--name", "x", "--expires", "2030-02-30"},
        {"token", "create", "--name", "x", "--expires", "soon"},
        {"token", "create", "--name", "x", "--subnet", "10.0.0.0/99"},
        {"token", "create", "--name", "x", "--quota", "5", "--unlimited"},
        {"token", "update", "3", "--status", "paused"}}) {
    r = d.ctl(args);
    CHECK(r.exit_code == 2);
    CHECK(one_error_line(r));
  }
  CHECK(d.seen().size() == before);
}

TEST_CASE("oneapictl token list shortens keys, token get shows the full key", "[cli]") {
  FakeAdmin d;
  d.ok("GET /api/token/", json::array({kToken}));
  d.ok("GET /api/token/3", kToken);
  const std::string key = kToken["key"].get<std::string>();

  auto r = d.ctl({"token", "list"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("ci") != std::string::npos);
  CHECK(r.out.find(key) == std::string::npos);
  CHECK(r.out.find("unlimited") != std::string::npos);

  r = d.ctl({"token", "get", "3"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(key) != std::string::npos);
}

TEST_CASE("oneapictl cost prints quota and USD", "[cli]") {
  FakeAdmin d;
  d.ok("GET /api/cost/request/2024050112000012345678901", {{"request_id", "2024050112000012345678901"},
                                                           {"quota", 1000},
                                                           {"cost_usd", 0.002},
                                                           {"model_name", "gpt-4o"},
                                                           {"prompt_tokens", 10},
                                                           {"completion_tokens", 20},
                                                           {"token_name", "ci"},
                                                           {"created_at", 1700000000},
                                                           {"is_stream", false},
                                                           {"elapsed_time", 321}});
  auto r = d.ctl({"cost", "2024050112000012345678901"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("$0.002000") != std::string::npos);
  CHECK(r.out.find("1000") != std::string::npos);

  r = d.ctl({"cost", "2024050112000012345678901", "--json"});
  CHECK(r.exit_code == 0);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_object());
  CHECK(j["cost_usd"] == 0.002);

  d.refuse("GET /api/cost/request/nope", "no request with id nope", "not_found");
  r = d.ctl({"cost", "nope"});
  CHECK(r.exit_code == 4);
  CHECK(one_error_line(r));
}

TEST_CASE("oneapictl log list builds the query from its filters", "[cli]") {
  FakeAdmin d;
  d.ok("GET /api/log/", json::array({{{"id", 1},
                                      {"created_at", 1700000000},
                                      {"type", 2},
                                      {"token_name", "my token"},
                                      {"model_name", "gpt-4o"},
                                      {"quota", 42},
                                      {"prompt_tokens", 5},
                                      {"completion_tokens", 6},
                                      {"channel", 7},
                                      {"request_id", "r-1"},
                                      {"elapsed_time", 99},
                                      {"is_stream", true}}}));
  auto r = d.ctl({"log", "list", "--limit", "5", "--model", "gpt-4o", "--token-name", "my token", "--type", "consume",
                  "--since", "1700000000", "--until", "2023-11-15", "--channel", "7"});
  CHECK(r.exit_code == 0);
  const std::string t = d.last().target;
  CHECK(t.rfind("/api/log/?", 0) == 0);
  for (const char* part : {"page_size=5", "model_name=gpt-4o", "token_name=my%20token", "type=2",
                           "start_timestamp=1700000000", "end_timestamp=1700006400", "channel=7"})
    CHECK(t.find(part) != std::string::npos);
  CHECK(r.out.find("r-1") != std::string::npos);
  CHECK(r.out.find("2023-11-14 22:13:20") != std::string::npos);

  r = d.ctl({"log", "list"});
  CHECK(r.exit_code == 0);
  CHECK(d.last().target.find("page_size=20") != std::string::npos);

  r = d.ctl({"--json", "log", "list"});
  CHECK(r.exit_code == 0);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE(j.is_array());
  CHECK(j.size() == 1);
}

TEST_CASE("oneapictl option get, set and list", "[cli]") {
  FakeAdmin d;
  d.ok("GET /api/option/", json::array({{{"key", "RetryTimes"}, {"value", "0"}},
                                        {{"key", "ModelRatio"}, {"value", std::string(500, 'x')}}}));
  d.ok("PUT /api/option/", nullptr);

  auto r = d.ctl({"option", "get", "RetryTimes"});
  CHECK(r.exit_code == 0);
  CHECK(r.out == "0\n");

  r = d.ctl({"option", "get", "NoSuchOption"});
  CHECK(r.exit_code == 4);
  CHECK(one_error_line(r));

  r = d.ctl({"option", "set", "RetryTimes", "2"});
  CHECK(r.exit_code == 0);
  CHECK(d.last().json_body() == json{{"key", "RetryTimes"}, {"value", "2"}});

  r = d.ctl({"option", "list"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("RetryTimes") != std::string::npos);
  CHECK(r.out.find(std::string(500, 'x')) == std::string::npos);  // long values are shortened

  d.refuse("PUT /api/option/", "RetryTimes must be a non-negative integer", "invalid_request");
  r = d.ctl({"option", "set", "RetryTimes", "lots"});
  CHECK(r.exit_code == 1);
  CHECK(one_error_line(r));
}

TEST_CASE("oneapictl user list prints a table", "[cli]") {
  FakeAdmin d;
  d.ok("GET /api/user/", json::array({{{"id", 1},
                                       {"username", "root"},
                                       {"display_name", "Root User"},
                                       {"role", 100},
                                       {"status", 1},
                                       {"group", "default"},
                                       {"quota", 500000000000},
                                       {"used_quota", 0},
                                       {"request_count", 0}}}));
  auto r = d.ctl({"user", "list"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("USERNAME") != std::string::npos);
  CHECK(r.out.find("root") != std::string::npos);
  CHECK(r.out.find("500000000000") != std::string::npos);
}
