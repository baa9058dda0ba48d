#include "commands/option.hpp"

#include <iostream>
#include <memory>

#include "admin/protocol.hpp"
#include "client.hpp"
#include "commands/common.hpp"
#include "output.hpp"

namespace oneapi::cli {

using nlohmann::json;

namespace {

int run_get(const Context& ctx, const std::string& key) {
  Reply r = call(ctx, "GET", std::string(admin::kOption));
  if (!r.ok()) return fail(r);
  for (const auto& item : r.data) {
    if (text(item, "key") != key) continue;
    if (ctx.json)
      print_json(item);
    else
      std::cout << text(item, "value") << '\n';
    return kExitOk;
  }
  Reply missing;
  missing.exit_code = kExitNotFound;
  missing.error = "unknown option: " + key + " (see oneapictl option list)";
  return fail(missing);
}

}  // namespace

void setup_option(CLI::App& app, Context& ctx) {
  CLI::App* option = app.add_subcommand("option", "Read and change system options (ratios, quotas, switches)");
  {
    CLI::App* sub = option->add_subcommand("list", "List options and their values");
    sub->callback([&ctx] {
      ctx.action = [&ctx] {
        return show(ctx, call(ctx, "GET", std::string(admin::kOption)), [](const json& list) {
          Table t({"KEY", "VALUE"});
          for (const auto& item : list) {
            std::string value = text(item, "value");
            if (display_width(value) > 60)
              value = truncate(value, 48) + " (" + std::to_string(value.size()) + " bytes)";
            t.add({text(item, "key"), value});
          }
          t.print("no options");
        });
      };
    });
  }
  {
    auto key = std::make_shared<std::string>();
    CLI::App* sub = option->add_subcommand("get", "Print one option's value");
    sub->add_option("KEY", *key, "Option name, e.g. ModelRatio")->required();
    sub->callback([&ctx, key] { ctx.action = [&ctx, key] { return run_get(ctx, *key); }; });
  }
  {
    auto key = std::make_shared<std::string>();
    auto value = std::make_shared<std::string>();
    CLI::App* sub = option->add_subcommand("set", "Change one option");
    sub->add_option("KEY", *key, "Option name, e.g. RetryTimes")->required();
    sub->add_option("VALUE", *value, "New value (JSON text for the ratio maps); - reads it from standard input")
        ->required();
    sub->callback([&ctx, key, value] {
      ctx.action = [&ctx, key, value] {
        if (!resolve_stdin_value(*value)) return usage_error("option set: no value on standard input");
        Reply r = call(ctx, "PUT", std::string(admin::kOption), json{{"key", *key}, {"value", *value}});
        return show(ctx, r, [&](const json&) { std::cout << *key << " updated\n"; });
      };
    });
  }
}

}  // namespace oneapi::cli
