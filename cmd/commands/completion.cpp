#include "commands/completion.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "client.hpp"
#include "completion_scripts.hpp"
#include "exit_codes.hpp"

namespace oneapi::cli {

namespace {

std::string fish_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out += '\\';
    out += c;
  }
  return out + "'";
}

bool visible(const CLI::App* a) { return !a->get_group().empty(); }

// Fish has no completion file in the repository: it is generated from the command tree itself,
// so it lists exactly the commands and flags this binary has.
void print_fish(const CLI::App* app, const std::vector<std::string>& path) {
  std::string condition;
  if (path.empty()) {
    condition = "__fish_use_subcommand";
  } else {
    for (const auto& p : path)
      condition += std::string(condition.empty() ? "" : "; and ") + "__fish_seen_subcommand_from " + p;
  }
  std::vector<const CLI::App*> subs = app->get_subcommands(visible);
  std::string sub_names;
  for (const CLI::App* sub : subs) sub_names += " " + sub->get_name();
  for (const CLI::App* sub : subs) {
    std::string cond = condition;
    if (!path.empty()) cond += "; and not __fish_seen_subcommand_from" + sub_names;
    std::cout << "complete -c oneapictl -n " << fish_quote(cond) << " -a " << sub->get_name() << " -d "
              << fish_quote(sub->get_description()) << "\n";
  }
  for (const CLI::Option* opt : app->get_options([](const CLI::Option* o) { return !o->get_group().empty(); })) {
    if (opt->get_positional()) continue;
    for (const auto& l : opt->get_lnames()) {
      std::cout << "complete -c oneapictl";
      if (!path.empty()) std::cout << " -n " << fish_quote(condition);
      std::cout << " -l " << l;
      if (opt->get_type_size() != 0) std::cout << " -r";
      std::cout << " -d " << fish_quote(opt->get_description()) << "\n";
    }
  }
  for (const CLI::App* sub : subs) {
    auto next = path;
    next.push_back(sub->get_name());
    print_fish(sub, next);
  }
}

}  // namespace

void setup_completion(CLI::App& app, Context& ctx) {
  auto shell = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("completion", "Print the completion script for bash, zsh or fish");
  sub->add_option("SHELL", *shell, "bash, zsh or fish")->required()->check(CLI::IsMember({"bash", "zsh", "fish"}));
  sub->callback([&ctx, &app, shell] {
    ctx.action = [&app, shell] {
      if (*shell == "bash") {
        std::cout << kBashCompletion;
      } else if (*shell == "zsh") {
        std::cout << kZshCompletion;
      } else {
        std::cout << "# oneapictl completions for fish: oneapictl completion fish > "
                     "~/.config/fish/completions/oneapictl.fish\ncomplete -c oneapictl -f\n";
        print_fish(&app, {});
      }
      return kExitOk;
    };
  });
}

}  // namespace oneapi::cli
