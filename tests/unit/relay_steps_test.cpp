#include <catch2/catch.hpp>
#include <map>

#include "core/util.hpp"
#include "relay/steps.hpp"

using namespace oneapi;
using namespace oneapi::relay;

namespace {

store::Snapshot base_snapshot() {
  store::Snapshot s;
  store::User root;
  root.id = 1;
  root.username = "root";
  root.role = 100;
  root.quota = 1000000;
  store::User common = root;
  common.id = 2;
  common.username = "alice";
  common.role = 1;
  s.users = {root, common};
  auto token = [](int64_t id, int64_t user, std::string key) {
    store::Token t;
    t.id = id;
    t.user_id = user;
    t.key = std::move(key);
    t.name = "t" + std::to_string(id);
    t.unlimited_quota = true;
    return t;
  };
  s.tokens = {token(1, 1, "rootkey"), token(2, 2, "alicekey")};
  auto channel = [](int64_t id, int64_t priority, int64_t weight) {
    store::Channel c;
    c.id = id;
    c.name = "c" + std::to_string(id);
    c.models = "gpt-4o-mini";
    c.priority = priority;
    c.weight = weight;
    return c;
  };
  s.channels = {channel(1, 10, 1), channel(2, 10, 3), channel(3, 0, 100)};
  for (auto& c : s.channels) s.abilities.push_back({"default", "gpt-4o-mini", c.id, true, c.priority});
  return s;
}

net::ServerRequest request_with_key(std::string key, std::string ip = "127.0.0.1") {
  net::ServerRequest r;
  r.headers.push_back({"Authorization", "Bearer " + key});
  r.peer_ip = std::move(ip);
  return r;
}

RelayState state_for(const store::Snapshot& snap) {
  RelayState s;
  s.catalog = Catalog::build(snap);
  return s;
}

}  // namespace

TEST_CASE("authenticate: good, missing, unknown keys", "[relay][auth]") {
  auto snap = base_snapshot();
  auto s = state_for(snap);
  REQUIRE(authenticate(s, request_with_key("sk-alicekey")));
  CHECK(s.user->username == "alice");

  auto missing = state_for(snap);
  auto r = authenticate(missing, net::ServerRequest{});
  REQUIRE_FALSE(r);
  CHECK(error_status(r.error()) == 401);
  CHECK(r.error().message == "No token provided");

  auto unknown = state_for(snap);
  r = authenticate(unknown, request_with_key("sk-nope"));
  REQUIRE_FALSE(r);
  CHECK(error_status(r.error()) == 401);
}

TEST_CASE("authenticate: disabled, expired, exhausted tokens", "[relay][auth]") {
  auto snap = base_snapshot();
  SECTION("disabled") {
    snap.tokens[1].status = 2;
    auto s = state_for(snap);
    auto r = authenticate(s, request_with_key("sk-alicekey"));
    REQUIRE_FALSE(r);
    CHECK(error_status(r.error()) == 401);
  }
  SECTION("expired by time") {
    snap.tokens[1].expired_time = unix_now() - 10;
    auto s = state_for(snap);
    auto r = authenticate(s, request_with_key("sk-alicekey"));
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("has expired") != std::string::npos);
    CHECK(error_status(r.error()) == 401);
  }
  SECTION("exhausted") {
    snap.tokens[1].unlimited_quota = false;
    snap.tokens[1].remain_quota = 0;
    auto s = state_for(snap);
    auto r = authenticate(s, request_with_key("sk-alicekey"));
    REQUIRE_FALSE(r);
    CHECK(error_status(r.error()) == 403);
  }
  SECTION("subnet") {
    snap.tokens[1].subnet = "10.0.0.0/8,::1/128";
    auto s = state_for(snap);
    CHECK_FALSE(authenticate(s, request_with_key("sk-alicekey", "127.0.0.1")));
    auto s2 = state_for(snap);
    CHECK(authenticate(s2, request_with_key("sk-alicekey", "10.1.2.3")));
    auto s3 = state_for(snap);
    CHECK(authenticate(s3, request_with_key("sk-alicekey", "::1")));
  }
}

TEST_CASE("a pinned channel (sk-KEY-ID) is for admins only", "[relay][auth]") {
  auto snap = base_snapshot();
  auto common = state_for(snap);
  auto r = authenticate(common, request_with_key("sk-alicekey-3"));
  REQUIRE_FALSE(r);
  CHECK(error_status(r.error()) == 403);
  auto root = state_for(snap);
  REQUIRE(authenticate(root, request_with_key("sk-rootkey-3")));
  root.model = "gpt-4o-mini";
  auto c = select_channel(root);
  REQUIRE(c);
  CHECK((*c)->channel.id == 3);
}

TEST_CASE("the token's model allow-list", "[relay][auth]") {
  auto snap = base_snapshot();
  snap.tokens[1].models = "gpt-4o-mini, gpt-4o";
  auto s = state_for(snap);
  REQUIRE(authenticate(s, request_with_key("sk-alicekey")));
  s.model = "gpt-4o";
  CHECK(authorize_model(s));
  s.model = "o1";
  auto r = authorize_model(s);
  REQUIRE_FALSE(r);
  CHECK(error_status(r.error()) == 403);
}

TEST_CASE("parse_request: malformed JSON, missing model, bad types", "[relay][parse]") {
  RelayState s;
  auto r = parse_request(s, "{not json");
  REQUIRE_FALSE(r);
  CHECK(error_status(r.error()) == 400);
  CHECK_FALSE(parse_request(s, R"({"messages":[]})"));
  CHECK_FALSE(parse_request(s, R"({"model":"m","messages":"x"})"));
  CHECK_FALSE(parse_request(s, R"({"model":"m","messages":[],"stream":"yes"})"));
  CHECK_FALSE(parse_request(s, R"({"model":"m","messages":[],"max_tokens":-5})"));
  RelayState ok;
  REQUIRE(parse_request(
      ok,
      R"({"model":"m","stream":true,"stream_options":{"include_usage":true},"max_tokens":64,"messages":[{"role":"user","content":"hello there"}]})"));
  CHECK(ok.stream);
  CHECK(ok.client_wants_usage);
  CHECK(ok.max_tokens == 64);
  CHECK(ok.prompt_tokens > 6);  // +3 per message, +3 priming, plus the text
}

TEST_CASE("select_channel: highest priority tier, weighted, skipping tried channels", "[relay][select]") {
  auto snap = base_snapshot();
  auto s = state_for(snap);
  REQUIRE(authenticate(s, request_with_key("sk-alicekey")));
  s.model = "gpt-4o-mini";
  std::map<int64_t, int> picks;
  for (int i = 0; i < 4000; ++i) picks[(*select_channel(s))->channel.id]++;
  CHECK(picks[3] == 0);  // lower tier never chosen while the top tier has channels
  // weights 1:3 -> about 25% / 75%; wide bounds keep this from flaking
  CHECK(picks[1] > 600);
  CHECK(picks[1] < 1400);
  CHECK(picks[2] > 2600);

  s.tried_channels = {1, 2};
  CHECK((*select_channel(s))->channel.id == 3);  // retries fall to the next tier
  s.tried_channels = {1, 2, 3};
  auto none = select_channel(s);
  REQUIRE_FALSE(none);
  CHECK(error_status(none.error()) == 503);

  s.tried_channels.clear();
  s.model = "unknown-model";
  auto missing = select_channel(s);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "No available channels for Model unknown-model under Group default");
}

TEST_CASE("disabled channels are not routed", "[relay][select]") {
  auto snap = base_snapshot();
  snap.channels[0].status = 2;
  snap.channels[1].status = 3;
  auto s = state_for(snap);
  REQUIRE(authenticate(s, request_with_key("sk-alicekey")));
  s.model = "gpt-4o-mini";
  CHECK((*select_channel(s))->channel.id == 3);
  CHECK(s.catalog->models_for_group("default") == std::vector<std::string>{"gpt-4o-mini"});
}

TEST_CASE("trust ledger: One API's 100x line, less what trusted requests hold", "[relay][billing]") {
  relay::TrustLedger ledger;
  // 100 × 10 = 1000: a balance must be above it once this node's holdings are taken off.
  CHECK(ledger.try_hold(1, 7, 10, 1050, 0, true));  // unlimited token: the user alone decides
  for (int i = 0; i < 4; ++i) CHECK(ledger.try_hold(1, 7, 10, 1050, 0, true));
  CHECK_FALSE(ledger.try_hold(1, 7, 10, 1050, 0, true));  // 1050 - 50 is not above 1000
  CHECK(ledger.try_hold(2, 8, 10, 1050, 0, true));        // another user holds nothing yet
  ledger.release(1, 7, 10);
  CHECK(ledger.try_hold(1, 7, 10, 1050, 0, true));

  // A limited token is held against too, across its users' requests.
  CHECK(ledger.try_hold(3, 9, 10, 1'000'000, 1005, false));
  CHECK_FALSE(ledger.try_hold(3, 9, 10, 1'000'000, 1005, false));
  CHECK_FALSE(ledger.try_hold(4, 9, 10, 1'000'000, 1005, false));
  {
    // A hold goes back when the request ends, however it ends.
    relay::TrustHold hold(&ledger, 3, 9, 10);
  }
  CHECK(ledger.try_hold(3, 9, 10, 1'000'000, 1005, false));
  // A free request (amount 0) still needs more than 100.
  CHECK_FALSE(ledger.try_hold(5, 10, 0, 100, 0, true));
  CHECK(ledger.try_hold(5, 10, 0, 101, 0, true));

  // While the database refuses writes, nothing is trusted: reservations are refused up front.
  ledger.writes_failed();
  CHECK_FALSE(ledger.try_hold(6, 11, 10, 1'000'000, 0, true));
  ledger.writes_succeeded();
  CHECK(ledger.try_hold(6, 11, 10, 1'000'000, 0, true));
}

TEST_CASE("trust ledger: balances a trusted read found are trusted again, less what was spent since",
          "[relay][billing]") {
  relay::TrustLedger ledger;
  const uint64_t catalog = 5;
  // Nothing read yet: the database decides.
  CHECK_FALSE(ledger.try_hold_seen(1, 7, 10, catalog));

  auto capture = ledger.begin_capture(1, 7, catalog);
  ledger.spent(1, 7, 400);  // committed before the read: the balance read has it, and so does the count (twice)
  CHECK(ledger.try_hold(1, 7, 10, 2000, 1'000'000, false, &capture));
  ledger.end_capture(capture);
  ledger.release(1, 7, 10);
  // 2000 read, 400 spent since: 1600 > 1000.
  CHECK(ledger.try_hold_seen(1, 7, 10, catalog));
  ledger.release(1, 7, 10);
  ledger.spent(1, 7, 550);  // 2000 - 950 = 1050 > 1000
  CHECK(ledger.try_hold_seen(1, 7, 10, catalog));
  // ... and holding 10 more would leave 1040 - 10 held: 1040 > 1000 still.
  CHECK(ledger.try_hold_seen(1, 7, 10, catalog));
  ledger.release(1, 7, 20);
  ledger.spent(1, 7, 60);  // 990: under the line, back to the database
  CHECK_FALSE(ledger.try_hold_seen(1, 7, 10, catalog));

  // Another catalog (an admin change) makes the read stale; so does forget().
  auto again = ledger.begin_capture(2, 8, catalog);
  CHECK(ledger.try_hold(2, 8, 10, 1'000'000, 0, true, &again));
  ledger.end_capture(again);
  CHECK(ledger.try_hold_seen(2, 8, 10, catalog));
  CHECK_FALSE(ledger.try_hold_seen(2, 8, 10, catalog + 1));
  CHECK_FALSE(ledger.try_hold_seen(2, 8, 10, catalog));  // forgotten when found stale
  auto third = ledger.begin_capture(2, 8, catalog);
  CHECK(ledger.try_hold(2, 8, 10, 1'000'000, 0, true, &third));
  ledger.end_capture(third);
  ledger.forget(2, 8);
  CHECK_FALSE(ledger.try_hold_seen(2, 8, 10, catalog));

  // A read that did not trust remembers nothing; a capture that ends leaves no entry behind.
  auto low = ledger.begin_capture(3, 9, catalog);
  CHECK_FALSE(ledger.try_hold(3, 9, 10, 500, 0, true, &low));
  ledger.end_capture(low);
  CHECK_FALSE(ledger.try_hold_seen(3, 9, 10, catalog));

  // The token's own balance counts too (a limited token).
  auto token = ledger.begin_capture(4, 10, catalog);
  CHECK(ledger.try_hold(4, 10, 10, 1'000'000, 1100, false, &token));
  ledger.end_capture(token);
  ledger.release(4, 10, 10);
  ledger.spent(4, 10, 150);  // the token: 950 left
  CHECK_FALSE(ledger.try_hold_seen(4, 10, 10, catalog));

  // While writes fail, nothing is trusted from memory either.
  auto w = ledger.begin_capture(5, 11, catalog);
  CHECK(ledger.try_hold(5, 11, 10, 1'000'000, 0, true, &w));
  ledger.end_capture(w);
  ledger.writes_failed();
  CHECK_FALSE(ledger.try_hold_seen(5, 11, 10, catalog));
  ledger.writes_succeeded();
  CHECK(ledger.try_hold_seen(5, 11, 10, catalog));
}
