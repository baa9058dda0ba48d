#include <charconv>

#include "admin/routes.hpp"
#include "core/channel_types.hpp"
#include "core/util.hpp"
#include "relay/adaptor.hpp"

namespace oneapi::admin {

namespace {

Result<void> validate_channel(const store::Channel& c) {
  const ChannelTypeInfo* type = find_channel_type(c.type);
  if (!type || !relay::adaptor_named(type->adaptor))
    return invalid("channel type " + std::to_string(c.type) + " is not supported (see `oneapictl channel types`)");
  if (trim(c.name).empty()) return invalid("channel name is required");
  if (trim(c.key).empty()) return invalid("channel key is required");
  if (split_csv(c.models).empty()) return invalid("channel models are required (comma-separated)");
  if (split_csv(c.group).empty()) return invalid("channel group is required");
  if (c.base_url.empty() && relay::default_base_url(c.type).empty())
    return invalid("base_url is required for channel type " + std::to_string(c.type));
  if (!c.base_url.empty() && c.base_url.rfind("http://", 0) != 0 && c.base_url.rfind("https://", 0) != 0)
    return invalid("base_url must start with http:// or https://");
  if (!c.model_mapping.empty()) {
    auto m = json::parse(c.model_mapping, nullptr, false);
    if (m.is_discarded() || !m.is_object())
      return invalid("model_mapping must be a JSON object like {\"from\":\"to\"}");
    for (auto& [k, v] : m.items())
      if (!v.is_string()) return invalid("model_mapping value of \"" + k + "\" must be a string");
  }
  const bool needs_user_id = type->path_prefix.find(kUserIdPlaceholder) != std::string_view::npos;
  if (!c.config.empty() || needs_user_id) {
    auto cfg = json::parse(c.config.empty() ? "{}" : c.config, nullptr, false);
    if (cfg.is_discarded() || !cfg.is_object()) return invalid("config must be a JSON object");
    if (needs_user_id && !(cfg.contains("user_id") && cfg["user_id"].is_string() &&
                           !cfg["user_id"].get_ref<const std::string&>().empty()))
      return invalid(std::string(type->display_name) + " channels need config.user_id (the account id)");
    for (const char* key : {"rate_limit", "ratelimit"})
      if (cfg.contains(key) && !(cfg[key].is_number_integer() && cfg[key].get<int64_t>() >= 0))
        return invalid(std::string("config.") + key + " must be a non-negative integer (requests per minute)");
  }
  if (c.weight < 0) return invalid("weight must not be negative");
  if (c.status < 1 || c.status > 3) return invalid("status must be 1 (enabled), 2 (disabled) or 3 (auto-disabled)");
  return {};
}

void read_channel_fields(Fields& f, store::Channel& c) {
  f.integer("type", c.type);
  f.str("name", c.name);
  f.str("key", c.key);
  f.str("base_url", c.base_url);
  f.str("models", c.models);
  f.str("group", c.group);
  f.integer("priority", c.priority);
  f.integer("weight", c.weight);
  f.json_text("model_mapping", c.model_mapping);
  f.json_text("config", c.config);
  f.str("system_prompt", c.system_prompt);
  f.integer("status", c.status);
  f.str("other", c.other);
  while (!c.base_url.empty() && c.base_url.back() == '/') c.base_url.pop_back();
  c.models = join_csv(split_csv(c.models));
  c.group = join_csv(split_csv(c.group));
}

Matched create_channel(const std::string& body) {
  auto j = parse_body(body);
  if (!j) return answer(fail(j.error()));
  store::Channel c;
  c.created_time = unix_now();
  Fields f{*j, {}};
  read_channel_fields(f, c);
  Result<void> valid = f.error ? Result<void>(*f.error) : validate_channel(c);
  if (!valid) return answer(fail(valid.error()));
  return store_work([c](store::Store& db) { return envelope(db.insert_channel(c), channel_json); }, true);
}

Matched update_channel(const std::string& body) {
  auto j = parse_body(body);
  if (!j) return answer(fail(j.error()));
  if (!j->contains("id") || !(*j)["id"].is_number_integer()) return answer(fail(invalid("id is required")));
  return store_work(
      [j = *j](store::Store& db) {
        auto current = db.get_channel(j["id"].get<int64_t>());
        if (!current) return fail(current.error());
        store::Channel c = *current;
        Fields f{j, {}};
        read_channel_fields(f, c);
        Result<void> valid = f.error ? Result<void>(*f.error) : validate_channel(c);
        if (!valid) return fail(valid.error());
        return envelope(db.update_channel(c), channel_json);
      },
      true);
}

}  // namespace

// Admin only, as One API.
std::optional<Matched> route_channels(const RouteCtx& ctx) {
  if (ctx.parts[0] != "channel") return std::nullopt;
  if (auto denied = require(ctx, store::Role::admin)) return denied;
  const auto& parts = ctx.parts;
  const Page page = ctx.page;
  if (ctx.is("GET", 1))
    return store_work([page](store::Store& db) {
      return envelope(db.list_channels(), [&](const auto& l) { return page_of(l, page, channel_json); });
    });
  if (ctx.is("POST", 1)) return create_channel(ctx.req.body);
  if (ctx.is("PUT", 1)) return update_channel(ctx.req.body);
  // GET /api/channel/test[/{id}][?scope=all|disabled][&model=M] and
  // GET /api/channel/update_balance[/{id}]: both wait for the upstreams and answer every result.
  const bool test = parts.size() >= 2 && parts[1] == "test";
  const bool balance = parts.size() >= 2 && parts[1] == "update_balance";
  if (ctx.method == "GET" && ctx.n() <= 3 && (test || balance)) {
    Matched m;
    m.network = test ? Matched::Network::test : Matched::Network::balance;
    if (ctx.n() == 3) {
      auto id = parse_id(parts[2]);
      if (!id) return answer(fail(id.error()));
      m.channel_id = *id;
    }
    if (test) {
      m.test_model = ctx.req.query_param("model");
      // One API's scopes: "all" (the default) tests every channel; "disabled" here means the
      // channels disabled automatically (One API's also takes those disabled by hand).
      const std::string scope = ctx.req.query_param("scope");
      if (scope == "disabled")
        m.test_scope = relay::TestScope::auto_disabled;
      else if (!scope.empty() && scope != "all")
        return answer(fail(invalid("scope must be all or disabled")));
    }
    return m;
  }
  if (ctx.n() != 2) return std::nullopt;
  auto id = parse_id(parts[1]);
  if (!id) return answer(fail(id.error()));
  const int64_t channel_id = *id;
  if (ctx.method == "GET")
    return store_work([channel_id](store::Store& db) { return envelope(db.get_channel(channel_id), channel_json); });
  if (ctx.method == "DELETE")
    return store_work([channel_id](store::Store& db) { return envelope_void(db.delete_channel(channel_id)); }, true);
  return std::nullopt;
}

}  // namespace oneapi::admin
