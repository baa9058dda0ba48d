#include <CLI/CLI.hpp>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "app.hpp"
#include "core/util.hpp"
#include "net/http_client.hpp"

namespace {

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Reads an integer environment variable; a malformed value is a startup error, not a silent 0.
template <class T>
bool env_int(const char* name, T& out, std::string& errors) {
  std::string v = env(name);
  if (v.empty()) return true;
  try {
    size_t pos = 0;
    long long parsed = std::stoll(v, &pos);
    if (pos != v.size() || parsed < 0) throw std::invalid_argument(v);
    out = static_cast<T>(parsed);
    return true;
  } catch (...) {
    errors += std::string("  ") + name + "=" + v + ": not a non-negative integer\n";
    return false;
  }
}

bool env_bool(const char* name, bool& out, std::string& errors) {
  const std::string v = env(name);
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

// A non-negative decimal environment variable times `unit_ms` (e.g. minutes: 60000).
bool env_duration(const char* name, double unit_ms, std::chrono::milliseconds& out, std::string& errors) {
  std::string v = env(name);
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

}  // namespace

int main(int argc, char** argv) {
  // A closed stdout/stderr pipe must not kill the daemon; sockets already use MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  using oneapi::daemon::Config;
  Config cfg;
  std::string errors;
  env_int("PORT", cfg.port, errors);
  env_int("SQLITE_BUSY_TIMEOUT", cfg.sqlite_busy_timeout_ms, errors);
  env_int("LOG_RETENTION_DAYS", cfg.log_retention_days, errors);
  env_int("CHANNEL_SUSPEND_SECONDS_FOR_429", cfg.suspend_seconds_429, errors);
  env_int("CHANNEL_SUSPEND_SECONDS_FOR_5XX", cfg.suspend_seconds_5xx, errors);
  long long relay_timeout = 0, streaming_timeout = cfg.streaming_timeout.count(),
            shutdown_timeout = cfg.shutdown_timeout.count();
  if (env_int("RELAY_TIMEOUT", relay_timeout, errors)) cfg.relay_timeout = std::chrono::seconds(relay_timeout);
  if (env_int("STREAMING_TIMEOUT", streaming_timeout, errors))
    cfg.streaming_timeout = std::chrono::seconds(streaming_timeout);
  if (env_int("SHUTDOWN_TIMEOUT", shutdown_timeout, errors))
    cfg.shutdown_timeout = std::chrono::seconds(shutdown_timeout);
  env_duration("CHANNEL_TEST_FREQUENCY", 60'000, cfg.channel_test_period, errors);
  env_duration("CHANNEL_UPDATE_FREQUENCY", 60'000, cfg.balance_update_period, errors);
  env_duration("POLLING_INTERVAL", 1'000, cfg.polling_interval, errors);
  if (const std::string v = env("NODE_TYPE"); !v.empty()) {
    if (v == "slave")
      cfg.slave_node = true;
    else if (v != "master")
      errors += "  NODE_TYPE=" + v + ": not master or slave\n";
  }
  long long body_mb = 32;
  if (env_int("MAX_REQUEST_BODY_MB", body_mb, errors)) cfg.max_request_body = static_cast<size_t>(body_mb) << 20;
  cfg.sqlite_path = env("SQLITE_PATH");
  cfg.admin_socket = env("ONEAPI_SOCKET");
  cfg.initial_root_token = env("INITIAL_ROOT_TOKEN");
  cfg.initial_root_access_token = env("INITIAL_ROOT_ACCESS_TOKEN");
  if (!env("TEST_PROMPT").empty()) cfg.test_prompt = env("TEST_PROMPT");
  if (!env("LOG_LEVEL").empty()) cfg.log_level = env("LOG_LEVEL");
  if (!env("LOG_FORMAT").empty()) cfg.log_format = env("LOG_FORMAT");
  if (cfg.log_format != "text" && cfg.log_format != "json")
    errors += "  LOG_FORMAT=" + cfg.log_format + ": not text or json\n";
  cfg.trusted_proxies = env("TRUSTED_PROXIES");
  if (const std::string dsn = env("LOG_SQL_DSN"); !dsn.empty()) {
    if (dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0 ||
        dsn.find("@tcp(") != std::string::npos)
      errors +=
          "  LOG_SQL_DSN=<hidden>: PostgreSQL and MySQL log databases are not supported yet; give a SQLite file "
          "path\n";
    else
      cfg.log_sqlite_path = dsn.rfind("sqlite://", 0) == 0 ? dsn.substr(9) : dsn;
  }
  if (auto bad = oneapi::invalid_subnet_item(cfg.trusted_proxies); !bad.empty())
    errors += "  TRUSTED_PROXIES=" + cfg.trusted_proxies + ": '" + bad + "' is not a CIDR\n";
  env_bool("GENERATE_DEFAULT_TOKEN", cfg.generate_default_token, errors);
  cfg.relay_proxy = env("RELAY_PROXY");
  cfg.metrics_token = env("METRICS_TOKEN");
  if (!cfg.relay_proxy.empty())
    if (auto r = oneapi::net::validate_proxy_url(cfg.relay_proxy); !r)
      errors += "  RELAY_PROXY: " + r.error().message + "\n";
  env_bool("ENABLE_METRIC", cfg.metric_enabled, errors);
  env_int("GLOBAL_API_RATE_LIMIT", cfg.api_rate_limit, errors);
  env_int("GLOBAL_API_RATE_LIMIT_DURATION", cfg.api_rate_limit_duration, errors);
  env_int("GLOBAL_RELAY_RATE_LIMIT", cfg.relay_rate_limit, errors);
  env_int("GLOBAL_RELAY_RATE_LIMIT_DURATION", cfg.relay_rate_limit_duration, errors);
  bool rate_limit_disabled = false;
  env_bool("RATE_LIMIT_DISABLED", rate_limit_disabled, errors);
  if (rate_limit_disabled) cfg.api_rate_limit = cfg.relay_rate_limit = 0;
  env_int("METRIC_QUEUE_SIZE", cfg.metric_queue_size, errors);
  if (cfg.metric_queue_size < 1) errors += "  METRIC_QUEUE_SIZE: must be at least 1\n";
  if (const std::string v = env("METRIC_SUCCESS_RATE_THRESHOLD"); !v.empty()) {
    char* end = nullptr;
    const double t = std::strtod(v.c_str(), &end);
    if (end != v.c_str() + v.size() || !(t >= 0 && t <= 1))
      errors += "  METRIC_SUCCESS_RATE_THRESHOLD=" + v + ": not a number from 0 to 1\n";
    else
      cfg.metric_success_rate_threshold = t;
  }

  CLI::App app{"oneapid: an OpenAI-compatible LLM API gateway that relays, balances and bills requests"};
  app.set_version_flag("--version", std::string("oneapid ") + ONEAPI_VERSION);
  app.add_option("--port", cfg.port, "TCP port of the API (env PORT)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--listen", cfg.listen_address, "Address to listen on")->capture_default_str();
  app.add_option("--data-dir", cfg.data_dir, "Directory of the SQLite database and the admin socket")
      ->capture_default_str();
  app.add_option("--admin-socket", cfg.admin_socket,
                 "Admin Unix socket (env ONEAPI_SOCKET; default <data-dir>/oneapi.sock)");
  app.add_option("--log-dir", cfg.log_dir, "Also write logs to DIR/oneapid.log (rotated)");
  app.add_option("--log-level", cfg.log_level, "trace, debug, info, warn, error (env LOG_LEVEL)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", cfg.log_format, "text, or json: one object per line for log shippers (env LOG_FORMAT)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--ready-file", cfg.ready_file, "Write {pid, port, admin_socket} as JSON here once listening");
  app.add_option("--threads", cfg.threads, "I/O threads")->check(CLI::Range(1, 64))->capture_default_str();
  bool check_only = false;
  app.add_flag("--check-config", check_only,
               "Check the configuration, directories and database (read-only), print the result and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (!errors.empty()) {
    std::cerr << "oneapid: invalid environment:\n" << errors;
    return 2;
  }
  if (cfg.sqlite_path.empty()) cfg.sqlite_path = cfg.data_dir + "/one-api.db";
  if (cfg.admin_socket.empty()) cfg.admin_socket = cfg.data_dir + "/oneapi.sock";
  if (check_only) return oneapi::daemon::check_config(cfg);
  return oneapi::daemon::run(cfg);
}
