#include "support/daemon_fixture.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace oneapi::test {

namespace {

std::vector<std::string> merged_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // A developer's own settings must not leak into the daemon under test.
  for (const char* k : {"PORT", "SQLITE_PATH", "ONEAPI_SOCKET", "RELAY_TIMEOUT", "STREAMING_TIMEOUT",
                        "INITIAL_ROOT_TOKEN", "INITIAL_ROOT_ACCESS_TOKEN", "SHUTDOWN_TIMEOUT", "CHANNEL_TEST_FREQUENCY",
                        "CHANNEL_UPDATE_FREQUENCY", "POLLING_INTERVAL", "NODE_TYPE", "TEST_PROMPT"})
    all.erase(k);
  for (auto& [k, v] : extra) all[k] = v;
  std::vector<std::string> out;
  for (auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
  int out_pipe[2], err_pipe[2];
  // CLOEXEC: only the dup2'ed copies reach the command, so a server it leaves running (a
  // database) cannot hold the pipes open and keep us waiting for their end.
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  auto args = argv;
  auto envs = merged_env(env);
  auto cargs = c_array(args);
  auto cenv = c_array(envs);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ::execve(cargs[0], cargs.data(), cenv.data());
    _exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CommandResult r;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[8192];
  while (open_fds > 0) {
    if (::poll(fds, 2, 60000) <= 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

Daemon::Daemon(std::map<std::string, std::string> env, std::string data_dir)
    : env_(std::move(env)), data_dir_(std::move(data_dir)) {
  if (data_dir_.empty()) {
    char tmpl[] = "/tmp/oneapi-test-XXXXXX";
    if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
    data_dir_ = tmpl;
    own_dir_ = true;
  }
  socket_ = data_dir_ + "/oneapi.sock";
}

Daemon::~Daemon() {
  if (pid_ > 0) stop(SIGKILL);
  if (own_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
}

void Daemon::start() {
  const std::string ready = data_dir_ + "/ready.json";
  std::filesystem::remove(ready);
  std::vector<std::string> args = {ONEAPID_PATH, "--port",       "0",  "--listen", "127.0.0.1", "--data-dir",
                                   data_dir_,    "--ready-file", ready};
  // Debug logs unless the test sets the level itself (a flag would win over LOG_LEVEL).
  const auto has_arg = [&](const char* a) {
    return std::find(extra_args_.begin(), extra_args_.end(), a) != extra_args_.end();
  };
  if (!has_arg("--log-level") && !has_arg("--env-file") && !env_.count("LOG_LEVEL") && !env_.count("ONEAPI_ENV_FILE"))
    args.insert(args.end(), {"--log-level", "debug"});
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  auto envs = merged_env(env_);
  auto cargs = c_array(args);
  auto cenv = c_array(envs);
  const std::string log_path = data_dir_ + "/daemon.log";
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    ::execve(cargs[0], cargs.data(), cenv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(ready)) {
      auto j = nlohmann::json::parse(read_file(ready), nullptr, false);
      if (j.is_object()) {
        port_ = j.value("port", 0);
        return;
      }
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("oneapid exited during startup:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("oneapid did not become ready:\n" + log());
}

int Daemon::stop(int signo) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signo);
  int status = 0;
  for (int i = 0; i < 3000; ++i) {  // up to 60 s
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

void Daemon::kill_hard() { stop(SIGKILL); }

std::string Daemon::log() const { return read_file(data_dir_ + "/daemon.log"); }

CommandResult Daemon::ctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {ONEAPICTL_PATH, "--socket", socket_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

void db_exec(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("cannot open " + db_path);
  }
  sqlite3_busy_timeout(db, 5000);
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  const std::string why = msg ? msg : "";
  sqlite3_free(msg);
  sqlite3_close(db);
  if (rc != SQLITE_OK) throw std::runtime_error("SQL failed: " + why);
}

std::vector<std::map<std::string, std::string>> db_rows(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    throw std::runtime_error("cannot open " + db_path);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error("bad SQL: " + msg);
  }
  std::vector<std::map<std::string, std::string>> rows;
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::map<std::string, std::string> row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      auto text = sqlite3_column_text(st, i);
      row[sqlite3_column_name(st, i)] = text ? reinterpret_cast<const char*>(text) : "";
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

int64_t db_int(const std::string& db_path, const std::string& sql) {
  auto rows = db_rows(db_path, sql);
  if (rows.empty() || rows[0].empty()) throw std::runtime_error("no row for: " + sql);
  return std::stoll(rows[0].begin()->second);
}

}  // namespace oneapi::test
