// Group commit: hot-path writes that queue up while the store thread is busy share one
// transaction, each job isolated in a savepoint, and nobody hears "done" before the commit.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "store/executor.hpp"
#include "store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_database.hpp"
#include "support/wal_growth.hpp"

using namespace oneapi;
using namespace oneapi::store;

namespace {
using test::scalar;

int64_t count_rows(sqlite::Db& db, const std::string& where) {
  return scalar(db, "SELECT COUNT(*) FROM t WHERE " + where);
}

// Keeps the store thread busy for 100 ms, so that the writes spawned next queue up behind it.
void hold_store_thread(StoreExecutor& ex, boost::asio::io_context& ioc) {
  boost::asio::co_spawn(
      ioc,
      [&ex]() -> boost::asio::awaitable<void> {
        auto hold = [](Store& s) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          return s.schema_version();
        };
        co_await ex.run(std::move(hold));
      },
      boost::asio::detached);
}

// Queues create_user as a hot-path write (run_batched, ordered by `order`) and hands its result
// to `done`; every undo of it counts in `undone`.
void spawn_create_user(StoreExecutor& ex, boost::asio::io_context& ioc, int order, const std::string& name,
                       int64_t grant, int& undone, std::function<void(const Result<User>&)> done) {
  boost::asio::co_spawn(
      ioc,
      [&ex, &undone, order, name, grant, done = std::move(done)]() -> boost::asio::awaitable<void> {
        NewUser n;
        n.user.username = name;
        n.user.password = "x";
        n.user.display_name = name;
        n.quota_for_new_user = grant;
        auto job = [n = std::move(n)](Store& s) { return s.create_user(n); };
        auto undo = [&undone] { ++undone; };
        const StoreExecutor::LockOrder lock_order{order, 0};
        auto r = co_await ex.run_batched(lock_order, std::move(job), std::move(undo));
        done(r);
      },
      boost::asio::detached);
}

void insert(sqlite::Db& db, const std::string& v) {
  auto q = db.query("INSERT INTO t (v) VALUES (?)");
  REQUIRE(q);
  REQUIRE((*q)->bind(1, v).run());
}
}  // namespace

TEST_CASE("a batch keeps committed savepoints and drops rolled-back ones", "[unit][store][batch]") {
  test::TempDir dir;
  sqlite::Db db;
  REQUIRE(db.open(dir.file("batch.db")));
  REQUIRE(db.exec("CREATE TABLE t (v TEXT)"));
  REQUIRE(db.begin_batch());
  CHECK(db.batch_alive());
  {
    auto tx = sqlite::Transaction::begin(db);
    REQUIRE(tx);
    insert(db, "kept");
    REQUIRE(tx->commit());
  }
  {
    auto tx = sqlite::Transaction::begin(db);  // rolled back when it goes out of scope
    REQUIRE(tx);
    insert(db, "dropped");
  }
  {
    auto tx = sqlite::Transaction::begin(db);
    REQUIRE(tx);
    insert(db, "kept too");
    REQUIRE(tx->commit());
  }
  REQUIRE(db.commit_batch());
  CHECK_FALSE(db.in_batch());
  CHECK(count_rows(db, "v LIKE 'kept%'") == 2);
  CHECK(count_rows(db, "v = 'dropped'") == 0);
}

TEST_CASE("a batch without savepoints asks for them once a job rolls back what it changed", "[unit][store][batch]") {
  test::TempDir dir;
  sqlite::Db db;
  REQUIRE(db.open(dir.file("joined.db")));
  REQUIRE(db.exec("CREATE TABLE t (v TEXT UNIQUE)"));
  insert(db, "before");
  REQUIRE(db.begin_batch(false));
  {
    auto tx = sqlite::Transaction::begin(db);
    REQUIRE(tx);
    insert(db, "joined");
    REQUIRE(tx->commit());
  }
  {
    auto tx = sqlite::Transaction::begin(db);  // rolled back, but it changed nothing
    REQUIRE(tx);
    CHECK(count_rows(db, "v = 'joined'") == 1);
    auto q = db.query("INSERT INTO t (v) VALUES (?)");
    REQUIRE(q);
    CHECK_FALSE((*q)->bind(1, std::string("before")).run());  // refused: UNIQUE
  }
  CHECK_FALSE(db.batch_needs_savepoints());
  {
    auto tx = sqlite::Transaction::begin(db);  // changed a row, then rolled back
    REQUIRE(tx);
    insert(db, "undone");
  }
  CHECK(db.batch_needs_savepoints());
  CHECK(db.batch_alive());
  // Its row cannot be taken back alone: the caller rolls the batch back and starts over.
  CHECK(count_rows(db, "v = 'undone'") == 1);
  REQUIRE(db.rollback_batch());
  CHECK_FALSE(db.in_batch());
  CHECK(count_rows(db, "1") == 1);  // only the row from before the batch
  REQUIRE(db.begin_batch(true));
  {
    auto tx = sqlite::Transaction::begin(db);
    REQUIRE(tx);
    insert(db, "undone");
  }
  CHECK_FALSE(db.batch_needs_savepoints());  // the savepoint took it back
  REQUIRE(db.commit_batch());
  CHECK(count_rows(db, "1") == 1);
}

TEST_CASE("a savepoint whose journal outgrows memory still rolls back whole", "[unit][store][batch]") {
  // Savepoint journals stay in memory up to 4 MiB a connection; past that they spill to a file.
  test::TempDir dir;
  sqlite::Db db;
  REQUIRE(db.open(dir.file("spill.db")));
  {  // as the store runs it: in WAL mode every page a savepoint changes goes to its journal
    auto q = db.query("PRAGMA journal_mode=WAL");
    REQUIRE(q);
    REQUIRE((*q)->step());
  }
  REQUIRE(db.exec("CREATE TABLE t (v TEXT)"));
  REQUIRE(
      db.exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
              "INSERT INTO t (v) SELECT 'old ' || printf('%.3000d', i) FROM n"));  // about 9 MB
  REQUIRE(db.begin_batch());
  {
    auto tx = sqlite::Transaction::begin(db);
    REQUIRE(tx);
    insert(db, "kept");
    REQUIRE(tx->commit());
  }
  {
    auto tx = sqlite::Transaction::begin(db);  // every page changed, then rolled back
    REQUIRE(tx);
    auto updated = db.exec("UPDATE t SET v = 'new ' || substr(v, 5) WHERE v LIKE 'old %'");
    INFO((updated ? std::string() : updated.error().message));
    REQUIRE(updated);
    CHECK(count_rows(db, "v LIKE 'new %'") == 3000);
  }
  REQUIRE(db.commit_batch());
  CHECK(count_rows(db, "v LIKE 'old %'") == 3000);
  CHECK(count_rows(db, "v LIKE 'new %'") == 0);
  CHECK(count_rows(db, "v = 'kept'") == 1);
}

TEST_CASE("a batch whose database fills up reports it, and keeps nothing it did not commit", "[unit][store][batch]") {
  test::TempDir dir;
  sqlite::Db db;
  REQUIRE(db.open(dir.file("full.db")));
  REQUIRE(db.exec("CREATE TABLE t (v TEXT)"));
  auto q = db.query("PRAGMA page_count");
  REQUIRE(q);
  REQUIRE(*(*q)->step());
  const int64_t pages = (*q)->column_int64(0);
  REQUIRE(db.exec("PRAGMA max_page_count = " + std::to_string(pages + 4)));  // a disk about to be full

  REQUIRE(db.begin_batch());
  {
    auto tx = sqlite::Transaction::begin(db);
    REQUIRE(tx);
    insert(db, "small");
    REQUIRE(tx->commit());
  }
  bool failed = false;
  {
    auto tx = sqlite::Transaction::begin(db);
    REQUIRE(tx);
    for (int i = 0; i < 50 && !failed; ++i) {
      auto ins = db.query("INSERT INTO t (v) VALUES (?)");
      REQUIRE(ins);
      failed = !(*ins)->bind(1, std::string(4000, 'x')).run();
    }
  }
  REQUIRE(failed);  // SQLITE_FULL
  auto committed = db.commit_batch();
  // Whatever SQLite chose to undo on SQLITE_FULL, the outcome is reported truthfully.
  if (committed)
    CHECK(count_rows(db, "v = 'small'") == 1);
  else
    CHECK(count_rows(db, "v = 'small'") == 0);
  CHECK(count_rows(db, "length(v) = 4000") == 0);
}

TEST_CASE("queued hot-path writes share one commit and fail one by one", "[unit][store][batch][executor]") {
  test::TempDir dir;
  StoreExecutor ex(open_sqlite_store(StoreOptions{dir.file("oneapi.db"), 3000, {}}));
  boost::asio::io_context ioc;
  constexpr int kJobs = 40;
  int ok = 0, refused = 0, undone = 0;
  hold_store_thread(ex, ioc);
  for (int i = 0; i < kJobs; ++i) {
    // Every fifth one collides with an earlier name: refused alone, the others unharmed.
    const std::string name = i % 5 == 4 ? "user-0" : "user-" + std::to_string(i);
    spawn_create_user(ex, ioc, i, name, 0, undone, [&](const Result<User>& r) { ++(r ? ok : refused); });
  }
  ioc.run();
  CHECK(ok == kJobs - kJobs / 5);
  CHECK(refused == kJobs / 5);
  CHECK(undone == 0);
  CHECK(ex.largest_batch() > 1);
  auto count = [](Store& s) { return s.list_users(); };
  auto users = ex.run_blocking(std::move(count));
  REQUIRE(users);
  size_t named = 0;
  for (const auto& u : *users) named += u.username.rfind("user-", 0) == 0;
  CHECK(named == static_cast<size_t>(kJobs - kJobs / 5));
}

TEST_CASE("a batch whose job fails after writing runs again with savepoints, the others unharmed",
          "[unit][store][batch][executor]") {
  test::TempDir dir;
  const std::string path = dir.file("oneapi.db");
  StoreExecutor ex(open_sqlite_store(StoreOptions{path, 3000, {}}));
  {
    // user-4's new-user grant is refused after its user row went in: that job must roll back
    // a change of its own, which only a savepoint can do without the rest of the batch.
    sqlite::Db side;
    REQUIRE(side.open(path));
    REQUIRE(
        side.exec("CREATE TRIGGER refuse_grant BEFORE INSERT ON logs WHEN NEW.username = 'user-4' "
                  "BEGIN SELECT RAISE(ABORT, 'grant refused by the test'); END"));
  }
  boost::asio::io_context ioc;
  constexpr int kJobs = 10;
  int ok = 0, undone = 0;
  std::string refused;
  hold_store_thread(ex, ioc);
  for (int i = 0; i < kJobs; ++i)
    spawn_create_user(ex, ioc, i, "user-" + std::to_string(i), 100, undone, [&](const Result<User>& r) {
      if (r)
        ++ok;
      else
        refused += r.error().message;
    });
  ioc.run();
  REQUIRE(ex.largest_batch() == kJobs);
  CHECK(ok == kJobs - 1);
  CHECK_THAT(refused, Catch::Contains("grant refused by the test"));
  // user-0 … user-3 had succeeded in the first pass: undone once each, then run again.
  CHECK(undone == 4);
  auto count = [](Store& s) { return s.list_users(); };
  auto users = ex.run_blocking(std::move(count));
  REQUIRE(users);
  std::set<std::string> names;
  for (const auto& u : *users) names.insert(u.username);
  for (int i = 0; i < kJobs; ++i) CHECK(names.count("user-" + std::to_string(i)) == (i == 4 ? 0u : 1u));
  sqlite::Db side;
  REQUIRE(side.open(path));
  auto q = side.query("SELECT COUNT(*) FROM logs WHERE content LIKE 'new user grant%'");
  REQUIRE(q);
  REQUIRE(*(*q)->step());
  CHECK((*q)->column_int64(0) == kJobs - 1);  // one grant each, none twice
}

TEST_CASE("the statement cache tells SQL apart by its text, not by where the text lies", "[unit][store]") {
  test::TempDir dir;
  sqlite::Db db;
  REQUIRE(db.open(dir.file("cache.db")));
  REQUIRE(db.exec("CREATE TABLE t (v TEXT)"));
  REQUIRE(db.exec("INSERT INTO t (v) VALUES ('a'), ('b'), ('bb')"));
  // One buffer, rewritten in place: the same address and length each time, other SQL.
  char sql[] = "SELECT COUNT(*) FROM t WHERE v = 'a'";
  auto count = [&] { return scalar(db, std::string_view(sql, sizeof sql - 1)); };
  CHECK(count() == 1);
  sql[sizeof sql - 3] = 'c';
  CHECK(count() == 0);
  sql[sizeof sql - 3] = 'b';
  CHECK(count() == 1);
  CHECK(count() == 1);  // found again by its address
  sql[sizeof sql - 3] = 'a';
  CHECK(count() == 1);
  CHECK(count_rows(db, "v > 'a'") == 2);  // a string built for the call, wherever it lands
  CHECK(count_rows(db, "v > 'b'") == 1);
}

TEST_CASE("under steady writes the store thread starts the SQLite WAL over soon after 4000 pages",
          "[unit][store][executor]") {
  test::TempDir dir;
  const std::string path = dir.file("oneapi.db");
  const std::string wal_file = path + "-wal";
  StoreExecutor ex(open_sqlite_store(StoreOptions{path, 3000, {}}));
  auto setup = [](Store& db) { return test::BilledAccount::create(db); };
  const test::BilledAccount account = ex.run_blocking(std::move(setup));
  const auto write = [&](int n) {
    auto job = [&, n](Store& db) {
      test::charge_and_settle(db, account, "steady-" + std::to_string(n));
      return 0;
    };
    ex.run_blocking(std::move(job));
  };
  // At full speed until the WAL holds 4000 pages, past which a pass asks the store thread to copy
  // the rest and start the WAL over.
  const test::WalFramesWritten written;
  test::largest_wal_while_writing(wal_file, 4'000, write);
  const uint32_t sequence = test::wal_checkpoint_sequence(wal_file);
  // Then a request every few hundred µs, as under steady load: the writer appends while each pass
  // of the checkpointer copies, so no pass leaves the WAL wholly copied. The store thread copies
  // what came meanwhile after its next job, and the write after that starts the WAL over, long
  // before the 16000 pages at which the writer would copy at a commit (see store_test).
  int n = 1'000'000;
  while (test::wal_checkpoint_sequence(wal_file) == sequence && written() < 15'000) {
    write(++n);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  CHECK(test::wal_checkpoint_sequence(wal_file) != sequence);
  CHECK(written() < 15'000);
}
