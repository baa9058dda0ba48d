#include "commands/channel.hpp"

#include <cstdio>
#include <iostream>
#include <memory>

#include "admin/protocol.hpp"
#include "client.hpp"
#include "commands/common.hpp"
#include "core/channel_types.hpp"
#include "output.hpp"

namespace oneapi::cli {

using nlohmann::json;

namespace {

std::string channel_status_name(int64_t status) {
  switch (status) {
    case 1:
      return "enabled";
    case 2:
      return "disabled";
    case 3:
      return "auto-disabled";
    default:
      return std::to_string(status);
  }
}

// The admin API never sends channel keys; drop one anyway so a key can never reach the terminal.
void drop_keys(json& data) {
  if (data.is_object()) data.erase("key");
  if (data.is_array())
    for (auto& item : data) drop_keys(item);
}

void print_channel(const json& c) {
  Fields f{{"id", text(c, "id")},
           {"name", text(c, "name")},
           {"type", channel_type_name(static_cast<int>(integer(c, "type"))) + " (" + text(c, "type") + ")"},
           {"status", channel_status_name(integer(c, "status"))},
           {"base_url", text(c, "base_url").empty() ? "(type default)" : text(c, "base_url")},
           {"models", text(c, "models")},
           {"group", text(c, "group")},
           {"priority", text(c, "priority")},
           {"weight", text(c, "weight")}};
  if (auto m = text(c, "model_mapping"); !m.empty() && m != "{}") f.emplace_back("model_mapping", m);
  if (auto s = text(c, "system_prompt"); !s.empty()) f.emplace_back("system_prompt", s);
  if (auto cfg = text(c, "config"); !cfg.empty() && cfg != "{}") f.emplace_back("config", cfg);
  if (integer(c, "test_time") > 0)
    f.emplace_back("last_test", format_time(integer(c, "test_time")) + " (" + text(c, "response_time") + " ms)");
  if (const int64_t keys = integer(c, "key_count"); keys > 1) {
    const auto off = c.contains("disabled_keys") ? c["disabled_keys"].size() : 0;
    f.emplace_back("keys", std::to_string(keys) + " in rotation" +
                               (off ? " (" + std::to_string(off) + " taken out)" : std::string()));
    if (off)
      for (const auto& d : c["disabled_keys"])
        f.emplace_back("key " + text(d, "key_index"),
                       "out since " + format_time(integer(d, "disabled_at")) + ": " + text(d, "reason"));
  }
  if (integer(c, "balance_updated_time") > 0)
    f.emplace_back("balance", text(c, "balance") + " (" + format_time(integer(c, "balance_updated_time")) + ")");
  f.emplace_back("used_quota", text(c, "used_quota"));
  f.emplace_back("created", format_time(integer(c, "created_time")));
  print_fields(f);
}

struct ChannelArgs {
  int64_t id = 0;
  std::string type, name, base_url, key, models, group, model_mapping, system_prompt, config;
  int64_t priority = 0, weight = 0;
  CLI::Option *type_opt = nullptr, *name_opt = nullptr, *base_url_opt = nullptr, *key_opt = nullptr,
              *models_opt = nullptr, *group_opt = nullptr, *priority_opt = nullptr, *weight_opt = nullptr,
              *mapping_opt = nullptr, *prompt_opt = nullptr, *config_opt = nullptr;
};

// The flags of `channel add` (required ones marked) and `channel update` (all optional).
void add_channel_flags(CLI::App* sub, ChannelArgs& a, bool for_add) {
  a.type_opt = sub->add_option("--type", a.type,
                               "Channel type: a name (e.g. openai, deepseek, doubao) or One API's number; "
                               "`oneapictl channel types` lists them");
  a.name_opt = sub->add_option("--name", a.name, "Channel name");
  a.base_url_opt =
      sub->add_option("--base-url", a.base_url, "Upstream base URL (default: the type's official URL, if any)");
  a.key_opt = sub->add_option("--key", a.key,
                              "Upstream API key, or several one per line (used in turn); - reads standard input");
  a.models_opt = sub->add_option("--models", a.models, "Comma-separated models the channel serves");
  a.group_opt = sub->add_option("--group", a.group, "Comma-separated user groups (default: default)");
  a.priority_opt = sub->add_option("--priority", a.priority, "Priority; higher is tried first (default 0)");
  a.weight_opt = sub->add_option("--weight", a.weight, "Weight among channels of equal priority (default 0)")
                     ->check(kNonNegativeInt);
  a.mapping_opt =
      sub->add_option("--model-mapping", a.model_mapping, "JSON object renaming models, e.g. '{\"gpt-4\":\"gpt-4o\"}'");
  a.prompt_opt = sub->add_option("--system-prompt", a.system_prompt, "System prompt forced on every request");
  a.config_opt = sub->add_option("--config", a.config,
                                 "Channel config as a JSON object, e.g. '{\"rate_limit\":60}' (requests per minute)");
  if (for_add) {
    a.type_opt->required();
    a.name_opt->required();
    a.key_opt->required();
    a.models_opt->required();
  }
}

// Builds the POST/PUT body from the flags given; returns an exit code other than 0 on bad input.
int channel_body(ChannelArgs& a, json& body) {
  if (given(a.type_opt)) {
    const ChannelTypeInfo* type = parse_channel_type(a.type);
    if (!type)
      return usage_error("--type: unknown channel type '" + a.type +
                         "' (`oneapictl channel types` lists the names and numbers)");
    body["type"] = type->type;
  }
  if (given(a.name_opt)) body["name"] = a.name;
  if (given(a.base_url_opt)) body["base_url"] = a.base_url;
  if (given(a.key_opt)) {
    if (!resolve_stdin_lines(a.key)) return usage_error("--key -: no key on standard input");
    body["key"] = a.key;
  }
  if (given(a.models_opt)) body["models"] = a.models;
  if (given(a.group_opt)) body["group"] = a.group;
  if (given(a.priority_opt)) body["priority"] = a.priority;
  if (given(a.weight_opt)) body["weight"] = a.weight;
  if (given(a.mapping_opt)) {
    if (a.model_mapping.empty()) {
      body["model_mapping"] = "";  // clears the mapping
    } else {
      auto m = json::parse(a.model_mapping, nullptr, false);
      if (m.is_discarded() || !m.is_object())
        return usage_error("--model-mapping must be a JSON object like '{\"gpt-4\":\"gpt-4o\"}'");
      for (auto& [k, v] : m.items())
        if (!v.is_string()) return usage_error("--model-mapping: the value of \"" + k + "\" must be a string");
      body["model_mapping"] = m.dump();
    }
  }
  if (given(a.prompt_opt)) body["system_prompt"] = a.system_prompt;
  if (given(a.config_opt)) {
    auto c = a.config.empty() ? json::object() : json::parse(a.config, nullptr, false);
    if (c.is_discarded() || !c.is_object())
      return usage_error("--config must be a JSON object like '{\"rate_limit\":60}'");
    body["config"] = c.dump();
  }
  return kExitOk;
}

int show_channel(const Context& ctx, Reply reply) {
  drop_keys(reply.data);
  return show(ctx, reply, print_channel);
}

int run_list(const Context& ctx) {
  Reply r = call(ctx, "GET", std::string(admin::kChannel));
  drop_keys(r.data);
  return show(ctx, r, [](const json& list) {
    Table t({"ID", "NAME", "TYPE", "STATUS", "GROUP", "PRIORITY", "WEIGHT", "MODELS", "RESPONSE"});
    for (const auto& c : list) {
      const int64_t tested = integer(c, "test_time");
      t.add({text(c, "id"), text(c, "name"), channel_type_name(static_cast<int>(integer(c, "type"))),
             channel_status_name(integer(c, "status")), text(c, "group"), text(c, "priority"), text(c, "weight"),
             truncate(text(c, "models"), 40), tested > 0 ? text(c, "response_time") + " ms" : "-"});
    }
    t.print("no channels");
  });
}

std::string modes_text(unsigned modes) {
  if (modes == kModeAll) return "all";
  std::string out;
  for (auto [bit, name] :
       {std::pair{kModeChat, "chat"}, {kModeCompletions, "completions"}, {kModeEmbeddings, "embeddings"}})
    if (modes & bit) out += (out.empty() ? "" : ",") + std::string(name);
  return out;
}

// The channel types this oneapictl knows; the daemon built with it serves the same table.
int run_types(const Context& ctx) {
  if (ctx.json) {
    json list = json::array();
    for (const auto& t : channel_types()) {
      json aliases = json::array();
      for (auto alias : t.aliases)
        if (!alias.empty()) aliases.push_back(alias);
      list.push_back({{"type", t.type},
                      {"name", t.name},
                      {"aliases", aliases},
                      {"display_name", t.display_name},
                      {"default_base_url", t.default_base_url},
                      {"adaptor", t.adaptor},
                      {"auth_header", t.auth_header},
                      {"modes", modes_text(t.modes)}});
    }
    print_json(list);
    return kExitOk;
  }
  Table table({"TYPE", "NAME", "PROVIDER", "ADAPTOR", "DEFAULT BASE URL"});
  for (const auto& t : channel_types())
    table.add({std::to_string(t.type), std::string(t.name), std::string(t.display_name), std::string(t.adaptor),
               t.default_base_url.empty() ? "(give --base-url)" : std::string(t.default_base_url)});
  table.print("no channel types");
  return kExitOk;
}

struct TestArgs {
  int64_t id = 0;
  bool all = false;
  bool disabled = false;
  std::string model;
  CLI::Option* id_opt = nullptr;
};

// Results always print as a list (--json: an array), one per channel, also for one ID.
json as_list(const json& data) { return data.is_array() ? data : json::array({data}); }

int run_test(const Context& ctx, const TestArgs& a) {
  if (!given(a.id_opt) && !a.all && !a.disabled)
    return usage_error("channel test: give a channel ID, --all or --disabled");
  std::string target = std::string(admin::kChannelTest);
  if (given(a.id_opt)) target += "/" + std::to_string(a.id);
  target = with_query(target, {{"model", a.model}, {"scope", a.disabled ? "disabled" : ""}});
  Reply r = call(ctx, "GET", target);
  if (!r.ok()) return fail(r);
  const json results = as_list(r.data);
  bool all_ok = true;
  for (const auto& res : results) all_ok = all_ok && boolean(res, "ok");
  if (ctx.json) {
    print_json(results);
  } else {
    Table t({"ID", "NAME", "RESULT", "TIME", "STATUS", "MESSAGE"});
    for (const auto& res : results) {
      const bool ok = boolean(res, "ok");
      t.add({text(res, "id"), text(res, "name"), ok ? "ok" : "FAILED",
             format_seconds(static_cast<double>(integer(res, "response_time_ms")) / 1000.0),
             channel_status_name(integer(res, "status")), truncate(sanitize(text(res, ok ? "answer" : "error")), 100)});
    }
    t.print(a.disabled ? "no automatically disabled channels to test" : "no channels to test");
  }
  return all_ok ? kExitOk : kExitFailed;
}

std::string format_balance(const json& res) {
  char amount[64];
  std::snprintf(amount, sizeof amount, "%.2f", number(res, "balance"));
  const std::string currency = text(res, "currency");
  return currency.empty() ? amount : std::string(amount) + " " + currency;
}

int run_balance(const Context& ctx, int64_t id, bool all) {
  std::string target = std::string(admin::kChannelBalance);
  if (!all) target += "/" + std::to_string(id);
  Reply r = call(ctx, "GET", target);
  if (!r.ok()) return fail(r);
  const json results = as_list(r.data);
  bool any_failed = false, any_supported = false;
  for (const auto& res : results) {
    const bool supported = boolean(res, "supported");
    any_supported = any_supported || supported;
    any_failed = any_failed || (supported && !boolean(res, "ok"));
  }
  if (ctx.json) {
    print_json(results);
  } else {
    Table t({"ID", "NAME", "TYPE", "RESULT", "BALANCE", "UPDATED", "MESSAGE"});
    for (const auto& res : results) {
      const bool supported = boolean(res, "supported"), ok = boolean(res, "ok");
      const bool ever = integer(res, "balance_updated_time") > 0;
      t.add({text(res, "id"), text(res, "name"), channel_type_name(static_cast<int>(integer(res, "type"))),
             !supported ? "not supported"
             : ok       ? "ok"
                        : "FAILED",
             ever ? format_balance(res) : "-", format_time(integer(res, "balance_updated_time")),
             ok ? std::string() : truncate(sanitize(text(res, "error")), 100)});
    }
    t.print("no channels");
  }
  if (any_failed) return kExitFailed;
  // One channel without a balance API, or --all where no channel has one.
  if (!any_supported && !results.empty()) return kExitUnsupported;
  return kExitOk;
}

}  // namespace

void setup_channel(CLI::App& app, Context& ctx) {
  CLI::App* channel = app.add_subcommand("channel", "Manage upstream channels");

  {
    CLI::App* sub = channel->add_subcommand("list", "List channels");
    sub->callback([&ctx] { ctx.action = [&ctx] { return run_list(ctx); }; });
  }
  {
    auto id = std::make_shared<int64_t>(0);
    CLI::App* sub = channel->add_subcommand("get", "Show one channel (its key is never shown)");
    add_id(sub, *id, "channel");
    sub->callback([&ctx, id] {
      ctx.action = [&ctx, id] {
        return show_channel(ctx, call(ctx, "GET", std::string(admin::kChannel) + std::to_string(*id)));
      };
    });
  }
  {
    auto a = std::make_shared<ChannelArgs>();
    CLI::App* sub = channel->add_subcommand("add", "Add a channel and print it with its new id");
    add_channel_flags(sub, *a, true);
    sub->callback([&ctx, a] {
      ctx.action = [&ctx, a] {
        json body = json::object();
        if (int rc = channel_body(*a, body); rc != kExitOk) return rc;
        return show_channel(ctx, call(ctx, "POST", std::string(admin::kChannel), body));
      };
    });
  }
  {
    auto a = std::make_shared<ChannelArgs>();
    CLI::App* sub = channel->add_subcommand("update", "Change the given fields of a channel");
    add_id(sub, a->id, "channel");
    add_channel_flags(sub, *a, false);
    sub->callback([&ctx, a] {
      ctx.action = [&ctx, a] {
        json body = {{"id", a->id}};
        if (int rc = channel_body(*a, body); rc != kExitOk) return rc;
        if (body.size() == 1) return usage_error("channel update: nothing to change (give at least one flag)");
        return show_channel(ctx, call(ctx, "PUT", std::string(admin::kChannel), body));
      };
    });
  }
  for (const auto& [name, status] : {std::pair<const char*, int>{"enable", 1}, {"disable", 2}}) {
    auto id = std::make_shared<int64_t>(0);
    CLI::App* sub = channel->add_subcommand(name, status == 1 ? "Enable a channel" : "Disable a channel");
    add_id(sub, *id, "channel");
    const std::string verb = status == 1 ? "enabled" : "disabled";
    sub->callback([&ctx, id, status = status, verb] {
      ctx.action = [&ctx, id, status, verb] {
        Reply r = call(ctx, "PUT", std::string(admin::kChannel), json{{"id", *id}, {"status", status}});
        drop_keys(r.data);
        return show(ctx, r, [&](const json&) { std::cout << "channel #" << *id << " " << verb << '\n'; });
      };
    });
  }
  {
    auto id = std::make_shared<int64_t>(0);
    CLI::App* sub = channel->add_subcommand("delete", "Delete a channel");
    add_id(sub, *id, "channel");
    sub->callback([&ctx, id] {
      ctx.action = [&ctx, id] {
        Reply r = call(ctx, "DELETE", std::string(admin::kChannel) + std::to_string(*id));
        return show(ctx, r, [&](const json&) { std::cout << "channel #" << *id << " deleted\n"; });
      };
    });
  }
  {
    CLI::App* sub =
        channel->add_subcommand("types", "List the channel types (names, One API numbers, default base URLs)");
    sub->callback([&ctx] { ctx.action = [&ctx] { return run_types(ctx); }; });
  }
  {
    auto a = std::make_shared<TestArgs>();
    CLI::App* sub =
        channel->add_subcommand("test", "Send a test request through one channel or many; exit 1 if any test fails");
    a->id_opt = sub->add_option("ID", a->id, "Id of the channel")->check(kPositiveInt);
    auto* all = sub->add_flag("--all", a->all, "Test every channel, whatever its status (One API's scope all)");
    auto* disabled = sub->add_flag(
        "--disabled", a->disabled,
        "Test the automatically disabled channels (re-enabled on success with AutomaticEnableChannelEnabled)");
    a->id_opt->excludes(all)->excludes(disabled);
    all->excludes(disabled);
    sub->add_option("--model", a->model,
                    "Model to test with when the channel serves it (default gpt-3.5-turbo; else its first model)");
    sub->callback([&ctx, a] { ctx.action = [&ctx, a] { return run_test(ctx, *a); }; });
  }
  {
    auto id = std::make_shared<int64_t>(0);
    auto all = std::make_shared<bool>(false);
    CLI::App* sub = channel->add_subcommand(
        "balance", "Ask upstreams for the balance left (DeepSeek, OpenRouter, SiliconFlow, OpenAI) and store it");
    auto* id_opt = sub->add_option("ID", *id, "Id of the channel")->check(kPositiveInt);
    auto* all_opt = sub->add_flag("--all", *all, "Every channel (those without a balance API are listed as such)");
    id_opt->excludes(all_opt);
    sub->callback([&ctx, id, all, id_opt] {
      ctx.action = [&ctx, id, all, id_opt] {
        if (!given(id_opt) && !*all) return usage_error("channel balance: give a channel ID or --all");
        return run_balance(ctx, *id, *all);
      };
    });
  }
}

}  // namespace oneapi::cli
