#include "commands/cost.hpp"

#include <memory>

#include "admin/protocol.hpp"
#include "client.hpp"
#include "commands/common.hpp"
#include "output.hpp"

namespace oneapi::cli {

using nlohmann::json;

void setup_cost(CLI::App& app, Context& ctx) {
  auto id = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("cost", "Show the quota and USD cost of one request");
  sub->add_option("REQUEST_ID", *id, "Request id (the X-Oneapi-Request-Id response header)")->required();
  sub->callback([&ctx, id] {
    ctx.action = [&ctx, id] {
      if (id->empty()) return usage_error("cost: REQUEST_ID must not be empty");
      Reply r = call(ctx, "GET", std::string(admin::kCost) + url_encode(*id));
      return show(ctx, r, [](const json& c) {
        Fields f{{"request_id", text(c, "request_id")},
                 {"model", text(c, "model_name")},
                 {"token", text(c, "token_name")},
                 {"prompt_tokens", text(c, "prompt_tokens")},
                 {"completion_tokens", text(c, "completion_tokens")},
                 {"quota", text(c, "quota")},
                 {"cost_usd", format_usd(number(c, "cost_usd"))},
                 {"stream", boolean(c, "is_stream") ? "yes" : "no"},
                 {"elapsed_ms", text(c, "elapsed_time")},
                 {"time", format_time(integer(c, "created_at"))}};
        if (boolean(c, "pending")) f.emplace_back("pending", "yes (pre-charged; not settled yet)");
        print_fields(f);
      });
    };
  });
}

}  // namespace oneapi::cli
