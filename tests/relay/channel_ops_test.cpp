// Channel tests and balances for cron and for the daemon's schedules, through the real oneapid,
// oneapictl and mock upstreams speaking the providers' documented JSON.
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <sstream>
#include <thread>

#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

const char* const kKey = "sk-upstream-secret";

int64_t add(const Gateway& g, const std::string& type, const std::string& base_url,
            const std::string& models = "gpt-4o-mini", const std::string& name = "mock") {
  auto r = g.daemon.ctl({"--json", "channel", "add", "--type", type, "--name", name, "--base-url", base_url, "--key",
                         kKey, "--models", models});
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out).at("id").get<int64_t>();
}

int64_t column(const Gateway& g, const char* name, int64_t id) {
  return db_int(g.db(), std::string("SELECT ") + name + " FROM channels WHERE id = " + std::to_string(id));
}

double stored_balance(const Gateway& g, int64_t id) {
  auto rows = db_rows(g.db(), "SELECT balance FROM channels WHERE id = " + std::to_string(id));
  REQUIRE(rows.size() == 1);
  return std::stod(rows[0]["balance"]);
}

void set_option(const Gateway& g, const std::string& key, const std::string& value) {
  REQUIRE(g.daemon.ctl({"option", "set", key, value}).exit_code == 0);
}

// A channel test's answer: the model names itself, as TEST_PROMPT asks.
void reply_model_name(MockReply& r, const std::string& answer = "gpt-4o-mini") { reply_chat(r, answer, 10, 3); }

void reply_bad_key(MockReply& r) {
  r.status = 401;
  r.headers = {{"Content-Type", "application/json"}};
  r.body =
      R"({"error":{"message":"Incorrect API key provided: sk-abc***","type":"invalid_request_error","code":"invalid_api_key"}})";
}

void reply_json(MockReply& r, std::string body) {
  r.headers = {{"Content-Type", "application/json"}};
  r.body = std::move(body);
}

// Polls `done` every 50 ms for up to `limit`; true once it holds.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = std::chrono::milliseconds(15'000)) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return done();
}

size_t lines(const std::string& s) {
  std::istringstream in(s);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// Times at which a mock saw requests.
struct Arrivals {
  std::mutex mu;
  std::vector<Clock::time_point> at;
  void note() {
    std::lock_guard lock(mu);
    at.push_back(Clock::now());
  }
  std::vector<Clock::time_point> copy() {
    std::lock_guard lock(mu);
    return at;
  }
};

}  // namespace

TEST_CASE("channel test --all: a line per channel, --json an array, exit 1 when any channel fails", "[e2e][chanops]") {
  MockUpstream good([](const net::ServerRequest&, MockReply& r) { reply_model_name(r); });
  MockUpstream bad([](const net::ServerRequest&, MockReply& r) { reply_bad_key(r); });
  Gateway g(Env{{"TEST_PROMPT", "Say OK"}});
  const int64_t good_id = add(g, "openai", good.base_url(), "gpt-4o-mini,gpt-4o", "good");
  const int64_t bad_id = add(g, "openai", bad.base_url(), "gpt-4o-mini", "bad");

  auto table = g.daemon.ctl({"channel", "test", "--all"});
  CHECK(table.exit_code == 1);
  CHECK(lines(table.out) == 3);  // the header and one line per channel
  CHECK(table.out.find("FAILED") != std::string::npos);
  CHECK(table.out.find("Incorrect API key") != std::string::npos);

  auto listed = g.daemon.ctl({"--json", "channel", "test", "--all"});
  CHECK(listed.exit_code == 1);
  json results = json::parse(listed.out);
  REQUIRE(results.is_array());
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    REQUIRE(r.contains("response_time_ms"));
    CHECK(r["response_time_ms"].is_number_integer());
    if (r["id"] == bad_id) {
      CHECK(r["name"] == "bad");
      CHECK(r["ok"] == false);
      CHECK(r["error"].get<std::string>().find("Incorrect API key") != std::string::npos);
    } else {
      CHECK(r["id"] == good_id);
      CHECK(r["name"] == "good");
      CHECK(r["ok"] == true);
      CHECK(r["error"].is_null());
      CHECK(r["answer"] == "gpt-4o-mini");  // the text, though the usage made it unneeded for billing
    }
  }
  // Recorded on the channels: the test time, and the response time (0 for a failed test, as One API).
  CHECK(column(g, "test_time", good_id) > 0);
  CHECK(column(g, "test_time", bad_id) > 0);
  CHECK(column(g, "response_time", bad_id) == 0);

  // One API's test request: one user message with TEST_PROMPT; the model is gpt-3.5-turbo or the
  // requested one if the channel serves it, else the channel's first model.
  auto sent = json::parse(good.requests().back().body);
  CHECK(sent["messages"].size() == 1);
  CHECK(sent["messages"][0]["content"] == "Say OK");
  CHECK(sent["model"] == "gpt-4o-mini");
  REQUIRE(g.daemon.ctl({"channel", "test", std::to_string(good_id), "--model", "gpt-4o"}).exit_code == 0);
  CHECK(json::parse(good.requests().back().body)["model"] == "gpt-4o");
  REQUIRE(g.daemon.ctl({"channel", "test", std::to_string(good_id), "--model", "o3"}).exit_code == 0);
  CHECK(json::parse(good.requests().back().body)["model"] == "gpt-4o-mini");

  // One channel: still an array with --json.
  auto one = g.daemon.ctl({"--json", "channel", "test", std::to_string(bad_id)});
  CHECK(one.exit_code == 1);
  CHECK(json::parse(one.out).size() == 1);

  // --all is One API's scope "all": a channel disabled by hand is tested too, and stays disabled
  // even when it passes with AutomaticEnableChannelEnabled on.
  set_option(g, "AutomaticEnableChannelEnabled", "true");
  REQUIRE(g.daemon.ctl({"channel", "disable", std::to_string(good_id)}).exit_code == 0);
  const size_t good_seen = good.request_count();
  CHECK(g.daemon.ctl({"channel", "test", "--all"}).exit_code == 1);
  CHECK(good.request_count() == good_seen + 1);
  CHECK(column(g, "status", good_id) == 2);

  REQUIRE(g.daemon.ctl({"channel", "delete", std::to_string(bad_id)}).exit_code == 0);
  CHECK(g.daemon.ctl({"channel", "test", "--all"}).exit_code == 0);
}

TEST_CASE("a channel test slower than ChannelDisableThreshold fails, and disables the channel with auto-disable on",
          "[e2e][chanops]") {
  MockUpstream slow([](const net::ServerRequest&, MockReply& r) {
    r.delay_before_headers_ms = 700;
    reply_model_name(r);
  });
  Gateway g;
  const int64_t id = add(g, "openai", slow.base_url());
  CHECK(g.daemon.ctl({"channel", "test", std::to_string(id)}).exit_code == 0);  // under the default 5 s
  set_option(g, "ChannelDisableThreshold", "0.3");                              // seconds, as One API's float
  auto r = g.daemon.ctl({"--json", "channel", "test", std::to_string(id)});
  CHECK(r.exit_code == 1);
  json result = json::parse(r.out).at(0);
  CHECK(result["ok"] == false);
  CHECK(result["error"].get<std::string>().find("ChannelDisableThreshold") != std::string::npos);
  CHECK(result["response_time_ms"].get<int64_t>() >= 700);
  CHECK(column(g, "response_time", id) >= 700);
  CHECK(column(g, "status", id) == 1);  // AutomaticDisableChannelEnabled is off
  set_option(g, "AutomaticDisableChannelEnabled", "true");
  CHECK(g.daemon.ctl({"channel", "test", std::to_string(id)}).exit_code == 1);
  CHECK(column(g, "status", id) == 3);
}

TEST_CASE("channel test --disabled re-enables an auto-disabled channel that passes, never one disabled by hand",
          "[e2e][chanops]") {
  std::atomic<bool> broken{true};
  MockUpstream flaky([&](const net::ServerRequest&, MockReply& r) {
    if (broken)
      reply_bad_key(r);
    else
      reply_model_name(r);
  });
  MockUpstream by_hand([](const net::ServerRequest&, MockReply& r) { reply_model_name(r); });
  MockUpstream live([](const net::ServerRequest&, MockReply& r) { reply_model_name(r); });
  Gateway g;
  const int64_t auto_id = add(g, "openai", flaky.base_url());
  const int64_t hand_id = add(g, "openai", by_hand.base_url());
  const int64_t live_id = add(g, "openai", live.base_url());
  set_option(g, "AutomaticDisableChannelEnabled", "true");
  CHECK(g.daemon.ctl({"channel", "test", std::to_string(auto_id)}).exit_code == 1);
  REQUIRE(column(g, "status", auto_id) == 3);
  REQUIRE(g.daemon.ctl({"channel", "disable", std::to_string(hand_id)}).exit_code == 0);

  // Still broken: --disabled fails and the channel stays off.
  CHECK(g.daemon.ctl({"channel", "test", "--disabled"}).exit_code == 1);
  CHECK(column(g, "status", auto_id) == 3);

  broken = false;
  const size_t hand_seen = by_hand.request_count(), live_seen = live.request_count();
  // AutomaticEnableChannelEnabled off: the test passes, the channel stays off.
  CHECK(g.daemon.ctl({"channel", "test", "--disabled"}).exit_code == 0);
  CHECK(column(g, "status", auto_id) == 3);

  set_option(g, "AutomaticEnableChannelEnabled", "true");
  auto r = g.daemon.ctl({"--json", "channel", "test", "--disabled"});
  CHECK(r.exit_code == 0);
  json results = json::parse(r.out);
  REQUIRE(results.size() == 1);  // only the auto-disabled channel
  CHECK(results[0]["id"] == auto_id);
  CHECK(results[0]["ok"] == true);
  CHECK(results[0]["status"] == 1);
  CHECK(column(g, "status", auto_id) == 1);
  CHECK(column(g, "status", hand_id) == 2);
  CHECK(column(g, "status", live_id) == 1);
  CHECK(by_hand.request_count() == hand_seen);  // neither tested
  CHECK(live.request_count() == live_seen);
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type = 4 AND content LIKE '%enabled again%' AND channel = " +
                           std::to_string(auto_id)) == 1);

  auto none = g.daemon.ctl({"channel", "test", "--disabled"});
  CHECK(none.exit_code == 0);
  CHECK(none.out.find("no automatically disabled channels") != std::string::npos);
}

TEST_CASE("CHANNEL_TEST_FREQUENCY tests every channel on a schedule, POLLING_INTERVAL apart", "[e2e][chanops]") {
  Arrivals good_at, dead_at;
  MockUpstream good([&](const net::ServerRequest&, MockReply& r) {
    good_at.note();
    reply_model_name(r);
  });
  MockUpstream dead([&](const net::ServerRequest&, MockReply& r) {
    dead_at.note();
    reply_bad_key(r);
  });
  // 0.02 minutes = 1.2 s between rounds; 0.5 s between the two channels of a round.
  Gateway g(Env{{"CHANNEL_TEST_FREQUENCY", "0.02"}, {"POLLING_INTERVAL", "0.5"}});
  set_option(g, "AutomaticDisableChannelEnabled", "true");
  const int64_t good_id = add(g, "openai", good.base_url());
  const int64_t dead_id = add(g, "openai", dead.base_url());

  // Two rounds that reached the dead channel (it stays in the rounds once disabled: scope "all").
  REQUIRE(eventually([&] { return dead.request_count() >= 2; }));
  CHECK(column(g, "test_time", good_id) > 0);
  CHECK(column(g, "test_time", dead_id) > 0);
  CHECK(column(g, "status", good_id) == 1);
  CHECK(column(g, "status", dead_id) == 3);
  CHECK(db_int(g.db(),
               "SELECT COUNT(*) FROM logs WHERE type = 4 AND content LIKE '%disabled automatically%' AND "
               "channel = " +
                   std::to_string(dead_id)) == 1);
  // Within a round the good channel (lower id) goes first, then the dead one after POLLING_INTERVAL.
  const auto goods = good_at.copy(), deads = dead_at.copy();
  for (const auto& d : deads) {
    Clock::time_point before{};
    for (const auto& t : goods)
      if (t < d) before = t;
    REQUIRE(before != Clock::time_point{});
    CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(d - before).count() >= 450);
  }
  CHECK(g.daemon.log().find("testing all channels every 1.2 s") != std::string::npos);
}

TEST_CASE("SIGTERM does not wait for a scheduled channel test in flight", "[e2e][chanops]") {
  MockUpstream slow([](const net::ServerRequest&, MockReply& r) {
    r.delay_before_headers_ms = 20'000;
    reply_model_name(r);
  });
  Gateway g(Env{{"CHANNEL_TEST_FREQUENCY", "0.01"}, {"SHUTDOWN_TIMEOUT", "30"}});
  add(g, "openai", slow.base_url());
  REQUIRE(eventually([&] { return slow.request_count() >= 1; }));
  const auto started = Clock::now();
  CHECK(g.daemon.stop() == 0);
  CHECK(Clock::now() - started < std::chrono::seconds(5));
}

TEST_CASE("NODE_TYPE=slave runs no channel schedule", "[e2e][chanops]") {
  MockUpstream good([](const net::ServerRequest&, MockReply& r) { reply_model_name(r); });
  Gateway g(Env{{"CHANNEL_TEST_FREQUENCY", "0.005"}, {"CHANNEL_UPDATE_FREQUENCY", "0.005"}, {"NODE_TYPE", "slave"}});
  add(g, "openai", good.base_url());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // five periods
  CHECK(good.request_count() == 0);
  CHECK(g.daemon.log().find("NODE_TYPE=slave") != std::string::npos);
}

namespace {

// The providers' documented answers.
const char* const kDeepSeekBalance =
    R"({"is_available":true,"balance_infos":[{"currency":"CNY","total_balance":"110.00","granted_balance":"10.00","topped_up_balance":"100.00"}]})";
const char* const kOpenRouterCredits = R"({"data":{"total_credits":100.5,"total_usage":25.75}})";
const char* const kSiliconFlowUserInfo =
    R"({"code":20000,"message":"OK","status":true,"data":{"id":"userid","name":"username","image":"","email":"","isAdmin":false,"balance":"0.88","status":"normal","introduction":"","role":"","chargeBalance":"88.00","totalBalance":"88.88"}})";
const char* const kOpenAISubscription =
    R"({"object":"billing_subscription","has_payment_method":true,"soft_limit_usd":120.0,"hard_limit_usd":120.0,"system_hard_limit_usd":120.0,"access_until":0})";
const char* const kOpenAIUsage = R"({"object":"list","total_usage":1234.5})";

// Answers `path` with `body`, anything else with 404.
MockUpstream::Script serve(std::string path, std::string body) {
  return [path = std::move(path), body = std::move(body)](const net::ServerRequest& req, MockReply& r) {
    if (req.method == "GET" && req.path == path) return reply_json(r, body);
    r.status = 404;
    reply_json(r, R"({"error":{"message":"no such path"}})");
  };
}

}  // namespace

TEST_CASE("channel balance asks DeepSeek, OpenRouter, SiliconFlow and OpenAI and stores the answer", "[e2e][chanops]") {
  std::atomic<bool> deepseek_down{false};
  std::atomic<bool> deepseek_empty{false};
  auto deepseek_script = serve("/user/balance", kDeepSeekBalance);
  MockUpstream deepseek([&](const net::ServerRequest& req, MockReply& r) {
    if (deepseek_down) return reply_bad_key(r);
    if (deepseek_empty)
      return reply_json(
          r,
          R"({"is_available":false,"balance_infos":[{"currency":"CNY","total_balance":"0.00","granted_balance":"0.00","topped_up_balance":"0.00"}]})");
    deepseek_script(req, r);
  });
  MockUpstream openrouter(serve("/v1/credits", kOpenRouterCredits));
  MockUpstream siliconflow(serve("/v1/user/info", kSiliconFlowUserInfo));
  MockUpstream openai([](const net::ServerRequest& req, MockReply& r) {
    if (req.path == "/v1/dashboard/billing/subscription") return reply_json(r, kOpenAISubscription);
    if (req.path == "/v1/dashboard/billing/usage") return reply_json(r, kOpenAIUsage);
    r.status = 404;
  });
  MockUpstream compatible([](const net::ServerRequest&, MockReply& r) { reply_model_name(r); });
  Gateway g;
  const int64_t ds = add(g, "deepseek", deepseek.base_url(), "deepseek-chat");
  const int64_t orouter = add(g, "20", openrouter.base_url());
  const int64_t sf = add(g, "44", siliconflow.base_url());
  const int64_t oa = add(g, "openai", openai.base_url());
  const int64_t none = add(g, "openai-compatible", compatible.base_url());

  const auto before = db_int(g.db(), "SELECT strftime('%s', 'now')");
  for (int64_t id : {ds, orouter, sf, oa}) {
    auto r = g.daemon.ctl({"channel", "balance", std::to_string(id)});
    INFO("channel " << id << ": " << r.out << r.err);
    CHECK(r.exit_code == 0);
    CHECK(column(g, "balance_updated_time", id) >= before);
  }
  CHECK(stored_balance(g, ds) == Approx(110.0));
  CHECK(stored_balance(g, orouter) == Approx(74.75));  // credits - usage
  CHECK(stored_balance(g, sf) == Approx(88.88));       // totalBalance
  CHECK(stored_balance(g, oa) == Approx(107.655));     // hard limit - usage in cents / 100
  for (const MockUpstream* m : {&deepseek, &openrouter, &siliconflow, &openai}) {
    auto seen = m->requests();
    REQUIRE(!seen.empty());
    CHECK(seen.back().method == "GET");
    CHECK(seen.back().header("Authorization") == std::string("Bearer ") + kKey);
  }
  CHECK(deepseek.requests().back().path == "/user/balance");
  CHECK(openrouter.requests().back().path == "/v1/credits");
  CHECK(siliconflow.requests().back().path == "/v1/user/info");
  const auto usage_query = openai.requests().back();
  CHECK(usage_query.path == "/v1/dashboard/billing/usage");
  CHECK(usage_query.query_param("start_date").substr(8) == "01");  // with a payment method: this month
  CHECK(usage_query.query_param("end_date").size() == 10);

  auto j = g.daemon.ctl({"--json", "channel", "balance", std::to_string(ds)});
  REQUIRE(j.exit_code == 0);
  json shown = json::parse(j.out);
  REQUIRE(shown.size() == 1);
  CHECK(shown[0]["supported"] == true);
  CHECK(shown[0]["ok"] == true);
  CHECK(shown[0]["balance"].get<double>() == Approx(110.0));
  CHECK(shown[0]["currency"] == "CNY");
  CHECK(shown[0]["error"].is_null());

  SECTION("a channel whose upstream has no balance API: \"not supported\", exit 5, nothing asked or stored") {
    auto r = g.daemon.ctl({"channel", "balance", std::to_string(none)});
    CHECK(r.exit_code == 5);
    CHECK(r.out.find("not supported") != std::string::npos);
    CHECK(compatible.request_count() == 0);
    CHECK(column(g, "balance_updated_time", none) == 0);

    // --all lists it without failing the others.
    auto all = g.daemon.ctl({"--json", "channel", "balance", "--all"});
    CHECK(all.exit_code == 0);
    json list = json::parse(all.out);
    REQUIRE(list.size() == 5);
    for (const auto& item : list) CHECK(item["supported"] == (item["id"] != none));
    CHECK(compatible.request_count() == 0);
  }
  SECTION("a failed query exits 1 and keeps the stored balance") {
    deepseek_down = true;
    auto r = g.daemon.ctl({"channel", "balance", std::to_string(ds)});
    CHECK(r.exit_code == 1);
    CHECK(r.out.find("FAILED") != std::string::npos);
    CHECK(r.out.find("401") != std::string::npos);
    CHECK(stored_balance(g, ds) == Approx(110.0));
    CHECK(g.daemon.ctl({"channel", "balance", "--all"}).exit_code == 1);
  }
  SECTION("nothing left: with AutomaticDisableChannelEnabled the channel is disabled") {
    deepseek_empty = true;
    CHECK(g.daemon.ctl({"channel", "balance", std::to_string(ds)}).exit_code == 0);
    CHECK(stored_balance(g, ds) == Approx(0.0));
    CHECK(column(g, "status", ds) == 1);  // the option is off
    set_option(g, "AutomaticDisableChannelEnabled", "true");
    CHECK(g.daemon.ctl({"channel", "balance", std::to_string(ds)}).exit_code == 0);
    CHECK(column(g, "status", ds) == 3);
  }
}

TEST_CASE("CHANNEL_UPDATE_FREQUENCY refreshes balances on a schedule", "[e2e][chanops]") {
  MockUpstream deepseek(serve("/user/balance", kDeepSeekBalance));
  Gateway g(Env{{"CHANNEL_UPDATE_FREQUENCY", "0.01"}});
  const int64_t ds = add(g, "deepseek", deepseek.base_url(), "deepseek-chat");
  REQUIRE(eventually([&] { return column(g, "balance_updated_time", ds) > 0; }));
  CHECK(stored_balance(g, ds) == Approx(110.0));
  CHECK(deepseek.requests().at(0).path == "/user/balance");
}
