#include "commands/log.hpp"

#include <array>
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

// One API's log types.
constexpr std::array<std::pair<const char*, int>, 5> kLogTypes{
    {{"topup", 1}, {"consume", 2}, {"manage", 3}, {"system", 4}, {"test", 5}}};

struct LogArgs {
  int limit = 20;
  std::string token_name, model, since, until, type, user;
  int64_t channel = 0;
  CLI::Option* channel_opt = nullptr;
};

// The query shared by list and stat; false after printing a usage error.
bool filter_query(const LogArgs& a, std::vector<std::pair<std::string, std::string>>& q, int& rc) {
  std::string type;
  if (!a.type.empty() && a.type != "all") {
    for (const auto& [name, number] : kLogTypes)
      if (a.type == name || a.type == std::to_string(number)) type = std::to_string(number);
    if (type.empty()) {
      rc = usage_error("--type: unknown log type '" + a.type + "' (use consume, topup, manage, system, test or all)");
      return false;
    }
  }
  const int64_t now = unix_now();
  std::string since, until;
  if (!a.since.empty()) {
    auto t = parse_when(a.since, now, false);
    if (!t) {
      rc = usage_error("--since: cannot read '" + a.since + "' (use " + kWhenHelp + " ago)");
      return false;
    }
    since = std::to_string(*t);
  }
  if (!a.until.empty()) {
    auto t = parse_when(a.until, now, false);
    if (!t) {
      rc = usage_error("--until: cannot read '" + a.until + "' (use " + kWhenHelp + " ago)");
      return false;
    }
    until = std::to_string(*t);
  }
  q = {{"type", type},
       {"username", a.user},
       {"token_name", a.token_name},
       {"model_name", a.model},
       {"channel", given(a.channel_opt) ? std::to_string(a.channel) : ""},
       {"start_timestamp", since},
       {"end_timestamp", until}};
  return true;
}

int run_list(const Context& ctx, const LogArgs& a) {
  std::vector<std::pair<std::string, std::string>> q;
  int rc = kExitOk;
  if (!filter_query(a, q, rc)) return rc;
  q.insert(q.begin(), {{"p", "0"}, {"page_size", std::to_string(a.limit)}});
  Reply r = call(ctx, "GET", with_query(std::string(admin::kLog), q));
  return show(ctx, r, [](const json& list) {
    Table t({"TIME (UTC)", "REQUEST_ID", "TOKEN", "MODEL", "CHANNEL", "PROMPT", "COMPLETION", "QUOTA", "ELAPSED_MS",
             "STREAM"});
    for (const auto& l : list)
      t.add({format_time(integer(l, "created_at")), text(l, "request_id"), text(l, "token_name"), text(l, "model_name"),
             integer(l, "channel") > 0 ? text(l, "channel") : "-", text(l, "prompt_tokens"),
             text(l, "completion_tokens"), text(l, "quota"), text(l, "elapsed_time"),
             boolean(l, "is_stream") ? "yes" : "no"});
    t.print("no log entries");
  });
}

int run_stat(const Context& ctx, const LogArgs& a) {
  std::vector<std::pair<std::string, std::string>> q;
  int rc = kExitOk;
  if (!filter_query(a, q, rc)) return rc;
  Reply r = call(ctx, "GET", with_query(std::string(admin::kLog) + "stat", q));
  return show(ctx, r, [](const json& s) {
    print_fields({{"requests", text(s, "requests")},
                  {"quota", text(s, "quota")},
                  {"cost_usd", format_usd(number(s, "cost_usd"))},
                  {"prompt_tokens", text(s, "prompt_tokens")},
                  {"completion_tokens", text(s, "completion_tokens")},
                  {"rpm", text(s, "rpm")},
                  {"tpm", text(s, "tpm")}});
  });
}

void add_filters(CLI::App* sub, LogArgs& a) {
  sub->add_option("--user", a.user, "Only entries of this username");
  sub->add_option("--token-name", a.token_name, "Only entries of this token name");
  sub->add_option("--model", a.model, "Only entries of this model");
  a.channel_opt =
      sub->add_option("--channel", a.channel, "Only entries relayed by this channel id")->check(kPositiveInt);
  sub->add_option("--since", a.since, std::string("Entries at or after WHEN: ") + kWhenHelp + " ago");
  sub->add_option("--until", a.until, std::string("Entries at or before WHEN: ") + kWhenHelp + " ago");
}

}  // namespace

void setup_log(CLI::App& app, Context& ctx) {
  CLI::App* log = app.add_subcommand("log", "Read, sum and purge the request log");
  {
    auto a = std::make_shared<LogArgs>();
    CLI::App* sub = log->add_subcommand("list", "List log entries, newest first");
    sub->add_option("--limit", a->limit, "Number of entries (default 20)")->check(CLI::Range(1, 10000));
    add_filters(sub, *a);
    sub->add_option("--type", a->type, "consume, topup, manage, system, test or all (default all)");
    sub->callback([&ctx, a] { ctx.action = [&ctx, a] { return run_list(ctx, *a); }; });
  }
  {
    auto a = std::make_shared<LogArgs>();
    CLI::App* sub = log->add_subcommand("stat", "Sum quota, requests and tokens of the entries a filter selects");
    add_filters(sub, *a);
    sub->add_option("--type", a->type, "consume, topup, manage, system, test (default consume)");
    sub->callback([&ctx, a] { ctx.action = [&ctx, a] { return run_stat(ctx, *a); }; });
  }
  {
    auto before = std::make_shared<std::string>();
    CLI::App* sub = log->add_subcommand("purge", "Delete log entries older than a time (requests in flight stay)");
    sub->add_option("--before", *before, std::string("Delete entries before WHEN: ") + kWhenHelp + " ago")->required();
    sub->callback([&ctx, before] {
      ctx.action = [&ctx, before] {
        auto t = parse_when(*before, unix_now(), false);
        if (!t) return usage_error("--before: cannot read '" + *before + "' (use " + kWhenHelp + " ago)");
        Reply r = call(ctx, "DELETE", with_query(std::string(admin::kLog), {{"target_timestamp", std::to_string(*t)}}));
        return show(ctx, r, [](const json& d) { std::cout << text(d, "deleted") << " log entries deleted\n"; });
      };
    });
  }
}

}  // namespace oneapi::cli
