// The store against a real SQLite file in a temporary directory and, when the test script started
// one, a real PostgreSQL server (each case runs on every backend of test::store_backends()).
#include "store/store.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>

#include "store/migrations.hpp"
#include "store/sqlite.hpp"
#include "support/result_check.hpp"
#include "support/temp_dir.hpp"
#include "support/test_database.hpp"
#include "support/wal_growth.hpp"

using namespace oneapi;
using namespace oneapi::store;
using oneapi::test::err;
using oneapi::test::ok;

namespace {

struct Fixture {
  explicit Fixture(std::string backend = "sqlite") : database(std::move(backend)) {}
  test::TestDatabase database;
  std::unique_ptr<Store> db = open();

  std::unique_ptr<Store> open() { return database.open(); }
  int64_t scalar(const std::string& sql) {
    auto raw = database.raw();
    return test::scalar(*raw, sql);
  }
  void reopen() {
    db.reset();
    db = open();
  }

  User user(int64_t quota, int status = 1, const std::string& name = "") {
    static int n = 0;
    User u;
    u.username = name.empty() ? "user" + std::to_string(++n) : name;
    u.quota = quota;
    u.status = status;
    return ok(db->insert_user(u));
  }
  Token token(int64_t user_id, int64_t remain, bool unlimited = false, int status = 1, const std::string& name = "t") {
    Token t;
    t.user_id = user_id;
    t.name = name;
    t.remain_quota = remain;
    t.unlimited_quota = unlimited;
    t.status = status;
    return ok(db->insert_token(t));
  }
  Channel channel(const std::string& models = "gpt-4", const std::string& group = "default") {
    Channel c;
    c.name = "ch";
    c.key = "sk-upstream";
    c.models = models;
    c.group = group;
    return ok(db->insert_channel(c));
  }
  PreChargeRequest pre(const Token& t, const User& u, int64_t amount, const std::string& request_id = "req",
                       int64_t channel_id = 0) {
    PreChargeRequest r;
    r.token_id = t.id;
    r.user_id = u.id;
    r.amount = amount;
    r.pending.username = u.username;
    r.pending.token_name = t.name;
    r.pending.model_name = "gpt-4";
    r.pending.channel_id = channel_id;
    r.pending.request_id = request_id;
    r.pending.content = "pending";
    return r;
  }
  Settlement settlement(int64_t log_id, const Token& t, const User& u, int64_t channel_id, int64_t pre_charged,
                        int64_t quota) {
    Settlement s;
    s.log_id = log_id;
    s.token_id = t.id;
    s.user_id = u.id;
    s.channel_id = channel_id;
    s.pre_charged = pre_charged;
    s.quota = quota;
    s.prompt_tokens = 11;
    s.completion_tokens = 22;
    s.elapsed_ms = 333;
    s.is_stream = true;
    s.model_name = "gpt-4";
    s.content = "model ratio 15";
    return s;
  }
  Log log_of(const std::string& request_id) { return ok(db->get_log_by_request_id(request_id)); }
  std::vector<Log> all_logs() {
    LogFilter f;
    f.limit = 0;
    return ok(db->list_logs(f));
  }
};

}  // namespace

TEST_CASE("sqlite wrapper: errors carry sqlite's message, transactions roll back", "[store]") {
  test::TempDir dir;
  sqlite::Db db;
  ok(db.open(dir.file("w.db")));
  ok(db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)"));

  Error e = err(db.prepare("SELEC nonsense"));
  CHECK(e.kind == ErrorKind::internal);
  CHECK_THAT(e.message, Catch::Contains("syntax error"));

  {
    auto q = ok(db.query("INSERT INTO t (name) VALUES (?)"));
    ok(q->bind(1, "a").run());
  }
  {
    auto q = ok(db.query("INSERT INTO t (name) VALUES (?)"));  // the cached statement, rebound
    Error dup = err(q->bind(1, "a").run());
    CHECK(dup.kind == ErrorKind::invalid_request);
    CHECK_THAT(dup.message, Catch::Contains("UNIQUE constraint failed"));
  }
  {
    auto tx = ok(sqlite::Transaction::begin(db));
    auto q = ok(db.query("INSERT INTO t (name) VALUES (?)"));
    ok(q->bind(1, "b").run());
  }  // no commit: rolled back
  {
    auto tx = ok(sqlite::Transaction::begin(db));
    auto q = ok(db.query("INSERT INTO t (name) VALUES (?)"));
    ok(q->bind(1, "c").run());
    ok(tx.commit());
  }
  auto q = ok(db.query("SELECT group_concat(name, ',') FROM (SELECT name FROM t ORDER BY name)"));
  REQUIRE(ok(q->step()));
  CHECK(q->column_text(0) == "a,c");

  // A bind to a parameter that does not exist is reported by step.
  auto bad = ok(db.query("SELECT ?"));
  Error be = err(bad->bind(5, int64_t{1}).step());
  CHECK_THAT(be.message, Catch::Contains("bind parameter 5"));
}

TEST_CASE("store: open creates the file and its directories", "[store]") {
  test::TempDir dir;
  const std::string path = dir.file("data/nested/oneapi.db");  // parents do not exist yet
  auto db = open_sqlite_store(StoreOptions{path, 3000, {}});
  CHECK(std::filesystem::exists(path));
  CHECK(db->schema_version() == latest_schema_version());
}

TEST_CASE("store: the WAL is copied into the database file while the store is open", "[store]") {
  // Without checkpoints the WAL grows by every write for as long as the daemon runs.
  test::TempDir dir;
  const std::string path = dir.file("oneapi.db");
  auto db = open_sqlite_store(StoreOptions{path, 3000, {}});
  const auto write_round = [&](char fill) {
    for (int i = 0; i < 20; ++i) ok(db->set_option("Filler" + std::to_string(i), std::string(3000, fill)));
  };
  const auto wal_size = [&] { return std::filesystem::file_size(path + "-wal"); };
  const auto empty = std::filesystem::file_size(path);
  write_round('a');
  const auto first_wal = wal_size();
  // The checkpointer runs every half second; its copy makes the database file hold the options.
  for (int i = 0; i < 60 && std::filesystem::file_size(path) <= empty + 20 * 3000; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  CHECK(std::filesystem::file_size(path) > empty + 20 * 3000);
  // Copied, the WAL starts over at the next write: more rounds do not make it grow.
  for (char fill : {'b', 'c', 'd'}) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    write_round(fill);
  }
  CHECK(wal_size() <= first_wal);
}

TEST_CASE("store: migrations are idempotent and give One API's tables", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  CHECK(fx.db->schema_version() == latest_schema_version());
  CHECK(latest_schema_version() >= 1);
  fx.reopen();
  fx.reopen();
  CHECK(fx.db->schema_version() == latest_schema_version());
  CHECK(fx.scalar("SELECT COUNT(*) FROM schema_migrations") == latest_schema_version());
  CHECK(fx.scalar("SELECT COUNT(*) FROM schema_migrations WHERE version = 1 AND applied_at > 0") == 1);

  // One API's table and column names.
  auto raw = fx.database.raw();
  for (const char* sql : {
           R"(SELECT id, username, password, display_name, role, status, email, github_id, wechat_id, lark_id, oidc_id,
                     access_token, quota, used_quota, request_count, "group", aff_code, inviter_id FROM users)",
           R"(SELECT id, user_id, "key", status, name, created_time, accessed_time, expired_time, remain_quota,
                     unlimited_quota, used_quota, models, subnet FROM tokens)",
           R"(SELECT id, type, "key", status, name, weight, created_time, test_time, response_time, base_url, other,
                     balance, balance_updated_time, models, "group", used_quota, model_mapping, priority, config,
                     system_prompt FROM channels)",
           R"(SELECT "group", model, channel_id, enabled, priority FROM abilities)",
           R"(SELECT id, user_id, "key", status, name, quota, created_time, redeemed_time FROM redemptions)",
           R"(SELECT id, user_id, created_at, type, content, username, token_name, model_name, quota, prompt_tokens,
                     completion_tokens, channel, request_id, elapsed_time, is_stream, system_prompt_reset, token_id
              FROM logs)",
           R"(SELECT "key", value FROM options)",
       }) {
    INFO(sql);
    auto q = ok(raw->query(sql));
    CHECK(q->step().has_value());
  }
  // Quota and times outgrow 32 bits.
  ok(raw->exec("UPDATE tokens SET remain_quota = 500000000000000"));
  if (!fx.database.is_sqlite()) {
    const std::string schema = fx.database.backend() == "mysql" ? "DATABASE()" : "current_schema()";
    CHECK(fx.scalar("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = " + schema +
                    " AND table_name = 'logs' AND column_name = 'quota' AND data_type = 'bigint'") == 1);
    return;
  }
  auto mode = ok(raw->query("PRAGMA journal_mode"));
  REQUIRE(ok(mode->step()));
  CHECK(mode->column_text(0) == "wal");
  CHECK(fx.scalar("SELECT COUNT(*) FROM pragma_table_info('redemptions') "
                  "WHERE name = 'quota' AND dflt_value = '100'") == 1);
}

TEST_CASE("store: opening an unusable path throws", "[store]") {
  test::TempDir dir;
  const std::string blocker = dir.file("file");
  {
    std::FILE* f = std::fopen(blocker.c_str(), "w");
    REQUIRE(f);
    std::fclose(f);
  }
  CHECK_THROWS(open_sqlite_store(StoreOptions{blocker + "/sub/oneapi.db", 100, {}}));
}

TEST_CASE("store: ensure_root creates root and the initial token once", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  const std::string key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL";
  ok(fx.db->ensure_root("sk-" + key, "0123456789abcdef0123456789abcdef"));
  ok(fx.db->ensure_root("sk-" + key, "0123456789abcdef0123456789abcdef"));
  fx.reopen();
  ok(fx.db->ensure_root(key, "ffffffffffffffffffffffffffffffff"));

  auto users = ok(fx.db->list_users());
  REQUIRE(users.size() == 1);
  const User& root = users[0];
  CHECK(root.username == "root");
  CHECK(root.role == 100);
  CHECK(root.status == 1);
  CHECK(root.quota == 500000000000000);
  CHECK(root.group == "default");
  CHECK(root.password.empty());
  CHECK(root.access_token == "0123456789abcdef0123456789abcdef");
  CHECK(root.aff_code.size() == 4);
  CHECK(ok(fx.db->get_user_by_access_token(root.access_token)).id == root.id);

  auto tokens = ok(fx.db->list_tokens(std::nullopt));
  REQUIRE(tokens.size() == 1);
  const Token& t = tokens[0];
  CHECK(t.key == key);
  CHECK(t.user_id == root.id);
  CHECK(t.name == "Initial Root Token");
  CHECK(t.unlimited_quota);
  CHECK(t.expired_time == -1);
  CHECK(t.status == 1);

  // A different initial token on a later start is added; no second root.
  ok(fx.db->ensure_root("sk-another", ""));
  CHECK(ok(fx.db->list_tokens(root.id)).size() == 2);
  CHECK(ok(fx.db->list_users()).size() == 1);
}

TEST_CASE("store: ensure_root without tokens gives root a random access token", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  ok(fx.db->ensure_root("", ""));
  auto users = ok(fx.db->list_users());
  REQUIRE(users.size() == 1);
  CHECK(users[0].access_token.size() == 32);
  CHECK(ok(fx.db->list_tokens(std::nullopt)).empty());
}

TEST_CASE("store: abilities follow channel groups, models, status and priority", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  auto abilities_of = [&](int64_t channel_id) {
    std::set<std::tuple<std::string, std::string, bool, int64_t>> out;
    for (const auto& a : ok(fx.db->load_snapshot()).abilities)
      if (a.channel_id == channel_id) out.emplace(a.group, a.model, a.enabled, a.priority);
    return out;
  };
  Channel other = fx.channel("claude-3", "default");

  Channel c;
  c.name = "openai";
  c.models = "gpt-4, gpt-3.5-turbo,gpt-4";
  c.group = "default,vip";
  c.priority = 5;
  c = ok(fx.db->insert_channel(c));
  CHECK(c.id > other.id);
  CHECK(c.created_time > 0);
  using A = std::tuple<std::string, std::string, bool, int64_t>;
  CHECK(abilities_of(c.id) == std::set<A>{{"default", "gpt-4", true, 5},
                                          {"default", "gpt-3.5-turbo", true, 5},
                                          {"vip", "gpt-4", true, 5},
                                          {"vip", "gpt-3.5-turbo", true, 5}});

  c.models = "gpt-4o";
  c.group = "vip";
  c.priority = 7;
  c = ok(fx.db->update_channel(c));
  CHECK(c.models == "gpt-4o");
  CHECK(abilities_of(c.id) == std::set<A>{{"vip", "gpt-4o", true, 7}});

  c.status = static_cast<int>(ChannelStatus::manually_disabled);
  ok(fx.db->update_channel(c));
  CHECK(abilities_of(c.id) == std::set<A>{{"vip", "gpt-4o", false, 7}});

  c.status = 1;
  ok(fx.db->update_channel(c));
  CHECK(abilities_of(c.id) == std::set<A>{{"vip", "gpt-4o", true, 7}});

  ok(fx.db->delete_channel(c.id));
  CHECK(abilities_of(c.id).empty());
  CHECK(abilities_of(other.id) == std::set<A>{{"default", "claude-3", true, 0}});
  Error e = err(fx.db->get_channel(c.id));
  CHECK(e.kind == ErrorKind::not_found);
  CHECK(e.message == "channel " + std::to_string(c.id) + " not found");
  CHECK(err(fx.db->update_channel(c)).kind == ErrorKind::not_found);
  CHECK(err(fx.db->delete_channel(c.id)).kind == ErrorKind::not_found);
  CHECK(abilities_of(c.id).empty());  // the failed update wrote no abilities
}

TEST_CASE("store: tokens, channels and options CRUD", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User a = fx.user(100);
  User b = fx.user(100);
  Token ta = fx.token(a.id, 10);
  fx.token(b.id, 10);
  Token t2;
  t2.user_id = a.id;
  t2.key = "sk-" + std::string(48, 'x');
  t2 = ok(fx.db->insert_token(t2));
  CHECK(t2.key == std::string(48, 'x'));
  CHECK(ta.key.size() == 48);  // generated
  CHECK(ta.created_time > 0);
  CHECK(ta.expired_time == -1);
  CHECK(ok(fx.db->list_tokens(a.id)).size() == 2);
  CHECK(ok(fx.db->list_tokens(b.id)).size() == 1);
  CHECK(ok(fx.db->list_tokens(std::nullopt)).size() == 3);

  // Duplicate key: a client error, not a crash.
  Token dup;
  dup.user_id = a.id;
  dup.key = t2.key;
  CHECK(err(fx.db->insert_token(dup)).kind == ErrorKind::invalid_request);

  ta.name = "renamed";
  ta.remain_quota = 77;
  ta.unlimited_quota = true;
  ta.models = "gpt-4";
  ta.subnet = "10.0.0.0/8";
  ta.expired_time = 4102444800;
  ta.used_quota = 999;  // not editable
  Token u = ok(fx.db->update_token(ta));
  CHECK(u.name == "renamed");
  CHECK(u.remain_quota == 77);
  CHECK(u.unlimited_quota);
  CHECK(u.models == "gpt-4");
  CHECK(u.subnet == "10.0.0.0/8");
  CHECK(u.expired_time == 4102444800);
  CHECK(u.used_quota == 0);

  ok(fx.db->set_token_status(ta.id, TokenStatus::disabled));
  CHECK(ok(fx.db->get_token(ta.id)).status == 2);
  ok(fx.db->delete_token(ta.id));
  Error e = err(fx.db->get_token(ta.id));
  CHECK(e.kind == ErrorKind::not_found);
  CHECK(e.message == "token " + std::to_string(ta.id) + " not found");
  CHECK(err(fx.db->delete_token(ta.id)).kind == ErrorKind::not_found);
  CHECK(err(fx.db->update_token(ta)).kind == ErrorKind::not_found);
  CHECK(err(fx.db->set_token_status(ta.id, TokenStatus::enabled)).kind == ErrorKind::not_found);
  CHECK(err(fx.db->get_user(9999)).kind == ErrorKind::not_found);
  CHECK(err(fx.db->get_user_by_access_token("nope")).kind == ErrorKind::not_found);
  CHECK(err(fx.db->get_user_by_access_token("")).kind == ErrorKind::not_found);

  // Users without an access token do not collide on the UNIQUE column.
  CHECK(a.access_token.empty());
  CHECK(b.access_token.empty());
  CHECK(a.aff_code.size() == 4);

  Channel c = fx.channel();
  ok(fx.db->record_channel_test(c.id, 1234, 1700000000));
  Channel c2 = ok(fx.db->get_channel(c.id));
  CHECK(c2.response_time == 1234);
  CHECK(c2.test_time == 1700000000);
  CHECK(err(fx.db->record_channel_test(c.id + 100, 1, 1)).kind == ErrorKind::not_found);

  ok(fx.db->set_option("QuotaPerUnit", "500000"));
  ok(fx.db->set_option("QuotaPerUnit", "1000"));
  ok(fx.db->set_option("Theme", "dark"));
  auto opts = ok(fx.db->list_options());
  CHECK(opts.size() == 2);
  CHECK(opts["QuotaPerUnit"] == "1000");
}

TEST_CASE("store: pre_charge reserves quota and writes a provisional log", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User u = fx.user(1000);
  Token t = fx.token(u.id, 500);
  Channel c = fx.channel();
  auto r = fx.pre(t, u, 100, "req-1", c.id);
  r.pending.created_at = 1700000000;
  r.pending.is_stream = true;
  const int64_t log_id = ok(fx.db->pre_charge(r));
  CHECK(log_id > 0);

  Token t2 = ok(fx.db->get_token(t.id));
  CHECK(t2.remain_quota == 400);
  CHECK(t2.used_quota == 100);
  CHECK(t2.accessed_time > 0);
  CHECK(ok(fx.db->get_user(u.id)).quota == 900);
  CHECK(ok(fx.db->get_user(u.id)).used_quota == 0);

  Log l = fx.log_of("req-1");
  CHECK(l.id == log_id);
  CHECK(l.type == static_cast<int>(LogType::provisional));
  CHECK(l.quota == 100);
  CHECK(l.user_id == u.id);
  CHECK(l.token_id == t.id);
  CHECK(l.channel_id == c.id);
  CHECK(l.created_at == 1700000000);
  CHECK(l.is_stream);
  CHECK(l.username == u.username);
  CHECK(l.content == "pending");

  // created_at defaults to now; an unlimited token keeps its remaining quota.
  Token unl = fx.token(u.id, 0, true);
  ok(fx.db->pre_charge(fx.pre(unl, u, 50, "req-2")));
  CHECK(fx.log_of("req-2").created_at > 1700000000);
  Token unl2 = ok(fx.db->get_token(unl.id));
  CHECK(unl2.remain_quota == 0);
  CHECK(unl2.used_quota == 50);
  CHECK(ok(fx.db->get_user(u.id)).quota == 850);
}

TEST_CASE("store: pre_charge refusals", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User u = fx.user(1000);
  auto unchanged = [&](const Token& t, int64_t remain, int64_t user_quota) {
    CHECK(ok(fx.db->get_token(t.id)).remain_quota == remain);
    CHECK(ok(fx.db->get_user(u.id)).quota == user_quota);
    CHECK(fx.all_logs().empty());
  };

  SECTION("missing token") {
    Token ghost;
    ghost.id = 424242;
    Error e = err(fx.db->pre_charge(fx.pre(ghost, u, 10)));
    CHECK(e.kind == ErrorKind::unauthorized);
    CHECK(e.message == "invalid token");
    CHECK(fx.all_logs().empty());
  }
  SECTION("disabled token") {
    Token t = fx.token(u.id, 500, false, 2, "mine");
    Error e = err(fx.db->pre_charge(fx.pre(t, u, 10)));
    CHECK(e.kind == ErrorKind::unauthorized);
    CHECK(e.message == "token mine (#" + std::to_string(t.id) + ") status is not available (status: 2)");
    unchanged(t, 500, 1000);
  }
  SECTION("exhausted token is marked exhausted") {
    Token t = fx.token(u.id, 0, false, 1, "mine");
    Error e = err(fx.db->pre_charge(fx.pre(t, u, 10)));
    CHECK(e.kind == ErrorKind::insufficient_quota);
    CHECK(e.code == "token_quota_exhausted");
    CHECK(e.message == "API Key mine (#" + std::to_string(t.id) + ") quota has been exhausted");
    fx.reopen();  // the status change was committed
    CHECK(ok(fx.db->get_token(t.id)).status == static_cast<int>(TokenStatus::exhausted));
    unchanged(t, 0, 1000);
  }
  SECTION("token cannot cover the amount") {
    Token t = fx.token(u.id, 50);
    Error e = err(fx.db->pre_charge(fx.pre(t, u, 100)));
    CHECK(e.kind == ErrorKind::insufficient_quota);
    CHECK(e.code == "pre_consume_token_quota_failed");
    CHECK(e.message == "token quota is not enough, token remain quota: 50, need quota: 100");
    CHECK(ok(fx.db->get_token(t.id)).status == 1);
    unchanged(t, 50, 1000);
  }
  SECTION("expired token") {
    Token t = fx.token(u.id, 500);
    t.expired_time = 1000;
    ok(fx.db->update_token(t));
    Error e = err(fx.db->pre_charge(fx.pre(t, u, 10)));
    CHECK(e.kind == ErrorKind::unauthorized);
    CHECK(e.code == "token_expired");
    CHECK(ok(fx.db->get_token(t.id)).status == static_cast<int>(TokenStatus::expired));
    unchanged(t, 500, 1000);
  }
  SECTION("banned user") {
    User banned = fx.user(1000, static_cast<int>(UserStatus::disabled));
    Token t = fx.token(banned.id, 500);
    Error e = err(fx.db->pre_charge(fx.pre(t, banned, 10)));
    CHECK(e.kind == ErrorKind::forbidden);
    CHECK(e.message == "user has been banned");
    CHECK(e.code == "user_banned");
    CHECK(ok(fx.db->get_token(t.id)).remain_quota == 500);
    CHECK(ok(fx.db->get_user(banned.id)).quota == 1000);
  }
  SECTION("missing user") {
    Token t = fx.token(u.id, 500);
    User ghost;
    ghost.id = 777;
    Error e = err(fx.db->pre_charge(fx.pre(t, ghost, 10)));
    CHECK(e.kind == ErrorKind::forbidden);
    CHECK(e.code == "user_banned");
    unchanged(t, 500, 1000);
  }
  SECTION("user cannot cover the amount") {
    Token t = fx.token(u.id, 5000);
    Error e = err(fx.db->pre_charge(fx.pre(t, u, 1001)));
    CHECK(e.kind == ErrorKind::insufficient_quota);
    CHECK(e.message == "user quota is not enough");
    CHECK(e.code == "insufficient_user_quota");
    unchanged(t, 5000, 1000);
  }
  SECTION("user with no quota is refused even for a zero amount") {
    User broke = fx.user(0);
    Token t = fx.token(broke.id, 0, true);
    Error e = err(fx.db->pre_charge(fx.pre(t, broke, 0)));
    CHECK(e.code == "insufficient_user_quota");
  }
  SECTION("exactly enough is enough") {
    Token t = fx.token(u.id, 1000);
    ok(fx.db->pre_charge(fx.pre(t, u, 1000)));
    CHECK(ok(fx.db->get_token(t.id)).remain_quota == 0);
    CHECK(ok(fx.db->get_user(u.id)).quota == 0);
  }
}

TEST_CASE("store: settle moves the difference and is applied once", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User u = fx.user(1000);
  Token t = fx.token(u.id, 500);
  Channel c = fx.channel();

  SECTION("actual cost above the pre-charge") {
    const int64_t id = ok(fx.db->pre_charge(fx.pre(t, u, 100, "r", c.id)));
    ok(fx.db->settle(fx.settlement(id, t, u, c.id, 100, 150)));
    Token t2 = ok(fx.db->get_token(t.id));
    CHECK(t2.remain_quota == 350);
    CHECK(t2.used_quota == 150);
    CHECK(t2.status == 1);
    User u2 = ok(fx.db->get_user(u.id));
    CHECK(u2.quota == 850);
    CHECK(u2.used_quota == 150);
    CHECK(u2.request_count == 1);
    CHECK(ok(fx.db->get_channel(c.id)).used_quota == 150);
    Log l = fx.log_of("r");
    CHECK(l.type == static_cast<int>(LogType::consume));
    CHECK(l.quota == 150);
    CHECK(l.prompt_tokens == 11);
    CHECK(l.completion_tokens == 22);
    CHECK(l.elapsed_time == 333);
    CHECK(l.is_stream);
    CHECK(l.content == "model ratio 15");

    // Twice: nothing moves.
    ok(fx.db->settle(fx.settlement(id, t, u, c.id, 100, 150)));
    // A refund after the settle: nothing moves either.
    Refund rf;
    rf.log_id = id;
    rf.token_id = t.id;
    rf.user_id = u.id;
    rf.pre_charged = 100;
    ok(fx.db->refund(rf));
    CHECK(ok(fx.db->get_token(t.id)).remain_quota == 350);
    CHECK(ok(fx.db->get_user(u.id)).quota == 850);
    CHECK(ok(fx.db->get_user(u.id)).request_count == 1);
    CHECK(ok(fx.db->get_channel(c.id)).used_quota == 150);
    CHECK(fx.log_of("r").quota == 150);
  }
  SECTION("actual cost below the pre-charge") {
    const int64_t id = ok(fx.db->pre_charge(fx.pre(t, u, 100, "r", c.id)));
    ok(fx.db->settle(fx.settlement(id, t, u, c.id, 100, 30)));
    Token t2 = ok(fx.db->get_token(t.id));
    CHECK(t2.remain_quota == 470);
    CHECK(t2.used_quota == 30);
    User u2 = ok(fx.db->get_user(u.id));
    CHECK(u2.quota == 970);
    CHECK(u2.used_quota == 30);
    CHECK(ok(fx.db->get_channel(c.id)).used_quota == 30);
  }
  SECTION("unlimited token keeps its remaining quota") {
    Token unl = fx.token(u.id, 7, true);
    const int64_t id = ok(fx.db->pre_charge(fx.pre(unl, u, 100, "r", c.id)));
    ok(fx.db->settle(fx.settlement(id, unl, u, c.id, 100, 400)));
    Token t2 = ok(fx.db->get_token(unl.id));
    CHECK(t2.remain_quota == 7);
    CHECK(t2.used_quota == 400);
    CHECK(t2.status == 1);
    CHECK(ok(fx.db->get_user(u.id)).quota == 600);
  }
  SECTION("a settle that uses up a limited token marks it exhausted") {
    Token small = fx.token(u.id, 100);
    const int64_t id = ok(fx.db->pre_charge(fx.pre(small, u, 100, "r", c.id)));
    ok(fx.db->settle(fx.settlement(id, small, u, c.id, 100, 120)));
    Token t2 = ok(fx.db->get_token(small.id));
    CHECK(t2.remain_quota == -20);
    CHECK(t2.status == static_cast<int>(TokenStatus::exhausted));
  }
  SECTION("settling an unknown log row moves nothing") {
    ok(fx.db->settle(fx.settlement(999, t, u, c.id, 100, 150)));
    CHECK(ok(fx.db->get_token(t.id)).remain_quota == 500);
    CHECK(ok(fx.db->get_user(u.id)).request_count == 0);
  }
}

TEST_CASE("store: a trusted pre-charge writes nothing, and its settle writes the one row", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User u = fx.user(100000);
  Token t = fx.token(u.id, 50000);
  Channel c = fx.channel();
  PreChargeRequest r = fx.pre(t, u, 100, "r", c.id);
  r.pending.user_id = u.id;
  r.pending.token_id = t.id;
  r.pending.created_at = 1700000000;
  int64_t seen_user = -1, seen_token = -1;
  bool trusted = true;
  r.trust = [&](int64_t user_quota, int64_t token_remain, bool unlimited) {
    seen_user = user_quota;
    seen_token = token_remain;
    CHECK_FALSE(unlimited);
    return trusted;
  };

  SECTION("trusted: the balances are read, nothing moves until settle") {
    CHECK(ok(fx.db->pre_charge(r)) == 0);
    CHECK(seen_user == 100000);
    CHECK(seen_token == 50000);
    CHECK(fx.all_logs().empty());
    CHECK(ok(fx.db->get_token(t.id)).remain_quota == 50000);
    CHECK(ok(fx.db->get_user(u.id)).quota == 100000);

    Settlement st = fx.settlement(0, t, u, c.id, 0, 150);
    st.trusted_row = r.pending;
    st.cached_prompt_tokens = 3;
    ok(fx.db->settle(st));
    Token t2 = ok(fx.db->get_token(t.id));
    CHECK(t2.remain_quota == 49850);
    CHECK(t2.used_quota == 150);
    CHECK(t2.accessed_time > 0);
    User u2 = ok(fx.db->get_user(u.id));
    CHECK(u2.quota == 99850);
    CHECK(u2.used_quota == 150);
    CHECK(u2.request_count == 1);
    CHECK(ok(fx.db->get_channel(c.id)).used_quota == 150);
    REQUIRE(fx.all_logs().size() == 1);
    Log l = fx.log_of("r");
    CHECK(l.type == static_cast<int>(LogType::consume));
    CHECK(l.quota == 150);
    CHECK(l.prompt_tokens == 11);
    CHECK(l.completion_tokens == 22);
    CHECK(l.cached_prompt_tokens == 3);
    CHECK(l.elapsed_time == 333);
    CHECK(l.created_at == 1700000000);
    CHECK(l.username == u.username);
    CHECK(l.token_name == t.name);
    CHECK(l.token_id == t.id);
    CHECK(l.channel_id == c.id);
    CHECK(l.content == "model ratio 15");

    // A retry after a commit that went through unseen: not written or charged twice.
    st.retried = true;
    ok(fx.db->settle(st));
    CHECK(fx.all_logs().size() == 1);
    CHECK(ok(fx.db->get_token(t.id)).remain_quota == 49850);
    CHECK(ok(fx.db->get_user(u.id)).request_count == 1);
  }
  SECTION("trusted, then refunded: one row at no cost, saying why") {
    CHECK(ok(fx.db->pre_charge(r)) == 0);
    Refund rf;
    rf.token_id = t.id;
    rf.user_id = u.id;
    rf.channel_id = c.id;
    rf.elapsed_ms = 12;
    rf.content = "refunded: upstream answered 500";
    rf.trusted_row = r.pending;
    ok(fx.db->refund(rf));
    REQUIRE(fx.all_logs().size() == 1);
    Log l = fx.log_of("r");
    CHECK(l.type == static_cast<int>(LogType::consume));
    CHECK(l.quota == 0);
    CHECK(l.content == "refunded: upstream answered 500");
    CHECK(ok(fx.db->get_token(t.id)).remain_quota == 50000);
    CHECK(ok(fx.db->get_user(u.id)).quota == 100000);
  }
  SECTION("not trusted: the provisional row and the reservation, as without a trust rule") {
    trusted = false;
    const int64_t id = ok(fx.db->pre_charge(r));
    CHECK(id > 0);
    CHECK(fx.log_of("r").type == static_cast<int>(LogType::provisional));
    CHECK(ok(fx.db->get_token(t.id)).remain_quota == 49900);
  }
  SECTION("a token or user that fails a check is refused before trust is asked") {
    r.amount = 200000;
    CHECK(err(fx.db->pre_charge(r)).code == "pre_consume_token_quota_failed");
    CHECK(seen_user == -1);
  }
}

TEST_CASE("store: refund restores exactly and is applied once", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User u = fx.user(1000);
  Token t = fx.token(u.id, 500);
  const User u0 = ok(fx.db->get_user(u.id));
  const Token t0 = ok(fx.db->get_token(t.id));
  const int64_t id = ok(fx.db->pre_charge(fx.pre(t, u, 100, "r")));
  Refund rf;
  rf.log_id = id;
  rf.token_id = t.id;
  rf.user_id = u.id;
  rf.pre_charged = 100;
  rf.elapsed_ms = 42;
  rf.content = "refunded: upstream said no";
  ok(fx.db->refund(rf));
  ok(fx.db->refund(rf));
  ok(fx.db->settle(fx.settlement(id, t, u, 0, 100, 100)));  // after a refund: no-op

  Token t1 = ok(fx.db->get_token(t.id));
  CHECK(t1.remain_quota == t0.remain_quota);
  CHECK(t1.used_quota == t0.used_quota);
  CHECK(t1.status == 1);
  User u1 = ok(fx.db->get_user(u.id));
  CHECK(u1.quota == u0.quota);
  CHECK(u1.used_quota == u0.used_quota);
  CHECK(u1.request_count == 0);
  Log l = fx.log_of("r");
  CHECK(l.type == static_cast<int>(LogType::consume));
  CHECK(l.quota == 0);
  CHECK(l.elapsed_time == 42);
  CHECK(l.content == "refunded: upstream said no");
}

TEST_CASE("store: a refund revives a token it had been exhausted for", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User u = fx.user(1000);
  Token t = fx.token(u.id, 100);
  const int64_t a = ok(fx.db->pre_charge(fx.pre(t, u, 60, "a")));
  const int64_t b = ok(fx.db->pre_charge(fx.pre(t, u, 40, "b")));
  ok(fx.db->settle(fx.settlement(a, t, u, 0, 60, 60)));  // remain 0 -> exhausted
  CHECK(ok(fx.db->get_token(t.id)).status == static_cast<int>(TokenStatus::exhausted));
  Refund rf;
  rf.log_id = b;
  rf.token_id = t.id;
  rf.user_id = u.id;
  rf.pre_charged = 40;
  ok(fx.db->refund(rf));
  Token t2 = ok(fx.db->get_token(t.id));
  CHECK(t2.remain_quota == 40);
  CHECK(t2.status == 1);
}

TEST_CASE("store: reconcile_pending refunds what a killed daemon left behind", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User u = fx.user(1000);
  Token t = fx.token(u.id, 500);
  Token unl = fx.token(u.id, 0, true);
  Channel c = fx.channel();
  const int64_t done = ok(fx.db->pre_charge(fx.pre(t, u, 100, "done", c.id)));
  ok(fx.db->settle(fx.settlement(done, t, u, c.id, 100, 80)));
  ok(fx.db->pre_charge(fx.pre(t, u, 200, "lost-1", c.id)));
  ok(fx.db->pre_charge(fx.pre(unl, u, 50, "lost-2", c.id)));
  CHECK(ok(fx.db->get_user(u.id)).quota == 1000 - 80 - 200 - 50);

  fx.reopen();  // the "crash": nothing settled the two requests
  CHECK(ok(fx.db->reconcile_pending()) == 2);
  CHECK(ok(fx.db->reconcile_pending()) == 0);

  User u2 = ok(fx.db->get_user(u.id));
  CHECK(u2.quota == 1000 - 80);
  CHECK(u2.used_quota == 80);
  Token t2 = ok(fx.db->get_token(t.id));
  CHECK(t2.remain_quota == 500 - 80);
  CHECK(t2.used_quota == 80);
  Token unl2 = ok(fx.db->get_token(unl.id));
  CHECK(unl2.remain_quota == 0);
  CHECK(unl2.used_quota == 0);
  for (const char* rid : {"lost-1", "lost-2"}) {
    Log l = fx.log_of(rid);
    CHECK(l.type == static_cast<int>(LogType::consume));
    CHECK(l.quota == 0);
    CHECK(l.content == "refunded at startup: the daemon stopped before this request finished");
  }
  CHECK(fx.log_of("done").quota == 80);
}

TEST_CASE("store: list_logs filters, newest first, with limit and offset", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User alice = fx.user(1000000, 1, "alice");
  User bob = fx.user(1000000, 1, "bob");
  Token ta = fx.token(alice.id, 0, true, 1, "alice-key");
  Token tb = fx.token(bob.id, 0, true, 1, "bob-key");
  Channel c1 = fx.channel();
  Channel c2 = fx.channel();
  struct Row {
    const Token& t;
    const User& u;
    const char* model;
    int64_t channel;
    int64_t at;
    bool settle;
  };
  const Row rows[] = {
      {ta, alice, "gpt-4", c1.id, 1000, true}, {ta, alice, "gpt-3.5", c2.id, 2000, true},
      {tb, bob, "gpt-4", c2.id, 3000, true},   {tb, bob, "claude", c1.id, 4000, false},
      {ta, alice, "gpt-4", c1.id, 5000, true},
  };
  int n = 0;
  for (const Row& r : rows) {
    auto p = fx.pre(r.t, r.u, 10, "req-" + std::to_string(++n), r.channel);
    p.pending.model_name = r.model;
    p.pending.created_at = r.at;
    const int64_t id = ok(fx.db->pre_charge(p));
    if (r.settle) {
      auto s = fx.settlement(id, r.t, r.u, r.channel, 10, 10);
      s.model_name = r.model;
      ok(fx.db->settle(s));
    }
  }
  auto ids = [&](const LogFilter& f) {
    std::vector<std::string> out;
    for (const auto& l : ok(fx.db->list_logs(f))) out.push_back(l.request_id);
    return out;
  };
  using V = std::vector<std::string>;
  LogFilter f;
  CHECK(ids(f) == V{"req-5", "req-4", "req-3", "req-2", "req-1"});
  f.type = static_cast<int>(LogType::consume);
  CHECK(ids(f) == V{"req-5", "req-3", "req-2", "req-1"});
  f.type = static_cast<int>(LogType::provisional);
  CHECK(ids(f) == V{"req-4"});
  f = {};
  f.user_id = alice.id;
  CHECK(ids(f) == V{"req-5", "req-2", "req-1"});
  f = {};
  f.username = "bob";
  CHECK(ids(f) == V{"req-4", "req-3"});
  f = {};
  f.token_name = "alice-key";
  f.model_name = "gpt-4";
  CHECK(ids(f) == V{"req-5", "req-1"});
  f = {};
  f.channel_id = c2.id;
  CHECK(ids(f) == V{"req-3", "req-2"});
  f = {};
  f.start_timestamp = 2000;
  f.end_timestamp = 4000;
  CHECK(ids(f) == V{"req-4", "req-3", "req-2"});
  f = {};
  f.limit = 2;
  CHECK(ids(f) == V{"req-5", "req-4"});
  f.offset = 2;
  CHECK(ids(f) == V{"req-3", "req-2"});
  f.offset = 4;
  CHECK(ids(f) == V{"req-1"});
  f = {};
  f.model_name = "nothing";
  CHECK(ids(f).empty());
  CHECK(err(fx.db->get_log_by_request_id("nope")).kind == ErrorKind::not_found);
}

TEST_CASE("store: data survives closing and reopening the file", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User u;
  u.username = "carol";
  u.display_name = "Carol";
  u.role = 10;
  u.email = "carol@example.com";
  u.access_token = "00000000000000000000000000000001";
  u.quota = 123456789012;
  u.group = "vip";
  u.inviter_id = 3;
  u = ok(fx.db->insert_user(u));
  Token t;
  t.user_id = u.id;
  t.name = "ci";
  t.remain_quota = 9999;
  t.expired_time = 4102444800;
  t.models = "gpt-4,gpt-4o";
  t.subnet = "192.168.0.0/16";
  t = ok(fx.db->insert_token(t));
  Channel c;
  c.type = 14;
  c.key = "upstream-secret";
  c.name = "anthropic";
  c.weight = 3;
  c.base_url = "https://example.invalid";
  c.other = "2023-06-01";
  c.balance = 12.5;
  c.balance_updated_time = 1700000001;
  c.models = "claude-3-opus";
  c.group = "vip";
  c.model_mapping = R"({"a":"b"})";
  c.priority = -2;
  c.config = R"({"region":"x"})";
  c.system_prompt = "be brief";
  c = ok(fx.db->insert_channel(c));
  ok(fx.db->set_option("Notice", "hello"));

  fx.reopen();
  Snapshot s = ok(fx.db->load_snapshot());
  REQUIRE(s.users.size() == 1);
  const User& u2 = s.users[0];
  CHECK(u2.id == u.id);
  CHECK(u2.username == "carol");
  CHECK(u2.display_name == "Carol");
  CHECK(u2.role == 10);
  CHECK(u2.email == "carol@example.com");
  CHECK(u2.access_token == u.access_token);
  CHECK(u2.quota == 123456789012);
  CHECK(u2.group == "vip");
  CHECK(u2.aff_code == u.aff_code);
  CHECK(u2.inviter_id == 3);
  REQUIRE(s.tokens.size() == 1);
  const Token& t2 = s.tokens[0];
  CHECK(t2.key == t.key);
  CHECK(t2.name == "ci");
  CHECK(t2.remain_quota == 9999);
  CHECK_FALSE(t2.unlimited_quota);
  CHECK(t2.expired_time == 4102444800);
  CHECK(t2.models == "gpt-4,gpt-4o");
  CHECK(t2.subnet == "192.168.0.0/16");
  CHECK(t2.created_time == t.created_time);
  REQUIRE(s.channels.size() == 1);
  const Channel& c2 = s.channels[0];
  CHECK(c2.id == c.id);
  CHECK(c2.type == 14);
  CHECK(c2.key == "upstream-secret");
  CHECK(c2.name == "anthropic");
  CHECK(c2.weight == 3);
  CHECK(c2.base_url == "https://example.invalid");
  CHECK(c2.other == "2023-06-01");
  CHECK(c2.balance == Approx(12.5));
  CHECK(c2.balance_updated_time == 1700000001);
  CHECK(c2.models == "claude-3-opus");
  CHECK(c2.group == "vip");
  CHECK(c2.model_mapping == R"({"a":"b"})");
  CHECK(c2.priority == -2);
  CHECK(c2.config == R"({"region":"x"})");
  CHECK(c2.system_prompt == "be brief");
  REQUIRE(s.abilities.size() == 1);
  CHECK(s.abilities[0].group == "vip");
  CHECK(s.abilities[0].model == "claude-3-opus");
  CHECK(s.abilities[0].channel_id == c.id);
  CHECK(s.abilities[0].priority == -2);
  CHECK(s.options.at("Notice") == "hello");
}

TEST_CASE("store: 1000 pre_charge and settle pairs keep the books exact", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User u = fx.user(10000000);
  Token t = fx.token(u.id, 5000000);
  Channel c = fx.channel();
  int64_t spent = 0;
  for (int i = 0; i < 1000; ++i) {
    const int64_t id = ok(fx.db->pre_charge(fx.pre(t, u, 100, "bulk", c.id)));
    const int64_t cost = 50 + i % 100;  // both sides of the pre-charge
    ok(fx.db->settle(fx.settlement(id, t, u, c.id, 100, cost)));
    spent += cost;
  }
  CHECK(ok(fx.db->get_user(u.id)).quota == 10000000 - spent);
  CHECK(ok(fx.db->get_user(u.id)).request_count == 1000);
  CHECK(ok(fx.db->get_token(t.id)).remain_quota == 5000000 - spent);
  CHECK(ok(fx.db->get_channel(c.id)).used_quota == spent);
  LogFilter f;
  f.type = static_cast<int>(LogType::provisional);
  CHECK(ok(fx.db->list_logs(f)).empty());
}

TEST_CASE("store: a node refunds only its own unfinished requests", "[store]") {
  Fixture fx(GENERATE(from_range(test::store_backends())));
  User u = fx.user(1000);
  Token t = fx.token(u.id, 500);
  Channel c = fx.channel();
  // Two nodes on one database, each with its NODE_NAME.
  StoreOptions a = fx.database.options(), b = fx.database.options();
  a.node_name = "node-a";
  b.node_name = "node-b";
  auto node_a = open_store(a);
  auto node_b = open_store(b);
  ok(node_a->pre_charge(fx.pre(t, u, 100, "on-a", c.id)));
  ok(node_b->pre_charge(fx.pre(t, u, 200, "on-b", c.id)));

  node_a = open_store(a);  // node a restarts; node b is still serving its request
  CHECK(ok(node_a->reconcile_pending()) == 1);
  CHECK(fx.log_of("on-a").type == static_cast<int>(LogType::consume));
  CHECK(fx.log_of("on-b").type == static_cast<int>(LogType::provisional));
  CHECK(ok(fx.db->get_user(u.id)).quota == 1000 - 200);
  CHECK(ok(node_b->reconcile_pending()) == 1);
  CHECK(ok(fx.db->get_user(u.id)).quota == 1000);
}

TEST_CASE("store: a SQLite writer that is never idle still starts its WAL over, past 16000 pages", "[store][sqlite]") {
  Fixture fx;
  const auto account = test::BilledAccount::create(*fx.db);
  const std::filesystem::path wal_file = fx.database.sqlite_path() + "-wal";
  // No store thread here, so nothing calls after_job: only the writer's own checkpoint at 16000
  // pages stops the WAL from growing by every write (the checkpointer alone never catches up).
  const auto largest = test::largest_wal_while_writing(
      wal_file, 40'000, [&](int n) { test::charge_and_settle(*fx.db, account, "busy-" + std::to_string(n)); });
  CHECK(largest > test::wal_bytes(16'000));
  CHECK(largest < test::wal_bytes(24'000));
}

TEST_CASE("store: after a failed connect, statements fail at once with its error until the pause ends", "[store]") {
  sql::ReconnectBackoff hour(std::chrono::hours(1));
  CHECK_FALSE(hour.too_soon());  // nothing failed yet: connect
  hour.failed(Error::make(ErrorKind::unavailable, "database unavailable: no route to host"));
  auto answer = hour.too_soon();
  REQUIRE(answer);
  CHECK(answer->kind == ErrorKind::unavailable);
  CHECK(answer->message == "database unavailable: no route to host");
  hour.succeeded();
  CHECK_FALSE(hour.too_soon());

  sql::ReconnectBackoff none(std::chrono::milliseconds(0));
  none.failed(Error::make(ErrorKind::unavailable, "refused"));
  CHECK_FALSE(none.too_soon());  // the pause is over: try again
}

TEST_CASE("store: a busy SQLite WAL is checkpointed every 1000 pages, not only on the 500 ms timer",
          "[store][sqlite]") {
  Fixture fx;
  User u = fx.user(1'000'000'000);
  Token t = fx.token(u.id, 0, true);
  Channel c = fx.channel();
  const std::filesystem::path db_file = fx.database.sqlite_path();
  const std::filesystem::path wal_file = db_file.string() + "-wal";
  fx.reopen();  // closing checkpointed everything; the new checkpointer's timer starts now
  const auto opened = std::chrono::steady_clock::now();
  const auto db_bytes = [&] {
    std::ifstream in(db_file, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string db_at_open = db_bytes();
  // Until then, the new pages are only in the WAL.
  const uintmax_t frames_1000 = test::wal_bytes(1000);
  const auto wal_size = [&] {
    std::error_code ec;
    const auto size = std::filesystem::file_size(wal_file, ec);
    return ec ? uintmax_t{0} : size;
  };
  int n = 0;
  while (wal_size() < frames_1000 && n < 20000) {
    const std::string id = "wal-" + std::to_string(++n);
    const int64_t log_id = ok(fx.db->pre_charge(fx.pre(t, u, 10, id, c.id)));
    ok(fx.db->settle(fx.settlement(log_id, t, u, c.id, 10, 7)));
  }
  REQUIRE(wal_size() >= frames_1000);
  const auto written = std::chrono::steady_clock::now() - opened;
  // The checkpoint copies the new pages into the database file. They may reuse free pages (the
  // migrations dropped indexes), so it need not grow, but its bytes change.
  bool copied = false;
  while (!copied && std::chrono::steady_clock::now() - opened < std::chrono::milliseconds(450)) {
    copied = db_bytes() != db_at_open;
    if (!copied) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (written < std::chrono::milliseconds(300))
    CHECK(copied);
  else
    WARN("writing 1000 pages took " << n << " requests and most of the 500 ms: too slow here to tell");
  CHECK(ok(fx.db->get_user(u.id)).request_count == n);
}
