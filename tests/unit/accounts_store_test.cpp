// Users, redemptions and log maintenance in the store, on every backend of test::store_backends().
#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>

#include "store/store.hpp"
#include "support/result_check.hpp"
#include "support/temp_dir.hpp"
#include "support/test_database.hpp"

using namespace oneapi;
using namespace oneapi::store;
using oneapi::test::err;
using oneapi::test::ok;

namespace {

struct Accounts {
  explicit Accounts(std::string backend) : database(std::move(backend)) {}
  test::TestDatabase database;
  std::unique_ptr<Store> db = database.open();

  User add(const std::string& name, int64_t quota = 0, const std::string& aff = "", bool default_token = false) {
    NewUser n;
    n.user.username = name;
    n.user.quota = quota;
    n.quota_for_new_user = 100;
    n.quota_for_inviter = 30;
    n.quota_for_invitee = 20;
    n.inviter_aff_code = aff;
    n.default_token = default_token;
    return ok(db->create_user(n));
  }
  std::vector<Log> logs(int type) {
    LogFilter f;
    f.type = type;
    f.limit = 0;
    return ok(db->list_logs(f));
  }
};

}  // namespace

TEST_CASE("creating a user applies the new-user grant and logs it", "[store][accounts]") {
  Accounts a(GENERATE(from_range(test::store_backends())));
  User u = a.add("alice", 1000);
  CHECK(u.quota == 1100);
  CHECK(u.aff_code.size() == 4);
  CHECK(u.access_token.size() == 32);
  CHECK(u.group == "default");
  auto system = a.logs(static_cast<int>(LogType::system));
  REQUIRE(system.size() == 1);
  CHECK(system[0].user_id == u.id);
  CHECK(system[0].quota == 100);
  CHECK(ok(a.db->list_tokens(u.id)).empty());

  NewUser again;
  again.user.username = "alice";
  Error taken = err(a.db->create_user(again));
  CHECK(taken.kind == ErrorKind::invalid_request);
  CHECK(taken.message.find("already taken") != std::string::npos);
}

TEST_CASE("an invited user and the inviter both get their rewards in one go", "[store][accounts]") {
  Accounts a(GENERATE(from_range(test::store_backends())));
  User inviter = a.add("inviter");
  User invitee = a.add("invitee", 0, inviter.aff_code, true);
  CHECK(invitee.inviter_id == inviter.id);
  CHECK(invitee.quota == 100 + 20);
  CHECK(ok(a.db->get_user(inviter.id)).quota == 100 + 30);
  auto tokens = ok(a.db->list_tokens(invitee.id));
  REQUIRE(tokens.size() == 1);
  CHECK(tokens[0].name == "default");
  CHECK(tokens[0].unlimited_quota);
  CHECK(tokens[0].expired_time == -1);

  NewUser invited;
  invited.user.username = "x";
  invited.inviter_aff_code = "nope";
  Error bad = err(a.db->create_user(invited));
  CHECK(bad.message == "invalid invitation code: nope");
  CHECK(err(a.db->get_user_by_username("x")).kind == ErrorKind::not_found);  // nothing half-done
}

TEST_CASE("updating, topping up and soft-deleting a user", "[store][accounts]") {
  Accounts a(GENERATE(from_range(test::store_backends())));
  User u = a.add("bob");
  u.group = "vip";
  u.role = static_cast<int>(Role::admin);
  u.quota = 5;
  User changed = ok(a.db->update_user(u));
  CHECK(changed.group == "vip");
  CHECK(changed.role == 10);
  CHECK(changed.quota == 5);

  CHECK(ok(a.db->topup_user(u.id, 70, "admin top-up")).quota == 75);
  CHECK(err(a.db->topup_user(u.id, -100, "too much")).kind == ErrorKind::invalid_request);
  auto topups = a.logs(static_cast<int>(LogType::topup));
  REQUIRE(topups.size() == 1);
  CHECK(topups[0].quota == 70);
  CHECK(topups[0].username == "bob");

  const std::string old_token = changed.access_token;
  std::string fresh = ok(a.db->regenerate_access_token(u.id));
  CHECK(fresh != old_token);
  CHECK(ok(a.db->get_user_by_access_token(fresh)).id == u.id);

  REQUIRE(a.db->delete_user(u.id));
  CHECK(err(a.db->get_user(u.id)).kind == ErrorKind::not_found);
  CHECK(err(a.db->get_user_by_username("bob")).kind == ErrorKind::not_found);
  CHECK(err(a.db->get_user_by_access_token(fresh)).kind == ErrorKind::not_found);
  CHECK(err(a.db->delete_user(u.id)).kind == ErrorKind::not_found);
  for (const auto& listed : ok(a.db->list_users())) CHECK(listed.id != u.id);
  a.add("bob");  // the name is free again
}

TEST_CASE("a redemption code is redeemed once, and only when enabled", "[store][accounts]") {
  Accounts a(GENERATE(from_range(test::store_backends())));
  User u = a.add("carol");
  Redemption tmpl;
  tmpl.name = "promo";
  tmpl.quota = 500;
  auto codes = ok(a.db->create_redemptions(tmpl, 3));
  REQUIRE(codes.size() == 3);
  std::set<std::string> keys;
  for (const auto& c : codes) {
    CHECK(c.key.size() == 32);
    CHECK(c.status == 1);
    keys.insert(c.key);
  }
  CHECK(keys.size() == 3);

  CHECK(ok(a.db->redeem(codes[0].key, u.id)) == 500);
  CHECK(ok(a.db->get_user(u.id)).quota == 100 + 500);
  Error again = err(a.db->redeem(codes[0].key, u.id));
  CHECK(again.message == "this redemption code has already been used");
  CHECK(ok(a.db->get_user(u.id)).quota == 600);
  Redemption used = ok(a.db->get_redemption(codes[0].id));
  CHECK(used.status == 3);
  CHECK(used.redeemed_by == u.id);
  CHECK(used.redeemed_time > 0);

  Redemption off = codes[1];
  off.status = 2;
  ok(a.db->update_redemption(off));
  CHECK(err(a.db->redeem(codes[1].key, u.id)).message == "this redemption code is disabled");
  CHECK(err(a.db->redeem("0123456789abcdef0123456789abcdef", u.id)).message == "invalid redemption code");
  used.status = 1;
  CHECK(err(a.db->update_redemption(used)).message == "a used redemption code cannot be changed");

  auto topups = a.logs(static_cast<int>(LogType::topup));
  REQUIRE(topups.size() == 1);
  CHECK(topups[0].quota == 500);
  CHECK(topups[0].content.find("promo") != std::string::npos);

  REQUIRE(a.db->delete_redemption(codes[2].id));
  CHECK(err(a.db->get_redemption(codes[2].id)).kind == ErrorKind::not_found);
  CHECK(ok(a.db->list_redemptions()).size() == 2);
}

TEST_CASE("log stat sums consumption and purge keeps requests in flight", "[store][accounts][logs]") {
  Accounts a(GENERATE(from_range(test::store_backends())));
  User u = a.add("dave", 1'000'000);
  Token t;
  t.user_id = u.id;
  t.name = "t";
  t.unlimited_quota = true;
  t = ok(a.db->insert_token(t));
  for (int i = 0; i < 3; ++i) {
    PreChargeRequest r;
    r.token_id = t.id;
    r.user_id = u.id;
    r.amount = 10;
    r.pending.username = u.username;
    r.pending.request_id = "req" + std::to_string(i);
    r.pending.created_at = 1000 + i;  // long ago
    int64_t log_id = ok(a.db->pre_charge(r));
    if (i == 2) continue;  // still in flight
    Settlement s;
    s.log_id = log_id;
    s.token_id = t.id;
    s.user_id = u.id;
    s.pre_charged = 10;
    s.quota = 7;
    s.prompt_tokens = 4;
    s.completion_tokens = 3;
    REQUIRE(a.db->settle(s));
  }
  LogStat st = ok(a.db->log_stat(LogFilter{}));
  CHECK(st.quota == 14);
  CHECK(st.requests == 2);
  CHECK(st.prompt_tokens == 8);
  CHECK(st.completion_tokens == 6);
  CHECK(st.rpm == 0);  // all of it long ago
  LogFilter by_name;
  by_name.username = "nobody";
  CHECK(ok(a.db->log_stat(by_name)).requests == 0);

  CHECK(ok(a.db->purge_logs(2000)) == 2);  // the settled requests, not the one in flight
  LogFilter all;
  all.limit = 0;
  auto left = ok(a.db->list_logs(all));
  REQUIRE(left.size() == 2);                                 // the request in flight and today's new-user grant
  CHECK(left[0].type == static_cast<int>(LogType::system));  // newest first: created today
  CHECK(left[1].type == static_cast<int>(LogType::provisional));
}
