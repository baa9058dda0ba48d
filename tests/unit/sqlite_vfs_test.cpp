// The WAL-gathering VFS (store/sqlite_vfs.hpp): a commit's frames reach the file in one write,
// and a commit is in the file when COMMIT returns, for small transactions and for large ones that
// spill, rewrite frames and rewrite checksums.
#include "store/sqlite_vfs.hpp"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "store/sqlite.hpp"
#include "support/temp_dir.hpp"

using namespace oneapi;
using namespace oneapi::store;

namespace {

// 1,500 rows of 2,000 bytes: about 3 MB, far more than an 8-page cache holds.
const std::string kInsertManyRows =
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) "
    "INSERT INTO t (v) SELECT printf('%.2000d', i) FROM n";

int64_t scalar(sqlite::Db& db, const std::string& sql) {
  auto q = db.query(sql);
  REQUIRE(q);
  auto row = (*q)->step();
  REQUIRE(row);
  REQUIRE(*row);
  return (*q)->column_int64(0);
}

std::string text(sqlite::Db& db, const std::string& sql) {
  auto q = db.query(sql);
  REQUIRE(q);
  auto row = (*q)->step();
  REQUIRE(row);
  REQUIRE(*row);
  return (*q)->column_text(0);
}

void open_wal(sqlite::Db& db, const std::string& path) {
  REQUIRE(db.open(path));
  REQUIRE(text(db, "PRAGMA journal_mode=WAL") == "wal");
  REQUIRE(db.exec("PRAGMA synchronous=NORMAL"));
}

// Runs `sql` in a child process that is killed (SIGKILL) the moment it returns: what a daemon
// killed right after a commit leaves on disk. Returns the child's verdict (true: sql succeeded).
bool run_then_die(const std::string& path, const std::string& sql) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    sqlite::Db db;  // the same VFS, as the daemon opens it
    if (!db.open(path)) _exit(2);
    if (!db.exec("PRAGMA cache_size=8; PRAGMA synchronous=NORMAL")) _exit(3);
    if (!db.exec(sql)) _exit(4);
    kill(getpid(), SIGKILL);
    _exit(5);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  INFO("child status " << status);
  return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

}  // namespace

TEST_CASE("vfs: a commit's WAL frames reach the file in one write, visible to another connection at once",
          "[unit][store][vfs]") {
  test::TempDir dir;
  const std::string path = dir.file("gather.db");
  sqlite::Db db;
  open_wal(db, path);
  REQUIRE(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); CREATE INDEX t_v ON t(v)"));
  sqlite::Db other;
  REQUIRE(other.open(path));
  CHECK(scalar(other, "SELECT COUNT(*) FROM t") == 0);

  const auto before = sqlite::wal_write_counts();
  REQUIRE(
      db.exec("BEGIN IMMEDIATE; "
              "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) "
              "INSERT INTO t (v) SELECT printf('%.900d', i) FROM n; COMMIT"));
  const auto after = sqlite::wal_write_counts();
  // About 40 KB of rows and as much index: a dozen pages or more, two writes each from SQLite.
  CHECK(after.asked - before.asked >= 20);
  CHECK(after.issued - before.issued == 1);
  CHECK(scalar(other, "SELECT COUNT(*) FROM t") == 40);
}

TEST_CASE("vfs: a commit is on disk when COMMIT returns, even if the process dies at once", "[unit][store][vfs]") {
  test::TempDir dir;
  const std::string path = dir.file("killed.db");
  {
    sqlite::Db db;
    open_wal(db, path);
    REQUIRE(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
  }
  SECTION("a small transaction") {
    REQUIRE(run_then_die(path, "BEGIN IMMEDIATE; INSERT INTO t (v) VALUES ('kept'); COMMIT"));
    sqlite::Db db;
    REQUIRE(db.open(path));
    CHECK(scalar(db, "SELECT COUNT(*) FROM t WHERE v = 'kept'") == 1);
  }
  SECTION("a large one: frames spilled, written again and their checksums rewritten at the commit") {
    // 8 pages of cache: the insert spills frames mid-transaction (past the 120 KiB gather limit),
    // and the update writes those pages again, over frames of the same transaction.
    REQUIRE(
        run_then_die(path, "BEGIN IMMEDIATE; " + kInsertManyRows + "; UPDATE t SET v = 'x' || substr(v, 2); COMMIT"));
    sqlite::Db db;
    REQUIRE(db.open(path));
    CHECK(text(db, "PRAGMA integrity_check") == "ok");
    CHECK(scalar(db, "SELECT COUNT(*) FROM t WHERE v LIKE 'x%' AND length(v) = 2000") == 1500);
  }
}

TEST_CASE("vfs: a large transaction reads back what it spilled, and rolls back whole", "[unit][store][vfs]") {
  test::TempDir dir;
  const std::string path = dir.file("spill.db");
  sqlite::Db db;
  open_wal(db, path);
  REQUIRE(db.exec("PRAGMA cache_size=8; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
  REQUIRE(db.exec("INSERT INTO t (v) VALUES ('before')"));
  REQUIRE(db.exec("BEGIN IMMEDIATE"));
  REQUIRE(db.exec(kInsertManyRows));
  // Most of those pages left the 8-page cache for the WAL; reading them needs what was gathered.
  CHECK(scalar(db, "SELECT SUM(length(v)) FROM t") == 1500 * 2000 + 6);
  REQUIRE(db.exec("UPDATE t SET v = 'y' || substr(v, 2) WHERE id > 1"));
  CHECK(scalar(db, "SELECT COUNT(*) FROM t WHERE v LIKE 'y%'") == 1500);
  REQUIRE(db.exec("ROLLBACK"));
  CHECK(scalar(db, "SELECT COUNT(*) FROM t") == 1);
  REQUIRE(db.exec("INSERT INTO t (v) VALUES ('after')"));  // over the rolled-back frames
  sqlite::Db fresh;
  REQUIRE(fresh.open(path));
  CHECK(text(fresh, "PRAGMA integrity_check") == "ok");
  CHECK(scalar(fresh, "SELECT COUNT(*) FROM t") == 2);
  CHECK(scalar(fresh, "SELECT COUNT(*) FROM t WHERE v IN ('before', 'after')") == 2);
}
