// The connection pool to a database server (StoreExecutor with PoolOptions): connections open only
// as jobs run side by side, idle ones beyond SQL_MAX_IDLE_CONNS close, old ones are replaced, and
// pre-charges and settlements of several users running on many connections at once never
// deadlock and never lose a unit of quota. Runs on each server of test::server_backends().
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "store/executor.hpp"
#include "store/store.hpp"
#include "support/result_check.hpp"
#include "support/test_database.hpp"

using namespace oneapi;
using namespace oneapi::store;
using oneapi::test::ok;

namespace {

StoreExecutor make_pool(const test::TestDatabase& database, PoolOptions pool) {
  StoreOptions more = database.options();
  more.connect_lazily = true;
  auto make_more = [more] { return open_store(more); };
  return StoreExecutor(database.open(), std::move(make_more), pool);
}

// Lets `count` jobs in, then opens for all of them at once; false when they did not all arrive
// in time (fewer threads than jobs).
class Gate {
 public:
  explicit Gate(int count, std::chrono::milliseconds patience = std::chrono::seconds(10))
      : waiting_for_(count), patience_(patience) {}
  bool arrive() {
    std::unique_lock lock(mu_);
    if (--waiting_for_ == 0) cv_.notify_all();
    return cv_.wait_for(lock, patience_, [&] { return waiting_for_ <= 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int waiting_for_;
  std::chrono::milliseconds patience_;
};

// The pool counts a connection when its thread is done with the job, just after the caller got
// its result: wait for that.
template <class Pred>
bool eventually(Pred pred) {
  for (int i = 0; i < 200 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pred();
}

// `users` users with `tokens_each` unlimited tokens each, and `channels` channels.
struct Accounts {
  std::vector<int64_t> user_ids;
  std::vector<Token> tokens;
  std::vector<int64_t> channel_ids;
};
Accounts make_accounts(Store& store, int users, int tokens_each, int channels) {
  Accounts a;
  for (int i = 0; i < users; ++i) {
    User u;
    u.username = "user" + std::to_string(i);
    u.quota = 10'000'000;
    a.user_ids.push_back(ok(store.insert_user(u)).id);
    for (int k = 0; k < tokens_each; ++k) {
      Token t;
      t.user_id = a.user_ids.back();
      t.name = "t" + std::to_string(i) + "-" + std::to_string(k);
      t.unlimited_quota = true;
      a.tokens.push_back(ok(store.insert_token(t)));
    }
  }
  for (int i = 0; i < channels; ++i) {
    Channel c;
    c.name = "c" + std::to_string(i);
    c.key = "k";
    a.channel_ids.push_back(ok(store.insert_channel(c)).id);
  }
  return a;
}

// The quota spent by all users, and the quota channels were credited with.
std::pair<int64_t, int64_t> spent(Store& store, const Accounts& a) {
  int64_t users = 0, channels = 0;
  for (int64_t id : a.user_ids) users += 10'000'000 - ok(store.get_user(id)).quota;
  for (int64_t id : a.channel_ids) channels += ok(store.get_channel(id)).used_quota;
  return {users, channels};
}

}  // namespace

TEST_CASE("store pool: connections open as jobs run side by side, up to SQL_MAX_OPEN_CONNS", "[store][pool]") {
  const auto servers = test::server_backends();
  if (servers.empty()) {
    WARN("no database server to test (scripts/test starts them)");
    return;
  }
  test::TestDatabase database(GENERATE_COPY(from_range(servers)));
  PoolOptions pool;
  pool.max_open = 4;
  pool.max_idle = 4;
  auto executor = make_pool(database, pool);

  // One job at a time: the warm connection takes each, no other opens.
  for (int i = 0; i < 10; ++i) ok(executor.run_blocking([](Store& s) { return s.list_users(); }));
  CHECK(executor.most_busy() == 1);
  CHECK(executor.connections_opened() == 1);

  // Four jobs that each wait for the others: only four threads with a connection each let them
  // all through.
  Gate gate(4);
  std::atomic<int> through{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i)
    callers.emplace_back([&] {
      executor.run_blocking([&](Store& s) {
        auto users = s.list_users();  // a real statement on this thread's connection
        if (users && gate.arrive()) ++through;
        return 0;
      });
    });
  for (auto& t : callers) t.join();
  CHECK(through == 4);
  CHECK(executor.most_busy() == 4);
  CHECK(eventually([&] { return executor.open_connections() == 4; }));

  // More jobs than connections: never more than four run at once; the rest wait their turn.
  std::atomic<int> inside{0}, most_inside{0};
  callers.clear();
  for (int i = 0; i < 8; ++i)
    callers.emplace_back([&] {
      executor.run_blocking([&](Store& s) {
        (void)s.list_users();
        const int now = ++inside;
        for (int seen = most_inside; now > seen && !most_inside.compare_exchange_weak(seen, now);) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        --inside;
        return 0;
      });
    });
  for (auto& t : callers) t.join();
  CHECK(most_inside <= 4);
  CHECK(executor.most_busy() == 4);
  CHECK(executor.connections_opened() == 4);
}

TEST_CASE("store pool: idle connections beyond SQL_MAX_IDLE_CONNS close, old ones are replaced", "[store][pool]") {
  const auto servers = test::server_backends();
  if (servers.empty()) {
    WARN("no database server to test (scripts/test starts them)");
    return;
  }
  test::TestDatabase database(GENERATE_COPY(from_range(servers)));
  INFO(database.backend());
  PoolOptions pool;
  pool.max_open = 3;
  pool.max_idle = 1;
  // Long enough that a loaded machine still reuses the connection before it is this old.
  pool.max_lifetime = std::chrono::seconds(3);
  auto executor = make_pool(database, pool);

  Gate gate(3);
  std::vector<std::thread> callers;
  for (int i = 0; i < 3; ++i)
    callers.emplace_back([&] {
      executor.run_blocking([&](Store& s) {
        (void)s.list_users();
        return gate.arrive();
      });
    });
  for (auto& t : callers) t.join();
  CHECK(executor.most_busy() == 3);
  // The threads count their connections and go idle just after handing back their results: wait
  // for all three to be counted, not only for the closing to leave one.
  CHECK(eventually([&] { return executor.connections_opened() == 3 && executor.open_connections() == 1; }));

  const int opened = executor.connections_opened();
  ok(executor.run_blocking([](Store& s) { return s.list_users(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(executor.connections_opened() == opened);  // still young: reused
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  ok(executor.run_blocking([](Store& s) { return s.list_users(); }));
  // Past SQL_MAX_LIFETIME: replaced.
  CHECK(eventually([&] { return executor.connections_opened() == opened + 1; }));
  CHECK(eventually([&] { return executor.open_connections() == 1; }));
}

TEST_CASE("store pool: users charged in parallel on many connections never deadlock and lose nothing",
          "[store][pool]") {
  const auto servers = test::server_backends();
  if (servers.empty()) {
    WARN("no database server to test (scripts/test starts them)");
    return;
  }
  test::TestDatabase database(GENERATE_COPY(from_range(servers)));
  auto setup = database.open();
  // Two users with two tokens each, two channels: every job locks a user, its token and a
  // channel, each a transaction of its own.
  const Accounts a = make_accounts(*setup, 2, 2, 2);
  const auto& tokens = a.tokens;
  const auto& channels = a.channel_ids;

  PoolOptions pool;
  pool.max_open = 8;
  auto executor = make_pool(database, pool);
  constexpr int kCallers = 12, kRequests = 25;
  constexpr int64_t kPre = 50, kFinal = 30;
  std::atomic<int> failed{0};
  std::mutex error_mu;
  std::string first_error;
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      for (int k = 0; k < kRequests; ++k) {
        const Token& t = tokens[static_cast<size_t>((c + k) % 4)];
        const int64_t channel = channels[static_cast<size_t>((c * 7 + k) % 2)];
        auto r = executor.run_blocking([&](Store& s) -> Result<void> {
          PreChargeRequest pre;
          pre.token_id = t.id;
          pre.user_id = t.user_id;
          pre.amount = kPre;
          pre.pending.channel_id = channel;
          pre.pending.request_id = "r" + std::to_string(c) + "-" + std::to_string(k);
          auto id = s.pre_charge(pre);
          if (!id) return id.error();
          Settlement st;
          st.log_id = *id;
          st.token_id = t.id;
          st.user_id = t.user_id;
          st.channel_id = channel;
          st.pre_charged = kPre;
          st.quota = kFinal;
          return s.settle(st);
        });
        if (!r) {
          ++failed;
          std::lock_guard lock(error_mu);
          if (first_error.empty()) first_error = r.error().message;
        }
      }
    });
  for (auto& t : callers) t.join();
  INFO(first_error);
  CHECK(failed == 0);
  CHECK(executor.most_busy() > 1);

  const int64_t total = kCallers * kRequests * kFinal;
  int64_t tokens_used = 0;
  for (const Token& t : tokens) tokens_used += ok(setup->get_token(t.id)).used_quota;
  CHECK(spent(*setup, a) == std::pair<int64_t, int64_t>{total, total});
  CHECK(tokens_used == total);
  auto raw = database.raw();
  CHECK(test::scalar(*raw, "SELECT SUM(quota) FROM logs WHERE request_id <> ''") == total);
}

TEST_CASE("store pool: group-committed batches of several users on several connections never deadlock",
          "[store][pool]") {
  const auto servers = test::server_backends();
  if (servers.empty()) {
    WARN("no database server to test (scripts/test starts them)");
    return;
  }
  test::TestDatabase database(GENERATE_COPY(from_range(servers)));
  auto setup = database.open();
  const Accounts a = make_accounts(*setup, 6, 2, 3);
  const auto& tokens = a.tokens;
  const auto& channels = a.channel_ids;
  // Two nodes' pools on one database: batches on every connection of both lock users, tokens and
  // channels of many requests at once.
  PoolOptions pool;
  pool.max_open = 3;
  auto node1 = make_pool(database, pool);
  auto node2 = make_pool(database, pool);
  constexpr int kRequests = 240;
  constexpr int64_t kPre = 50, kFinal = 30;
  std::atomic<int> failed{0};
  std::string first_error;
  boost::asio::io_context ioc;
  for (int i = 0; i < kRequests; ++i) {
    auto request = [&, i]() -> boost::asio::awaitable<void> {
      StoreExecutor& node = i % 2 ? node1 : node2;
      const Token& t = tokens[static_cast<size_t>(i * 7 % 12)];
      const int64_t channel = channels[static_cast<size_t>(i % 3)];
      const StoreExecutor::LockOrder order{t.user_id, t.id};
      PreChargeRequest pre;
      pre.token_id = t.id;
      pre.user_id = t.user_id;
      pre.amount = kPre;
      pre.pending.request_id = "r" + std::to_string(i);
      auto charge = [pre](Store& s) { return s.pre_charge(pre); };
      auto no_undo = [] {};
      auto id = co_await node.run_batched(order, std::move(charge), no_undo);
      if (!id) {
        if (failed++ == 0) first_error = id.error().message;
        co_return;
      }
      Settlement st;
      st.log_id = *id;
      st.token_id = t.id;
      st.user_id = t.user_id;
      st.channel_id = channel;
      st.pre_charged = kPre;
      st.quota = kFinal;
      auto settle = [st](Store& s) { return s.settle(st); };
      auto settled = co_await node.run_batched(order, std::move(settle), no_undo);
      if (!settled && failed++ == 0) first_error = settled.error().message;
    };
    boost::asio::co_spawn(ioc, std::move(request), boost::asio::detached);
  }
  ioc.run();
  INFO(first_error);
  CHECK(failed == 0);
  CHECK(node1.largest_batch() + node2.largest_batch() > 2);  // batches did form

  const int64_t total = kRequests * kFinal;
  CHECK(spent(*setup, a) == std::pair<int64_t, int64_t>{total, total});
}

TEST_CASE("store: a low limited token with a request in flight is refused under its row lock", "[store][pool]") {
  test::TestDatabase database(GENERATE(from_range(test::store_backends())));
  auto s = database.open();
  User u;
  u.username = "low";
  u.quota = 1'000'000;
  u = ok(s->insert_user(u));
  Token t;
  t.user_id = u.id;
  t.name = "low";
  t.remain_quota = 5000;  // under 100 × 100
  t = ok(s->insert_token(t));

  PreChargeRequest r;
  r.token_id = t.id;
  r.user_id = u.id;
  r.amount = 100;
  ok(s->pre_charge(r));  // alone: served
  r.others_in_flight = true;
  auto second = s->pre_charge(r);
  REQUIRE(!second);
  CHECK(second.error().kind == ErrorKind::rate_limited);
  CHECK(second.error().code == "token_quota_low_concurrency");
  CHECK(ok(s->get_token(t.id)).remain_quota == 4900);  // the refusal charged nothing

  t.remain_quota = 1'000'000;
  t.unlimited_quota = false;
  ok(s->update_token(t));
  ok(s->pre_charge(r));  // far from its end: served in parallel
}
