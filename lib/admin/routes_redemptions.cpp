// Redemption codes (vouchers), admin only as One API. POST answers with the new keys.
#include <algorithm>
#include <cctype>

#include "admin/routes.hpp"
#include "core/util.hpp"

namespace oneapi::admin {

namespace {

Result<void> validate_redemption(const store::Redemption& r) {
  if (trim(r.name).empty() || r.name.size() > 20) return invalid("name must be 1 to 20 characters");
  if (r.quota <= 0) return invalid("quota must be positive");
  return {};
}

Matched create_redemptions(const RouteCtx& ctx) {
  auto j = parse_body(ctx.req.body);
  if (!j) return answer(fail(j.error()));
  store::Redemption r;
  int64_t count = 1;
  Fields f{*j, {}};
  f.str("name", r.name);
  f.integer("quota", r.quota);
  f.integer("count", count);
  Result<void> valid = f.result();
  if (valid) valid = validate_redemption(r);
  if (valid && (count < 1 || count > 100)) valid = invalid("count must be 1 to 100");
  if (!valid) return answer(fail(valid.error()));
  r.user_id = ctx.caller.user_id;
  const int n = static_cast<int>(count);
  // data: the keys, as One API; with ?detail=1 (oneapictl) the full rows.
  const bool detail = ctx.req.query_param("detail") == "1";
  return store_work([r, n, detail](store::Store& db) {
    auto made = db.create_redemptions(r, n);
    if (!made) return fail(made.error());
    json data = json::array();
    for (const auto& c : *made) data.push_back(detail ? redemption_json(c) : json(c.key));
    return ok(data);
  });
}

Matched update_redemption(const RouteCtx& ctx) {
  auto j = parse_body(ctx.req.body);
  if (!j) return answer(fail(j.error()));
  if (!j->contains("id") || !(*j)["id"].is_number_integer()) return answer(fail(invalid("id is required")));
  const bool status_only = ctx.req.query_param("status_only") == "1";
  return store_work([j = *j, status_only](store::Store& db) {
    auto current = db.get_redemption(j["id"].get<int64_t>());
    if (!current) return fail(current.error());
    store::Redemption r = *current;
    Fields f{j, {}};
    f.integer("status", r.status);
    if (!status_only) {
      f.str("name", r.name);
      f.integer("quota", r.quota);
    }
    Result<void> valid = f.result();
    if (valid) valid = validate_redemption(r);
    if (!valid) return fail(valid.error());
    return envelope(db.update_redemption(r), redemption_json);
  });
}

}  // namespace

std::optional<Matched> route_redemptions(const RouteCtx& ctx) {
  if (ctx.parts[0] != "redemption") return std::nullopt;
  if (auto denied = require(ctx, store::Role::admin)) return denied;
  const Page page = ctx.page;
  if (ctx.is("GET", 1))
    return store_work([page](store::Store& db) {
      return envelope(db.list_redemptions(), [&](const auto& l) { return page_of(l, page, redemption_json); });
    });
  if (ctx.is("GET", 2) && ctx.parts[1] == "search") {
    const std::string keyword = to_lower_ascii(ctx.req.query_param("keyword"));
    return store_work([keyword](store::Store& db) {
      return envelope(db.list_redemptions(), [&](const std::vector<store::Redemption>& l) {
        json a = json::array();
        for (const auto& r : l)
          if (to_lower_ascii(r.name).find(keyword) != std::string::npos || std::to_string(r.id) == keyword ||
              r.key == keyword)
            a.push_back(redemption_json(r));
        return a;
      });
    });
  }
  if (ctx.is("POST", 1)) return create_redemptions(ctx);
  if (ctx.is("PUT", 1)) return update_redemption(ctx);
  if (ctx.n() != 2) return std::nullopt;
  auto id = parse_id(ctx.parts[1]);
  if (!id) return answer(fail(id.error()));
  const int64_t code_id = *id;
  if (ctx.method == "GET")
    return store_work([code_id](store::Store& db) { return envelope(db.get_redemption(code_id), redemption_json); });
  if (ctx.method == "DELETE")
    return store_work([code_id](store::Store& db) { return envelope_void(db.delete_redemption(code_id)); });
  return std::nullopt;
}

}  // namespace oneapi::admin
