// LOG_SQL_DSN on SQLite: logs move to a second file once settled; readers see each row exactly
// once, also after a crash between the copy and the delete.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "core/util.hpp"
#include "store/store.hpp"
#include "support/result_check.hpp"
#include "support/temp_dir.hpp"

using namespace oneapi;
using namespace oneapi::store;
using oneapi::test::ok;

namespace {

int64_t count(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

void exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) == SQLITE_OK);
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  INFO((msg ? msg : ""));
  sqlite3_free(msg);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}

struct Split {
  test::TempDir dir{"oneapi-logdb-"};
  std::string main_path = dir.file("one-api.db");
  std::string log_path = dir.file("logs.db");
  std::unique_ptr<Store> db = open_sqlite_store(StoreOptions{main_path, 3000, log_path});

  User user(const std::string& name = "alice") {
    NewUser n;
    n.user.username = name;
    return ok(db->create_user(n));
  }
  int64_t listed() {
    LogFilter f;
    f.limit = 0;
    return static_cast<int64_t>(ok(db->list_logs(f)).size());
  }
};

}  // namespace

TEST_CASE("split logs: rows move to the log file and are listed once", "[store][logdb]") {
  Split s;
  REQUIRE(s.db->logs_split());
  User u = s.user();
  for (int i = 0; i < 5; ++i) ok(s.db->topup_user(u.id, 10, "topup " + std::to_string(i)));
  CHECK(s.listed() == 5);
  CHECK(ok(s.db->ship_logs(3)) == 3);  // oldest first, batch-bounded
  CHECK(count(s.log_path, "SELECT COUNT(*) FROM logs") == 3);
  CHECK(count(s.main_path, "SELECT COUNT(*) FROM logs") == 2);
  CHECK(s.listed() == 5);
  CHECK(ok(s.db->ship_logs(100)) == 2);
  CHECK(ok(s.db->ship_logs(100)) == 0);
  CHECK(count(s.main_path, "SELECT COUNT(*) FROM logs") == 0);
  CHECK(s.listed() == 5);

  LogFilter topups;
  topups.type = static_cast<int>(LogType::topup);
  topups.limit = 2;
  auto page = ok(s.db->list_logs(topups));
  REQUIRE(page.size() == 2);
  CHECK(page[0].content == "topup 4");  // newest first across both files

  // New rows land in main again and are seen next to the shipped ones.
  ok(s.db->topup_user(u.id, 10, "topup 5"));
  CHECK(s.listed() == 6);
  CHECK(ok(s.db->purge_logs(unix_now() + 10)) == 6);
  CHECK(s.listed() == 0);
}

TEST_CASE("split logs: a crash between copy and delete leaves no duplicate and loses nothing", "[store][logdb]") {
  Split s;
  User u = s.user();
  for (int i = 0; i < 3; ++i) ok(s.db->topup_user(u.id, 10, "topup " + std::to_string(i)));
  // What the first of the shipper's two transactions leaves when the process dies after it.
  s.db.reset();
  exec(s.main_path, "ATTACH DATABASE '" + s.log_path + "' AS logdb; INSERT INTO logdb.logs SELECT * FROM main.logs");
  REQUIRE(count(s.log_path, "SELECT COUNT(*) FROM logs") == 3);
  REQUIRE(count(s.main_path, "SELECT COUNT(*) FROM logs") == 3);

  s.db = open_sqlite_store(StoreOptions{s.main_path, 3000, s.log_path});
  CHECK(s.listed() == 3);
  LogFilter all;
  CHECK(ok(s.db->log_stat(all)).requests == 0);  // topups are not consumption
  all.type = static_cast<int>(LogType::topup);
  CHECK(ok(s.db->log_stat(all)).requests == 3);
  CHECK(ok(s.db->ship_logs(100)) == 3);  // the leftovers are deleted, not copied twice
  CHECK(count(s.log_path, "SELECT COUNT(*) FROM logs") == 3);
  CHECK(count(s.main_path, "SELECT COUNT(*) FROM logs") == 0);
  CHECK(s.listed() == 3);
}

TEST_CASE("split logs: an older log file gains the columns added since", "[store][logdb]") {
  test::TempDir dir{"oneapi-logdb-"};
  const std::string log_path = dir.file("logs.db");
  exec(log_path,
       "CREATE TABLE logs (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id INTEGER DEFAULT 0, "
       "created_at INTEGER DEFAULT 0, type INTEGER DEFAULT 0, content TEXT DEFAULT '')");
  auto db = open_sqlite_store(StoreOptions{dir.file("one-api.db"), 3000, log_path});
  NewUser n;
  n.user.username = "alice";
  User u = ok(db->create_user(n));
  ok(db->topup_user(u.id, 10, "after upgrade"));
  CHECK(ok(db->ship_logs(10)) == 1);
  CHECK(count(log_path, "SELECT cached_prompt_tokens FROM logs") == 0);
  CHECK(count(log_path, "SELECT COUNT(*) FROM pragma_index_list('logs') WHERE name = 'idx_logs_request_id'") == 1);
}

TEST_CASE("split logs: the log file cannot be the main database", "[store][logdb]") {
  test::TempDir dir{"oneapi-logdb-"};
  const std::string path = dir.file("one-api.db");
  CHECK_THROWS_WITH(open_sqlite_store(StoreOptions{path, 3000, path}), Catch::Contains("another file"));
}
