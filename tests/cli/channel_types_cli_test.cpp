// oneapictl channel types, and --type by name or One API number, against the real daemon.
#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/channel_types.hpp"
#include "support/daemon_fixture.hpp"

using nlohmann::json;
using oneapi::test::run_command;

namespace {
std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("oneapictl channel types --json lists the table without a daemon", "[compat][cli]") {
  auto r = run_command({ONEAPICTL_PATH, "--socket", "/nonexistent/oneapi.sock", "--json", "channel", "types"});
  REQUIRE(r.exit_code == 0);
  auto list = json::parse(r.out, nullptr, false);
  REQUIRE(list.is_array());
  REQUIRE(list.size() == oneapi::channel_types().size());
  bool saw_doubao = false;
  for (const auto& row : list) {
    REQUIRE(row.is_object());
    for (const char* field : {"type", "name", "default_base_url", "adaptor"}) CHECK(row.contains(field));
    if (row["name"] == "doubao") {
      saw_doubao = true;
      CHECK(row["type"] == 40);
      CHECK(row["default_base_url"] == "https://ark.cn-beijing.volces.com");
      CHECK(row["adaptor"] == "openai");
      CHECK(row["aliases"] == json::array({"volcengine", "ark"}));
    }
  }
  CHECK(saw_doubao);

  // The human table has one line per type under a header.
  r = run_command({ONEAPICTL_PATH, "--socket", "/nonexistent/oneapi.sock", "channel", "types"});
  REQUIRE(r.exit_code == 0);
  CHECK(static_cast<size_t>(std::count(r.out.begin(), r.out.end(), '\n')) == oneapi::channel_types().size() + 1);
  CHECK(r.out.find("https://api.deepseek.com") != std::string::npos);
}

namespace {
// The --type words of a completion file: the list that starts with "openai api2d".
std::set<std::string> completion_type_words(const std::string& text) {
  std::set<std::string> words;
  const auto start = text.find("openai api2d");
  if (start == std::string::npos) return words;
  std::istringstream list(text.substr(start, text.find_first_of("\")", start) - start));
  for (std::string w; list >> w;) words.insert(w);
  return words;
}
}  // namespace

TEST_CASE("the completions offer exactly the channel type names for --type", "[compat][cli]") {
  std::set<std::string> names;
  for (const auto& t : oneapi::channel_types()) names.insert(std::string(t.name));
  for (const char* file : {"/completions/oneapictl.bash", "/completions/_oneapictl"}) {
    INFO(file);
    const std::string text = read_file(std::string(ONEAPI_SOURCE_DIR) + file);
    CHECK(completion_type_words(text) == names);
  }
}

TEST_CASE("oneapictl channel add --type takes names and One API numbers", "[compat][cli]") {
  oneapi::test::Daemon d;
  d.start();
  auto add = [&](const std::string& type) {
    return d.ctl({"--json", "channel", "add", "--type", type, "--name", "ark", "--key", "k", "--models", "doubao-pro"});
  };
  for (const std::string type : {"doubao", "40", "VolcEngine"}) {
    INFO(type);
    auto r = add(type);
    REQUIRE(r.exit_code == 0);
    auto channel = json::parse(r.out);
    CHECK(channel["type"] == 40);
    CHECK(channel["base_url"] == "");  // the type's default applies
  }
  auto listed = d.ctl({"channel", "list"});
  CHECK(listed.out.find("doubao") != std::string::npos);

  auto r = add("nonsense");
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("nonsense") != std::string::npos);
  CHECK(r.err.find("oneapictl channel types") != std::string::npos);
  r = add("9999");  // a number, but not a type this build serves
  CHECK(r.exit_code == 2);
  CHECK(oneapi::test::db_int(d.db_path(), "SELECT COUNT(*) FROM channels") == 3);
}
