#include "app.hpp"

#include <malloc.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "admin/handlers.hpp"
#include "cache/cluster.hpp"
#include "core/rate_limiter.hpp"
#include "core/util.hpp"
#include "json_log_formatter.hpp"
#include "metrics/metrics.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/io_loop.hpp"
#include "relay/background.hpp"
#include "relay/channel_balance.hpp"
#include "relay/channel_health.hpp"
#include "relay/channel_test.hpp"
#include "relay/relay.hpp"
#include "sd_notify.hpp"
#include "store/executor.hpp"
#include "store/migrations.hpp"
#include "tokenizer/tokenizer.hpp"

namespace oneapi::daemon {

namespace asio = boost::asio;

namespace {

void setup_logging(const Config& cfg) {
  std::vector<spdlog::sink_ptr> sinks;
  sinks.push_back(std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  if (!cfg.log_dir.empty()) {
    std::filesystem::create_directories(cfg.log_dir);
    sinks.push_back(
        std::make_shared<spdlog::sinks::rotating_file_sink_mt>(cfg.log_dir + "/oneapid.log", 64 * 1024 * 1024, 5));
  }
  auto logger = std::make_shared<spdlog::logger>("oneapid", sinks.begin(), sinks.end());
  if (cfg.log_format == "json")
    logger->set_formatter(make_json_log_formatter());
  else
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(spdlog::level::from_str(cfg.log_level));
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  spdlog::flush_every(std::chrono::seconds(1));
}

void write_ready_file(const std::string& path, uint16_t port, const std::string& socket) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << nlohmann::json{{"pid", ::getpid()}, {"port", port}, {"admin_socket", socket}}.dump() << "\n";
  }
  std::filesystem::rename(tmp, path);  // readers never see a half-written file
}

asio::awaitable<void> send_error(net::ResponseWriter& w, const Error& e) {
  const std::string id = new_request_id();
  net::Headers headers = net::json_headers();
  headers.push_back(net::Header{"X-Oneapi-Request-Id", id});
  if (error_status(e) == 429 && e.retry_after_seconds > 0)
    headers.push_back(net::Header{"Retry-After", std::to_string(e.retry_after_seconds)});
  co_await w.send(error_status(e), std::move(headers), to_openai_error_json(e, id));
}

Error api_rate_error(const RateLimiter& limiter, int64_t wait_seconds) {
  Error e = Error::make(ErrorKind::rate_limited,
                        "too many requests from this address: at most " + std::to_string(limiter.limit()) + " per " +
                            std::to_string(limiter.window().count()) + " s on /api (GLOBAL_API_RATE_LIMIT); retry in " +
                            std::to_string(wait_seconds) + " s",
                        "rate_limit_exceeded");
  e.retry_after_seconds = static_cast<int>(wait_seconds);
  return e;
}

Error invalid_url(const net::ServerRequest& req) {
  return Error::make(ErrorKind::not_found, "Invalid URL (" + req.method + " " + req.path + ")");
}

// Relay routes that One API has and oneapi does not serve yet.
bool not_implemented_yet(std::string_view path) {
  for (std::string_view p : {"/v1/images/", "/v1/audio/", "/v1/moderations", "/v1/edits", "/v1/responses/", "/v1/files",
                             "/v1/fine_tuning", "/v1/assistants", "/v1/threads"})
    if (path.substr(0, p.size()) == p) return true;
  return false;
}

// GET /metrics: the Prometheus exposition; channel gauges are read from the catalog now.
asio::awaitable<void> serve_metrics(const Config& cfg, const relay::CatalogHolder& catalog, const relay::Relay& relay,
                                    const net::ServerRequest& req, net::ResponseWriter& w) {
  if (!cfg.metrics_token.empty()) {
    const std::string_view auth = req.header("Authorization");
    constexpr std::string_view bearer = "Bearer ";
    const bool ok = auth.size() > bearer.size() && iequals(auth.substr(0, bearer.size()), bearer) &&
                    constant_time_equal(auth.substr(bearer.size()), cfg.metrics_token);
    if (!ok) {
      const Error denied = Error::make(
          ErrorKind::unauthorized, "GET /metrics needs Authorization: Bearer <METRICS_TOKEN>", "invalid_metrics_token");
      co_return co_await send_error(w, denied);
    }
  }
  std::vector<metrics::Registry::ChannelGauge> channels;
  const auto snapshot = catalog.get();
  channels.reserve(snapshot->channels.size());
  for (const auto& [id, info] : snapshot->channels)
    channels.push_back({id, info.channel.name, info.channel.status, relay.suspensions().suspended(id)});
  std::sort(channels.begin(), channels.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  std::string body = metrics::global().render(channels);
  net::Headers headers{{"Content-Type", "text/plain; version=0.0.4; charset=utf-8"}};
  co_await w.send(200, std::move(headers), std::move(body));
}

relay::RelayConfig relay_config_of(const Config& cfg) {
  relay::RelayConfig relay_config;
  relay_config.stream_idle_timeout = cfg.streaming_timeout;
  relay_config.suspend_after_429 = std::chrono::seconds(cfg.suspend_seconds_429);
  relay_config.suspend_after_5xx = std::chrono::seconds(cfg.suspend_seconds_5xx);
  relay_config.suspend_after_auth = std::chrono::seconds(cfg.suspend_seconds_auth);
  relay_config.token_rate_limit = cfg.relay_rate_limit;
  relay_config.token_rate_window = std::chrono::seconds(cfg.relay_rate_limit_duration);
  relay_config.metric_enabled = cfg.metric_enabled;
  relay_config.metric_queue_size = static_cast<size_t>(cfg.metric_queue_size);
  relay_config.metric_success_rate_threshold = cfg.metric_success_rate_threshold;
  relay_config.trust_rule = cfg.sql_dsn.empty();
  relay_config.enforce_include_usage = cfg.enforce_include_usage;
  return relay_config;
}

// Channel tests run from cron: a hung upstream must not hang them, even with RELAY_TIMEOUT=0.
constexpr std::chrono::milliseconds kTestTimeLimit{60'000};
std::chrono::milliseconds test_response_timeout(const Config& cfg) {
  const std::chrono::milliseconds t = cfg.relay_timeout;
  return t.count() == 0 || t > kTestTimeLimit ? kTestTimeLimit : t;
}
std::chrono::milliseconds test_idle_timeout(const Config& cfg) {
  return std::min<std::chrono::milliseconds>(cfg.streaming_timeout, kTestTimeLimit);
}

// What SIGHUP swaps while connections stay open.
struct Reloadable {
  const ConfigSource& source;
  std::atomic<std::shared_ptr<const Config>>& live;
  relay::Relay& relay;
  RateLimiter& api_rate;
  net::HttpClient& client;
  net::HttpClient& test_client;
  store::StoreExecutor& store;
  relay::CatalogHolder& catalog;
  cache::ClusterLink* cluster = nullptr;  // REDIS_CONN_STRING: the other nodes reload too
};

// The error lines of a configuration, for one log line: "A: why; B: why".
std::string one_line(const std::string& text) {
  std::string out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto first = line.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    out += (out.empty() ? "" : "; ") + line.substr(first);
  }
  return out;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// SIGHUP: the environment file and the database again. A configuration that does not parse
// changes nothing; settings bound at start keep their values until a restart.
asio::awaitable<void> reload(Reloadable& r) {
  auto next = r.source.load();
  if (!next) {
    spdlog::error("SIGHUP: configuration not reloaded, every setting stays as it was: {}",
                  one_line(next.error().message));
    co_return;
  }
  const std::shared_ptr<const Config> current = r.live.load();
  const Reload plan = plan_reload(*current, *next);
  const Config& cfg = plan.applied;
  spdlog::default_logger()->set_level(spdlog::level::from_str(cfg.log_level));
  r.api_rate.reconfigure(cfg.api_rate_limit, std::chrono::seconds(cfg.api_rate_limit_duration));
  r.relay.reconfigure(relay_config_of(cfg));
  r.client.set_timeouts(cfg.relay_timeout, cfg.streaming_timeout);
  r.test_client.set_timeouts(test_response_timeout(cfg), test_idle_timeout(cfg));
  r.live.store(std::make_shared<const Config>(cfg));
  if (!plan.need_restart.empty())
    spdlog::warn("SIGHUP: changed settings that only a restart applies, kept as they were: {}",
                 join(plan.need_restart));
  auto load = [](store::Store& s) { return s.load_snapshot(); };
  auto snapshot = co_await r.store.run(std::move(load));
  if (snapshot) r.catalog.set(relay::Catalog::build(*snapshot));
  if (snapshot && r.cluster) r.cluster->publish_catalog_changed();
  const std::string settings = plan.changed.empty() ? "no setting changed" : "applied " + join(plan.changed);
  if (snapshot)
    spdlog::info("SIGHUP: {}; options, channels and tokens reloaded from the database", settings);
  else
    spdlog::error("SIGHUP: {}; reloading options and channels from the database failed: {}", settings,
                  snapshot.error().message);
}

}  // namespace

// LOG_RETENTION_DAYS: at start, then every hour. Requests in flight are never purged.
asio::awaitable<void> purge_old_logs(store::StoreExecutor& store, int days) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    const int64_t before = unix_now() - static_cast<int64_t>(days) * 86400;
    auto purge = [before](store::Store& s) { return s.purge_logs(before); };
    auto purged = co_await store.run(std::move(purge));
    if (!purged)
      spdlog::warn("log retention: purging logs older than {} days failed: {}", days, purged.error().message);
    else if (*purged > 0)
      spdlog::info("log retention: purged {} log entries older than {} days", *purged, days);
    timer.expires_after(std::chrono::hours(1));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

// Memory freed after a burst (thousands of streams, a load spike) stays in the allocator's free
// lists, counted in RSS, until something hands it back: every 10 s, glibc returns free pages.
asio::awaitable<void> return_free_memory() {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(std::chrono::seconds(10));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    malloc_trim(0);
  }
}

// LOG_SQL_DSN: settled log rows move to the log database every second, in batches small enough
// not to hold the store thread for long.
constexpr int64_t kLogShipBatch = 2000;

asio::awaitable<void> ship_logs(store::StoreExecutor& store) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto ship = [](store::Store& s) { return s.ship_logs(kLogShipBatch); };
    auto moved = co_await store.run(std::move(ship));
    if (!moved) spdlog::warn("moving logs to the log database failed (will retry): {}", moved.error().message);
    if (!moved || *moved < kLogShipBatch)
      timer.expires_after(std::chrono::seconds(1));
    else
      timer.expires_after(std::chrono::milliseconds(0));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

// At a clean stop, what is left; a killed daemon's rows move at the next start instead.
void ship_remaining_logs(store::StoreExecutor& store) {
  for (;;) {
    auto moved = store.run_blocking([](store::Store& s) { return s.ship_logs(kLogShipBatch); });
    if (!moved) {
      spdlog::warn("moving logs to the log database failed; they stay in the main database until the next start: {}",
                   moved.error().message);
      return;
    }
    if (*moved < kLogShipBatch) return;
  }
}

// CHANNEL_TEST_FREQUENCY and CHANNEL_UPDATE_FREQUENCY, on the master node only (One API's
// NODE_TYPE=slave runs no background jobs).
void start_channel_schedules(asio::io_context& ioc, const Config& cfg, relay::ChannelTester& tester,
                             relay::BalanceUpdater& balances, const std::atomic<bool>& stopping) {
  const bool wanted = cfg.channel_test_period.count() > 0 || cfg.balance_update_period.count() > 0;
  if (wanted && cfg.slave_node) {
    spdlog::info("NODE_TYPE=slave: channel tests and balance updates are left to the master node");
    return;
  }
  if (cfg.channel_test_period.count() > 0) {
    spdlog::info("testing all channels every {} s (CHANNEL_TEST_FREQUENCY), {} ms apart (POLLING_INTERVAL)",
                 cfg.channel_test_period.count() / 1000.0, cfg.polling_interval.count());
    asio::co_spawn(ioc, relay::test_channels_every(tester, cfg.channel_test_period, stopping), asio::detached);
  }
  if (cfg.balance_update_period.count() > 0) {
    spdlog::info("updating channel balances every {} s (CHANNEL_UPDATE_FREQUENCY)",
                 cfg.balance_update_period.count() / 1000.0);
    asio::co_spawn(ioc, relay::update_balances_every(balances, cfg.balance_update_period, stopping), asio::detached);
  }
}

// SYNC_FREQUENCY: changes made by other nodes (or straight in the database) reach this one at
// the latest after a period, with or without Redis.
asio::awaitable<void> sync_catalog_every(std::chrono::seconds period, store::StoreExecutor& store,
                                         relay::CatalogHolder& catalog, const std::atomic<bool>& stopping) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(period);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || stopping) co_return;
    co_await relay::reload_catalog(store, catalog);
  }
}

// REDIS_CONN_STRING: reloads the catalog when another node changed it, rests the channels other
// nodes rested, and is told this node's changes (admin writes, SIGHUP, automatic disabling).
std::unique_ptr<cache::ClusterLink> connect_cluster(const Config& cfg, uint16_t port, asio::io_context& ioc,
                                                    store::StoreExecutor& store, relay::CatalogHolder& catalog,
                                                    relay::Relay& relay, const std::atomic<bool>& stopping) {
  auto url = cache::parse_redis_url(cfg.redis_url);  // checked with the configuration
  if (!url) return nullptr;
  // The name other nodes' messages are told apart by; SQLite nodes have no NODE_NAME.
  const std::string name =
      !cfg.node_name.empty() ? cfg.node_name : "pid" + std::to_string(::getpid()) + ":" + std::to_string(port);
  cache::ClusterLink::Handlers handlers;
  handlers.reload_catalog = [&store, &catalog, &stopping]() -> asio::awaitable<void> {
    if (!stopping) co_await relay::reload_catalog(store, catalog);
  };
  handlers.suspend_channel = [&relay](int64_t id, std::chrono::seconds rest) { relay.suspend_from_peer(id, rest); };
  auto link = std::make_unique<cache::ClusterLink>(ioc.get_executor(), *url, name, std::move(handlers));
  cache::ClusterLink* shared = link.get();
  relay::ClusterHooks hooks;
  hooks.shared_acquire = [shared](std::string_view kind, std::string_view key, int64_t limit,
                                  std::chrono::seconds window) { return shared->acquire(kind, key, limit, window); };
  hooks.channel_suspended = [shared](int64_t id, std::chrono::seconds rest) { shared->publish_suspension(id, rest); };
  hooks.catalog_changed = [shared] { shared->publish_catalog_changed(); };
  relay.set_cluster(std::move(hooks));
  spdlog::info("redis {}: catalog changes, channel suspensions and rate limits shared as node {}", url->endpoint(),
               name);
  link->start();
  return link;
}

store::StoreOptions store_options_of(const Config& cfg) {
  store::StoreOptions o(cfg.sqlite_path, cfg.sqlite_busy_timeout_ms, cfg.log_sqlite_path);
  o.sql_dsn = cfg.sql_dsn;
  o.log_sql_dsn = cfg.log_sql_dsn;
  // One API: the master migrates a shared database. A SQLite file is this node's own: migrate it.
  o.migrate = !cfg.slave_node || cfg.sql_dsn.empty();
  o.node_name = cfg.node_name;
  return o;
}

// SQLite: one connection with group commit. A server: a pool whose further connections open
// when the first ones are busy.
store::StoreExecutor make_store_executor(const Config& cfg, std::unique_ptr<store::Store> first) {
  if (cfg.sql_dsn.empty()) return store::StoreExecutor(std::move(first));
  store::PoolOptions pool;
  pool.max_open = cfg.sql_max_open_conns;
  pool.max_idle = std::min(cfg.sql_max_idle_conns, cfg.sql_max_open_conns);
  pool.max_lifetime = cfg.sql_max_lifetime;
  store::StoreOptions more = store_options_of(cfg);
  more.connect_lazily = true;
  spdlog::info("database pool: up to {} connections (SQL_MAX_OPEN_CONNS), {} kept idle, each replaced after {} s",
               pool.max_open, pool.max_idle, pool.max_lifetime.count());
  auto make_more = [more] { return store::open_store(more); };
  return store::StoreExecutor(std::move(first), std::move(make_more), pool);
}

// For log lines: the SQLite file, or the server without its password.
std::string database_name(const Config& cfg) {
  return cfg.sql_dsn.empty() ? cfg.sqlite_path : store::redact_server_dsn(cfg.sql_dsn);
}

int run(const ConfigSource& source, const Config& cfg) {
  setup_logging(cfg);
  const int64_t start_time = unix_now();
  tokenizer::init_tokenizers(cfg.data_dir);  // never fails: without rank files, counts are estimated

  std::unique_ptr<store::Store> db;
  try {
    std::filesystem::create_directories(cfg.data_dir);
    db = store::open_store(store_options_of(cfg));
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  store::StoreExecutor store = make_store_executor(cfg, std::move(db));
  if (cfg.batch_update_requested)
    spdlog::info(
        "BATCH_UPDATE_ENABLED is ignored: every charge reaches the database at once (so parallel requests cannot "
        "overspend), and SQLite's group commit already batches the writes");
  if (auto r = store.run_blocking(
          [&](store::Store& s) { return s.ensure_root(cfg.initial_root_token, cfg.initial_root_access_token); });
      !r) {
    spdlog::critical("cannot initialise the database: {}", r.error().message);
    return 1;
  }
  auto reconciled = store.run_blocking([](store::Store& s) { return s.reconcile_pending(); });
  if (!reconciled) {
    spdlog::critical("cannot reconcile unfinished requests: {}", reconciled.error().message);
    return 1;
  }
  if (*reconciled > 0)
    spdlog::warn("refunded {} request(s) left unfinished by a previous run that did not stop cleanly", *reconciled);

  relay::CatalogHolder catalog;
  {
    auto snapshot = store.run_blocking([](store::Store& s) { return s.load_snapshot(); });
    if (!snapshot) {
      spdlog::critical("cannot load channels and tokens: {}", snapshot.error().message);
      return 1;
    }
    if (auto it = snapshot->options.find("LogConsumeEnabled"); it != snapshot->options.end() && it->second == "false")
      spdlog::warn("the database holds LogConsumeEnabled=false (from One API?), which is not honoured: {}",
                   admin::kLogConsumeAlwaysOn);
    catalog.set(relay::Catalog::build(*snapshot));
  }

  asio::io_context ioc(cfg.threads);
  net::ClientOptions client_options;
  client_options.response_timeout = cfg.relay_timeout;
  client_options.proxy = cfg.relay_proxy;
  client_options.https_proxy = cfg.https_proxy;
  client_options.http_proxy = cfg.http_proxy;
  client_options.no_proxy = cfg.no_proxy;
  client_options.idle_timeout = cfg.streaming_timeout;
  net::HttpClient client(ioc, client_options);
  relay::Relay relay(catalog, store, client, relay_config_of(cfg));
  net::ClientOptions test_options = client_options;
  test_options.response_timeout = test_response_timeout(cfg);
  test_options.idle_timeout = test_idle_timeout(cfg);
  net::HttpClient test_client(ioc, test_options);
  // Set on SIGTERM: batch tests and balance updates stop between two channels, schedules stop.
  std::atomic<bool> stopping{false};
  relay::ChannelTester tester(store, catalog, test_client, {cfg.test_prompt, cfg.polling_interval}, &stopping);
  relay::BalanceUpdater balances(store, catalog, test_client, cfg.polling_interval, &stopping);
  std::unique_ptr<cache::ClusterLink> cluster;  // REDIS_CONN_STRING; connected once listening
  auto tell_other_nodes = [&cluster] {
    if (cluster) cluster->publish_catalog_changed();
  };
  admin::AdminApi admin_api(
      {store, catalog, tester, balances, start_time, cfg.generate_default_token, std::move(tell_other_nodes)});

  net::ServerLimits limits;
  limits.body_limit = cfg.max_request_body;
  RateLimiter api_rate(cfg.api_rate_limit, std::chrono::seconds(cfg.api_rate_limit_duration));
  // The settings SIGHUP may change; handlers read them per request.
  std::atomic<std::shared_ptr<const Config>> live{std::make_shared<const Config>(cfg)};

  auto other_routes = [&](net::ServerRequest& req, net::ResponseWriter& w) -> asio::awaitable<void> {
    const std::string& p = req.path;
    const bool post = req.method == "POST", get = req.method == "GET";
    if (post && (p == "/v1/messages/count_tokens" || p == "/v1/v1/messages/count_tokens"))
      co_return co_await relay.count_claude_tokens(req, w);
    if (get && p == "/v1/models") co_return co_await relay.list_models(req, w);
    if (get && p.rfind("/v1/models/", 0) == 0 && p.size() > 11)
      co_return co_await relay.get_model(p.substr(11), req, w);
    // Probes for supervisors and load balancers: the process answers; the database answers and is migrated.
    if (get && p == "/healthz") {
      co_await w.send(200, net::json_headers(), R"({"status":"ok"})");
      co_return;
    }
    if (get && p == "/metrics") {
      const std::shared_ptr<const Config> now = live.load();
      co_return co_await serve_metrics(*now, catalog, relay, req, w);
    }
    if (get && p == "/readyz") {
      auto probe = [](store::Store& s) { return s.schema_version(); };
      const int version = co_await store.run(std::move(probe));
      const bool ready = version == store::latest_schema_version();
      nlohmann::json body = {{"status", ready ? "ready" : "not ready"}, {"schema_version", version}};
      co_await w.send(ready ? 200 : 503, net::json_headers(), body.dump());
      co_return;
    }
    using View = relay::Relay::BillingView;
    if (get && (p == "/v1/dashboard/billing/subscription" || p == "/dashboard/billing/subscription"))
      co_return co_await relay.billing(View::subscription, req, w);
    if (get && (p == "/v1/dashboard/billing/usage" || p == "/dashboard/billing/usage"))
      co_return co_await relay.billing(View::usage, req, w);
    // One API's management API: the same handlers as the admin socket, with access tokens.
    if (p.rfind("/api/", 0) == 0 || p == "/api") {
      // GLOBAL_API_RATE_LIMIT, with the other nodes when Redis is there (the relay's hooks).
      const int64_t wait = co_await relay::admit(api_rate, relay.cluster_hooks().shared_acquire, "api", req.client_ip);
      if (wait != 0) {
        const Error limited = api_rate_error(api_rate, wait);
        co_return co_await send_error(w, limited);
      }
      if (post && p == "/api/token/consume") co_return co_await relay.consume(req, w);
      if (co_await admin_api.handle_tcp(req, w)) co_return;
      co_return co_await send_error(w, invalid_url(req));
    }
    if (not_implemented_yet(p)) {
      Error e = Error::make(ErrorKind::internal, "API not implemented", "api_not_implemented");
      e.status = 501;
      e.type = "one_api_error";
      co_return co_await send_error(w, e);
    }
    co_await send_error(w, invalid_url(req));
  };
  // Not a coroutine: the relay's own coroutine is the request's awaitable. A routing coroutine's
  // frame (room for every branch's locals) would stay allocated as long as each request, a held
  // stream's included.
  auto api_handler = [&](net::ServerRequest& req, net::ResponseWriter& w) -> asio::awaitable<void> {
    using relay::ClientFormat, relay::RelayMode;
    if (req.method == "POST") {
      const std::string& p = req.path;
      if (p == "/v1/chat/completions") return relay.handle(RelayMode::chat_completions, req, w);
      if (p == "/v1/completions") return relay.handle(RelayMode::completions, req, w);
      if (p == "/v1/embeddings") return relay.handle(RelayMode::embeddings, req, w);
      // Claude Messages (Claude Code is known to send the doubled prefix) and OpenAI Responses,
      // served by any channel.
      if (p == "/v1/messages" || p == "/v1/v1/messages")
        return relay.handle(RelayMode::chat_completions, req, w, ClientFormat::claude_messages);
      if (p == "/v1/responses") return relay.handle(RelayMode::chat_completions, req, w, ClientFormat::responses);
    }
    return other_routes(req, w);
  };
  auto admin_handler = [&](net::ServerRequest& req, net::ResponseWriter& w) -> asio::awaitable<void> {
    if (co_await admin_api.handle_socket(req, w)) co_return;
    co_await send_error(w, invalid_url(req));
  };

  net::ServerLimits api_limits = limits;
  api_limits.add_request_id = true;  // every API answer carries one, 404s and 413s included
  api_limits.trusted_proxies = cfg.trusted_proxies;
  net::HttpServer api_server(ioc, api_handler, api_limits);
  net::HttpServer admin_server(ioc, admin_handler, limits);
  uint16_t port = 0;
  try {
    port = api_server.listen_tcp(cfg.listen_address, static_cast<uint16_t>(cfg.port));
    admin_server.listen_unix(cfg.admin_socket);
  } catch (const std::exception& e) {
    spdlog::critical("cannot listen: {}", e.what());
    return 1;
  }
  spdlog::info("oneapid {} listening on http://{}:{}, admin socket {}, database {}", ONEAPI_VERSION, cfg.listen_address,
               port, cfg.admin_socket, database_name(cfg));
  if (!cfg.node_name.empty())
    spdlog::info("node {} ({}): shares the database with other nodes", cfg.node_name,
                 cfg.slave_node ? "slave" : "master");
  if (cfg.busy_poll.count() > 0)
    spdlog::info("busy polling: {} I/O thread(s) poll {} µs before they sleep (BUSY_POLL_US)", cfg.threads,
                 cfg.busy_poll.count());

  // Log retention is a scheduled job: on a shared database the master runs it (One API).
  if (cfg.log_retention_days > 0 && cfg.slave_node && !cfg.sql_dsn.empty())
    spdlog::info("NODE_TYPE=slave: log retention (LOG_RETENTION_DAYS) is left to the master node");
  else if (cfg.log_retention_days > 0)
    asio::co_spawn(ioc, purge_old_logs(store, cfg.log_retention_days), asio::detached);
  if (!cfg.log_sqlite_path.empty() || !cfg.log_sql_dsn.empty()) {
    spdlog::info("logs move to {} once settled (LOG_SQL_DSN)",
                 cfg.log_sql_dsn.empty() ? cfg.log_sqlite_path : store::redact_server_dsn(cfg.log_sql_dsn));
    asio::co_spawn(ioc, ship_logs(store), asio::detached);
  }
  start_channel_schedules(ioc, cfg, tester, balances, stopping);
  asio::co_spawn(ioc, return_free_memory(), asio::detached);
  if (!cfg.redis_url.empty()) cluster = connect_cluster(cfg, port, ioc, store, catalog, relay, stopping);
  if (cfg.sync_frequency.count() > 0)
    asio::co_spawn(ioc, sync_catalog_every(cfg.sync_frequency, store, catalog, stopping), asio::detached);

  // SIGHUP: reload the environment file's live settings and the database's options and channels.
  Reloadable reloadable{source, live, relay, api_rate, client, test_client, store, catalog, cluster.get()};
  asio::signal_set hangups(ioc, SIGHUP);
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, signo] = co_await hangups.async_wait(asio::as_tuple(asio::use_awaitable));
          if (ec) co_return;
          const auto now = std::chrono::steady_clock::now().time_since_epoch();  // CLOCK_MONOTONIC
          sd_notify("RELOADING=1\nMONOTONIC_USEC=" +
                    std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
          co_await reload(reloadable);
          sd_notify("READY=1");
        }
      },
      asio::detached);

  // SIGTERM/SIGINT: stop accepting, let requests in flight finish (bounded), then exit 0.
  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  // Ready only now: a SIGHUP or SIGTERM sent as soon as we say so finds its handler in place
  // (without it, SIGHUP's default action ends the process).
  if (!cfg.ready_file.empty()) write_ready_file(cfg.ready_file, port, cfg.admin_socket);
  sd_notify("READY=1");
  size_t cut_requests = 0;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        auto [ec, signo] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        stopping = true;
        sd_notify("STOPPING=1");
        const std::chrono::seconds shutdown_timeout = live.load()->shutdown_timeout;
        spdlog::info("received signal {}, draining requests in flight (up to {} s)", signo, shutdown_timeout.count());
        api_server.stop_accepting();
        admin_server.stop_accepting();
        if (cluster) cluster->stop();
        const auto deadline = std::chrono::steady_clock::now() + shutdown_timeout;
        asio::steady_timer timer(ioc);
        while (api_server.in_flight() + admin_server.in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
          timer.expires_after(std::chrono::milliseconds(20));
          co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        cut_requests = api_server.in_flight() + admin_server.in_flight();
        if (cut_requests > 0)
          spdlog::warn("shutdown timeout: {} request(s) still running are cut and refunded", cut_requests);
        ioc.stop();
      },
      asio::detached);

  std::vector<std::thread> extra;
  auto& busy_poll = metrics::global().busy_poll();
  for (int i = 1; i < cfg.threads; ++i) extra.emplace_back([&] { net::run_io_context(ioc, cfg.busy_poll, busy_poll); });
  net::run_io_context(ioc, cfg.busy_poll, busy_poll);
  for (auto& t : extra) t.join();
  // The cut requests' reservations go back now rather than at the next start. Nothing runs on the
  // io_context any more, and the store thread finishes what was queued before this.
  if (cut_requests > 0) {
    auto refunded = store.run_blocking([](store::Store& s) {
      return s.reconcile_pending("refunded: the daemon stopped (SHUTDOWN_TIMEOUT) before this request finished");
    });
    if (refunded)
      spdlog::info("refunded {} request(s) cut at shutdown", *refunded);
    else
      spdlog::error("refunding the requests cut at shutdown failed; the next start does it: {}",
                    refunded.error().message);
  }
  if (!cfg.log_sqlite_path.empty() || !cfg.log_sql_dsn.empty()) ship_remaining_logs(store);
  store.stop();
  std::error_code ec;
  std::filesystem::remove(cfg.admin_socket, ec);
  spdlog::info("oneapid stopped");
  spdlog::shutdown();
  return 0;
}

}  // namespace oneapi::daemon
