// What every database server must do the same way: several nodes charging one token in parallel
// never overspend it (row locks), and a slave node never migrates. Runs on each server of
// test::server_backends() (PostgreSQL and MariaDB, when scripts/test started them).
#include <atomic>
#include <catch2/catch.hpp>
#include <string>
#include <thread>
#include <vector>

#include "store/migrations.hpp"
#include "store/store.hpp"
#include "support/result_check.hpp"
#include "support/test_database.hpp"

using namespace oneapi;
using namespace oneapi::store;
using oneapi::test::ok;

TEST_CASE("database servers: nodes pre-charging one token in parallel never overspend it", "[store][postgres][mysql]") {
  const auto servers = test::server_backends();
  if (servers.empty()) {
    WARN("no database server to test (scripts/test starts them)");
    return;
  }
  test::TestDatabase database(GENERATE_COPY(from_range(servers)));
  auto first = database.open();
  User u;
  u.username = "shared";
  u.quota = 1000000;
  u = ok(first->insert_user(u));
  Token t;
  t.user_id = u.id;
  t.name = "limited";
  t.remain_quota = 1000;
  t = ok(first->insert_token(t));

  // Three stores are three nodes: one connection each, as three daemons would have.
  constexpr int kNodes = 3, kAttempts = 40;
  constexpr int64_t kCost = 70;  // 1000 / 70: 14 fit
  std::vector<std::unique_ptr<Store>> nodes;
  for (int i = 0; i < kNodes; ++i) nodes.push_back(database.open());
  std::atomic<int> charged{0}, refused{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kNodes; ++i) {
    threads.emplace_back([&, i] {
      for (int k = 0; k < kAttempts; ++k) {
        PreChargeRequest r;
        r.token_id = t.id;
        r.user_id = u.id;
        r.amount = kCost;
        r.pending.request_id = "n" + std::to_string(i) + "-" + std::to_string(k);
        auto id = nodes[static_cast<size_t>(i)]->pre_charge(r);
        if (id)
          ++charged;
        else if (id.error().kind == ErrorKind::insufficient_quota)
          ++refused;
        else
          ++failed;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failed == 0);
  CHECK(charged == 1000 / kCost);
  CHECK(charged + refused == kNodes * kAttempts);
  const Token after = ok(first->get_token(t.id));
  CHECK(after.remain_quota == 1000 - charged * kCost);
  CHECK(after.used_quota == charged * kCost);
  CHECK(ok(first->get_user(u.id)).quota == 1000000 - charged * kCost);
  LogFilter f;
  f.limit = 0;
  CHECK(ok(first->list_logs(f)).size() == static_cast<size_t>(charged.load()));
}

TEST_CASE("database servers: a slave node does not migrate, and says why it cannot start", "[store][postgres][mysql]") {
  const auto servers = test::server_backends();
  if (servers.empty()) {
    WARN("no database server to test (scripts/test starts them)");
    return;
  }
  test::TestDatabase database(GENERATE_COPY(from_range(servers)));
  StoreOptions slave = database.options();
  slave.migrate = false;
  CHECK_THROWS_WITH(open_store(slave), Catch::Contains("start the master node first"));
  database.open().reset();  // the master migrates
  auto node = open_store(slave);
  CHECK(node->schema_version() == latest_schema_version());
}
