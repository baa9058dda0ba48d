#include "store/migrations.hpp"

#include <cctype>
#include <iterator>

#include "core/util.hpp"

namespace oneapi::store {

namespace {

struct Migration {
  int version;
  const char* sql;
};

// Table and column names are One API's, so a database can move between the two. Append new
// migrations at the end; never edit one that has shipped.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE IF NOT EXISTS users (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT UNIQUE,
  password TEXT NOT NULL DEFAULT '',
  display_name TEXT DEFAULT '',
  role INTEGER DEFAULT 1,
  status INTEGER DEFAULT 1,
  email TEXT DEFAULT '',
  github_id TEXT DEFAULT '',
  wechat_id TEXT DEFAULT '',
  lark_id TEXT DEFAULT '',
  oidc_id TEXT DEFAULT '',
  access_token TEXT UNIQUE,
  quota INTEGER DEFAULT 0,
  used_quota INTEGER DEFAULT 0,
  request_count INTEGER DEFAULT 0,
  "group" TEXT DEFAULT 'default',
  aff_code TEXT UNIQUE,
  inviter_id INTEGER DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_users_email ON users(email);
CREATE INDEX IF NOT EXISTS idx_users_inviter_id ON users(inviter_id);

CREATE TABLE IF NOT EXISTS tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER NOT NULL DEFAULT 0,
  "key" TEXT UNIQUE,
  status INTEGER DEFAULT 1,
  name TEXT DEFAULT '',
  created_time INTEGER DEFAULT 0,
  accessed_time INTEGER DEFAULT 0,
  expired_time INTEGER DEFAULT -1,
  remain_quota INTEGER DEFAULT 0,
  unlimited_quota INTEGER DEFAULT 0,
  used_quota INTEGER DEFAULT 0,
  models TEXT DEFAULT '',
  subnet TEXT DEFAULT ''
);
CREATE INDEX IF NOT EXISTS idx_tokens_user_id ON tokens(user_id);
CREATE INDEX IF NOT EXISTS idx_tokens_name ON tokens(name);

CREATE TABLE IF NOT EXISTS channels (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type INTEGER DEFAULT 0,
  "key" TEXT NOT NULL DEFAULT '',
  status INTEGER DEFAULT 1,
  name TEXT DEFAULT '',
  weight INTEGER DEFAULT 0,
  created_time INTEGER DEFAULT 0,
  test_time INTEGER DEFAULT 0,
  response_time INTEGER DEFAULT 0,
  base_url TEXT DEFAULT '',
  other TEXT DEFAULT '',
  balance REAL DEFAULT 0,
  balance_updated_time INTEGER DEFAULT 0,
  models TEXT DEFAULT '',
  "group" TEXT DEFAULT 'default',
  used_quota INTEGER DEFAULT 0,
  model_mapping TEXT DEFAULT '',
  priority INTEGER DEFAULT 0,
  config TEXT DEFAULT '',
  system_prompt TEXT DEFAULT ''
);
CREATE INDEX IF NOT EXISTS idx_channels_name ON channels(name);

CREATE TABLE IF NOT EXISTS abilities (
  "group" TEXT NOT NULL,
  model TEXT NOT NULL,
  channel_id INTEGER NOT NULL,
  enabled INTEGER DEFAULT 1,
  priority INTEGER DEFAULT 0,
  PRIMARY KEY ("group", model, channel_id)
);
CREATE INDEX IF NOT EXISTS idx_abilities_channel_id ON abilities(channel_id);

CREATE TABLE IF NOT EXISTS redemptions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER DEFAULT 0,
  "key" TEXT UNIQUE,
  status INTEGER DEFAULT 1,
  name TEXT DEFAULT '',
  quota INTEGER DEFAULT 100,
  created_time INTEGER DEFAULT 0,
  redeemed_time INTEGER DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_redemptions_name ON redemptions(name);

CREATE TABLE IF NOT EXISTS logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id INTEGER DEFAULT 0,
  created_at INTEGER DEFAULT 0,
  type INTEGER DEFAULT 0,
  content TEXT DEFAULT '',
  username TEXT DEFAULT '',
  token_name TEXT DEFAULT '',
  model_name TEXT DEFAULT '',
  quota INTEGER DEFAULT 0,
  prompt_tokens INTEGER DEFAULT 0,
  completion_tokens INTEGER DEFAULT 0,
  channel INTEGER DEFAULT 0,
  request_id TEXT DEFAULT '',
  elapsed_time INTEGER DEFAULT 0,
  is_stream INTEGER DEFAULT 0,
  system_prompt_reset INTEGER DEFAULT 0,
  token_id INTEGER DEFAULT 0
);
CREATE INDEX IF NOT EXISTS idx_logs_request_id ON logs(request_id);
CREATE INDEX IF NOT EXISTS idx_logs_created_at ON logs(created_at);
CREATE INDEX IF NOT EXISTS idx_created_at_type ON logs(type, created_at);
CREATE INDEX IF NOT EXISTS idx_logs_token_name ON logs(token_name);
CREATE INDEX IF NOT EXISTS idx_logs_model_name ON logs(model_name);
CREATE INDEX IF NOT EXISTS idx_logs_user_id ON logs(user_id);

CREATE TABLE IF NOT EXISTS options (
  "key" TEXT PRIMARY KEY,
  value TEXT
);
)sql"},
    {2, R"sql(
ALTER TABLE redemptions ADD COLUMN redeemed_by INTEGER DEFAULT 0;
ALTER TABLE logs ADD COLUMN cached_prompt_tokens INTEGER DEFAULT 0;
-- Log pages are ordered by (created_at, id), newest first: each filter column gets an index
-- that ends in created_at (and, implicitly, the rowid), so a filtered page of a million rows is
-- read straight off one index, with or without a time range, never sorted.
DROP INDEX IF EXISTS idx_logs_user_id;
DROP INDEX IF EXISTS idx_logs_token_name;
DROP INDEX IF EXISTS idx_logs_model_name;
CREATE INDEX IF NOT EXISTS idx_logs_user_created ON logs(user_id, created_at);
CREATE INDEX IF NOT EXISTS idx_logs_username_created ON logs(username, created_at);
CREATE INDEX IF NOT EXISTS idx_logs_token_created ON logs(token_name, created_at);
CREATE INDEX IF NOT EXISTS idx_logs_model_created ON logs(model_name, created_at);
CREATE INDEX IF NOT EXISTS idx_logs_channel_created ON logs(channel, created_at);
)sql"},
    {3, R"sql(
-- Keys of a multi-key channel that the upstream rejected, out of rotation until the channel's keys
-- change or it is enabled again. key_hash names a key without storing it a second time.
CREATE TABLE IF NOT EXISTS channel_disabled_keys (
  channel_id INTEGER NOT NULL,
  key_hash TEXT NOT NULL,
  reason TEXT DEFAULT '',
  disabled_at INTEGER DEFAULT 0,
  PRIMARY KEY (channel_id, key_hash)
);
)sql"},
    {4, R"sql(
-- The node (NODE_NAME) whose request a provisional row is: a node starting up, or stopping,
-- refunds only its own unfinished requests, never those another node is still serving.
ALTER TABLE logs ADD COLUMN node TEXT DEFAULT '';
)sql"},
};

}  // namespace

int latest_schema_version() { return std::prev(std::end(kMigrations))->version; }

Result<int> schema_version(sql::Db& db) {
  auto q = db.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!q) return q.error();
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return 0;
  return (*q)->column_int(0);
}

namespace {

bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Replaces whole words only, outside quotes (column names like "type" stay as they are).
std::string replace_word(const std::string& sql, std::string_view word, std::string_view with) {
  std::string out;
  char quote = 0;
  for (size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (quote) {
      if (c == quote) quote = 0;
      out += c;
      ++i;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
      ++i;
      continue;
    }
    if (sql.compare(i, word.size(), word) == 0 && (i == 0 || !is_word_char(sql[i - 1])) &&
        (i + word.size() == sql.size() || !is_word_char(sql[i + word.size()]))) {
      out += with;
      i += word.size();
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

}  // namespace

// The migrations are written in SQLite's types; a server gets 64-bit integers (quota and times
// outgrow 32 bits) and its own auto-increment.
std::string ddl_for(sql::Dialect dialect, const std::string& sql) {
  if (dialect == sql::Dialect::sqlite) return sql;
  std::string out = replace_word(sql, "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY");
  out = replace_word(out, "INTEGER", "BIGINT");
  out = replace_word(out, "REAL", "DOUBLE PRECISION");
  return out;
}

Result<void> migrate(sql::Db& db) {
  // Nodes starting together on one server take turns: the first applies, the others find it done.
  const bool server = db.dialect() == sql::Dialect::postgres;
  if (server)
    if (auto r = db.exec("SELECT pg_advisory_lock(7461010)"); !r) return r;
  struct Unlock {
    sql::Db& db;
    bool on;
    ~Unlock() {
      if (on) (void)db.exec("SELECT pg_advisory_unlock(7461010)");
    }
  } unlock{db, server};
  if (auto r = db.exec(ddl_for(db.dialect(),
                               "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at "
                               "INTEGER)"));
      !r)
    return r;
  for (const Migration& m : kMigrations) {
    auto tx = sql::Transaction::begin(db);
    if (!tx) return tx.error();
    // Checked inside the write transaction: two daemons starting at once cannot both apply it.
    {
      auto q = db.query("SELECT 1 FROM schema_migrations WHERE version = ?");
      if (!q) return q.error();
      auto row = (*q)->bind(1, m.version).step();
      if (!row) return row.error();
      if (*row) continue;  // applied; the transaction rolls back (nothing to undo)
    }
    if (auto r = db.exec(ddl_for(db.dialect(), m.sql)); !r) {
      Error e = r.error();
      e.message = "migration " + std::to_string(m.version) + ": " + e.message;
      return e;
    }
    auto q = db.query("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
    if (!q) return q.error();
    if (auto r = (*q)->bind_all(m.version, unix_now()).run(); !r) return r;
    if (auto r = tx->commit(); !r) return r;
  }
  return {};
}

}  // namespace oneapi::store
