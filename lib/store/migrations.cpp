#include "store/migrations.hpp"

#include <cctype>
#include <iterator>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <vector>

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

namespace {

// Comments go first: an apostrophe in one ("channel's") would read as an opening quote.
std::string strip_comments(const std::string& sql) {
  std::string out;
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') ++i;
      out += '\n';
      continue;
    }
    out += c;
  }
  return out;
}

// Splits at `sep` outside quotes and parentheses; the pieces are trimmed, empty ones dropped.
std::vector<std::string> split_top_level(const std::string& sql, char sep) {
  std::vector<std::string> out;
  std::string current;
  char quote = 0;
  int depth = 0;
  auto flush = [&] {
    const auto first = current.find_first_not_of(" \t\n");
    if (first != std::string::npos) out.push_back(current.substr(first, current.find_last_not_of(" \t\n") - first + 1));
    current.clear();
  };
  for (const char c : sql) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      --depth;
    } else if (c == sep && depth == 0) {
      flush();
      continue;
    }
    current += c;
  }
  flush();
  return out;
}

std::string unquoted(std::string name) {
  if (name.size() >= 2 && name.front() == '"' && name.back() == '"') return name.substr(1, name.size() - 2);
  return name;
}

std::vector<std::string> column_list(const std::string& inside_parens) {
  std::vector<std::string> out;
  for (const std::string& c : split_top_level(inside_parens, ',')) out.push_back(unquoted(c));
  return out;
}

// What MySQL's DDL needs to know across migrations: which TEXT columns any migration indexes
// (they must be VARCHAR there) and which table each index is on (DROP INDEX names it).
struct SchemaFacts {
  std::set<std::string> indexed;  // "table.column"
  std::map<std::string, std::string> index_table;
};

const std::regex kCreateIndex(R"(^CREATE (?:UNIQUE )?INDEX IF NOT EXISTS (\w+) ON (\w+)\s*\(([^)]*)\)$)");
const std::regex kKeyConstraint(R"(^(?:PRIMARY KEY|UNIQUE)\s*\(([^)]*)\)$)");
const std::regex kAddColumn(R"(^ALTER TABLE (\w+) ADD COLUMN ("?\w+"?) ([\s\S]*)$)");
const std::regex kDropIndex(R"(^DROP INDEX IF EXISTS (\w+)$)");

// CREATE TABLE IF NOT EXISTS name (body): the name and the body. (Not a regex: libstdc++'s
// recursion over a long body can exhaust the stack.)
bool create_table(const std::string& statement, std::string& table, std::string& body) {
  constexpr std::string_view prefix = "CREATE TABLE IF NOT EXISTS ";
  const auto open = statement.find('(');
  if (statement.rfind(prefix, 0) != 0 || open == std::string::npos || statement.back() != ')') return false;
  table = statement.substr(prefix.size(), open - prefix.size());
  while (!table.empty() && table.back() == ' ') table.pop_back();
  body = statement.substr(open + 1, statement.size() - open - 2);
  return true;
}

void learn(SchemaFacts& facts, const std::string& sql) {
  std::smatch m;
  for (const std::string& statement : split_top_level(strip_comments(sql), ';')) {
    if (std::regex_match(statement, m, kCreateIndex)) {
      facts.index_table[m[1]] = m[2];
      for (const std::string& c : column_list(m[3])) facts.indexed.insert(m[2].str() + "." + c);
    } else if (std::string table, body; create_table(statement, table, body)) {
      for (const std::string& item : split_top_level(body, ',')) {
        std::smatch k;
        if (std::regex_match(item, k, kKeyConstraint)) {
          for (const std::string& c : column_list(k[1])) facts.indexed.insert(table + "." + c);
        } else if (item.find("UNIQUE") != std::string::npos || item.find("PRIMARY KEY") != std::string::npos) {
          facts.indexed.insert(table + "." + unquoted(item.substr(0, item.find(' '))));
        }
      }
    }
  }
}

const SchemaFacts& schema_facts() {
  static const SchemaFacts facts = [] {
    SchemaFacts f;
    for (const Migration& m : kMigrations) learn(f, m.sql);
    return f;
  }();
  return facts;
}

// A column definition's TEXT, for MySQL: an index needs a bounded length (191 characters of
// utf8mb4 fit InnoDB's key limit even three to an index); content gets MEDIUMTEXT (16 MB), as
// TEXT's 64 KB could cut a long model list or prompt that SQLite and PostgreSQL keep.
std::string mysql_column(const std::string& table, const std::string& definition) {
  const auto space = definition.find(' ');
  if (space == std::string::npos || definition.compare(space + 1, 4, "TEXT") != 0) return definition;
  const std::string column = unquoted(definition.substr(0, space));
  const bool indexed = schema_facts().indexed.count(table + "." + column) > 0;
  return definition.substr(0, space + 1) + (indexed ? "VARCHAR(191)" : "MEDIUMTEXT") + definition.substr(space + 5);
}

// MySQL DDL commits on its own, statement by statement, so every statement here must be safe to
// run again after a crash halfway: IF [NOT] EXISTS everywhere, ADD COLUMN included (MariaDB's).
std::string mysql_ddl(const std::string& sql) {
  std::string out;
  std::smatch m;
  for (const std::string& statement : split_top_level(strip_comments(sql), ';')) {
    std::string s = statement;
    if (std::string table, body; create_table(statement, table, body)) {
      std::string columns;
      for (const std::string& item : split_top_level(body, ','))
        columns += (columns.empty() ? "\n  " : ",\n  ") + mysql_column(table, item);
      // Binary collation: keys and names compare exactly, case and trailing spaces included, as
      // in SQLite and PostgreSQL (MySQL's default collation would match "Sk-abc" to "sk-ABC").
      s = "CREATE TABLE IF NOT EXISTS " + table + " (" + columns +
          "\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin";
    } else if (std::regex_match(statement, m, kAddColumn)) {
      s = "ALTER TABLE " + m[1].str() + " ADD COLUMN IF NOT EXISTS " +
          mysql_column(m[1], m[2].str() + " " + m[3].str());
    } else if (std::regex_match(statement, m, kDropIndex)) {
      const auto& tables = schema_facts().index_table;
      const auto on = tables.find(m[1]);
      if (on != tables.end()) s += " ON " + on->second;
    }
    out += s + ";\n";
  }
  out = replace_word(out, "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT AUTO_INCREMENT PRIMARY KEY");
  out = replace_word(out, "INTEGER", "BIGINT");
  return replace_word(out, "REAL", "DOUBLE");
}

}  // namespace

// The migrations are written in SQLite's types; a server gets 64-bit integers (quota and times
// outgrow 32 bits) and its own auto-increment.
std::string ddl_for(sql::Dialect dialect, const std::string& sql) {
  if (dialect == sql::Dialect::sqlite) return sql;
  if (dialect == sql::Dialect::mysql) return mysql_ddl(sql);
  std::string out = replace_word(strip_comments(sql), "INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY");
  out = replace_word(out, "INTEGER", "BIGINT");
  out = replace_word(out, "REAL", "DOUBLE PRECISION");
  return out;
}

namespace {

// What a migration run applies, and where it records what it applied.
struct MigrationSet {
  const char* ledger;      // the table of applied versions
  int64_t pg_lock;         // pg_advisory_lock key
  const char* mysql_lock;  // GET_LOCK name
  bool logs_only = false;  // only the statements on the logs table (a LOG_SQL_DSN database)
};
constexpr MigrationSet kMainSchema{"schema_migrations", 7461010, "oneapi_migrate"};
constexpr MigrationSet kLogSchema{"log_schema_migrations", 7461011, "oneapi_migrate_logs", true};

// Nodes starting together on one server take turns: the first applies, the others find it done.
Result<void> lock_migrations(sql::Db& db, bool lock, const MigrationSet& set) {
  switch (db.dialect()) {
    case sql::Dialect::sqlite:
      return {};  // the write transaction is the lock
    case sql::Dialect::postgres:
      return db.exec(std::string(lock ? "SELECT pg_advisory_lock(" : "SELECT pg_advisory_unlock(") +
                     std::to_string(set.pg_lock) + ")");
    case sql::Dialect::mysql: {
      if (!lock) return db.exec("SELECT RELEASE_LOCK('" + std::string(set.mysql_lock) + "')");
      auto q = db.query("SELECT GET_LOCK('" + std::string(set.mysql_lock) + "', 60)");
      if (!q) return q.error();
      auto row = (*q)->step();
      if (!row) return row.error();
      if (!*row || (*q)->column_int64(0) != 1)
        return Error::make(ErrorKind::unavailable, "another node held the migration lock for 60 s");
      return {};
    }
  }
  return {};
}

Result<bool> applied(sql::Db& db, const MigrationSet& set, int version) {
  auto q = db.query("SELECT 1 FROM " + std::string(set.ledger) + " WHERE version = ?");
  if (!q) return q.error();
  return (*q)->bind(1, version).step();
}

// The statements of `sql` on the logs table: what a log database (LOG_SQL_DSN) holds.
std::string logs_statements(const std::string& sql) {
  std::string out;
  std::smatch m;
  for (const std::string& statement : split_top_level(strip_comments(sql), ';')) {
    std::string table;
    if (std::string body; create_table(statement, table, body)) {
    } else if (std::regex_match(statement, m, kCreateIndex)) {
      table = m[2];
    } else if (std::regex_match(statement, m, kAddColumn)) {
      table = m[1];
    } else if (std::regex_match(statement, m, kDropIndex)) {
      const auto& tables = schema_facts().index_table;
      if (auto on = tables.find(m[1]); on != tables.end()) table = on->second;
    }
    if (table == "logs") out += statement + ";\n";
  }
  return out;
}

Result<void> apply_migrations(sql::Db& db, const MigrationSet& set) {
  if (auto r = lock_migrations(db, true, set); !r) return r;
  struct Unlock {
    sql::Db& db;
    const MigrationSet& set;
    ~Unlock() { (void)lock_migrations(db, false, set); }
  } unlock{db, set};
  if (auto r = db.exec(ddl_for(db.dialect(), "CREATE TABLE IF NOT EXISTS " + std::string(set.ledger) +
                                                 " (version INTEGER PRIMARY KEY, applied_at INTEGER)"));
      !r)
    return r;
  // MySQL commits each DDL statement on its own: a transaction around a migration would end at its
  // first CREATE. There the lock alone keeps nodes apart, and mysql_ddl keeps each statement
  // idempotent, so a migration cut halfway is simply applied again.
  const bool transactional = db.dialect() != sql::Dialect::mysql;
  for (const Migration& m : kMigrations) {
    std::optional<sql::Transaction> tx;
    if (transactional) {
      auto begun = sql::Transaction::begin(db);
      if (!begun) return begun.error();
      tx.emplace(std::move(*begun));
    }
    // Checked inside the write transaction: two daemons starting at once cannot both apply it.
    auto done = applied(db, set, m.version);
    if (!done) return done.error();
    if (*done) continue;  // applied; the transaction rolls back (nothing to undo)
    const std::string sql = set.logs_only ? logs_statements(m.sql) : std::string(m.sql);
    if (auto r = sql.empty() ? Result<void>() : db.exec(ddl_for(db.dialect(), sql)); !r) {
      Error e = r.error();
      e.message = "migration " + std::to_string(m.version) + ": " + e.message;
      return e;
    }
    auto q = db.query("INSERT INTO " + std::string(set.ledger) + " (version, applied_at) VALUES (?, ?)");
    if (!q) return q.error();
    if (auto r = (*q)->bind_all(m.version, unix_now()).run(); !r) return r;
    if (tx)
      if (auto r = tx->commit(); !r) return r;
  }
  return {};
}

}  // namespace

Result<void> migrate(sql::Db& db) { return apply_migrations(db, kMainSchema); }
Result<void> migrate_log_database(sql::Db& db) { return apply_migrations(db, kLogSchema); }

Result<int> log_schema_version(sql::Db& db) {
  auto q = db.query("SELECT COALESCE(MAX(version), 0) FROM log_schema_migrations");
  if (!q) return q.error();
  auto row = (*q)->step();
  if (!row) return row.error();
  if (!*row) return 0;
  return (*q)->column_int(0);
}

}  // namespace oneapi::store
