#pragma once
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace oneapi::daemon {

// Flags over the --env-file's variables over the process environment over defaults; read at
// startup and again at SIGHUP (see ConfigSource).
struct Config {
  std::string env_file;  // --env-file / ONEAPI_ENV_FILE: KEY=VALUE lines, re-read at SIGHUP
  std::string listen_address = "0.0.0.0";
  int port = 3000;
  std::string data_dir = "./data";
  std::string sqlite_path;   // default <data_dir>/one-api.db; SQLITE_PATH
  std::string admin_socket;  // default <data_dir>/oneapi.sock; ONEAPI_SOCKET
  std::string log_dir;
  std::string log_level = "info";
  std::string log_format = "text";  // --log-format / LOG_FORMAT: text or json (one object per line)
  std::string ready_file;
  int threads = 1;
  // BUSY_POLL_US: an I/O thread out of work polls its sockets this long before it sleeps; 0 = off.
  std::chrono::microseconds busy_poll{0};
  int sqlite_busy_timeout_ms = 3000;
  std::chrono::seconds relay_timeout{0};
  std::chrono::seconds streaming_timeout{300};
  std::chrono::seconds shutdown_timeout{30};
  size_t max_request_body = 32 * 1024 * 1024;
  std::string initial_root_token;
  std::string initial_root_access_token;
  std::string test_prompt = "Output only your specific model name with no additional text.";
  bool generate_default_token = true;
  std::string trusted_proxies;    // TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed
  int log_retention_days = 0;     // LOG_RETENTION_DAYS: purge older logs at start and hourly; 0 keeps all
  int suspend_seconds_429 = 60;   // CHANNEL_SUSPEND_SECONDS_FOR_429
  int suspend_seconds_auth = 60;  // CHANNEL_SUSPEND_SECONDS_FOR_AUTH
  int suspend_seconds_5xx = 30;   // CHANNEL_SUSPEND_SECONDS_FOR_5XX
  std::string log_sqlite_path;    // LOG_SQL_DSN (a SQLite file): settled logs move there
  std::string log_sql_dsn;        // LOG_SQL_DSN (a server, beside a server SQL_DSN): the same
  std::string relay_proxy;        // RELAY_PROXY: HTTP CONNECT proxy for upstream traffic
  std::string https_proxy;        // HTTPS_PROXY (or https_proxy), without RELAY_PROXY
  std::string http_proxy;         // HTTP_PROXY (or http_proxy)
  std::string no_proxy;           // NO_PROXY (or no_proxy)
  std::string metrics_token;      // METRICS_TOKEN: GET /metrics wants `Authorization: Bearer <it>`
  // GLOBAL_API_RATE_LIMIT per IP on /api and GLOBAL_RELAY_RATE_LIMIT per token on /v1, each per its
  // _DURATION in seconds (One API's and the Laisky fork's defaults); 0 or RATE_LIMIT_DISABLED turns one off.
  int api_rate_limit = 480;
  int api_rate_limit_duration = 180;
  int relay_rate_limit = 480;
  int relay_rate_limit_duration = 180;
  bool enforce_include_usage = true;  // ENFORCE_INCLUDE_USAGE
  bool metric_enabled = false;        // ENABLE_METRIC, METRIC_QUEUE_SIZE, METRIC_SUCCESS_RATE_THRESHOLD
  int metric_queue_size = 10;
  double metric_success_rate_threshold = 0.8;
  // CHANNEL_TEST_FREQUENCY / CHANNEL_UPDATE_FREQUENCY (minutes, fractions allowed): test every
  // channel / refresh balances this often; 0 = never.
  std::chrono::milliseconds channel_test_period{0};
  std::chrono::milliseconds balance_update_period{0};
  std::chrono::milliseconds polling_interval{0};  // POLLING_INTERVAL (seconds) between channels of a batch
  bool slave_node = false;                        // NODE_TYPE=slave: no scheduled channel jobs, no migrations
  // SQL_DSN: postgres://… puts the database on a PostgreSQL server shared by several nodes; empty
  // keeps SQLite (sqlite_path). Never logged as given: it holds a password.
  std::string sql_dsn;
  // NODE_NAME, default <hostname>:<port> with SQL_DSN ("" on SQLite, which one node owns): marks
  // this node's requests in flight, so that only it refunds them after a crash.
  std::string node_name;
  // REDIS_CONN_STRING: redis://[user][:password@]host[:port][/db]; set, the nodes tell each other
  // about catalog changes and channel suspensions and count rate limits together. Never logged.
  std::string redis_url;
  // SYNC_FREQUENCY: every node reloads its catalog from the database this often (One API's
  // default 600 s); 0 = never (then only admin writes, SIGHUP and Redis messages reload it).
  std::chrono::seconds sync_frequency{600};
  // SQL_MAX_OPEN_CONNS, SQL_MAX_IDLE_CONNS, SQL_MAX_LIFETIME (seconds): the connection pool to a
  // database server; each connection has its own store thread and opens when first needed. One
  // API's 1000 open connections would overrun PostgreSQL's default max_connections (100) with a
  // few nodes, so the default here is 16.
  int sql_max_open_conns = 16;
  int sql_max_idle_conns = 16;
  std::chrono::seconds sql_max_lifetime{60};
  // BATCH_UPDATE_ENABLED: One API batches quota updates in memory, which lets parallel requests
  // overspend; here every charge is in the database at once, and SQLite's group commit batches
  // the writes, so the setting is read only to say so.
  bool batch_update_requested = false;
};

// Reads a file of KEY=VALUE lines (systemd's EnvironmentFile= syntax: `#` and `;` comments, blank
// lines, values optionally in single or double quotes). An error names the file and line, never a value.
Result<std::map<std::string, std::string>> read_env_file(const std::string& path);

// Where the configuration comes from, kept so SIGHUP can build it again: the command line's
// values (only the flags given count) and the environment file's path.
struct ConfigSource {
  Config flags;                 // what the command line parsed into
  std::set<std::string> given;  // which flags it had, e.g. "--log-level"
  std::string env_file;         // --env-file, else ONEAPI_ENV_FILE; empty = none

  // The whole configuration now; an error lists every bad variable (or the file's problem).
  Result<Config> load() const;
};

// A reload's outcome: `next` with only the settings that can change while running taken from
// it, the rest kept from `current`; names of what changed, by kind. Values are never listed.
struct Reload {
  Config applied;
  std::vector<std::string> changed;       // live settings now in effect
  std::vector<std::string> need_restart;  // changed in the source, kept as they were
};
Reload plan_reload(const Config& current, const Config& next);

}  // namespace oneapi::daemon
