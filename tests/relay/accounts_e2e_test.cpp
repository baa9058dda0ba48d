// Accounts end to end: users, tokens, vouchers and the management API, through oneapictl and
// over HTTP with access tokens, against the real daemon, a real SQLite file and a mock upstream.
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

constexpr const char* kRootAccess = "root-access-token-for-tests-0001";

json ctl_json(const Gateway& g, std::vector<std::string> args) {
  args.insert(args.begin(), "--json");
  auto r = g.daemon.ctl(args);
  INFO("oneapictl " << args[1] << ": " << r.err << r.out);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

// A common user with an access token for the HTTP API.
struct Member {
  int64_t id = 0;
  std::string access;
};

Member add_member(const Gateway& g, const std::string& name, int64_t quota) {
  json u = ctl_json(g, {"user", "add", "--username", name, "--quota", std::to_string(quota)});
  json t = ctl_json(g, {"user", "access-token", name});
  return Member{u.at("id").get<int64_t>(), t.at("access_token").get<std::string>()};
}

HttpResult api(const Gateway& g, const std::string& method, const std::string& path, const std::string& access,
               const std::string& body = {}) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (!access.empty()) headers.emplace_back("Authorization", access);
  if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
  return http_call(g.port(), method, path, body, headers);
}

json envelope(const HttpResult& r) {
  INFO(r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return json::parse(r.body);
}

}  // namespace

TEST_CASE("users through oneapictl: add, get, update, disable, top up, delete", "[e2e][accounts]") {
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g(Env{{"INITIAL_ROOT_ACCESS_TOKEN", kRootAccess}});
  g.add_channel(upstream.base_url());
  REQUIRE(g.daemon.ctl({"option", "set", "QuotaForNewUser", "1000"}).exit_code == 0);

  json alice = ctl_json(g, {"user", "add", "--username", "alice", "--quota", "500000", "--group", "default"});
  CHECK(alice.at("quota") == 501000);  // --quota plus QuotaForNewUser
  CHECK(alice.at("group") == "default");
  CHECK(alice.at("role") == 1);
  json got = ctl_json(g, {"user", "get", "alice"});
  CHECK(got.at("id") == alice.at("id"));
  for (const char* field : {"quota", "used_quota", "group", "request_count"}) CHECK(got.contains(field));
  CHECK(ctl_json(g, {"user", "get", std::to_string(alice.at("id").get<int64_t>())}).at("username") == "alice");
  CHECK_FALSE(got.contains("password"));

  // One API gives a new user an unlimited "default" token.
  json tokens = ctl_json(g, {"token", "list", "--user", "alice"});
  REQUIRE(tokens.size() == 1);
  CHECK(tokens[0].at("name") == "default");

  json key = ctl_json(g, {"token", "create", "--name", "app", "--user", "alice", "--quota", "200000"});
  CHECK(key.at("user_id") == alice.at("id"));
  const std::string sk = key.at("key");
  auto first = post_json(g.port(), "/v1/chat/completions", sk, chat_body());
  REQUIRE(first.status == 200);
  got = ctl_json(g, {"user", "get", "alice"});
  CHECK(got.at("request_count") == 1);
  CHECK(got.at("used_quota").get<int64_t>() > 0);
  CHECK(got.at("quota").get<int64_t>() == 501000 - got.at("used_quota").get<int64_t>());

  // Disabled: the user's tokens stop working; enabled: they work again.
  REQUIRE(g.daemon.ctl({"user", "disable", "alice"}).exit_code == 0);
  auto refused = post_json(g.port(), "/v1/chat/completions", sk, chat_body());
  CHECK(refused.status == 403);
  CHECK(refused.body.find("user has been banned") != std::string::npos);
  REQUIRE(g.daemon.ctl({"user", "enable", "alice"}).exit_code == 0);
  CHECK(post_json(g.port(), "/v1/chat/completions", sk, chat_body()).status == 200);

  // Top-up with a log entry; update fields; promote and demote.
  const int64_t before = ctl_json(g, {"user", "get", "alice"}).at("quota");
  CHECK(ctl_json(g, {"user", "topup", "alice", "--quota", "700", "--remark", "thanks"}).at("quota") == before + 700);
  json topups = ctl_json(g, {"log", "list", "--type", "topup", "--user", "alice"});
  REQUIRE(topups.size() == 1);
  CHECK(topups[0].at("quota") == 700);
  CHECK(topups[0].at("content").get<std::string>().find("thanks") != std::string::npos);
  CHECK(ctl_json(g, {"user", "update", "alice", "--group", "vip", "--display-name", "Alice"}).at("group") == "vip");
  CHECK(ctl_json(g, {"user", "promote", "alice"}).at("role") == 10);
  auto again = g.daemon.ctl({"user", "promote", "alice"});
  CHECK(again.exit_code == 1);
  CHECK(again.err.find("already an admin") != std::string::npos);
  CHECK(ctl_json(g, {"user", "demote", "alice"}).at("role") == 1);

  // Root cannot be disabled, demoted or deleted.
  for (const char* action : {"disable", "demote", "delete"}) {
    auto r = g.daemon.ctl({"user", action, "root"});
    INFO(action);
    CHECK(r.exit_code == 1);
    CHECK(r.err.find("root user cannot") != std::string::npos);
  }

  // Usage errors and unknown users.
  CHECK(g.daemon.ctl({"user", "add", "--username", "12345"}).exit_code == 1);
  CHECK(g.daemon.ctl({"user", "add", "--username", "bob", "--password", "short"}).exit_code == 1);
  CHECK(g.daemon.ctl({"user", "get", "nobody"}).exit_code == 4);
  CHECK(g.daemon.ctl({"user", "topup", "alice", "--quota", "0"}).exit_code == 2);

  // Soft delete: gone from lists, the name is free, the logs keep it.
  REQUIRE(g.daemon.ctl({"user", "delete", "alice"}).exit_code == 0);
  CHECK(g.daemon.ctl({"user", "get", "alice"}).exit_code == 4);
  for (const auto& u : ctl_json(g, {"user", "list"})) CHECK(u.at("username") != "alice");
  CHECK(post_json(g.port(), "/v1/chat/completions", sk, chat_body()).status == 403);
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE username = 'alice' AND type = 2") == 2);
  ctl_json(g, {"user", "add", "--username", "alice"});
}

TEST_CASE("user quota and token quota both apply", "[e2e][accounts]") {
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g;
  g.add_channel(upstream.base_url());

  // Enough user quota, exhausted token: refused, nothing charged.
  ctl_json(g, {"user", "add", "--username", "rich", "--quota", "100000000"});
  json spent = ctl_json(g, {"token", "create", "--name", "spent", "--user", "rich", "--quota", "0"});
  auto r = post_json(g.port(), "/v1/chat/completions", spent.at("key"), chat_body());
  CHECK(r.status == 403);
  CHECK(r.body.find("quota") != std::string::npos);
  CHECK(db_int(g.db(), "SELECT quota FROM users WHERE username = 'rich'") == 100000000);

  // Unlimited token, user without quota: refused with One API's message.
  ctl_json(g, {"user", "add", "--username", "poor"});
  json unlimited = ctl_json(g, {"token", "create", "--name", "u", "--user", "poor", "--unlimited"});
  r = post_json(g.port(), "/v1/chat/completions", unlimited.at("key"), chat_body());
  CHECK(r.status == 403);
  CHECK(r.body.find("user quota is not enough") != std::string::npos);

  // A common user's sk-KEY-CHANNELID is refused; root's is served by that channel.
  const int64_t pinned = g.add_channel(upstream.base_url());
  json rich_key = ctl_json(g, {"token", "create", "--name", "pin", "--user", "rich"});
  r = post_json(g.port(), "/v1/chat/completions", rich_key.at("key").get<std::string>() + "-" + std::to_string(pinned),
                chat_body());
  CHECK(r.status == 403);
  CHECK(r.body.find("common users are not allowed to specify a channel") != std::string::npos);
  const std::string root_key = g.add_token();
  r = post_json(g.port(), "/v1/chat/completions", root_key + "-" + std::to_string(pinned), chat_body());
  CHECK(r.status == 200);
  CHECK(db_int(g.db(), "SELECT channel FROM logs WHERE type = 2 ORDER BY id DESC LIMIT 1") == pinned);
}

TEST_CASE("redemption codes through oneapictl", "[e2e][accounts][redemption]") {
  Gateway g;
  ctl_json(g, {"user", "add", "--username", "carol"});
  json codes = ctl_json(g, {"redemption", "create", "--name", "promo", "--quota", "5000", "--count", "3"});
  REQUIRE(codes.size() == 3);
  const std::string key = codes[0].at("key");
  CHECK(key.size() == 32);

  auto plain = g.daemon.ctl({"redemption", "create", "--name", "plain", "--quota", "1"});
  CHECK(plain.exit_code == 0);
  CHECK(plain.out.size() == 33);  // one key and a newline
  auto csv = g.daemon.ctl({"redemption", "create", "--name", "export", "--quota", "1", "--count", "2", "--csv"});
  REQUIRE(csv.exit_code == 0);
  CHECK(csv.out.rfind("id,name,key,quota\n", 0) == 0);
  CHECK(std::count(csv.out.begin(), csv.out.end(), '\n') == 3);

  json redeemed = ctl_json(g, {"redemption", "redeem", key, "--user", "carol"});
  CHECK(redeemed.at("quota") == 5000);
  CHECK(ctl_json(g, {"user", "get", "carol"}).at("quota") == 5000);
  auto twice = g.daemon.ctl({"redemption", "redeem", key, "--user", "carol"});
  CHECK(twice.exit_code == 1);
  CHECK(twice.err.find("already been used") != std::string::npos);
  CHECK(ctl_json(g, {"user", "get", "carol"}).at("quota") == 5000);
  json shown = ctl_json(g, {"redemption", "get", std::to_string(codes[0].at("id").get<int64_t>())});
  CHECK(shown.at("status") == 3);

  const std::string second_id = std::to_string(codes[1].at("id").get<int64_t>());
  REQUIRE(g.daemon.ctl({"redemption", "disable", second_id}).exit_code == 0);
  auto disabled = g.daemon.ctl({"redemption", "redeem", codes[1].at("key"), "--user", "carol"});
  CHECK(disabled.exit_code == 1);
  CHECK(disabled.err.find("disabled") != std::string::npos);
  CHECK(g.daemon.ctl({"redemption", "redeem", "nope", "--user", "carol"}).err.find("invalid redemption code") !=
        std::string::npos);
  REQUIRE(g.daemon.ctl({"redemption", "delete", second_id}).exit_code == 0);
  CHECK(g.daemon.ctl({"redemption", "get", second_id}).exit_code == 4);
  CHECK(ctl_json(g, {"redemption", "list"}).size() == 5);
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type = 1 AND username = 'carol'") == 1);
}

TEST_CASE("two hundred concurrent redeems of ten codes: exactly ten succeed", "[e2e][accounts][redemption]") {
  Gateway g;
  Member dave = add_member(g, "dave", 0);
  json codes = ctl_json(g, {"redemption", "create", "--name", "race", "--quota", "1000", "--count", "10"});
  REQUIRE(codes.size() == 10);

  std::atomic<int> succeeded{0}, refused{0}, broken{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < 200; ++i)
    clients.emplace_back([&, i] {
      const std::string body = json{{"key", codes[i % 10].at("key")}}.dump();
      auto r = api(g, "POST", "/api/user/topup", dave.access, body);
      auto j = json::parse(r.body, nullptr, false);
      if (r.status != 200 || !j.is_object())
        ++broken;
      else if (j.value("success", false))
        ++succeeded;
      else
        ++refused;
    });
  for (auto& t : clients) t.join();
  CHECK(broken == 0);
  CHECK(succeeded == 10);
  CHECK(refused == 190);
  CHECK(db_int(g.db(), "SELECT quota FROM users WHERE username = 'dave'") == 10 * 1000);
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type = 1 AND user_id = " + std::to_string(dave.id)) == 10);
  CHECK(db_int(g.db(),
               "SELECT COUNT(*) FROM redemptions WHERE status = 3 AND redeemed_by = " + std::to_string(dave.id)) == 10);
}

TEST_CASE("management API over HTTP: access tokens, roles and ownership", "[e2e][accounts][api]") {
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g(Env{{"INITIAL_ROOT_ACCESS_TOKEN", kRootAccess}});
  g.add_channel(upstream.base_url());
  Member erin = add_member(g, "erin", 1'000'000);
  Member frank = add_member(g, "frank", 1'000'000);

  // No token, a wrong token: 401 with One API's envelope.
  auto none = api(g, "GET", "/api/user/self", "");
  CHECK(none.status == 401);
  CHECK(json::parse(none.body).at("success") == false);
  CHECK(api(g, "GET", "/api/user/self", "wrong-token").status == 401);
  CHECK(api(g, "GET", "/api/status", "").status == 200);  // public

  // A user's own profile, with "Bearer " accepted too.
  json self = envelope(api(g, "GET", "/api/user/self", "Bearer " + erin.access));
  CHECK(self.at("success") == true);
  CHECK(self.at("data").at("username") == "erin");
  CHECK(self.at("data").at("quota") == 1'000'000);

  // Tokens: each user sees and changes only their own; another's answers "not found".
  json created = envelope(api(g, "POST", "/api/token/", erin.access,
                              R"({"name":"mine","remain_quota":5000,"user_id":1,"expired_time":-1})"));
  REQUIRE(created.at("success") == true);
  CHECK(created.at("data").at("user_id") == erin.id);  // user_id in the body is ignored over TCP
  const int64_t erin_token = created.at("data").at("id");
  json frank_list = envelope(api(g, "GET", "/api/token/", frank.access));
  for (const auto& t : frank_list.at("data")) CHECK(t.at("user_id") == frank.id);
  json peek = envelope(api(g, "GET", "/api/token/" + std::to_string(erin_token), frank.access));
  CHECK(peek.at("success") == false);
  CHECK(peek.at("code") == "not_found");
  json tamper = envelope(
      api(g, "PUT", "/api/token/", frank.access, json{{"id", erin_token}, {"remain_quota", 999999999}}.dump()));
  CHECK(tamper.at("success") == false);
  CHECK(envelope(api(g, "DELETE", "/api/token/" + std::to_string(erin_token), frank.access)).at("success") == false);
  CHECK(db_int(g.db(), "SELECT remain_quota FROM tokens WHERE id = " + std::to_string(erin_token)) == 5000);
  json mine = envelope(api(g, "GET", "/api/token/" + std::to_string(erin_token), erin.access));
  CHECK(mine.at("success") == true);

  // Logs: a user's own only.
  const std::string sk = mine.at("data").at("key");
  REQUIRE(post_json(g.port(), "/v1/chat/completions", sk, chat_body()).status == 200);
  json erin_logs = envelope(api(g, "GET", "/api/log/self?page_size=100", erin.access));
  REQUIRE(erin_logs.at("data").size() >= 1);
  for (const auto& l : erin_logs.at("data")) CHECK(l.at("user_id") == erin.id);
  json frank_logs = envelope(api(g, "GET", "/api/log/self?type=2", frank.access));
  CHECK(frank_logs.at("data").empty());
  json stat = envelope(api(g, "GET", "/api/log/self/stat", erin.access));
  CHECK(stat.at("data").at("requests") == 1);

  // Admin routes refuse a common user; root routes refuse an admin.
  for (const char* path : {"/api/channel/", "/api/user/", "/api/log/", "/api/redemption/", "/api/option/"}) {
    json denied = envelope(api(g, "GET", path, erin.access));
    INFO(path);
    CHECK(denied.at("success") == false);
    CHECK(denied.at("code") == "forbidden");
  }
  REQUIRE(g.daemon.ctl({"user", "promote", "erin"}).exit_code == 0);
  CHECK(envelope(api(g, "GET", "/api/channel/", erin.access)).at("success") == true);
  CHECK(envelope(api(g, "GET", "/api/option/", erin.access)).at("code") == "forbidden");
  // An admin cannot manage another admin, nor promote.
  REQUIRE(g.daemon.ctl({"user", "promote", "frank"}).exit_code == 0);
  json manage = envelope(api(g, "POST", "/api/user/manage", erin.access, R"({"username":"frank","action":"disable"})"));
  CHECK(manage.at("success") == false);
  CHECK(manage.at("code") == "forbidden");
  REQUIRE(g.daemon.ctl({"user", "demote", "frank"}).exit_code == 0);
  manage = envelope(api(g, "POST", "/api/user/manage", erin.access, R"({"username":"frank","action":"promote"})"));
  CHECK(manage.at("code") == "forbidden");
  manage = envelope(api(g, "POST", "/api/user/manage", erin.access, R"({"username":"frank","action":"disable"})"));
  CHECK(manage.at("success") == true);
  CHECK(api(g, "GET", "/api/user/self", frank.access).status == 403);  // banned

  // Root's access token works for everything, options included.
  CHECK(envelope(api(g, "GET", "/api/option/", kRootAccess)).at("success") == true);
  json users = envelope(api(g, "GET", "/api/user/", kRootAccess));
  CHECK(users.at("data").size() == 3);

  // A new access token replaces the old one at once.
  json fresh = envelope(api(g, "GET", "/api/user/token", erin.access));
  const std::string next = fresh.at("data");
  CHECK(api(g, "GET", "/api/user/self", erin.access).status == 401);
  CHECK(api(g, "GET", "/api/user/self", next).status == 200);
}

TEST_CASE("billing endpoints chat front ends call, and usage reported by a token", "[e2e][accounts][billing]") {
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g;
  g.add_channel(upstream.base_url());
  const std::string limited = g.add_token(1'000'000);
  auto get = [&](const std::string& path, const std::string& key) {
    return http_call(g.port(), "GET", path, {}, {{"Authorization", "Bearer " + key}});
  };

  for (const char* path : {"/v1/dashboard/billing/subscription", "/dashboard/billing/subscription"}) {
    auto r = get(path, limited);
    INFO(path << " " << r.body);
    REQUIRE(r.status == 200);
    json j = json::parse(r.body);
    CHECK(j.at("object") == "billing_subscription");
    CHECK(j.at("has_payment_method") == true);
    CHECK(j.at("hard_limit_usd").get<double>() == Approx(2.0));  // 1,000,000 quota at 500,000 per USD
    CHECK(j.at("soft_limit_usd").get<double>() == Approx(2.0));
    CHECK(j.at("access_until") == 0);
  }
  auto usage = json::parse(get("/v1/dashboard/billing/usage", limited).body);
  CHECK(usage.at("object") == "list");
  CHECK(usage.at("total_usage").get<double>() == Approx(0.0));

  REQUIRE(post_json(g.port(), "/v1/chat/completions", limited, chat_body()).status == 200);
  const int64_t used = db_int(g.db(), "SELECT used_quota FROM tokens WHERE name = 'test'");
  REQUIRE(used > 0);
  usage = json::parse(get("/dashboard/billing/usage", limited).body);
  CHECK(usage.at("total_usage").get<double>() == Approx(static_cast<double>(used) / 500000.0 * 100.0));
  // Limit stays remain + used.
  CHECK(json::parse(get("/v1/dashboard/billing/subscription", limited).body).at("hard_limit_usd").get<double>() ==
        Approx(2.0));
  CHECK(get("/v1/dashboard/billing/usage", "sk-wrong").status == 401);

  // Usage spent elsewhere, reported with the key: charged to token and user, logged.
  const int64_t user_before = db_int(g.db(), "SELECT quota FROM users WHERE username = 'root'");
  auto consumed =
      post_json(g.port(), "/api/token/consume", limited, R"({"add_used_quota":2500,"add_reason":"batch job"})");
  INFO(consumed.body);
  REQUIRE(consumed.status == 200);
  json c = json::parse(consumed.body);
  CHECK(c.at("success") == true);
  CHECK(c.at("data").at("token_used_quota") == used + 2500);
  CHECK(db_int(g.db(), "SELECT used_quota FROM tokens WHERE name = 'test'") == used + 2500);
  CHECK(db_int(g.db(), "SELECT quota FROM users WHERE username = 'root'") == user_before - 2500);
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type = 2 AND quota = 2500 AND content LIKE '%batch job%'") ==
        1);
  CHECK(post_json(g.port(), "/api/token/consume", limited, R"({"add_used_quota":-1})").status == 400);
  CHECK(post_json(g.port(), "/api/token/consume", limited, R"({"add_used_quota":99999999})").status == 403);
}

TEST_CASE("a token's subnet is checked against the client, X-Forwarded-For only from trusted proxies",
          "[e2e][accounts][subnet]") {
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  auto call = [](const Gateway& g, const std::string& key, const std::string& forwarded) {
    std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", "Bearer " + key},
                                                                {"Content-Type", "application/json"}};
    if (!forwarded.empty()) headers.emplace_back("X-Forwarded-For", forwarded);
    return http_call(g.port(), "POST", "/v1/chat/completions", chat_body(), headers);
  };
  SECTION("no trusted proxies: the peer address decides") {
    Gateway g;
    g.add_channel(upstream.base_url());
    const std::string office = g.add_token(-1, {"--subnet", "10.1.0.0/16"});
    const std::string local = g.add_token(-1, {"--subnet", "127.0.0.0/8,::1/128"});
    auto refused = call(g, office, "10.1.2.3");
    CHECK(refused.status == 403);
    CHECK(refused.body.find("current ip: 127.0.0.1") != std::string::npos);
    CHECK(call(g, local, "10.1.2.3").status == 200);
  }
  SECTION("loopback trusted: the forwarded client decides") {
    Gateway g(Env{{"TRUSTED_PROXIES", "127.0.0.1/32"}});
    g.add_channel(upstream.base_url());
    const std::string office = g.add_token(-1, {"--subnet", "10.1.0.0/16"});
    CHECK(call(g, office, "10.1.2.3").status == 200);
    CHECK(call(g, office, "10.1.2.3, 198.51.100.7").status == 403);  // forged left part ignored
    CHECK(call(g, office, "").status == 403);
  }
}

TEST_CASE("a user reaches only the channels of their group and pays its group ratio", "[e2e][accounts][group]") {
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g;
  g.add_channel(upstream.base_url());  // group "default"
  ctl_json(g, {"user", "add", "--username", "vic", "--group", "vip", "--quota", "10000000"});
  json key = ctl_json(g, {"token", "create", "--name", "v", "--user", "vic"});
  const std::string sk = key.at("key");

  auto none = post_json(g.port(), "/v1/chat/completions", sk, chat_body());
  CHECK(none.status == 503);
  CHECK(none.body.find("No available channels for Model gpt-4o-mini under Group vip") != std::string::npos);

  g.add_channel(upstream.base_url(), "gpt-4o-mini", {"--group", "vip"});
  REQUIRE(g.daemon.ctl({"option", "set", "GroupRatio", R"({"default":1,"vip":2})"}).exit_code == 0);
  REQUIRE(post_json(g.port(), "/v1/chat/completions", sk, chat_body()).status == 200);
  // 12 prompt + 3 completion tokens of gpt-4o-mini: ceil((12 + 3 × 4) × 0.075 × 2) = 4.
  CHECK(db_int(g.db(), "SELECT quota FROM logs WHERE type = 2 AND username = 'vic'") == 4);
  auto groups = json::parse(g.daemon.ctl({"--json", "option", "get", "GroupRatio"}).out);
  CHECK(groups.dump().find("vip") != std::string::npos);
}

TEST_CASE("LogConsumeEnabled cannot be turned off: the log row is the bill", "[e2e][accounts]") {
  MockUpstream upstream([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g;
  g.add_channel(upstream.base_url());
  const std::string key = g.add_token();

  auto refused = g.daemon.ctl({"option", "set", "LogConsumeEnabled", "false"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("LogConsumeEnabled cannot be false in oneapi") != std::string::npos);
  CHECK(g.daemon.ctl({"option", "set", "LogConsumeEnabled", "true"}).exit_code == 0);

  // A database brought over from One API with the option off: the start log says it is not
  // honoured, the option reads as what is in force, and requests are still billed into their rows.
  REQUIRE(g.daemon.stop() == 0);
  db_exec(g.db(), "UPDATE options SET value='false' WHERE \"key\"='LogConsumeEnabled'");
  REQUIRE(db_int(g.db(), "SELECT COUNT(*) FROM options WHERE \"key\"='LogConsumeEnabled' AND value='false'") == 1);
  g.daemon.start();
  CHECK(g.daemon.log().find("holds LogConsumeEnabled=false (from One API?), which is not honoured") !=
        std::string::npos);
  CHECK(ctl_json(g, {"option", "get", "LogConsumeEnabled"}).at("value") == "true");
  auto res = http_call(g.port(), "POST", "/v1/chat/completions", chat_body(), {{"Authorization", "Bearer " + key}});
  REQUIRE(res.status == 200);
  auto row = log_row(g, res.header("x-oneapi-request-id"));
  CHECK(as_int(row, "quota") > 0);
  CHECK(as_int(row, "quota") == token_used(g));
}
