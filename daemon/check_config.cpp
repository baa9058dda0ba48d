// oneapid --check-config: what a start would use, checked without starting, changing or
// creating anything (the database is opened read-only).
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "app.hpp"
#include "store/migrations.hpp"
#include "store/sql.hpp"
#include "store/store.hpp"

namespace oneapi::daemon {

namespace {

struct Report {
  int errors = 0;
  void ok(const std::string& what) { std::printf("ok: %s\n", what.c_str()); }
  void warn(const std::string& what) { std::printf("warning: %s\n", what.c_str()); }
  void fail(const std::string& what) {
    std::printf("error: %s\n", what.c_str());
    ++errors;
  }
};

// A directory the daemon must write in: present and writable, or creatable.
void check_writable_dir(Report& r, const std::string& what, const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::path existing = dir.empty() ? std::filesystem::path(".") : dir;
  while (!std::filesystem::exists(existing, ec) && existing.has_parent_path() && existing != existing.parent_path())
    existing = existing.parent_path();
  if (!std::filesystem::is_directory(existing, ec)) return r.fail(what + " " + dir.string() + ": not a directory");
  if (::access(existing.c_str(), W_OK | X_OK) != 0)
    return r.fail(what + " " + dir.string() + ": " + existing.string() + " is not writable");
  r.ok(what + " " + dir.string() + (existing == dir ? "" : " (will be created)"));
}

// `have` against what this build knows. `may_migrate`: this node migrates at start (a slave on
// a shared database does not).
void report_schema_version(Report& r, const std::string& name, int have, bool may_migrate) {
  const int want = store::latest_schema_version();
  const std::string version = "schema version " + std::to_string(have);
  if (have > want)
    r.fail(name + ": " + version + " is newer than this oneapid knows (" + std::to_string(want) + ")");
  else if (have < want && !may_migrate)
    r.fail(name + ": " + version + ", and a NODE_TYPE=slave node does not migrate (" + std::to_string(want) +
           " needed): start the master node first");
  else if (have < want)
    r.ok(name + ": " + version + ", migrated to " + std::to_string(want) + " at start");
  else
    r.ok(name + ": " + version + " (up to date)");
}

// An SQLite file: readable, intact, and a schema this build can migrate.
void check_database(Report& r, const std::string& what, const std::string& path, bool has_schema) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    check_writable_dir(r, what + " directory", std::filesystem::path(path).parent_path());
    return r.ok(what + " " + path + " will be created at start");
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    r.fail(what + " " + path + ": cannot open: " + sqlite3_errmsg(db));
    sqlite3_close(db);
    return;
  }
  auto scalar = [&](const char* sql, std::string& out) {
    sqlite3_stmt* st = nullptr;
    bool ok = sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW;
    const unsigned char* text = ok ? sqlite3_column_text(st, 0) : nullptr;
    out = ok ? (text ? reinterpret_cast<const char*>(text) : "") : sqlite3_errmsg(db);
    sqlite3_finalize(st);
    return ok;
  };
  std::string integrity, version;
  if (!scalar("PRAGMA quick_check", integrity) || integrity != "ok") {
    r.fail(what + " " + path + ": damaged or not a database (" + integrity + ")");
  } else if (!has_schema) {
    r.ok(what + " " + path + " is intact");
  } else if (!scalar("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", version)) {
    r.fail(what + " " + path + ": no schema_migrations table (" + version + ")");
  } else {
    report_schema_version(r, what + " " + path, std::stoi(version), true);
  }
  sqlite3_close(db);
}

// SQL_DSN: the server answers, and its schema is one this oneapid can use (or migrate).
void check_server_database(Report& r, const Config& cfg) {
  const std::string name = "database " + store::redact_server_dsn(cfg.sql_dsn);
  auto db = store::connect_server(cfg.sql_dsn, 5);
  if (!db) {
    r.fail(name + ": " + db.error().message);
    return;
  }
  auto version = store::schema_version(**db);
  // No schema_migrations yet: an empty database.
  report_schema_version(r, name, version ? *version : 0, !cfg.slave_node);
}

// LOG_SQL_DSN on a server: it answers, and its logs table is up to date (or will be migrated).
void check_server_log_database(Report& r, const Config& cfg) {
  const std::string name = "log database (LOG_SQL_DSN) " + store::redact_server_dsn(cfg.log_sql_dsn);
  if (cfg.log_sql_dsn == cfg.sql_dsn) return r.fail(name + ": names the main database; it must be another one");
  auto db = store::connect_server(cfg.log_sql_dsn, 5);
  if (!db) return r.fail(name + ": " + db.error().message);
  auto version = store::log_schema_version(**db);
  // No log_schema_migrations yet: an empty database, which the master gives a logs table.
  report_schema_version(r, name, version ? *version : 0, !cfg.slave_node);
}

// Polling threads hold their cores while traffic flows: as many as there are cores leave none
// for the store thread, whose commits every request waits for.
void check_busy_poll(Report& r, const Config& cfg, unsigned cores) {
  if (cfg.busy_poll.count() == 0) return;
  const std::string what = "BUSY_POLL_US=" + std::to_string(cfg.busy_poll.count()) + " with " +
                           std::to_string(cfg.threads) + " I/O thread" + (cfg.threads == 1 ? "" : "s");
  if (cores > 0 && static_cast<unsigned>(cfg.threads) >= cores)
    r.warn(what + " on " + std::to_string(cores) +
           " cores: polling threads can take every core while traffic flows, the store thread's included");
  else
    r.ok(what + ": up to a core per polling thread while traffic flows, nothing when idle");
}

}  // namespace

int check_config(const Config& cfg) {
  Report r;
  r.ok("environment and flags parsed");
  check_writable_dir(r, "data directory", cfg.data_dir);
  if (cfg.sql_dsn.empty())
    check_database(r, "database", cfg.sqlite_path, true);
  else
    check_server_database(r, cfg);
  if (!cfg.log_sqlite_path.empty()) {
    if (cfg.log_sqlite_path == cfg.sqlite_path)
      r.fail("LOG_SQL_DSN names the main database; the log database must be another file");
    else
      check_database(r, "log database (LOG_SQL_DSN)", cfg.log_sqlite_path, false);
  }
  if (!cfg.log_sql_dsn.empty()) check_server_log_database(r, cfg);
  check_writable_dir(r, "admin socket directory", std::filesystem::path(cfg.admin_socket).parent_path());
  if (!cfg.log_dir.empty()) check_writable_dir(r, "log directory", cfg.log_dir);
  const char* tiktoken_env = std::getenv("TIKTOKEN_CACHE_DIR");
  const std::filesystem::path tiktoken = tiktoken_env && *tiktoken_env
                                             ? std::filesystem::path(tiktoken_env)
                                             : std::filesystem::path(cfg.data_dir) / "tiktoken";
  std::error_code ec;
  if (std::filesystem::exists(tiktoken / "cl100k_base.tiktoken", ec) &&
      std::filesystem::exists(tiktoken / "o200k_base.tiktoken", ec))
    r.ok("tokenizer rank files in " + tiktoken.string());
  else
    r.warn("no tokenizer rank files in " + tiktoken.string() + ": token counts will be estimated");
  if (cfg.relay_proxy.empty()) r.ok("upstream connections go direct (no RELAY_PROXY)");
  check_busy_poll(r, cfg, std::thread::hardware_concurrency());
  std::printf("%s\n", r.errors == 0 ? "configuration ok" : "configuration has errors");
  return r.errors == 0 ? 0 : 1;
}

}  // namespace oneapi::daemon
