#include <charconv>
#include <cmath>
#include <cstdlib>

#include "admin/handlers.hpp"
#include "admin/routes.hpp"
#include "billing/ratios.hpp"
#include "core/util.hpp"

namespace oneapi::admin {

namespace {

// Options oneapictl may set, with how each is validated. Keys ending in Token or Secret are
// never listed (One API's rule).
enum class OptionKind { number, decimal, boolean, ratio_map, text };
const std::pair<const char*, OptionKind> kOptions[] = {
    {"ModelRatio", OptionKind::ratio_map},
    {"CompletionRatio", OptionKind::ratio_map},
    {"GroupRatio", OptionKind::ratio_map},
    {"CachedInputRatio", OptionKind::ratio_map},
    {"PreConsumedQuota", OptionKind::number},
    {"RetryTimes", OptionKind::number},
    {"QuotaPerUnit", OptionKind::number},
    {"QuotaForNewUser", OptionKind::number},
    {"QuotaForInviter", OptionKind::number},
    {"QuotaForInvitee", OptionKind::number},
    {"QuotaRemindThreshold", OptionKind::number},
    {"ChannelDisableThreshold", OptionKind::decimal},  // seconds, a float in One API
    {"AutomaticDisableChannelEnabled", OptionKind::boolean},
    {"AutomaticEnableChannelEnabled", OptionKind::boolean},
    {"LogConsumeEnabled", OptionKind::boolean},
    {"DisplayInCurrencyEnabled", OptionKind::boolean},
    {"DisplayTokenStatEnabled", OptionKind::boolean},
    {"ApproximateTokenEnabled", OptionKind::boolean},
    {"SystemName", OptionKind::text},
};

const std::pair<const char*, const char*> kOptionDefaults[] = {
    {"PreConsumedQuota", "500"},
    {"RetryTimes", "0"},
    {"QuotaPerUnit", "500000"},
    {"QuotaForNewUser", "0"},
    {"QuotaForInviter", "0"},
    {"QuotaForInvitee", "0"},
    {"QuotaRemindThreshold", "1000"},
    {"ChannelDisableThreshold", "5"},
    {"AutomaticDisableChannelEnabled", "false"},
    {"AutomaticEnableChannelEnabled", "false"},
    {"LogConsumeEnabled", "true"},
    {"DisplayInCurrencyEnabled", "true"},
    {"DisplayTokenStatEnabled", "true"},
    {"ApproximateTokenEnabled", "false"},
    {"SystemName", "One API"},
};

Result<void> validate_option(const std::string& key, const std::string& value) {
  for (auto& [k, kind] : kOptions) {
    if (key != k) continue;
    switch (kind) {
      case OptionKind::number: {
        int64_t v = 0;
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
        if (ec != std::errc() || p != value.data() + value.size() || v < 0)
          return invalid(key + " must be a non-negative integer");
        if (key == "QuotaPerUnit" && v == 0) return invalid("QuotaPerUnit must be positive");
        return {};
      }
      case OptionKind::decimal: {
        char* end = nullptr;
        const double v = std::strtod(value.c_str(), &end);
        if (value.empty() || end != value.c_str() + value.size() || !std::isfinite(v) || v < 0)
          return invalid(key + " must be a non-negative number");
        return {};
      }
      case OptionKind::boolean:
        if (value != "true" && value != "false") return invalid(key + " must be true or false");
        if (key == "LogConsumeEnabled" && value == "false") return invalid(kLogConsumeAlwaysOn);
        return {};
      case OptionKind::ratio_map: {
        auto m = billing::parse_ratio_map(value);
        if (!m) return invalid(key + ": " + m.error().message);
        return {};
      }
      case OptionKind::text:
        return {};
    }
  }
  return invalid("unknown option: " + key);
}

Matched list_options(std::shared_ptr<const relay::Catalog> c) {
  return store_work([c](store::Store& db) {
    return envelope(db.list_options(), [&](const std::map<std::string, std::string>& stored) {
      std::map<std::string, std::string> all;
      for (auto& [k, v] : kOptionDefaults) all[k] = v;
      for (auto& [k, v] : stored) all[k] = v;
      all["LogConsumeEnabled"] = "true";  // what is in force, whatever a One API database stored
      // Ratios show what is in force: the defaults with the stored overrides on top.
      all["ModelRatio"] = c->ratios.model_ratios_json();
      all["CompletionRatio"] = c->ratios.completion_ratios_json();
      all["GroupRatio"] = c->ratios.group_ratios_json();
      all["CachedInputRatio"] = c->ratios.cached_input_ratios_json();
      json a = json::array();
      for (auto& [k, v] : all) {
        if (k.ends_with("Token") || k.ends_with("Secret")) continue;
        a.push_back({{"key", k}, {"value", v}});
      }
      return a;
    });
  });
}

Matched set_option(const std::string& body) {
  auto j = parse_body(body);
  if (!j) return answer(fail(j.error()));
  std::string key, value;
  Fields f{*j, {}};
  f.str("key", key);
  if (j->contains("value") && !(*j)["value"].is_string())
    value = (*j)["value"].dump();  // numbers, booleans, objects
  else
    f.str("value", value);
  Result<void> valid = f.error ? Result<void>(*f.error) : validate_option(key, value);
  if (!valid) return answer(fail(valid.error()));
  return store_work([key, value](store::Store& db) { return envelope_void(db.set_option(key, value)); }, true);
}

}  // namespace

// Root only, as One API.
std::optional<Matched> route_options(const RouteCtx& ctx) {
  if (ctx.parts[0] != "option") return std::nullopt;
  if (auto denied = require(ctx, store::Role::root)) return denied;
  if (ctx.is("GET", 1)) return list_options(ctx.deps.catalog.get());
  if (ctx.is("PUT", 1)) return set_option(ctx.req.body);
  return std::nullopt;
}

}  // namespace oneapi::admin
