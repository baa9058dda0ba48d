#include "commands/token.hpp"

#include <iostream>
#include <memory>

#include "admin/protocol.hpp"
#include "client.hpp"
#include "commands/common.hpp"
#include "core/util.hpp"
#include "output.hpp"
#include "when.hpp"

namespace oneapi::cli {

using nlohmann::json;

namespace {

std::string token_status_name(int64_t status) {
  switch (status) {
    case 1:
      return "enabled";
    case 2:
      return "disabled";
    case 3:
      return "expired";
    case 4:
      return "exhausted";
    default:
      return std::to_string(status);
  }
}

std::string quota_text(const json& t) { return boolean(t, "unlimited_quota") ? "unlimited" : text(t, "remain_quota"); }

std::string expires_text(const json& t) {
  const int64_t e = integer(t, "expired_time", -1);
  return e == -1 ? "never" : format_time(e);
}

void print_token(const json& t) {
  print_fields({{"id", text(t, "id")},
                {"name", text(t, "name")},
                {"key", text(t, "key")},
                {"status", token_status_name(integer(t, "status"))},
                {"remain_quota", quota_text(t)},
                {"used_quota", text(t, "used_quota")},
                {"expires", expires_text(t)},
                {"models", text(t, "models").empty() ? "(all)" : text(t, "models")},
                {"subnet", text(t, "subnet").empty() ? "(any)" : text(t, "subnet")},
                {"created", format_time(integer(t, "created_time"))},
                {"accessed", format_time(integer(t, "accessed_time"))}});
}

struct TokenArgs {
  int64_t id = 0;
  std::string name, expires, models, subnet, status, user;
  int64_t quota = 0;
  bool unlimited = false;
  CLI::Option *name_opt = nullptr, *quota_opt = nullptr, *unlimited_opt = nullptr, *expires_opt = nullptr,
              *models_opt = nullptr, *subnet_opt = nullptr, *status_opt = nullptr;
};

void add_token_flags(CLI::App* sub, TokenArgs& a, bool for_create) {
  a.name_opt = sub->add_option("--name", a.name, "Token name (at most 30 characters)");
  a.quota_opt = sub->add_option("--quota", a.quota,
                                for_create ? "Quota the token may spend (500000 = $1 by default)"
                                           : "Set a limited quota (turns unlimited off)")
                    ->check(kNonNegativeInt);
  a.unlimited_opt =
      sub->add_flag("--unlimited", a.unlimited,
                    for_create ? "No quota limit (the default when --quota is not given)" : "Remove the quota limit");
  a.quota_opt->excludes(a.unlimited_opt);
  a.expires_opt = sub->add_option(
      "--expires", a.expires,
      std::string("Expiry: never, ") + kWhenHelp + " from now" + (for_create ? " (default never)" : ""));
  a.models_opt = sub->add_option("--models", a.models, "Comma-separated models the token may use (empty: all models)");
  a.subnet_opt = sub->add_option("--subnet", a.subnet, "Comma-separated CIDRs the token may be used from (empty: any)");
  if (for_create) {
    a.name_opt->required();
    sub->add_option("--user", a.user, "Username or id of the token's owner (default: root)");
  } else {
    a.status_opt =
        sub->add_option("--status", a.status, "enabled or disabled")->check(CLI::IsMember({"enabled", "disabled"}));
  }
}

int token_body(const TokenArgs& a, json& body, bool for_create) {
  if (given(a.name_opt)) body["name"] = a.name;
  if (given(a.quota_opt)) {
    body["remain_quota"] = a.quota;
    body["unlimited_quota"] = false;
  } else if (a.unlimited || for_create) {
    body["unlimited_quota"] = true;
    if (for_create) body["remain_quota"] = 0;
  }
  if (given(a.expires_opt)) {
    if (a.expires == "never") {
      body["expired_time"] = -1;
    } else {
      auto when = parse_when(a.expires, unix_now(), true);
      if (!when) return usage_error("--expires: cannot read '" + a.expires + "' (use never, " + kWhenHelp + ")");
      body["expired_time"] = *when;
    }
  } else if (for_create) {
    body["expired_time"] = -1;
  }
  if (given(a.models_opt)) body["models"] = a.models;
  if (given(a.subnet_opt)) {
    if (auto bad = invalid_subnet_item(a.subnet); !bad.empty())
      return usage_error("--subnet: '" + bad + "' is not a CIDR like 10.0.0.0/8 or 2001:db8::/32");
    body["subnet"] = a.subnet;
  }
  if (given(a.status_opt)) body["status"] = a.status == "enabled" ? 1 : 2;
  return kExitOk;
}

// USER (a name or an id) to the user's id, for the fields that take ids.
int resolve_user_id(const Context& ctx, const std::string& ref, int64_t& id) {
  Reply found = call(ctx, "GET", std::string(admin::kUser) + url_encode(ref));
  if (!found.ok()) return fail(found);
  id = integer(found.data, "id");
  return kExitOk;
}

int run_list(const Context& ctx, const std::string& user) {
  std::string target(admin::kToken);
  if (!user.empty()) {
    int64_t id = 0;
    if (int rc = resolve_user_id(ctx, user, id); rc != kExitOk) return rc;
    target = with_query(target, {{"user_id", std::to_string(id)}});
  }
  Reply r = call(ctx, "GET", target);
  return show(ctx, r, [](const json& list) {
    Table t({"ID", "NAME", "KEY", "STATUS", "QUOTA", "USED", "EXPIRES", "MODELS"});
    for (const auto& tok : list)
      t.add({text(tok, "id"), text(tok, "name"), redact_secret(text(tok, "key")),
             token_status_name(integer(tok, "status")), quota_text(tok), text(tok, "used_quota"), expires_text(tok),
             text(tok, "models").empty() ? "(all)" : truncate(text(tok, "models"), 40)});
    t.print("no tokens");
  });
}

}  // namespace

void setup_token(CLI::App& app, Context& ctx) {
  CLI::App* token = app.add_subcommand("token", "Manage API tokens (sk-… keys)");

  {
    auto user = std::make_shared<std::string>();
    CLI::App* sub = token->add_subcommand("list", "List tokens (keys shortened)");
    sub->add_option("--user", *user, "Only the tokens of this user (username or id)");
    sub->callback([&ctx, user] { ctx.action = [&ctx, user] { return run_list(ctx, *user); }; });
  }
  {
    auto id = std::make_shared<int64_t>(0);
    CLI::App* sub = token->add_subcommand("get", "Show one token, including its full key");
    add_id(sub, *id, "token");
    sub->callback([&ctx, id] {
      ctx.action = [&ctx, id] {
        return show(ctx, call(ctx, "GET", std::string(admin::kToken) + std::to_string(*id)), print_token);
      };
    });
  }
  {
    auto a = std::make_shared<TokenArgs>();
    CLI::App* sub = token->add_subcommand("create", "Create a token and print it with its full sk- key");
    add_token_flags(sub, *a, true);
    sub->callback([&ctx, a] {
      ctx.action = [&ctx, a] {
        json body = json::object();
        if (int rc = token_body(*a, body, true); rc != kExitOk) return rc;
        if (!a->user.empty()) {
          int64_t id = 0;
          if (int rc = resolve_user_id(ctx, a->user, id); rc != kExitOk) return rc;
          body["user_id"] = id;
        }
        return show(ctx, call(ctx, "POST", std::string(admin::kToken), body), print_token);
      };
    });
  }
  {
    auto a = std::make_shared<TokenArgs>();
    CLI::App* sub = token->add_subcommand("update", "Change the given fields of a token");
    add_id(sub, a->id, "token");
    add_token_flags(sub, *a, false);
    sub->callback([&ctx, a] {
      ctx.action = [&ctx, a] {
        json body = {{"id", a->id}};
        if (int rc = token_body(*a, body, false); rc != kExitOk) return rc;
        if (body.size() == 1) return usage_error("token update: nothing to change (give at least one flag)");
        return show(ctx, call(ctx, "PUT", std::string(admin::kToken), body), print_token);
      };
    });
  }
  {
    auto id = std::make_shared<int64_t>(0);
    CLI::App* sub = token->add_subcommand("delete", "Delete a token");
    add_id(sub, *id, "token");
    sub->callback([&ctx, id] {
      ctx.action = [&ctx, id] {
        Reply r = call(ctx, "DELETE", std::string(admin::kToken) + std::to_string(*id));
        return show(ctx, r, [&](const json&) { std::cout << "token #" << *id << " deleted\n"; });
      };
    });
  }
}

}  // namespace oneapi::cli
