// oneapid --check-config: checks without starting, changing or creating anything.
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "relay/e2e_support.hpp"
#include "support/temp_dir.hpp"

using namespace oneapi::test;

TEST_CASE("oneapid --check-config reports on a new, a running and a damaged setup", "[e2e][check-config]") {
  TempDir dir{"oneapi-check-"};
  const std::string data = dir.file("data");
  auto check = [&](const Env& env = {}) {
    return run_command({ONEAPID_PATH, "--data-dir", data, "--check-config"}, env);
  };

  auto fresh = check();
  CHECK(fresh.exit_code == 0);
  CHECK(fresh.out.find("will be created") != std::string::npos);
  CHECK(fresh.out.find("configuration ok") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(data));  // nothing was created

  {
    Daemon d({}, data);
    d.start();
    auto running = check();
    CHECK(running.exit_code == 0);
    CHECK(running.out.find("(up to date)") != std::string::npos);
    CHECK(d.stop(SIGTERM) == 0);
  }

  const unsigned cores = std::thread::hardware_concurrency();
  auto polling = check(Env{{"BUSY_POLL_US", "100"}});
  CHECK(polling.exit_code == 0);
  if (cores != 1)
    CHECK(polling.out.find("ok: BUSY_POLL_US=100 with 1 I/O thread: up to a core per polling thread") !=
          std::string::npos);
  if (cores > 0 && cores <= 64) {
    auto every_core =
        run_command({ONEAPID_PATH, "--data-dir", data, "--check-config", "--threads", std::to_string(cores)},
                    Env{{"BUSY_POLL_US", "100"}});
    CHECK(every_core.exit_code == 0);  // a warning, not an error
    CHECK(every_core.out.find("warning: BUSY_POLL_US=100 with " + std::to_string(cores)) != std::string::npos);
  }

  auto bad_env = check(Env{{"PORT", "not-a-port"}});
  CHECK(bad_env.exit_code == 2);
  CHECK(bad_env.err.find("PORT") != std::string::npos);

  auto same_log_db = check(Env{{"LOG_SQL_DSN", data + "/one-api.db"}});
  CHECK(same_log_db.exit_code == 1);
  CHECK(same_log_db.out.find("error: LOG_SQL_DSN") != std::string::npos);

  std::filesystem::remove(data + "/one-api.db-wal");
  std::filesystem::remove(data + "/one-api.db-shm");
  {
    std::ofstream garbage(data + "/one-api.db", std::ios::trunc | std::ios::binary);
    garbage << std::string(8192, 'x');
  }
  auto damaged = check();
  CHECK(damaged.exit_code == 1);
  CHECK(damaged.out.find("error: database") != std::string::npos);
  CHECK(damaged.out.find("configuration has errors") != std::string::npos);
}
