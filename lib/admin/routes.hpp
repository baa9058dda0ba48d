#pragma once
// Internal to lib/admin: what each routes_*.cpp file needs to match a request and describe the
// work it wants done. handlers.cpp authenticates the caller, asks each group of routes in turn,
// then runs the work on the store thread.
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "admin/handlers.hpp"
#include "core/result.hpp"
#include "relay/channel_test.hpp"
#include "store/models.hpp"
#include "store/store.hpp"

namespace oneapi::admin {

using nlohmann::json;

// What a matched route needs done. Everything but channel tests and balance queries is one task
// on the store thread that returns the envelope; the coroutine that serves the request only hops
// there and back. (Building requests in plain functions also keeps g++ 12 away from large
// coroutine frames, where it corrupted locals.)
struct Matched {
  enum class Network { none, test, balance };  // channel jobs that talk to upstreams

  std::optional<json> immediate;            // answer without touching the database
  std::function<json(store::Store&)> work;  // or: run this on the store thread
  bool changes = false;                     // reload the catalog after a success
  Network network = Network::none;          // or: channel tests / balance queries
  std::optional<int64_t> channel_id;        // one channel; none = every channel of the scope
  relay::TestScope test_scope = relay::TestScope::all;
  std::string test_model;
};

using Page = std::pair<int64_t, int64_t>;  // page, page size (0 = everything)

struct RouteCtx {
  const net::ServerRequest& req;
  const AdminDeps& deps;
  const Caller& caller;
  std::vector<std::string_view> parts;  // path segments after "api"
  std::string_view method;
  Page page;

  size_t n() const { return parts.size(); }
  bool is(std::string_view m, size_t segments) const { return method == m && parts.size() == segments; }
};

// ---- envelope (common.cpp) ----
json ok(json data = nullptr);
json fail(const Error& e);
Error invalid(std::string msg);
Error forbidden(std::string msg = "Unauthorized: insufficient permissions");
Matched answer(json reply);
Matched store_work(std::function<json(store::Store&)> work, bool changes = false);
// A denial when the caller's role is below `role`.
std::optional<Matched> require(const RouteCtx& ctx, store::Role role);

template <class R, class F>
json envelope(const R& r, F to_data) {
  return r ? ok(to_data(*r)) : fail(r.error());
}
inline json envelope_void(const Result<void>& r) { return r ? ok() : fail(r.error()); }

// ---- request parsing (common.cpp) ----
Result<json> parse_body(const std::string& body);
Result<int64_t> parse_id(std::string_view s);
int64_t query_int(const net::ServerRequest& req, std::string_view name, int64_t fallback);

// Reads optional typed fields; the first type error wins.
struct Fields {
  const json& j;
  std::optional<Error> error;

  bool has(const char* k) const { return j.contains(k) && !j[k].is_null(); }
  void str(const char* k, std::string& out);
  void integer(const char* k, int64_t& out);
  void integer(const char* k, int& out);
  void boolean(const char* k, bool& out);
  // Accepts a JSON object or a string holding one (One API stores the string).
  void json_text(const char* k, std::string& out);
  void set_error(std::string msg);
  Result<void> result() const { return error ? Result<void>(*error) : Result<void>(); }
};

template <class T, class F>
json page_of(const std::vector<T>& list, Page page, F to_json) {
  json a = json::array();
  const auto [p, size] = page;
  size_t begin = size > 0 ? static_cast<size_t>(std::max<int64_t>(p, 0) * size) : 0;
  size_t end = size > 0 ? begin + static_cast<size_t>(size) : list.size();
  for (size_t i = begin; i < list.size() && i < end; ++i) a.push_back(to_json(list[i]));
  return a;
}

// ---- JSON shapes, One API's field names (common.cpp) ----
json channel_json(const store::Channel& c);
json token_json(const store::Token& t);
json user_json(const store::User& u);
json log_json(const store::Log& l);
json redemption_json(const store::Redemption& r);

// ---- route groups: each answers nullopt when the path is not theirs ----
std::optional<Matched> route_channels(const RouteCtx& ctx);
std::optional<Matched> route_tokens(const RouteCtx& ctx);
std::optional<Matched> route_users(const RouteCtx& ctx);
std::optional<Matched> route_redemptions(const RouteCtx& ctx);
std::optional<Matched> route_logs(const RouteCtx& ctx);
std::optional<Matched> route_options(const RouteCtx& ctx);

}  // namespace oneapi::admin
