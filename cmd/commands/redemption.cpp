#include "commands/redemption.hpp"

#include <iostream>
#include <memory>

#include "admin/protocol.hpp"
#include "client.hpp"
#include "commands/common.hpp"
#include "output.hpp"

namespace oneapi::cli {

using nlohmann::json;

namespace {

const std::string kRedemption(admin::kRedemption);

std::string code_status_name(int64_t status) {
  switch (status) {
    case 1:
      return "unused";
    case 2:
      return "disabled";
    case 3:
      return "used";
    default:
      return std::to_string(status);
  }
}

void print_code(const json& c) {
  print_fields({{"id", text(c, "id")},
                {"name", text(c, "name")},
                {"key", text(c, "key")},
                {"status", code_status_name(integer(c, "status"))},
                {"quota", text(c, "quota")},
                {"created", format_time(integer(c, "created_time"))},
                {"redeemed", format_time(integer(c, "redeemed_time"))},
                {"redeemed_by", integer(c, "redeemed_by") > 0 ? text(c, "redeemed_by") : "-"}});
}

// CSV for export: a field with a comma, quote or newline is quoted.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void setup_redemption(CLI::App& app, Context& ctx) {
  CLI::App* group = app.add_subcommand("redemption", "Manage redemption codes (vouchers that add quota)");
  {
    struct Args {
      std::string name;
      int64_t quota = 0;
      int count = 1;
      bool csv = false;
    };
    auto a = std::make_shared<Args>();
    CLI::App* sub = group->add_subcommand("create", "Create codes and print them, one per line");
    sub->add_option("--name", a->name, "Name of the batch (1 to 20 characters)")->required();
    sub->add_option("--quota", a->quota, "Quota each code adds (500000 = $1 by default)")
        ->required()
        ->check(kPositiveInt);
    sub->add_option("--count", a->count, "How many codes (1 to 100, default 1)")->check(CLI::Range(1, 100));
    sub->add_flag("--csv", a->csv, "Print id,name,key,quota lines with a header, for export");
    sub->callback([&ctx, a] {
      ctx.action = [&ctx, a] {
        json body = {{"name", a->name}, {"quota", a->quota}, {"count", a->count}};
        Reply r = call(ctx, "POST", std::string(kRedemption) + "?detail=1", body);
        if (!r.ok()) return fail(r);
        if (ctx.json) {
          print_json(r.data);
        } else if (a->csv) {
          std::cout << "id,name,key,quota\n";
          for (const auto& c : r.data)
            std::cout << text(c, "id") << "," << csv_field(text(c, "name")) << "," << text(c, "key") << ","
                      << text(c, "quota") << "\n";
        } else {
          for (const auto& c : r.data) std::cout << text(c, "key") << "\n";
        }
        return kExitOk;
      };
    });
  }
  {
    CLI::App* sub = group->add_subcommand("list", "List codes (keys shortened), newest first");
    sub->callback([&ctx] {
      ctx.action = [&ctx] {
        return show(ctx, call(ctx, "GET", kRedemption), [](const json& list) {
          Table t({"ID", "NAME", "KEY", "STATUS", "QUOTA", "CREATED", "REDEEMED_BY"});
          for (const auto& c : list) {
            std::string key = text(c, "key");
            if (key.size() > 8) key = key.substr(0, 4) + "…" + key.substr(key.size() - 4);
            t.add({text(c, "id"), text(c, "name"), key, code_status_name(integer(c, "status")), text(c, "quota"),
                   format_time(integer(c, "created_time")),
                   integer(c, "redeemed_by") > 0 ? text(c, "redeemed_by") : "-"});
          }
          t.print("no redemption codes");
        });
      };
    });
  }
  {
    auto id = std::make_shared<int64_t>(0);
    CLI::App* sub = group->add_subcommand("get", "Show one code, including its full key");
    add_id(sub, *id, "redemption code");
    sub->callback([&ctx, id] {
      ctx.action = [&ctx, id] { return show(ctx, call(ctx, "GET", kRedemption + std::to_string(*id)), print_code); };
    });
  }
  {
    auto id = std::make_shared<int64_t>(0);
    CLI::App* sub = group->add_subcommand("disable", "Disable an unused code so it cannot be redeemed");
    add_id(sub, *id, "redemption code");
    sub->callback([&ctx, id] {
      ctx.action = [&ctx, id] {
        Reply r = call(ctx, std::string_view("PUT"), std::string(kRedemption) + "?status_only=1",
                       json{{"id", *id}, {"status", 2}});
        return show(ctx, r, [&](const json&) { std::cout << "redemption code #" << *id << " disabled\n"; });
      };
    });
  }
  {
    auto id = std::make_shared<int64_t>(0);
    CLI::App* sub = group->add_subcommand("delete", "Delete a code");
    add_id(sub, *id, "redemption code");
    sub->callback([&ctx, id] {
      ctx.action = [&ctx, id] {
        Reply r = call(ctx, "DELETE", kRedemption + std::to_string(*id));
        return show(ctx, r, [&](const json&) { std::cout << "redemption code #" << *id << " deleted\n"; });
      };
    });
  }
  {
    auto code = std::make_shared<std::string>();
    auto user = std::make_shared<std::string>();
    CLI::App* sub = group->add_subcommand("redeem", "Redeem a code for a user: adds its quota, once");
    sub->add_option("CODE", *code, "The code's key ('-' reads it from stdin)")->required();
    sub->add_option("--user", *user, "Username or id of the user who gets the quota")->required();
    sub->callback([&ctx, code, user] {
      ctx.action = [&ctx, code, user] {
        if (*code == "-" && !resolve_stdin_value(*code)) return usage_error("CODE -: nothing on stdin");
        json body = {{"key", *code}, {"username", *user}};
        Reply r = call(ctx, "POST", "/api/user/topup", body);
        if (r.ok() && ctx.json) {
          print_json(json{{"user", *user}, {"quota", r.data}});
          return kExitOk;
        }
        return show(ctx, r, [&](const json& quota) {
          std::cout << "redeemed: " << quota.dump() << " quota added to " << *user << "\n";
        });
      };
    });
  }
}

}  // namespace oneapi::cli
