// The WAL-gathering VFS (store/sqlite_vfs.hpp): a commit's frames reach the file in one write,
// and a commit is in the file when COMMIT returns, for small transactions and for large ones that
// spill, rewrite frames and rewrite checksums.
#include "store/sqlite_vfs.hpp"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "store/sqlite.hpp"
#include "support/temp_dir.hpp"
#include "support/test_database.hpp"

using namespace oneapi;
using namespace oneapi::store;

namespace {

// 1,500 rows of 2,000 bytes: about 3 MB, far more than an 8-page cache holds.
const std::string kInsertManyRows =
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) "
    "INSERT INTO t (v) SELECT printf('%.2000d', i) FROM n";

using test::scalar;

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

// In WAL mode with an 8-page cache, so a large transaction spills frames mid-way; and table t.
void open_spilling(sqlite::Db& db, const std::string& path) {
  open_wal(db, path);
  REQUIRE(db.exec("PRAGMA cache_size=8; CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"));
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
  open_spilling(db, path);
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

TEST_CASE("vfs: frames of a rolled-back transaction never reach the file over another connection's commit",
          "[unit][store][vfs]") {
  test::TempDir dir;
  const std::string path = dir.file("two.db");
  sqlite::Db a;
  open_spilling(a, path);
  // A spills frames into the WAL mid-transaction (gathered, not yet written), then rolls back.
  REQUIRE(a.exec("BEGIN IMMEDIATE"));
  REQUIRE(a.exec(kInsertManyRows));
  REQUIRE(a.exec("ROLLBACK"));
  // B commits where A's frames would have gone.
  sqlite::Db b;
  open_wal(b, path);
  REQUIRE(b.exec("BEGIN IMMEDIATE; INSERT INTO t (v) VALUES ('b'); " + kInsertManyRows + "; COMMIT"));
  // A reads (and writes) the WAL again: nothing of its rolled-back transaction may go out now.
  CHECK(scalar(a, "SELECT COUNT(*) FROM t") == 1501);
  REQUIRE(a.exec("INSERT INTO t (v) VALUES ('a')"));
  sqlite::Db fresh;
  REQUIRE(fresh.open(path));
  CHECK(text(fresh, "PRAGMA integrity_check") == "ok");
  CHECK(scalar(fresh, "SELECT COUNT(*) FROM t") == 1502);
  CHECK(scalar(fresh, "SELECT COUNT(*) FROM t WHERE v IN ('a', 'b')") == 2);
}

TEST_CASE("vfs: what a write transaction gathered goes out before its write lock is let go", "[unit][store][vfs]") {
  test::TempDir dir;
  const std::string path = dir.file("lock.db");
  {
    sqlite::Db db;  // installs the VFS, and makes a WAL-mode database
    open_wal(db, path);
  }
  sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr);
  REQUIRE(vfs);
  REQUIRE(std::string(vfs->zName) == "oneapi-wal-gather");
  std::vector<char> db_mem(static_cast<size_t>(vfs->szOsFile)), wal_mem(static_cast<size_t>(vfs->szOsFile));
  auto* db = reinterpret_cast<sqlite3_file*>(db_mem.data());
  auto* wal = reinterpret_cast<sqlite3_file*>(wal_mem.data());
  std::vector<char> db_name(path.begin(), path.end()), wal_name;
  db_name.resize(db_name.size() + 4, '\0');  // SQLite's names end in two NULs (URI parameters)
  const std::string wal_path = path + "-wal";
  wal_name.assign(wal_path.begin(), wal_path.end());
  wal_name.resize(wal_name.size() + 4, '\0');
  int out = 0;
  REQUIRE(vfs->xOpen(vfs, db_name.data(), db, SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_READWRITE, &out) == SQLITE_OK);
  REQUIRE(vfs->xOpen(vfs, wal_name.data(), wal, SQLITE_OPEN_WAL | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &out) ==
          SQLITE_OK);
  void volatile* shm = nullptr;
  REQUIRE(db->pMethods->xShmMap(db, 0, 32 * 1024, 1, &shm) == SQLITE_OK);
  REQUIRE(db->pMethods->xShmLock(db, 0, 1, SQLITE_SHM_LOCK | SQLITE_SHM_EXCLUSIVE) == SQLITE_OK);
  // A frame that does not end a commit (bytes 4-7 of its header are 0), as a spill writes it.
  const std::string header(32, 'h'), frame_header(24, '\0'), page(4096, 'p');
  const auto before = sqlite::wal_write_counts();
  REQUIRE(wal->pMethods->xWrite(wal, header.data(), 32, 0) == SQLITE_OK);
  REQUIRE(wal->pMethods->xWrite(wal, frame_header.data(), 24, 32) == SQLITE_OK);
  REQUIRE(wal->pMethods->xWrite(wal, page.data(), 4096, 56) == SQLITE_OK);
  CHECK(sqlite::wal_write_counts().issued == before.issued);  // gathered, not written
  CHECK(std::filesystem::file_size(wal_path) == 0);
  REQUIRE(db->pMethods->xShmLock(db, 0, 1, SQLITE_SHM_UNLOCK | SQLITE_SHM_EXCLUSIVE) == SQLITE_OK);
  CHECK(sqlite::wal_write_counts().issued == before.issued + 1);
  CHECK(std::filesystem::file_size(wal_path) == 32 + 24 + 4096);
  CHECK(db->pMethods->xShmUnmap(db, 0) == SQLITE_OK);
  CHECK(wal->pMethods->xClose(wal) == SQLITE_OK);
  CHECK(db->pMethods->xClose(db) == SQLITE_OK);
}
