#pragma once
#include <chrono>
#include <string>

namespace oneapi::daemon {

// Parsed once at startup: flags over environment variables over defaults.
struct Config {
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
  int sqlite_busy_timeout_ms = 3000;
  std::chrono::seconds relay_timeout{0};
  std::chrono::seconds streaming_timeout{300};
  std::chrono::seconds shutdown_timeout{30};
  size_t max_request_body = 32 * 1024 * 1024;
  std::string initial_root_token;
  std::string initial_root_access_token;
  std::string test_prompt = "Output only your specific model name with no additional text.";
  bool generate_default_token = true;
  std::string trusted_proxies;   // TRUSTED_PROXIES: CIDRs whose X-Forwarded-For is believed
  int log_retention_days = 0;    // LOG_RETENTION_DAYS: purge older logs at start and hourly; 0 keeps all
  int suspend_seconds_429 = 60;  // CHANNEL_SUSPEND_SECONDS_FOR_429
  int suspend_seconds_5xx = 30;  // CHANNEL_SUSPEND_SECONDS_FOR_5XX
  std::string log_sqlite_path;   // LOG_SQL_DSN (a SQLite file): settled logs move there
  std::string relay_proxy;       // RELAY_PROXY: HTTP CONNECT proxy for upstream traffic
  std::string metrics_token;     // METRICS_TOKEN: GET /metrics wants `Authorization: Bearer <it>`
  // GLOBAL_API_RATE_LIMIT per IP on /api and GLOBAL_RELAY_RATE_LIMIT per token on /v1, each per its
  // _DURATION in seconds (One API's and the Laisky fork's defaults); 0 or RATE_LIMIT_DISABLED turns one off.
  int api_rate_limit = 480;
  int api_rate_limit_duration = 180;
  int relay_rate_limit = 480;
  int relay_rate_limit_duration = 180;
  bool metric_enabled = false;  // ENABLE_METRIC, METRIC_QUEUE_SIZE, METRIC_SUCCESS_RATE_THRESHOLD
  int metric_queue_size = 10;
  double metric_success_rate_threshold = 0.8;
  // CHANNEL_TEST_FREQUENCY / CHANNEL_UPDATE_FREQUENCY (minutes, fractions allowed): test every
  // channel / refresh balances this often; 0 = never.
  std::chrono::milliseconds channel_test_period{0};
  std::chrono::milliseconds balance_update_period{0};
  std::chrono::milliseconds polling_interval{0};  // POLLING_INTERVAL (seconds) between channels of a batch
  bool slave_node = false;                        // NODE_TYPE=slave: no scheduled channel jobs
};

}  // namespace oneapi::daemon
