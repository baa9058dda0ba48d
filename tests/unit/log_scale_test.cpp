// A million log rows: every filter the API offers reads its page straight off an index (no table
// scan, no sort), and the page is the right one. Query plans, not timings, so it cannot flake.
#include <catch2/catch.hpp>
#include <string>

#include "store/sql_accounts.hpp"
#include "store/sqlite.hpp"
#include "store/store.hpp"
#include "support/temp_dir.hpp"

using namespace oneapi;
using namespace oneapi::store;

namespace {

constexpr int kRows = 1'000'000;
constexpr int64_t kBase = 1'700'000'000;

void fill(const std::string& path) {
  sqlite::Db db;
  REQUIRE(db.open(path));
  // One big transaction is cheapest with a rollback journal and a large cache (WAL would copy
  // every page into the log first); the store switches back to WAL when it reopens the file.
  REQUIRE(db.exec("PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;"));
  // Generated inside SQLite (a system library, so just as fast in the sanitizer build): row i
  // belongs to user i % 100 + 1, is a top-up when i % 50 == 0, and was created at kBase + 3i.
  REQUIRE(db.exec("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < " +
                  std::to_string(kRows - 1) +
                  ") INSERT INTO logs (user_id, created_at, type, username, token_name, model_name, quota, "
                  "prompt_tokens, completion_tokens, channel, request_id) SELECT i % 100 + 1, " +
                  std::to_string(kBase) +
                  " + 3 * i, CASE WHEN i % 50 = 0 THEN 1 ELSE 2 END, 'user' || (i % 100), 'tok' || (i % 100), "
                  "CASE i % 4 WHEN 0 THEN 'gpt-4o' WHEN 1 THEN 'gpt-4o-mini' WHEN 2 THEN 'claude-3-5-sonnet' "
                  "ELSE 'gemini-2.0-flash' END, 10, 5, 5, i % 7 + 1, 'req' || i FROM n"));
}

std::string plan_of(sqlite::Db& db, const LogFilter& f) {
  sql_accounts::SqlParams params;
  const std::string sql = sql_accounts::log_page_sql(f, params);
  auto q = db.prepare("EXPLAIN QUERY PLAN " + sql);
  REQUIRE(q);
  int i = 0;
  for (const auto& p : params) std::visit([&](const auto& v) { (*q)->bind(++i, v); }, p);
  std::string plan;
  for (;;) {
    auto row = (*q)->step();
    REQUIRE(row);
    if (!*row) break;
    plan += (*q)->column_text(3) + "; ";
  }
  return plan;
}

}  // namespace

TEST_CASE("a million log rows: every filtered page is read off an index", "[store][logs][scale]") {
  test::TempDir dir("oneapi-logs-");
  const std::string path = dir.file("oneapi.db");
  open_sqlite_store(StoreOptions{path, 3000, {}}).reset();  // creates the schema
  fill(path);
  auto store = open_sqlite_store(StoreOptions{path, 3000, {}});

  LogFilter none, type, user, username, token, model, channel, range, old_range, type_range, user_range, mixed;
  type.type = 2;
  user.user_id = 6;
  username.username = "user5";
  token.token_name = "tok5";
  model.model_name = "gemini-2.0-flash";
  channel.channel_id = 3;
  range.start_timestamp = kBase + 1'000'000;
  range.end_timestamp = kBase + 1'100'000;
  old_range.end_timestamp = kBase + 100'000;
  type_range.type = 1;
  type_range.end_timestamp = kBase + 100'000;
  user_range.user_id = 6;
  user_range.end_timestamp = kBase + 100'000;
  mixed.username = "user5";
  mixed.model_name = "gpt-4o-mini";  // user5 rows are i = 5 + 100k: i % 4 == 1
  mixed.start_timestamp = kBase + 2'500'000;

  sqlite::Db db;
  REQUIRE(db.open(path));
  for (LogFilter* f : {&none, &type, &user, &username, &token, &model, &channel, &range, &old_range, &type_range,
                       &user_range, &mixed}) {
    f->limit = 10;
    f->offset = 20;
    const std::string plan = plan_of(db, *f);
    INFO(plan);
    if (f != &none) CHECK(plan.find("USING INDEX") != std::string::npos);
    CHECK(plan.find("TEMP B-TREE") == std::string::npos);
    if (f != &none) CHECK(plan.find("SCAN logs") == std::string::npos);
  }

  // And the pages are right: newest first, filtered, offset applied.
  auto page = store->list_logs(user_range);
  REQUIRE(page);
  REQUIRE(page->size() == 10);
  int64_t previous = INT64_MAX;
  for (const auto& l : *page) {
    CHECK(l.user_id == 6);
    CHECK(l.created_at <= kBase + 100'000);
    CHECK(l.created_at < previous);
    previous = l.created_at;
  }
  // user 6 has rows i = 5, 105, 205, …; at or before kBase + 100000 the newest is i = 33305.
  CHECK((*page)[0].created_at == kBase + (33'305 - 20 * 100) * 3);

  auto mixed_page = store->list_logs(mixed);
  REQUIRE(mixed_page);
  REQUIRE(mixed_page->size() == 10);
  for (const auto& l : *mixed_page) {
    CHECK(l.username == "user5");
    CHECK(l.model_name == "gpt-4o-mini");
  }
  auto stat = store->log_stat(username);
  REQUIRE(stat);
  CHECK(stat->requests == 10'000);  // every user5 row is a consume row (top-ups are i % 50 == 0)
  CHECK(stat->quota == 100'000);
}
