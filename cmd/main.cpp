// oneapictl: manages a running oneapid over its admin Unix socket.
#include <CLI/CLI.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "client.hpp"
#include "commands/channel.hpp"
#include "commands/common.hpp"
#include "commands/completion.hpp"
#include "commands/cost.hpp"
#include "commands/log.hpp"
#include "commands/option.hpp"
#include "commands/redemption.hpp"
#include "commands/status.hpp"
#include "commands/token.hpp"
#include "commands/user.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

namespace {

using namespace oneapi::cli;

// One line per command: "<path>\t<long flags>\t<positionals>". Used by the consistency test to
// check that the man page and the shell completions cover every command and flag.
void print_command_tree(const CLI::App* app, const std::string& path) {
  std::string flags, positionals;
  for (const CLI::Option* opt : app->get_options([](const CLI::Option* o) { return !o->get_group().empty(); })) {
    if (opt->get_positional()) {
      positionals += (positionals.empty() ? "" : " ") + opt->get_name();
      continue;
    }
    for (const auto& l : opt->get_lnames()) flags += (flags.empty() ? "--" : " --") + l;
  }
  std::cout << path << '\t' << flags << '\t' << positionals << '\n';
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }))
    print_command_tree(sub, path + " " + sub->get_name());
}

// The deepest subcommand the parser reached, e.g. "channel add".
const CLI::App* parsed_leaf(const CLI::App& app) {
  const CLI::App* cur = &app;
  for (;;) {
    auto parsed = cur->get_subcommands();
    if (parsed.empty()) return cur;
    cur = parsed.front();
  }
}

std::string parsed_path(const CLI::App& app) {
  std::string path = "oneapictl";
  const CLI::App* cur = &app;
  for (;;) {
    auto parsed = cur->get_subcommands();
    if (parsed.empty()) return path;
    cur = parsed.front();
    path += " " + cur->get_name();
  }
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

int run(int argc, char** argv) {
  Context ctx;
  CLI::App app{"oneapictl: manage a running oneapid over its admin Unix socket"};
  app.name("oneapictl");
  app.footer(std::string(kExitCodesHelp) +
             "\nGlobal flags may come before or after the command. See oneapictl(1) for details.");
  app.get_formatter()->column_width(34);
  app.set_version_flag("--version", std::string("oneapictl ") + ONEAPI_VERSION);
  // Subcommands inherit this, so global flags work after the command too.
  app.fallthrough();

  app.add_option("--socket", ctx.socket_path, "Admin socket of oneapid")
      ->envname("ONEAPI_SOCKET")
      ->capture_default_str();
  app.add_flag("--json", ctx.json, "Print the answer's data as JSON (One API's field names)");
  app.add_option("--timeout", ctx.timeout_seconds, "Seconds to wait for oneapid's answer (0 = no limit)")
      ->check(kNonNegativeInt)
      ->capture_default_str();
  app.add_flag_callback(
         "--help-all",
         [&app] {
           print_command_tree(&app, "oneapictl");
           throw CLI::Success();
         },
         "List every command and flag, one command per line")
      ->group("");

  setup_status(app, ctx);
  setup_channel(app, ctx);
  setup_token(app, ctx);
  setup_log(app, ctx);
  setup_cost(app, ctx);
  setup_option(app, ctx);
  setup_user(app, ctx);
  setup_redemption(app, ctx);
  setup_completion(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version, --help-all
    print_error(one_line(e.what()) + " (see " + parsed_path(app) + " --help)");
    return kExitUsage;
  }
  if (!ctx.action) {
    // A group without its subcommand ("oneapictl channel"), or nothing at all.
    const CLI::App* last = parsed_leaf(app);
    std::string names;
    for (const CLI::App* sub : last->get_subcommands([](const CLI::App* s) { return !s->get_group().empty(); }))
      names += (names.empty() ? "" : ", ") + sub->get_name();
    const std::string path = parsed_path(app);
    const std::string where = path == "oneapictl" ? "" : path.substr(sizeof("oneapictl")) + ": ";
    return usage_error(where + "a command is required (" + names + ")");
  }
  return ctx.action();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    print_error(std::string("internal error: ") + e.what());
  } catch (...) {
    print_error("internal error");
  }
  return kExitFailed;
}
