#include "commands/user.hpp"

#include <iostream>
#include <memory>

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

int role_number(const std::string& name) { return name == "root" ? 100 : name == "admin" ? 10 : 1; }

void print_user(const json& u) {
  print_fields({{"id", text(u, "id")},
                {"username", text(u, "username")},
                {"display_name", text(u, "display_name")},
                {"role", role_name(integer(u, "role"))},
                {"status", user_status_name(integer(u, "status"))},
                {"group", text(u, "group")},
                {"quota", text(u, "quota")},
                {"used_quota", text(u, "used_quota")},
                {"request_count", text(u, "request_count")},
                {"email", text(u, "email")},
                {"aff_code", text(u, "aff_code")}});
}

std::string user_path(const std::string& ref) { return std::string(admin::kUser) + url_encode(ref); }

// USER: a username or a numeric id.
CLI::Option* add_user_arg(CLI::App* sub, std::string& ref) {
  return sub->add_option("USER", ref, "Username or id of the user")->required();
}

struct UserArgs {
  std::string ref, username, password, display_name, group, role, email, inviter;
  int64_t quota = 0;
  CLI::Option *username_opt = nullptr, *password_opt = nullptr, *display_opt = nullptr, *group_opt = nullptr,
              *quota_opt = nullptr, *role_opt = nullptr, *email_opt = nullptr;
};

void add_user_flags(CLI::App* sub, UserArgs& a, bool for_add) {
  a.username_opt =
      sub->add_option("--username", a.username, for_add ? "Login name (at most 30 characters)" : "New login name");
  a.password_opt = sub->add_option("--password", a.password, "Password, 8 to 20 characters ('-' reads it from stdin)");
  a.display_opt = sub->add_option("--display-name", a.display_name, "Display name (at most 20 characters)");
  a.group_opt =
      sub->add_option("--group", a.group, "Group, which decides the channels and the group ratio (default: default)");
  a.quota_opt = sub->add_option("--quota", a.quota,
                                for_add ? "Starting quota (500000 = $1 by default)" : "Set the remaining quota")
                    ->check(kNonNegativeInt);
  a.role_opt =
      sub->add_option("--role", a.role, "common, admin or root")->check(CLI::IsMember({"common", "admin", "root"}));
  a.email_opt = sub->add_option("--email", a.email, "E-mail address");
  if (for_add) {
    a.username_opt->required();
    sub->add_option("--aff-code", a.inviter,
                    "Invitation code of the user who invited this one (QuotaForInviter/Invitee)");
  }
}

int user_body(UserArgs& a, json& body) {
  if (given(a.username_opt)) body["username"] = a.username;
  if (given(a.password_opt)) {
    if (a.password == "-" && !resolve_stdin_value(a.password)) return usage_error("--password -: nothing on stdin");
    body["password"] = a.password;
  }
  if (given(a.display_opt)) body["display_name"] = a.display_name;
  if (given(a.group_opt)) body["group"] = a.group;
  if (given(a.quota_opt)) body["quota"] = a.quota;
  if (given(a.role_opt)) body["role"] = role_number(a.role);
  if (given(a.email_opt)) body["email"] = a.email;
  if (!a.inviter.empty()) body["aff_code"] = a.inviter;
  return kExitOk;
}

// Resolves USER to its id (update and top-up take ids).
Reply resolve(const Context& ctx, const std::string& ref) { return call(ctx, "GET", user_path(ref)); }

void add_manage(CLI::App* user, Context& ctx, const char* action, const char* help, const char* done) {
  auto ref = std::make_shared<std::string>();
  CLI::App* sub = user->add_subcommand(action, help);
  add_user_arg(sub, *ref);
  sub->callback([&ctx, ref, action, done] {
    ctx.action = [&ctx, ref, action, done] {
      json body = {{"username", *ref}, {"action", action}};
      Reply r = call(ctx, "POST", std::string(admin::kUser) + "manage", body);
      return show(ctx, r, [&](const json& u) { std::cout << "user " << text(u, "username") << " " << done << "\n"; });
    };
  });
}

}  // namespace

void setup_user(CLI::App& app, Context& ctx) {
  CLI::App* user = app.add_subcommand("user", "Manage users, their quota and access tokens");
  {
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
  {
    auto ref = std::make_shared<std::string>();
    CLI::App* sub = user->add_subcommand("get", "Show one user");
    add_user_arg(sub, *ref);
    sub->callback([&ctx, ref] { ctx.action = [&ctx, ref] { return show(ctx, resolve(ctx, *ref), print_user); }; });
  }
  {
    auto a = std::make_shared<UserArgs>();
    CLI::App* sub = user->add_subcommand("add", "Create a user (with QuotaForNewUser and a default token)");
    add_user_flags(sub, *a, true);
    sub->callback([&ctx, a] {
      ctx.action = [&ctx, a] {
        json body = json::object();
        if (int rc = user_body(*a, body); rc != kExitOk) return rc;
        return show(ctx, call(ctx, "POST", std::string(admin::kUser), body), print_user);
      };
    });
  }
  {
    auto a = std::make_shared<UserArgs>();
    CLI::App* sub = user->add_subcommand("update", "Change the given fields of a user");
    add_user_arg(sub, a->ref);
    add_user_flags(sub, *a, false);
    sub->callback([&ctx, a] {
      ctx.action = [&ctx, a] {
        json body = json::object();
        if (int rc = user_body(*a, body); rc != kExitOk) return rc;
        if (body.empty()) return usage_error("user update: nothing to change (give at least one flag)");
        Reply found = resolve(ctx, a->ref);
        if (!found.ok()) return fail(found);
        body["id"] = integer(found.data, "id");
        return show(ctx, call(ctx, "PUT", std::string(admin::kUser), body), print_user);
      };
    });
  }
  {
    auto ref = std::make_shared<std::string>();
    CLI::App* sub = user->add_subcommand("delete", "Delete a user (soft, as One API: logs keep the name)");
    add_user_arg(sub, *ref);
    sub->callback([&ctx, ref] {
      ctx.action = [&ctx, ref] {
        Reply r = call(ctx, "DELETE", user_path(*ref));
        return show(ctx, r, [&](const json&) { std::cout << "user " << *ref << " deleted\n"; });
      };
    });
  }
  add_manage(user, ctx, "enable", "Enable a user", "enabled");
  add_manage(user, ctx, "disable", "Disable a user: their tokens stop working", "disabled");
  add_manage(user, ctx, "promote", "Make a common user an admin (root only)", "is now an admin");
  add_manage(user, ctx, "demote", "Make an admin a common user", "is now a common user");
  {
    auto ref = std::make_shared<std::string>();
    auto quota = std::make_shared<int64_t>(0);
    auto remark = std::make_shared<std::string>();
    CLI::App* sub = user->add_subcommand("topup", "Add quota to a user's balance (writes a top-up log)");
    add_user_arg(sub, *ref);
    sub->add_option("--quota", *quota, "Quota to add (negative takes quota away, never below zero)")->required();
    sub->add_option("--remark", *remark, "Note kept in the top-up log");
    sub->callback([&ctx, ref, quota, remark] {
      ctx.action = [&ctx, ref, quota, remark] {
        if (*quota == 0) return usage_error("--quota must not be zero");
        json body = {{"username", *ref}, {"quota", *quota}};
        if (!remark->empty()) body["remark"] = *remark;
        Reply r = call(ctx, "POST", std::string(admin::kTopup), body);
        return show(ctx, r, [](const json& u) {
          std::cout << "user " << text(u, "username") << " now has " << text(u, "quota") << " quota\n";
        });
      };
    });
  }
  {
    auto ref = std::make_shared<std::string>();
    CLI::App* sub = user->add_subcommand("access-token",
                                         "Issue a new management access token for a user (the old one stops working)");
    add_user_arg(sub, *ref);
    sub->callback([&ctx, ref] {
      ctx.action = [&ctx, ref] {
        Reply r = call(ctx, "POST", user_path(*ref) + "/access_token");
        return show(ctx, r, [](const json& t) { std::cout << text(t, "access_token") << "\n"; });
      };
    });
  }
}

}  // namespace oneapi::cli
