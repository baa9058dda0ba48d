#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "app.hpp"

int main(int argc, char** argv) {
  // A closed stdout/stderr pipe must not kill the daemon; sockets already use MSG_NOSIGNAL.
  std::signal(SIGPIPE, SIG_IGN);
  using oneapi::daemon::Config;
  oneapi::daemon::ConfigSource source;
  Config& flags = source.flags;
  if (const char* file = std::getenv("ONEAPI_ENV_FILE")) source.env_file = file;

  CLI::App app{"oneapid: an OpenAI-compatible LLM API gateway that relays, balances and bills requests"};
  app.set_version_flag("--version", std::string("oneapid ") + ONEAPI_VERSION);
  app.add_option("--port", flags.port, "TCP port of the API (env PORT)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--listen", flags.listen_address, "Address to listen on")->capture_default_str();
  app.add_option("--data-dir", flags.data_dir, "Directory of the SQLite database and the admin socket")
      ->capture_default_str();
  app.add_option("--admin-socket", flags.admin_socket,
                 "Admin Unix socket (env ONEAPI_SOCKET; default <data-dir>/oneapi.sock)");
  app.add_option("--env-file", source.env_file,
                 "VAR=value lines read at start and again at SIGHUP; they override the environment "
                 "(env ONEAPI_ENV_FILE)");
  app.add_option("--log-dir", flags.log_dir, "Also write logs to DIR/oneapid.log (rotated)");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn, error (env LOG_LEVEL)")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", flags.log_format,
                 "text, or json: one object per line for log shippers (env LOG_FORMAT)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--ready-file", flags.ready_file, "Write {pid, port, admin_socket} as JSON here once listening");
  app.add_option("--threads", flags.threads, "I/O threads")->check(CLI::Range(1, 64))->capture_default_str();
  bool check_only = false;
  app.add_flag("--check-config", check_only,
               "Check the configuration, directories and database (read-only), print the result and exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  for (const char* name : {"--port", "--listen", "--data-dir", "--admin-socket", "--log-dir", "--log-level",
                           "--log-format", "--ready-file", "--threads"})
    if (app.count(name) > 0) source.given.insert(name);
  auto cfg = source.load();
  if (!cfg) {
    std::cerr << "oneapid: invalid environment:\n" << cfg.error().message;
    if (cfg.error().message.back() != '\n') std::cerr << "\n";
    return 2;
  }
  // The file's variables also reach what reads the environment directly (SSL_CERT_FILE,
  // TIKTOKEN_CACHE_DIR, GEMINI_*): at start only, while no other thread runs.
  if (!source.env_file.empty())
    if (auto vars = oneapi::daemon::read_env_file(source.env_file))
      for (const auto& [name, value] : *vars) ::setenv(name.c_str(), value.c_str(), 1);
  if (check_only) return oneapi::daemon::check_config(*cfg);
  return oneapi::daemon::run(source, *cfg);
}
