#pragma once
// Starts the real oneapid binary on 127.0.0.1:0 with its own data directory, waits for its ready
// file, and offers oneapictl, raw HTTP calls and direct reads of its SQLite file.
#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace oneapi::test {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs a command (argv[0] is the program path) with optional stdin; captures stdout/stderr.
CommandResult run_command(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {});

class Daemon {
 public:
  // data_dir empty: a fresh temporary directory, removed at destruction.
  explicit Daemon(std::map<std::string, std::string> env = {}, std::string data_dir = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  void start();  // throws when it does not become ready within 20 s
  void add_args(std::vector<std::string> args) { extra_args_ = std::move(args); }
  int stop(int signo = 15);  // signal, wait, return the exit status (-1 if it did not exit)
  void kill_hard();          // SIGKILL and reap
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  int port() const { return port_; }
  const std::string& socket() const { return socket_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string db_path() const { return data_dir_ + "/one-api.db"; }
  std::string log() const;  // everything the daemon wrote to stderr

  // oneapictl --socket <ours> args...
  CommandResult ctl(const std::vector<std::string>& args) const;

 private:
  std::map<std::string, std::string> env_;
  std::vector<std::string> extra_args_;
  std::string data_dir_;
  bool own_dir_ = false;
  std::string socket_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Reads one integer from the daemon's database with a SQL query (e.g. "SELECT quota FROM users WHERE id=1").
int64_t db_int(const std::string& db_path, const std::string& sql);
// Runs SQL that changes the database (on a stopped daemon's file, as a One API database would come).
void db_exec(const std::string& db_path, const std::string& sql);
// Rows as maps column -> text.
std::vector<std::map<std::string, std::string>> db_rows(const std::string& db_path, const std::string& sql);

}  // namespace oneapi::test
