#include "commands/user.hpp"

#include "admin/protocol.hpp"
#include "client.hpp"
#include "commands/common.hpp"
#include "output.hpp"

namespace oneapi::cli {

using nlohmann::json;

namespace {

std::string role_name(int64_t role) {
  switch (role) {
    case 100:
      return "root";
    case 10:
      return "admin";
    case 1:
      return "common";
    case 0:
      return "guest";
    default:
      return std::to_string(role);
  }
}

std::string user_status_name(int64_t status) {
  switch (status) {
    case 1:
      return "enabled";
    case 2:
      return "disabled";
    case 3:
      return "deleted";
    default:
      return std::to_string(status);
  }
}

}  // namespace

void setup_user(CLI::App& app, Context& ctx) {
  CLI::App* user = app.add_subcommand("user", "Read users");
  CLI::App* sub = user->add_subcommand("list", "List users");
  sub->callback([&ctx] {
    ctx.action = [&ctx] {
      return show(ctx, call(ctx, "GET", std::string(admin::kUser)), [](const json& list) {
        Table t({"ID", "USERNAME", "DISPLAY_NAME", "ROLE", "STATUS", "GROUP", "QUOTA", "USED", "REQUESTS"});
        for (const auto& u : list)
          t.add({text(u, "id"), text(u, "username"), text(u, "display_name"), role_name(integer(u, "role")),
                 user_status_name(integer(u, "status")), text(u, "group"), text(u, "quota"), text(u, "used_quota"),
                 text(u, "request_count")});
        t.print("no users");
      });
    };
  });
}

}  // namespace oneapi::cli
