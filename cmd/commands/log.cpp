#include "commands/log.hpp"

#include <array>
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
  std::string token_name, model, since, until, type;
  int64_t channel = 0;
  CLI::Option* channel_opt = nullptr;
};

int run_list(const Context& ctx, const LogArgs& a) {
  std::string type;
  if (!a.type.empty() && a.type != "all") {
    for (const auto& [name, number] : kLogTypes)
      if (a.type == name || a.type == std::to_string(number)) type = std::to_string(number);
    if (type.empty())
      return usage_error("--type: unknown log type '" + a.type + "' (use consume, topup, manage, system, test or all)");
  }
  const int64_t now = unix_now();
  std::string since, until;
  if (!a.since.empty()) {
    auto t = parse_when(a.since, now, false);
    if (!t) return usage_error("--since: cannot read '" + a.since + "' (use " + kWhenHelp + " ago)");
    since = std::to_string(*t);
  }
  if (!a.until.empty()) {
    auto t = parse_when(a.until, now, false);
    if (!t) return usage_error("--until: cannot read '" + a.until + "' (use " + kWhenHelp + " ago)");
    until = std::to_string(*t);
  }
  std::string target =
      with_query(std::string(admin::kLog), {{"p", "0"},
                                            {"page_size", std::to_string(a.limit)},
                                            {"type", type},
                                            {"token_name", a.token_name},
                                            {"model_name", a.model},
                                            {"channel", given(a.channel_opt) ? std::to_string(a.channel) : ""},
                                            {"start_timestamp", since},
                                            {"end_timestamp", until}});
  Reply r = call(ctx, "GET", target);
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

}  // namespace

void setup_log(CLI::App& app, Context& ctx) {
  CLI::App* log = app.add_subcommand("log", "Read the request log");
  auto a = std::make_shared<LogArgs>();
  CLI::App* sub = log->add_subcommand("list", "List log entries, newest first");
  sub->add_option("--limit", a->limit, "Number of entries (default 20)")->check(CLI::Range(1, 10000));
  sub->add_option("--token-name", a->token_name, "Only entries of this token name");
  sub->add_option("--model", a->model, "Only entries of this model");
  a->channel_opt =
      sub->add_option("--channel", a->channel, "Only entries relayed by this channel id")->check(kPositiveInt);
  sub->add_option("--since", a->since, std::string("Entries at or after WHEN: ") + kWhenHelp + " ago");
  sub->add_option("--until", a->until, std::string("Entries at or before WHEN: ") + kWhenHelp + " ago");
  sub->add_option("--type", a->type, "consume, topup, manage, system, test or all (default all)");
  sub->callback([&ctx, a] { ctx.action = [&ctx, a] { return run_list(ctx, *a); }; });
}

}  // namespace oneapi::cli
