// oneapictl completion bash|zsh|fish: the shipped files, and a fish script that covers every
// command and flag of `oneapictl --help-all`.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "support/daemon_fixture.hpp"

using namespace oneapi::test;

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
CommandResult ctl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{ONEAPICTL_PATH};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}
}  // namespace

TEST_CASE("oneapictl completion prints the shipped bash and zsh files without a daemon", "[cli][completion]") {
  auto bash = ctl({"completion", "bash"});
  CHECK(bash.exit_code == 0);
  CHECK(bash.out == slurp(std::string(ONEAPI_SOURCE_DIR) + "/completions/oneapictl.bash"));
  auto zsh = ctl({"completion", "zsh"});
  CHECK(zsh.exit_code == 0);
  CHECK(zsh.out == slurp(std::string(ONEAPI_SOURCE_DIR) + "/completions/_oneapictl"));
  auto tcsh = ctl({"completion", "tcsh"});
  CHECK(tcsh.exit_code == 2);
  CHECK(tcsh.err.find("tcsh") != std::string::npos);
}

TEST_CASE("oneapictl completion fish covers every command and flag", "[cli][completion]") {
  auto fish = ctl({"completion", "fish"});
  REQUIRE(fish.exit_code == 0);
  auto tree = ctl({"--help-all"});
  REQUIRE(tree.exit_code == 0);
  std::istringstream lines(tree.out);
  int commands = 0;
  for (std::string line; std::getline(lines, line);) {
    // "<path>\t<flags>\t<positionals>"
    const auto tab = line.find('\t');
    const std::string path = line.substr(0, tab);
    const std::string flags = line.substr(tab + 1, line.find('\t', tab + 1) - tab - 1);
    const auto space = path.rfind(' ');
    if (space != std::string::npos) {  // not the root: offered as a word somewhere
      INFO(path);
      CHECK(fish.out.find(" -a " + path.substr(space + 1) + " -d ") != std::string::npos);
      ++commands;
    }
    std::istringstream flag_words(flags);
    for (std::string flag; flag_words >> flag;) {
      INFO(path << " " << flag);
      CHECK(fish.out.find(" -l " + flag.substr(2)) != std::string::npos);
    }
  }
  CHECK(commands > 30);
  CHECK(fish.out.find("complete -c oneapictl -f\n") != std::string::npos);
}
