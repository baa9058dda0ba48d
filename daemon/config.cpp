#include "config.hpp"

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <functional>

#include "cache/redis.hpp"
#include "core/util.hpp"
#include "net/http_client.hpp"
#include "store/store.hpp"

namespace oneapi::daemon {

namespace {

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

using Lookup = std::function<std::string(const char*)>;

// Reads variables through `get` and collects one error line per malformed value, so a start (or a
// reload) reports them all at once instead of silently using 0.
struct EnvReader {
  Lookup get;
  std::string errors;

  template <class T>
  bool integer(const char* name, T& out) {
    const std::string v = get(name);
    if (v.empty()) return true;
    try {
      size_t pos = 0;
      const long long parsed = std::stoll(v, &pos);
      if (pos != v.size() || parsed < 0) throw std::invalid_argument(v);
      out = static_cast<T>(parsed);
      return true;
    } catch (...) {
      errors += std::string("  ") + name + "=" + v + ": not a non-negative integer\n";
      return false;
    }
  }

  bool boolean(const char* name, bool& out) {
    const std::string v = get(name);
    if (v.empty()) return true;
    if (v == "true" || v == "1") {
      out = true;
    } else if (v == "false" || v == "0") {
      out = false;
    } else {
      errors += std::string("  ") + name + "=" + v + ": not true or false\n";
      return false;
    }
    return true;
  }

  // A non-negative decimal times `unit_ms` (e.g. minutes: 60000).
  bool duration(const char* name, double unit_ms, std::chrono::milliseconds& out) {
    const std::string v = get(name);
    if (v.empty()) return true;
    char* end = nullptr;
    const double parsed = std::strtod(v.c_str(), &end);
    if (end != v.c_str() + v.size() || !std::isfinite(parsed) || parsed < 0 || parsed * unit_ms > 1e15) {
      errors += std::string("  ") + name + "=" + v + ": not a non-negative number\n";
      return false;
    }
    out = std::chrono::milliseconds(static_cast<int64_t>(std::llround(parsed * unit_ms)));
    return true;
  }

  bool seconds(const char* name, std::chrono::seconds& out) {
    long long v = out.count();
    if (!integer(name, v)) return false;
    out = std::chrono::seconds(v);
    return true;
  }
};

// Fills `cfg` from the variables; returns the error lines (empty when all are well formed).
std::string apply_environment(Config& cfg, const Lookup& get) {
  EnvReader env{get, {}};
  env.integer("PORT", cfg.port);
  env.integer("SQLITE_BUSY_TIMEOUT", cfg.sqlite_busy_timeout_ms);
  if (long long us = 0; env.integer("BUSY_POLL_US", us)) {
    if (us > 10'000)
      env.errors += "  BUSY_POLL_US=" + std::to_string(us) + ": more than 10000 (microseconds)\n";
    else
      cfg.busy_poll = std::chrono::microseconds(us);
  }
  env.integer("LOG_RETENTION_DAYS", cfg.log_retention_days);
  env.integer("CHANNEL_SUSPEND_SECONDS_FOR_429", cfg.suspend_seconds_429);
  env.integer("CHANNEL_SUSPEND_SECONDS_FOR_5XX", cfg.suspend_seconds_5xx);
  env.integer("CHANNEL_SUSPEND_SECONDS_FOR_AUTH", cfg.suspend_seconds_auth);
  env.seconds("RELAY_TIMEOUT", cfg.relay_timeout);
  env.seconds("STREAMING_TIMEOUT", cfg.streaming_timeout);
  env.seconds("SHUTDOWN_TIMEOUT", cfg.shutdown_timeout);
  env.duration("CHANNEL_TEST_FREQUENCY", 60'000, cfg.channel_test_period);
  env.duration("CHANNEL_UPDATE_FREQUENCY", 60'000, cfg.balance_update_period);
  env.duration("POLLING_INTERVAL", 1'000, cfg.polling_interval);
  if (const std::string v = get("NODE_TYPE"); !v.empty()) {
    if (v == "slave")
      cfg.slave_node = true;
    else if (v != "master")
      env.errors += "  NODE_TYPE=" + v + ": not master or slave\n";
  }
  long long body_mb = 32;
  if (env.integer("MAX_REQUEST_BODY_MB", body_mb)) cfg.max_request_body = static_cast<size_t>(body_mb) << 20;
  cfg.sqlite_path = get("SQLITE_PATH");
  cfg.sql_dsn = get("SQL_DSN");
  cfg.node_name = get("NODE_NAME");
  if (!cfg.sql_dsn.empty() && !store::is_server_dsn(cfg.sql_dsn))
    env.errors +=
        "  SQL_DSN=<hidden>: neither PostgreSQL (postgres://user:password@host:port/dbname) nor MySQL "
        "(user:password@tcp(host:port)/dbname)\n";
  env.seconds("SYNC_FREQUENCY", cfg.sync_frequency);
  env.integer("SQL_MAX_OPEN_CONNS", cfg.sql_max_open_conns);
  env.integer("SQL_MAX_IDLE_CONNS", cfg.sql_max_idle_conns);
  env.seconds("SQL_MAX_LIFETIME", cfg.sql_max_lifetime);
  if (cfg.sql_max_open_conns < 1) env.errors += "  SQL_MAX_OPEN_CONNS=0: at least one connection is needed\n";
  env.boolean("BATCH_UPDATE_ENABLED", cfg.batch_update_requested);
  cfg.redis_url = get("REDIS_CONN_STRING");
  if (!cfg.redis_url.empty())
    if (auto parsed = cache::parse_redis_url(cfg.redis_url); !parsed)
      env.errors +=
          "  REDIS_CONN_STRING=<hidden>: " + parsed.error().message.substr(19) + "\n";  // past "REDIS_CONN_STRING: "
  cfg.admin_socket = get("ONEAPI_SOCKET");
  cfg.initial_root_token = get("INITIAL_ROOT_TOKEN");
  cfg.initial_root_access_token = get("INITIAL_ROOT_ACCESS_TOKEN");
  if (const std::string v = get("TEST_PROMPT"); !v.empty()) cfg.test_prompt = v;
  if (const std::string v = get("LOG_LEVEL"); !v.empty()) {
    static const std::set<std::string> levels = {"trace",   "debug", "info",     "warn",
                                                 "warning", "error", "critical", "off"};
    if (levels.count(v))
      cfg.log_level = v;
    else
      env.errors += "  LOG_LEVEL=" + v + ": not trace, debug, info, warn, error, critical or off\n";
  }
  if (const std::string v = get("LOG_FORMAT"); !v.empty()) cfg.log_format = v;
  if (cfg.log_format != "text" && cfg.log_format != "json")
    env.errors += "  LOG_FORMAT=" + cfg.log_format + ": not text or json\n";
  cfg.trusted_proxies = get("TRUSTED_PROXIES");
  // LOG_SQL_DSN is on the same kind of home as SQL_DSN: a server beside a server (PostgreSQL or
  // MariaDB, either kind), a file beside a file.
  if (const std::string dsn = get("LOG_SQL_DSN"); !dsn.empty()) {
    const bool server_log = store::is_server_dsn(dsn);
    if (!cfg.sql_dsn.empty() && server_log)
      cfg.log_sql_dsn = dsn;
    else if (!cfg.sql_dsn.empty())
      env.errors +=
          "  LOG_SQL_DSN=<hidden>: with SQL_DSN on a database server the log database must be one too "
          "(postgres://user:password@host:port/dbname or user:password@tcp(host:port)/dbname), not a SQLite file\n";
    else if (server_log)
      env.errors +=
          "  LOG_SQL_DSN=<hidden>: a log database on a server needs the main database on one too (SQL_DSN); with "
          "SQLite give a SQLite "
          "file path\n";
    else
      cfg.log_sqlite_path = dsn.rfind("sqlite://", 0) == 0 ? dsn.substr(9) : dsn;
  }
  if (auto bad = invalid_subnet_item(cfg.trusted_proxies); !bad.empty())
    env.errors += "  TRUSTED_PROXIES=" + cfg.trusted_proxies + ": '" + bad + "' is not a CIDR\n";
  env.boolean("GENERATE_DEFAULT_TOKEN", cfg.generate_default_token);
  cfg.relay_proxy = get("RELAY_PROXY");
  cfg.metrics_token = get("METRICS_TOKEN");
  // Go's names, as One API reads them through net/http: upper case first, then lower case.
  const auto either = [&](const char* upper, const char* lower) {
    std::string v = get(upper);
    return v.empty() ? get(lower) : v;
  };
  cfg.https_proxy = either("HTTPS_PROXY", "https_proxy");
  cfg.http_proxy = either("HTTP_PROXY", "http_proxy");
  cfg.no_proxy = either("NO_PROXY", "no_proxy");
  for (auto [name, value] : {std::pair<const char*, const std::string*>{"RELAY_PROXY", &cfg.relay_proxy},
                             {"HTTPS_PROXY", &cfg.https_proxy},
                             {"HTTP_PROXY", &cfg.http_proxy}})
    if (!value->empty())
      if (auto r = net::validate_proxy_url(*value); !r)
        env.errors += std::string("  ") + name + ": " + r.error().message + "\n";
  env.boolean("ENABLE_METRIC", cfg.metric_enabled);
  env.boolean("ENFORCE_INCLUDE_USAGE", cfg.enforce_include_usage);
  env.integer("GLOBAL_API_RATE_LIMIT", cfg.api_rate_limit);
  env.integer("GLOBAL_API_RATE_LIMIT_DURATION", cfg.api_rate_limit_duration);
  env.integer("GLOBAL_RELAY_RATE_LIMIT", cfg.relay_rate_limit);
  env.integer("GLOBAL_RELAY_RATE_LIMIT_DURATION", cfg.relay_rate_limit_duration);
  bool rate_limit_disabled = false;
  env.boolean("RATE_LIMIT_DISABLED", rate_limit_disabled);
  if (rate_limit_disabled) cfg.api_rate_limit = cfg.relay_rate_limit = 0;
  env.integer("METRIC_QUEUE_SIZE", cfg.metric_queue_size);
  if (cfg.metric_queue_size < 1) env.errors += "  METRIC_QUEUE_SIZE: must be at least 1\n";
  if (const std::string v = get("METRIC_SUCCESS_RATE_THRESHOLD"); !v.empty()) {
    char* end = nullptr;
    const double t = std::strtod(v.c_str(), &end);
    if (end != v.c_str() + v.size() || !(t >= 0 && t <= 1))
      env.errors += "  METRIC_SUCCESS_RATE_THRESHOLD=" + v + ": not a number from 0 to 1\n";
    else
      cfg.metric_success_rate_threshold = t;
  }
  return env.errors;
}

std::string trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return std::string(s.substr(first, last - first + 1));
}

bool valid_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

}  // namespace

Result<std::map<std::string, std::string>> read_env_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error::make(ErrorKind::invalid_request, "cannot read the environment file " + path);
  std::map<std::string, std::string> vars;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string text = trim(line);
    if (text.empty() || text[0] == '#' || text[0] == ';') continue;
    const auto eq = text.find('=');
    const std::string name = eq == std::string::npos ? std::string() : trim(text.substr(0, eq));
    if (!valid_name(name))
      return Error::make(ErrorKind::invalid_request,
                         path + " line " + std::to_string(number) + ": not a VARIABLE=value line");
    std::string value = trim(text.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'')) {
      if (value.back() != value.front())
        return Error::make(ErrorKind::invalid_request,
                           path + " line " + std::to_string(number) + ": " + name + " has an unterminated quote");
      const char quote = value.front();
      value = value.substr(1, value.size() - 2);
      if (quote == '"') {  // \" \\ and \$ as in systemd's double quotes
        std::string unescaped;
        for (size_t i = 0; i < value.size(); ++i) {
          if (value[i] == '\\' && i + 1 < value.size()) ++i;
          unescaped += value[i];
        }
        value = std::move(unescaped);
      }
    }
    vars[name] = std::move(value);
  }
  if (in.bad()) return Error::make(ErrorKind::invalid_request, "cannot read the environment file " + path);
  return vars;
}

Result<Config> ConfigSource::load() const {
  std::map<std::string, std::string> file_vars;
  if (!env_file.empty()) {
    auto read = read_env_file(env_file);
    if (!read) return Error::make(ErrorKind::invalid_request, "  " + read.error().message + "\n");
    file_vars = std::move(*read);
  }
  // The file wins over the process environment: under systemd the same file may also be the
  // unit's EnvironmentFile=, whose values the process keeps from its start.
  Lookup get = [&](const char* name) -> std::string {
    if (auto it = file_vars.find(name); it != file_vars.end()) return it->second;
    const char* v = std::getenv(name);
    return v ? v : "";
  };
  Config cfg;
  cfg.env_file = env_file;
  if (std::string errors = apply_environment(cfg, get); !errors.empty())
    return Error::make(ErrorKind::invalid_request, std::move(errors));
  const auto flag = [&](const char* name) { return given.count(name) > 0; };
  if (flag("--port")) cfg.port = flags.port;
  if (flag("--listen")) cfg.listen_address = flags.listen_address;
  if (flag("--data-dir")) cfg.data_dir = flags.data_dir;
  if (flag("--admin-socket")) cfg.admin_socket = flags.admin_socket;
  if (flag("--log-dir")) cfg.log_dir = flags.log_dir;
  if (flag("--log-level")) cfg.log_level = flags.log_level;
  if (flag("--log-format")) cfg.log_format = flags.log_format;
  if (flag("--ready-file")) cfg.ready_file = flags.ready_file;
  if (flag("--threads")) cfg.threads = flags.threads;
  if (cfg.sqlite_path.empty()) cfg.sqlite_path = cfg.data_dir + "/one-api.db";
  if (cfg.admin_socket.empty()) cfg.admin_socket = cfg.data_dir + "/oneapi.sock";
  if (cfg.node_name.empty() && !cfg.sql_dsn.empty()) cfg.node_name = host_name() + ":" + std::to_string(cfg.port);
  return cfg;
}

Reload plan_reload(const Config& current, const Config& next) {
  Reload r{current, {}, {}};
  // Settings a running daemon swaps safely: read per request (or per signal), never held by a
  // connection in a way that a change would break.
  const auto live = [&](const char* name, auto member) {
    if (current.*member == next.*member) return;
    r.applied.*member = next.*member;
    r.changed.push_back(name);
  };
  live("LOG_LEVEL", &Config::log_level);
  live("GLOBAL_API_RATE_LIMIT", &Config::api_rate_limit);
  live("GLOBAL_API_RATE_LIMIT_DURATION", &Config::api_rate_limit_duration);
  live("GLOBAL_RELAY_RATE_LIMIT", &Config::relay_rate_limit);
  live("GLOBAL_RELAY_RATE_LIMIT_DURATION", &Config::relay_rate_limit_duration);
  live("RELAY_TIMEOUT", &Config::relay_timeout);
  live("STREAMING_TIMEOUT", &Config::streaming_timeout);
  live("SHUTDOWN_TIMEOUT", &Config::shutdown_timeout);
  live("CHANNEL_SUSPEND_SECONDS_FOR_429", &Config::suspend_seconds_429);
  live("CHANNEL_SUSPEND_SECONDS_FOR_5XX", &Config::suspend_seconds_5xx);
  live("CHANNEL_SUSPEND_SECONDS_FOR_AUTH", &Config::suspend_seconds_auth);
  live("ENABLE_METRIC", &Config::metric_enabled);
  live("ENFORCE_INCLUDE_USAGE", &Config::enforce_include_usage);
  live("METRICS_TOKEN", &Config::metrics_token);
  // Settings bound into listeners, files, clients or schedules at start.
  const auto fixed = [&](const char* name, auto member) {
    if (current.*member != next.*member) r.need_restart.push_back(name);
  };
  fixed("PORT", &Config::port);
  fixed("--listen", &Config::listen_address);
  fixed("--data-dir", &Config::data_dir);
  fixed("SQLITE_PATH", &Config::sqlite_path);
  fixed("ONEAPI_SOCKET", &Config::admin_socket);
  fixed("--log-dir", &Config::log_dir);
  fixed("LOG_FORMAT", &Config::log_format);
  fixed("--ready-file", &Config::ready_file);
  fixed("--threads", &Config::threads);
  fixed("BUSY_POLL_US", &Config::busy_poll);
  fixed("SQLITE_BUSY_TIMEOUT", &Config::sqlite_busy_timeout_ms);
  fixed("MAX_REQUEST_BODY_MB", &Config::max_request_body);
  fixed("TEST_PROMPT", &Config::test_prompt);
  fixed("GENERATE_DEFAULT_TOKEN", &Config::generate_default_token);
  fixed("TRUSTED_PROXIES", &Config::trusted_proxies);
  fixed("LOG_RETENTION_DAYS", &Config::log_retention_days);
  if (current.log_sqlite_path != next.log_sqlite_path || current.log_sql_dsn != next.log_sql_dsn)
    r.need_restart.push_back("LOG_SQL_DSN");  // a file or a server: one setting
  fixed("RELAY_PROXY", &Config::relay_proxy);
  fixed("HTTPS_PROXY", &Config::https_proxy);
  fixed("HTTP_PROXY", &Config::http_proxy);
  fixed("NO_PROXY", &Config::no_proxy);
  fixed("METRIC_QUEUE_SIZE", &Config::metric_queue_size);
  fixed("METRIC_SUCCESS_RATE_THRESHOLD", &Config::metric_success_rate_threshold);
  fixed("CHANNEL_TEST_FREQUENCY", &Config::channel_test_period);
  fixed("CHANNEL_UPDATE_FREQUENCY", &Config::balance_update_period);
  fixed("POLLING_INTERVAL", &Config::polling_interval);
  fixed("NODE_TYPE", &Config::slave_node);
  fixed("SQL_DSN", &Config::sql_dsn);
  fixed("NODE_NAME", &Config::node_name);
  fixed("REDIS_CONN_STRING", &Config::redis_url);
  fixed("SYNC_FREQUENCY", &Config::sync_frequency);
  fixed("SQL_MAX_OPEN_CONNS", &Config::sql_max_open_conns);
  fixed("SQL_MAX_IDLE_CONNS", &Config::sql_max_idle_conns);
  fixed("SQL_MAX_LIFETIME", &Config::sql_max_lifetime);
  // INITIAL_ROOT_TOKEN and INITIAL_ROOT_ACCESS_TOKEN only matter when the database is created.
  return r;
}

}  // namespace oneapi::daemon
