// oneapictl's interface against its documentation and completions, its usage errors and what it
// does when the daemon is unreachable. Runs the built binary.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/daemon_fixture.hpp"
#include "support/temp_dir.hpp"

using oneapi::test::CommandResult;

namespace {

struct Command {
  std::vector<std::string> path;  // e.g. {"channel", "add"}; empty for oneapictl itself
  std::vector<std::string> flags;
  std::vector<std::string> positionals;
  std::vector<std::string> children;
  std::string joined() const {
    std::string s;
    for (const auto& p : path) s += (s.empty() ? "" : " ") + p;
    return s;
  }
};

CommandResult ctl(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv{ONEAPICTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return oneapi::test::run_command(argv, env);
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// `oneapictl --help-all`: "<path>\t<flags>\t<positionals>" per command.
std::vector<Command> command_tree() {
  auto r = ctl({"--help-all"});
  REQUIRE(r.exit_code == 0);
  std::vector<Command> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    REQUIRE(t1 != std::string::npos);
    REQUIRE(t2 != std::string::npos);
    Command c;
    c.path = words(line.substr(0, t1));
    REQUIRE(!c.path.empty());
    REQUIRE(c.path.front() == "oneapictl");
    c.path.erase(c.path.begin());
    c.flags = words(line.substr(t1 + 1, t2 - t1 - 1));
    c.positionals = words(line.substr(t2 + 1));
    out.push_back(std::move(c));
  }
  for (auto& parent : out)
    for (const auto& child : out)
      if (child.path.size() == parent.path.size() + 1 &&
          std::equal(parent.path.begin(), parent.path.end(), child.path.begin()))
        parent.children.push_back(child.path.back());
  return out;
}

std::string read_source_file(const std::string& relative) {
  std::ifstream in(std::string(ONEAPI_SOURCE_DIR) + "/" + relative);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; }

// `word` occurs in `text` as a whole word (so --model does not match --models).
bool has_word(const std::string& text, const std::string& word) {
  for (size_t pos = text.find(word); pos != std::string::npos; pos = text.find(word, pos + 1)) {
    const bool start_ok = pos == 0 || !word_char(text[pos - 1]);
    const bool end_ok = pos + word.size() >= text.size() || !word_char(text[pos + word.size()]);
    if (start_ok && end_ok) return true;
  }
  return false;
}

// Every "--flag" in `text`.
std::set<std::string> flags_in(const std::string& text) {
  std::set<std::string> out;
  for (size_t pos = text.find("--"); pos != std::string::npos; pos = text.find("--", pos + 2)) {
    if (pos > 0 && word_char(text[pos - 1])) continue;
    size_t end = pos + 2;
    while (end < text.size() && word_char(text[end])) ++end;
    if (end > pos + 2 && std::isalpha(static_cast<unsigned char>(text[pos + 2])))
      out.insert(text.substr(pos, end - pos));
  }
  return out;
}

// The text from `start` up to `end_marker` (or the end), empty when `start` is missing.
std::string block(const std::string& text, const std::string& start, const std::vector<std::string>& end_markers) {
  auto pos = text.find(start);
  if (pos == std::string::npos) return {};
  size_t end = std::string::npos;
  for (const auto& m : end_markers) end = std::min(end, text.find(m, pos + start.size()));
  return text.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

std::string normalize_roff(std::string s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 2, "\\-") == 0) {
      out += '-';
      ++i;
    } else if (s.compare(i, 2, "\\f") == 0 && i + 2 < s.size()) {
      i += 2;  // \fB, \fI, \fR, \fP
    } else if (s.compare(i, 4, "\\(dq") == 0) {
      out += '"';
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

const Command& root_of(const std::vector<Command>& tree) {
  for (const auto& c : tree)
    if (c.path.empty()) return c;
  FAIL("no root command in --help-all");
  throw;
}

bool one_error_line(const CommandResult& r) {
  return r.err.rfind("oneapictl: ", 0) == 0 && r.err.find('\n') == r.err.size() - 1;
}

}  // namespace

TEST_CASE("oneapictl --help-all lists the commands of the brief", "[cli]") {
  auto tree = command_tree();
  std::set<std::string> paths;
  for (const auto& c : tree) paths.insert(c.joined());
  for (const char* expected : {"status",
                               "channel add",
                               "channel list",
                               "channel get",
                               "channel update",
                               "channel enable",
                               "channel disable",
                               "channel delete",
                               "channel test",
                               "channel balance",
                               "token create",
                               "token list",
                               "token get",
                               "token update",
                               "token delete",
                               "log list",
                               "cost",
                               "option get",
                               "option set",
                               "option list",
                               "user list",
                               "user add",
                               "user get",
                               "user update",
                               "user delete",
                               "user enable",
                               "user disable",
                               "user promote",
                               "user demote",
                               "user topup",
                               "user access-token",
                               "redemption create",
                               "redemption list",
                               "redemption get",
                               "redemption disable",
                               "redemption delete",
                               "redemption redeem",
                               "log stat",
                               "log purge"})
    CHECK(paths.count(expected) == 1);
  const auto& root = root_of(tree);
  for (const char* flag : {"--socket", "--json", "--version", "--help"})
    CHECK(std::count(root.flags.begin(), root.flags.end(), flag) == 1);
}

TEST_CASE("every command and flag appears in the bash and zsh completions and the man page", "[cli]") {
  const auto tree = command_tree();
  const auto& root = root_of(tree);
  const std::set<std::string> globals(root.flags.begin(), root.flags.end());
  const std::string bash = read_source_file("completions/oneapictl.bash");
  const std::string zsh = read_source_file("completions/_oneapictl");
  const std::string man = normalize_roff(read_source_file("man/oneapictl.1"));

  // Global flags.
  const std::string bash_globals = block(bash, "_oneapictl_global_opts=", {"\n"});
  const std::string zsh_globals = block(zsh, "_oneapictl_global=(", {"\n)"});
  const std::string man_globals = block(man, ".SH GLOBAL OPTIONS", {"\n.SH "});
  for (const auto& flag : root.flags) {
    INFO("global flag " << flag);
    CHECK(has_word(bash_globals, flag));
    CHECK(has_word(zsh_globals, flag));
    CHECK(has_word(man_globals, flag));
  }

  for (const auto& c : tree) {
    if (c.path.empty()) continue;
    const std::string name = c.joined();
    INFO("command: " << name);
    std::string zsh_fn = "_oneapictl";
    for (const auto& p : c.path) zsh_fn += "_" + p;
    const std::string b = block(bash, "\"" + name + "\")", {";;"});
    const std::string z = block(zsh, "\n" + zsh_fn + "() {", {"\n}\n"});
    REQUIRE(!b.empty());
    REQUIRE(!z.empty());

    if (!c.children.empty()) {  // a group: its subcommands are offered
      for (const auto& child : c.children) {
        INFO("subcommand: " << child);
        CHECK(has_word(b, child));
        CHECK(z.find("'" + child + ":") != std::string::npos);
      }
      continue;
    }

    const std::string m = block(man, ".SS \"" + name + "\"", {"\n.SS ", "\n.SH "});
    REQUIRE(!m.empty());
    std::set<std::string> own;
    for (const auto& flag : c.flags) {
      own.insert(flag);
      if (globals.count(flag)) continue;  // --help
      INFO("flag: " << flag);
      CHECK(has_word(b, flag));
      CHECK(has_word(z, flag));
      CHECK(has_word(m, flag));
    }
    for (const auto& positional : c.positionals) {
      INFO("argument: " << positional);
      CHECK(has_word(m, positional));
    }
    // Nothing stale: every flag the docs name for this command exists.
    for (const auto& docs : {b, z, m})
      for (const auto& flag : flags_in(docs)) {
        INFO("documented flag: " << flag);
        CHECK((own.count(flag) == 1 || globals.count(flag) == 1));
      }
  }

  // Top-level commands.
  const std::string bash_top = block(bash, "\"\")", {";;"});
  const std::string zsh_top = block(zsh, "\n_oneapictl() {", {"\n}\n"});
  for (const auto& child : root.children) {
    INFO("command: " << child);
    CHECK(has_word(bash_top, child));
    CHECK(zsh_top.find("'" + child + ":") != std::string::npos);
  }

  // Exit codes and environment.
  const std::string exit_status = block(man, ".SH EXIT STATUS", {"\n.SH "});
  for (const char* code : {"\n0\t", "\n1\t", "\n2\t", "\n3\t", "\n4\t", "\n5\t"})
    CHECK(exit_status.find(code) != std::string::npos);
  CHECK(block(man, ".SH ENVIRONMENT", {"\n.SH "}).find("ONEAPI_SOCKET") != std::string::npos);
  CHECK(block(man, ".SH FILES", {"\n.SH "}).find("oneapi.sock") != std::string::npos);
}

TEST_CASE("every command's --help exits 0 and shows its flags", "[cli]") {
  const auto tree = command_tree();
  for (const auto& c : tree) {
    std::vector<std::string> args = c.path;
    args.push_back("--help");
    auto r = ctl(args);
    INFO("oneapictl " << c.joined() << " --help");
    CHECK(r.exit_code == 0);
    CHECK(r.err.empty());
    for (const auto& flag : c.flags) CHECK(has_word(r.out, flag));
    for (const auto& child : c.children) CHECK(has_word(r.out, child));
  }
  auto r = ctl({"--help"});
  CHECK(r.out.find("Exit codes:") != std::string::npos);

  r = ctl({"--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("oneapictl ") == 0);
}

TEST_CASE("oneapictl usage errors exit 2 with one line on stderr", "[cli]") {
  oneapi::test::TempDir dir("oneapictl-test-");
  // Usage errors must be caught before any connection: with a missing socket they would exit 3.
  const std::string sock = dir.file("missing.sock");
  const std::vector<std::vector<std::string>> cases = {
      {},
      {"chanel", "list"},
      {"channel"},
      {"channel", "lst"},
      {"status", "--bogus"},
      {"--bogus", "status"},
      {"channel", "get"},
      {"channel", "get", "abc"},
      {"channel", "get", "0"},
      {"channel", "get", "1", "2"},
      {"channel", "add", "--name", "x", "--key", "k", "--models", "m"},
      {"channel", "add", "--type", "nosuch", "--name", "x", "--key", "k", "--models", "m"},
      {"channel", "add", "--type", "openai", "--name", "x", "--key", "k", "--models", "m", "--model-mapping", "{"},
      {"channel", "add", "--type", "openai", "--name", "x", "--key", "k", "--models", "m", "--weight", "heavy"},
      {"channel", "add", "--type", "openai", "--name", "x", "--key", "-", "--models", "m"},  // stdin is empty
      {"channel", "update", "3"},
      {"channel", "test"},
      {"channel", "test", "3", "--all"},
      {"channel", "test", "3", "--disabled"},
      {"channel", "test", "--all", "--disabled"},
      {"channel", "test", "--include-disabled"},
      {"channel", "balance"},
      {"channel", "balance", "3", "--all"},
      {"channel", "balance", "x"},
      {"token", "create"},
      {"token", "create", "--name", "x", "--quota", "-1"},
      {"token", "create", "--name", "x", "--expires", "yesterday-ish"},
      {"token", "update", "3", "--status", "on"},
      {"log", "list", "--limit", "0"},
      {"log", "list", "--type", "nonsense"},
      {"log", "list", "--since", "1x"},
      {"cost"},
      {"option", "set", "RetryTimes"},
      {"status", "--timeout", "soon"},
  };
  for (const auto& args : cases) {
    std::vector<std::string> full{"--socket", sock};
    full.insert(full.end(), args.begin(), args.end());
    auto r = ctl(full);
    std::string shown;
    for (const auto& a : args) shown += " " + a;
    INFO("oneapictl" << shown << "\nstderr: " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(one_error_line(r));
    CHECK(r.out.empty());
  }
}

TEST_CASE("oneapictl exits 3 with one line when the daemon is unreachable", "[cli]") {
  oneapi::test::TempDir dir("oneapictl-test-");
  const std::string missing = dir.file("missing.sock");

  for (const std::vector<std::string>& args : {std::vector<std::string>{"status"},
                                               {"--json", "status"},
                                               {"channel", "list", "--json"},
                                               {"channel", "test", "--all"},
                                               {"token", "create", "--name", "x"},
                                               {"cost", "abc"}}) {
    std::vector<std::string> full{"--socket", missing};
    full.insert(full.end(), args.begin(), args.end());
    auto r = ctl(full);
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 3);
    CHECK(one_error_line(r));
    CHECK(r.out.empty());
    CHECK(r.err.find(missing) != std::string::npos);
    CHECK(r.err.find("is oneapid running?") != std::string::npos);
  }

  // ONEAPI_SOCKET picks the socket when --socket is absent.
  auto r = ctl({"status"}, {{"ONEAPI_SOCKET", missing}});
  CHECK(r.exit_code == 3);
  CHECK(r.err.find(missing) != std::string::npos);

  // A socket file nobody listens on: connection refused.
  const std::string dead = dir.file("dead.sock");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", dead.c_str());
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  ::close(fd);
  r = ctl({"--socket", dead, "--json", "status"});
  CHECK(r.exit_code == 3);
  CHECK(one_error_line(r));
  CHECK(r.out.empty());

  // Something that is not a socket at all.
  const std::string plain = dir.file("plain-file");
  std::ofstream(plain) << "x";
  r = ctl({"--socket", plain, "status"});
  CHECK(r.exit_code == 3);
  CHECK(one_error_line(r));
}
