#include "admin/handlers.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "admin/protocol.hpp"
#include "billing/quota.hpp"
#include "billing/ratios.hpp"
#include "core/util.hpp"
#include "relay/adaptor.hpp"
#include "relay/channel_test.hpp"

namespace oneapi::admin {

using boost::asio::awaitable;
using nlohmann::json;

namespace {

// ---- envelope -------------------------------------------------------------------------------

json ok(json data = nullptr) { return {{"success", true}, {"message", ""}, {"data", std::move(data)}}; }

json fail(const Error& e) {
  std::string_view code = kCodeInternal;
  if (e.kind == ErrorKind::not_found)
    code = kCodeNotFound;
  else if (e.kind == ErrorKind::invalid_request)
    code = kCodeInvalid;
  else if (!e.code.empty())
    code = e.code;
  return {{"success", false}, {"message", e.message}, {"code", code}};
}

Error invalid(std::string msg) { return Error::make(ErrorKind::invalid_request, std::move(msg)); }

// ---- JSON shapes (One API's field names) ---------------------------------------------------

json channel_json(const store::Channel& c) {
  return {{"id", c.id},
          {"type", c.type},
          {"status", c.status},
          {"name", c.name},
          {"weight", c.weight},
          {"created_time", c.created_time},
          {"test_time", c.test_time},
          {"response_time", c.response_time},
          {"base_url", c.base_url},
          {"other", c.other},
          {"balance", c.balance},
          {"balance_updated_time", c.balance_updated_time},
          {"models", c.models},
          {"group", c.group},
          {"used_quota", c.used_quota},
          {"model_mapping", c.model_mapping},
          {"priority", c.priority},
          {"config", c.config},
          {"system_prompt", c.system_prompt}};
}

json token_json(const store::Token& t) {
  return {{"id", t.id},
          {"user_id", t.user_id},
          {"key", "sk-" + t.key},
          {"status", t.status},
          {"name", t.name},
          {"created_time", t.created_time},
          {"accessed_time", t.accessed_time},
          {"expired_time", t.expired_time},
          {"remain_quota", t.remain_quota},
          {"unlimited_quota", t.unlimited_quota},
          {"used_quota", t.used_quota},
          {"models", t.models},
          {"subnet", t.subnet}};
}

json user_json(const store::User& u) {
  return {{"id", u.id},       {"username", u.username},     {"display_name", u.display_name},
          {"role", u.role},   {"status", u.status},         {"email", u.email},
          {"quota", u.quota}, {"used_quota", u.used_quota}, {"request_count", u.request_count},
          {"group", u.group}, {"aff_code", u.aff_code},     {"inviter_id", u.inviter_id}};
}

json log_json(const store::Log& l) {
  return {{"id", l.id},
          {"user_id", l.user_id},
          {"created_at", l.created_at},
          {"type", l.type},
          {"content", l.content},
          {"username", l.username},
          {"token_name", l.token_name},
          {"model_name", l.model_name},
          {"quota", l.quota},
          {"prompt_tokens", l.prompt_tokens},
          {"completion_tokens", l.completion_tokens},
          {"channel", l.channel_id},
          {"request_id", l.request_id},
          {"elapsed_time", l.elapsed_time},
          {"is_stream", l.is_stream},
          {"system_prompt_reset", l.system_prompt_reset}};
}

// ---- request parsing -----------------------------------------------------------------------

Result<json> parse_body(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid("request body must be a JSON object");
  return j;
}

Result<int64_t> parse_id(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) return invalid("invalid id: " + std::string(s));
  return v;
}

// Reads optional typed fields; the first type error wins.
struct Fields {
  const json& j;
  std::optional<Error> error;

  bool has(const char* k) const { return j.contains(k) && !j[k].is_null(); }
  void str(const char* k, std::string& out) {
    if (!has(k)) return;
    if (!j[k].is_string()) return set_error(std::string(k) + " must be a string");
    out = j[k].get<std::string>();
  }
  template <class Int>
  void integer(const char* k, Int& out) {
    if (!has(k)) return;
    if (!j[k].is_number_integer()) return set_error(std::string(k) + " must be an integer");
    out = static_cast<Int>(j[k].get<int64_t>());
  }
  void boolean(const char* k, bool& out) {
    if (!has(k)) return;
    if (!j[k].is_boolean()) return set_error(std::string(k) + " must be true or false");
    out = j[k].get<bool>();
  }
  // Accepts a JSON object or a string holding one (One API stores the string).
  void json_text(const char* k, std::string& out) {
    if (!has(k)) return;
    if (j[k].is_object()) {
      out = j[k].dump();
      return;
    }
    if (!j[k].is_string()) return set_error(std::string(k) + " must be a JSON object");
    out = j[k].get<std::string>();
  }
  void set_error(std::string msg) {
    if (!error) error = invalid(std::move(msg));
  }
};

Result<void> validate_channel(const store::Channel& c) {
  if (!relay::adaptor_for(c.type)) return invalid("channel type " + std::to_string(c.type) + " is not supported");
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

Result<void> validate_token(const store::Token& t) {
  if (trim(t.name).empty()) return invalid("token name is required");
  if (t.name.size() > 30) return invalid("token name is too long (at most 30 characters)");
  if (!t.unlimited_quota && t.remain_quota < 0) return invalid("remain_quota must not be negative");
  if (t.expired_time != -1 && t.expired_time <= 0) return invalid("expired_time must be -1 (never) or a unix time");
  if (auto bad = invalid_subnet_item(t.subnet); !bad.empty()) return invalid("invalid subnet: " + bad);
  if (t.status < 1 || t.status > 4) return invalid("status must be 1 (enabled) or 2 (disabled)");
  return {};
}

void read_token_fields(Fields& f, store::Token& t) {
  f.str("name", t.name);
  f.integer("remain_quota", t.remain_quota);
  f.boolean("unlimited_quota", t.unlimited_quota);
  f.integer("expired_time", t.expired_time);
  f.str("models", t.models);
  f.str("subnet", t.subnet);
  f.integer("status", t.status);
  t.models = join_csv(split_csv(t.models));
  t.subnet = join_csv(split_csv(t.subnet));
}

// Options oneapictl may set, with how each is validated. Keys ending in Token or Secret are
// never listed (One API's rule).
enum class OptionKind { number, boolean, ratio_map, text };
const std::pair<const char*, OptionKind> kOptions[] = {
    {"ModelRatio", OptionKind::ratio_map},
    {"CompletionRatio", OptionKind::ratio_map},
    {"GroupRatio", OptionKind::ratio_map},
    {"PreConsumedQuota", OptionKind::number},
    {"RetryTimes", OptionKind::number},
    {"QuotaPerUnit", OptionKind::number},
    {"QuotaForNewUser", OptionKind::number},
    {"QuotaForInviter", OptionKind::number},
    {"QuotaForInvitee", OptionKind::number},
    {"QuotaRemindThreshold", OptionKind::number},
    {"ChannelDisableThreshold", OptionKind::number},
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
      case OptionKind::boolean:
        if (value != "true" && value != "false") return invalid(key + " must be true or false");
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

std::string test_model_for(const store::Channel& c, const std::string& requested) {
  auto models = split_csv(c.models);
  const std::string wanted = requested.empty() ? "gpt-3.5-turbo" : requested;
  for (const auto& m : models)
    if (m == wanted) return m;
  if (!requested.empty()) return requested;
  return models.empty() ? wanted : models.front();
}

}  // namespace

awaitable<json> AdminApi::test_channel(const store::Channel& c, const std::string& requested) {
  const std::string model = test_model_for(c, requested);
  auto r = co_await relay::test_channel(c, model, d_.test_prompt, d_.client);
  if (r.success) {
    const int64_t id = c.id, ms = r.response_time_ms, now = unix_now();
    auto record = [=](store::Store& db) { return db.record_channel_test(id, ms, now); };
    auto saved = co_await d_.store.run(std::move(record));
    if (!saved) spdlog::warn("recording the test of channel #{} failed: {}", id, saved.error().message);
  }
  co_return json{{"channel_id", c.id},
                 {"name", c.name},
                 {"success", r.success},
                 {"time", static_cast<double>(r.response_time_ms) / 1000.0},
                 {"response_time", r.response_time_ms},
                 {"model", r.model},
                 {"message", r.message}};
}

awaitable<void> AdminApi::reload_catalog() {
  auto snapshot = co_await d_.store.run([](store::Store& db) { return db.load_snapshot(); });
  if (!snapshot) {
    spdlog::error("reloading the catalog failed: {}", snapshot.error().message);
    co_return;
  }
  d_.catalog.set(relay::Catalog::build(*snapshot));
}

namespace {

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    auto slash = path.find('/');
    auto part = path.substr(0, slash);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

int64_t query_int(const net::ServerRequest& req, std::string_view name, int64_t fallback) {
  std::string v = req.query_param(name);
  if (v.empty()) return fallback;
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size() ? out : fallback;
}

}  // namespace

namespace {

// What a matched route needs done. Everything but channel tests is one task on the store thread
// that returns the envelope; the coroutine that serves the request only hops there and back.
// (Building requests in plain functions also keeps g++ 12 away from large coroutine frames,
// where it corrupted locals.)
struct Matched {
  std::optional<json> immediate;            // answer without touching the database
  std::function<json(store::Store&)> work;  // or: run this on the store thread
  bool changes = false;                     // reload the catalog after a success
  bool test = false;                        // or: channel tests (need the network)
  std::vector<int64_t> test_ids;            // empty = every channel that qualifies
  bool test_include_disabled = false;
  std::string test_model;
};

using Page = std::pair<int64_t, int64_t>;  // page, page size (0 = everything)

template <class T, class F>
json page_of(const std::vector<T>& list, Page page, F to_json) {
  json a = json::array();
  const auto [p, size] = page;
  size_t begin = size > 0 ? static_cast<size_t>(std::max<int64_t>(p, 0) * size) : 0;
  size_t end = size > 0 ? begin + static_cast<size_t>(size) : list.size();
  for (size_t i = begin; i < list.size() && i < end; ++i) a.push_back(to_json(list[i]));
  return a;
}

template <class R, class F>
json envelope(const R& r, F to_data) {
  return r ? ok(to_data(*r)) : fail(r.error());
}

json envelope_void(const Result<void>& r) { return r ? ok() : fail(r.error()); }

Matched answer(json reply) {
  Matched m;
  m.immediate = std::move(reply);
  return m;
}

Matched store_work(std::function<json(store::Store&)> work, bool changes = false) {
  Matched m;
  m.work = std::move(work);
  m.changes = changes;
  return m;
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

Matched create_token(const std::string& body, const relay::Catalog& catalog) {
  auto j = parse_body(body);
  if (!j) return answer(fail(j.error()));
  store::Token t;
  t.created_time = unix_now();
  t.accessed_time = t.created_time;
  Fields f{*j, {}};
  read_token_fields(f, t);
  f.integer("user_id", t.user_id);
  t.status = static_cast<int>(store::TokenStatus::enabled);
  Result<void> valid = f.error ? Result<void>(*f.error) : validate_token(t);
  if (valid && t.expired_time != -1 && t.expired_time <= unix_now()) valid = invalid("expired_time is in the past");
  if (!valid) return answer(fail(valid.error()));
  if (t.user_id == 0)  // the admin socket acts as root
    for (const auto& [id, u] : catalog.users)
      if (u.role >= static_cast<int>(store::Role::root) && (t.user_id == 0 || id < t.user_id)) t.user_id = id;
  t.key = new_token_key();
  return store_work(
      [t](store::Store& db) {
        auto u = db.get_user(t.user_id);
        if (!u) return fail(u.error());
        return envelope(db.insert_token(t), token_json);
      },
      true);
}

Matched update_token(const std::string& body) {
  auto j = parse_body(body);
  if (!j) return answer(fail(j.error()));
  if (!j->contains("id") || !(*j)["id"].is_number_integer()) return answer(fail(invalid("id is required")));
  return store_work(
      [j = *j](store::Store& db) {
        auto current = db.get_token(j["id"].get<int64_t>());
        if (!current) return fail(current.error());
        store::Token t = *current;
        Fields f{j, {}};
        read_token_fields(f, t);
        Result<void> valid = f.error ? Result<void>(*f.error) : validate_token(t);
        const bool enabling = t.status == static_cast<int>(store::TokenStatus::enabled);
        const bool expired = t.expired_time != -1 && t.expired_time <= unix_now();
        const bool exhausted = !t.unlimited_quota && t.remain_quota <= 0;
        if (valid && enabling && expired)
          valid = invalid("the token has expired and cannot be enabled; change its expiry first");
        if (valid && enabling && exhausted)
          valid = invalid("the token's quota is used up and it cannot be enabled; raise its quota first");
        // A token stopped by expiry or exhaustion comes back once what stopped it is fixed.
        const int old_status = current->status;
        const bool was_stopped = old_status == static_cast<int>(store::TokenStatus::exhausted) ||
                                 old_status == static_cast<int>(store::TokenStatus::expired);
        if (valid && !j.contains("status") && was_stopped && !expired && !exhausted)
          t.status = static_cast<int>(store::TokenStatus::enabled);
        if (!valid) return fail(valid.error());
        return envelope(db.update_token(t), token_json);
      },
      true);
}

Matched list_logs(const net::ServerRequest& req) {
  store::LogFilter f;
  if (!req.query_param("type").empty()) f.type = static_cast<int>(query_int(req, "type", 0));
  f.username = req.query_param("username");
  f.token_name = req.query_param("token_name");
  f.model_name = req.query_param("model_name");
  if (!req.query_param("channel").empty()) f.channel_id = query_int(req, "channel", 0);
  f.start_timestamp = query_int(req, "start_timestamp", 0);
  f.end_timestamp = query_int(req, "end_timestamp", 0);
  f.limit = static_cast<int>(std::clamp<int64_t>(query_int(req, "page_size", 10), 1, 10000));
  f.offset = static_cast<int>(std::max<int64_t>(query_int(req, "p", 0), 0) * f.limit);
  return store_work([f](store::Store& db) {
    return envelope(db.list_logs(f), [](const std::vector<store::Log>& list) {
      json a = json::array();
      for (const auto& l : list) a.push_back(log_json(l));
      return a;
    });
  });
}

Matched cost_of(std::string request_id, int64_t quota_per_unit) {
  return store_work([request_id, quota_per_unit](store::Store& db) {
    return envelope(db.get_log_by_request_id(request_id), [&](const store::Log& l) {
      return json{{"request_id", l.request_id},
                  {"quota", l.quota},
                  {"cost_usd", billing::quota_to_usd(l.quota, quota_per_unit)},
                  {"model_name", l.model_name},
                  {"prompt_tokens", l.prompt_tokens},
                  {"completion_tokens", l.completion_tokens},
                  {"token_name", l.token_name},
                  {"created_at", l.created_at},
                  {"is_stream", l.is_stream},
                  {"elapsed_time", l.elapsed_time},
                  {"pending", l.type == static_cast<int>(store::LogType::provisional)}};
    });
  });
}

Matched list_options(std::shared_ptr<const relay::Catalog> c) {
  return store_work([c](store::Store& db) {
    return envelope(db.list_options(), [&](const std::map<std::string, std::string>& stored) {
      std::map<std::string, std::string> all;
      for (auto& [k, v] : kOptionDefaults) all[k] = v;
      for (auto& [k, v] : stored) all[k] = v;
      // Ratios show what is in force: the defaults with the stored overrides on top.
      all["ModelRatio"] = c->ratios.model_ratios_json();
      all["CompletionRatio"] = c->ratios.completion_ratios_json();
      all["GroupRatio"] = c->ratios.group_ratios_json();
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

std::optional<Matched> match(const net::ServerRequest& req, const AdminDeps& d) {
  auto parts = split_path(req.path);
  if (parts.size() < 2 || parts[0] != "api") return std::nullopt;
  const std::string_view resource = parts[1], m = req.method;
  const size_t n = parts.size();
  const Page page{query_int(req, "p", 0), query_int(req, "page_size", 0)};
  auto with_id = [&](std::string_view text, auto make) -> Matched {
    auto id = parse_id(text);
    if (!id) return answer(fail(id.error()));
    return make(*id);
  };

  if (resource == "status" && n == 2 && m == "GET") {
    auto c = d.catalog.get();
    return answer(ok({{"version", ONEAPI_VERSION},
                      {"start_time", d.start_time},
                      {"uptime_seconds", unix_now() - d.start_time},
                      {"system_name", c->option("SystemName", "One API")},
                      {"quota_per_unit", c->quota_per_unit},
                      {"display_in_currency", c->option("DisplayInCurrencyEnabled", "true") == "true"},
                      {"channels", c->channels.size()},
                      {"tokens", c->tokens.size()}}));
  }
  if (resource == "channel") {
    if (n == 2 && m == "GET")
      return store_work([page](store::Store& db) {
        return envelope(db.list_channels(), [&](const auto& l) { return page_of(l, page, channel_json); });
      });
    if (n == 2 && m == "POST") return create_channel(req.body);
    if (n == 2 && m == "PUT") return update_channel(req.body);
    if (n >= 3 && n <= 4 && parts[2] == "test" && m == "GET") {
      Matched t;
      t.test = true;
      t.test_model = req.query_param("model");
      t.test_include_disabled = req.query_param("all") == "1";
      if (n == 4) {
        auto id = parse_id(parts[3]);
        if (!id) return answer(fail(id.error()));
        t.test_ids.push_back(*id);
      }
      return t;
    }
    if (n == 3 && m == "GET")
      return with_id(parts[2], [](int64_t id) {
        return store_work([id](store::Store& db) { return envelope(db.get_channel(id), channel_json); });
      });
    if (n == 3 && m == "DELETE")
      return with_id(parts[2], [](int64_t id) {
        return store_work([id](store::Store& db) { return envelope_void(db.delete_channel(id)); }, true);
      });
  }
  if (resource == "token") {
    if (n == 2 && m == "GET")
      return store_work([page](store::Store& db) {
        return envelope(db.list_tokens(std::nullopt), [&](const auto& l) { return page_of(l, page, token_json); });
      });
    if (n == 2 && m == "POST") return create_token(req.body, *d.catalog.get());
    if (n == 2 && m == "PUT") return update_token(req.body);
    if (n == 3 && m == "GET")
      return with_id(parts[2], [](int64_t id) {
        return store_work([id](store::Store& db) { return envelope(db.get_token(id), token_json); });
      });
    if (n == 3 && m == "DELETE")
      return with_id(parts[2], [](int64_t id) {
        return store_work([id](store::Store& db) { return envelope_void(db.delete_token(id)); }, true);
      });
  }
  if (resource == "user" && n == 2 && m == "GET")
    return store_work([page](store::Store& db) {
      return envelope(db.list_users(), [&](const auto& l) { return page_of(l, page, user_json); });
    });
  if (resource == "log" && n == 2 && m == "GET") return list_logs(req);
  if (resource == "cost" && n == 4 && parts[2] == "request" && m == "GET")
    return cost_of(std::string(parts[3]), d.catalog.get()->quota_per_unit);
  if (resource == "option" && n == 2 && m == "GET") return list_options(d.catalog.get());
  if (resource == "option" && n == 2 && m == "PUT") return set_option(req.body);
  return std::nullopt;
}

}  // namespace

awaitable<json> AdminApi::run_tests(std::vector<int64_t> ids, bool include_disabled, std::string model) {
  auto load = [ids, include_disabled](store::Store& db) -> Result<std::vector<store::Channel>> {
    std::vector<store::Channel> out;
    if (!ids.empty()) {
      auto c = db.get_channel(ids.front());
      if (!c) return c.error();
      out.push_back(*c);
      return out;
    }
    auto all = db.list_channels();
    if (!all) return all.error();
    for (auto& c : *all)
      if (include_disabled || c.status == static_cast<int>(store::ChannelStatus::enabled)) out.push_back(c);
    return out;
  };
  auto targets = co_await d_.store.run(std::move(load));
  if (!targets) co_return fail(targets.error());
  json results = json::array();
  for (const auto& c : *targets) results.push_back(co_await test_channel(c, model));
  if (!ids.empty()) co_return ok(results.at(0));
  co_return ok(results);
}

awaitable<bool> AdminApi::handle(net::ServerRequest& req, net::ResponseWriter& writer) {
  std::optional<Matched> matched = match(req, d_);
  if (!matched) co_return false;
  json reply;
  if (matched->immediate)
    reply = std::move(*matched->immediate);
  else if (matched->test)
    reply = co_await run_tests(matched->test_ids, matched->test_include_disabled, matched->test_model);
  else
    reply = co_await d_.store.run(std::move(matched->work));
  if ((matched->changes || matched->test) && reply.value("success", false)) co_await reload_catalog();
  co_await writer.send(200, net::json_headers(), reply.dump());
  co_return true;
}

}  // namespace oneapi::admin
