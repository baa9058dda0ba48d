#include "commands/status.hpp"

#include "admin/protocol.hpp"
#include "client.hpp"
#include "commands/common.hpp"
#include "output.hpp"

namespace oneapi::cli {

using nlohmann::json;

void setup_status(CLI::App& app, Context& ctx) {
  CLI::App* sub = app.add_subcommand("status", "Show the daemon's version, uptime and counts");
  sub->callback([&ctx] {
    ctx.action = [&ctx] {
      return show(ctx, call(ctx, "GET", std::string(admin::kStatus)), [](const json& s) {
        print_fields({{"version", text(s, "version")},
                      {"system_name", text(s, "system_name")},
                      {"started", format_time(integer(s, "start_time"))},
                      {"uptime", format_duration(integer(s, "uptime_seconds"))},
                      {"quota_per_unit", text(s, "quota_per_unit")},
                      {"channels", text(s, "channels")},
                      {"tokens", text(s, "tokens")}});
      });
    };
  });
}

}  // namespace oneapi::cli
