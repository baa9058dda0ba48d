#pragma once
// Calls the admin API (lib/admin/protocol.hpp) over the Unix socket, unwraps One API's envelope
// {"success","message","data","code"} and maps the outcome to an exit code.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exit_codes.hpp"
#include "output.hpp"

namespace oneapi::cli {

inline constexpr const char* kDefaultSocket = "./data/oneapi.sock";  // oneapid's default (<data-dir>/oneapi.sock)
inline constexpr int kDefaultTimeoutSeconds = 300;

struct Context {
  std::string socket_path = kDefaultSocket;
  bool json = false;
  int timeout_seconds = kDefaultTimeoutSeconds;
  // Set by the chosen subcommand's callback and run once parsing (global flags included) is done.
  std::function<int()> action;
};

struct Reply {
  int exit_code = kExitOk;
  nlohmann::json data;  // the envelope's data on success
  std::string error;    // one line, when exit_code != kExitOk
  bool ok() const { return exit_code == kExitOk; }
};

Reply call(const Context& ctx, std::string_view method, const std::string& target,
           const nlohmann::json& body = nullptr);

// Prints the reply's error and returns its exit code.
int fail(const Reply& reply);
// Prints a usage error and returns kExitUsage.
int usage_error(std::string_view message);

// Prints `data` as JSON with --json, else through `human`; the reply's exit code otherwise.
template <class Human>
int show(const Context& ctx, const Reply& reply, Human&& human) {
  if (!reply.ok()) return fail(reply);
  if (ctx.json) {
    print_json(reply.data);
  } else {
    std::forward<Human>(human)(reply.data);
  }
  return kExitOk;
}

std::string url_encode(std::string_view s);
// "path?k=v&…", leaving out empty values.
std::string with_query(std::string path, const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace oneapi::cli
