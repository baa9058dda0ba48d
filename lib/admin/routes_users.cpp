// Users: the admin's CRUD and manage actions, a user's own profile, access token, invitation
// code and redeeming a code; admin top-ups; groups. Role rules are One API's.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "admin/routes.hpp"
#include "core/password.hpp"
#include "core/util.hpp"

namespace oneapi::admin {

namespace {

constexpr int kCommon = static_cast<int>(store::Role::common);
constexpr int kAdmin = static_cast<int>(store::Role::admin);
constexpr int kRoot = static_cast<int>(store::Role::root);

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

Result<void> validate_username(const std::string& name) {
  if (name.empty()) return invalid("username is required");
  if (name.size() > 30) return invalid("username is too long (at most 30 characters)");
  // A user is named on the command line by name or id: an all-digit name would be ambiguous.
  if (all_digits(name)) return invalid("username must not be all digits");
  if (name.rfind("deleted_", 0) == 0) return invalid("username must not start with deleted_");
  for (const char* reserved : {"self", "token", "aff", "topup", "available_models", "search", "manage"})
    if (name == reserved) return invalid("username " + name + " is reserved");
  for (unsigned char c : name)
    if (std::isspace(c) || c == '/' || c < 0x20)
      return invalid("username must not contain spaces, control characters or /");
  return {};
}

Result<void> validate_password(const std::string& password) {
  if (password.size() < 8 || password.size() > 20) return invalid("password must be 8 to 20 characters");
  return {};
}

Result<void> validate_role(int role) {
  if (role != kCommon && role != kAdmin && role != kRoot)
    return invalid("role must be 1 (common), 10 (admin) or 100 (root)");
  return {};
}

// "42" is a user id, anything else a username.
Result<store::User> find_user(store::Store& db, const std::string& ref) {
  if (all_digits(ref)) {
    int64_t id = 0;
    std::from_chars(ref.data(), ref.data() + ref.size(), id);
    return db.get_user(id);
  }
  return db.get_user_by_username(ref);
}

// USER in a body: "username", else the integer under `id_key` ("id" or "user_id").
std::string user_ref(Fields& f, const char* id_key) {
  std::string ref;
  f.str("username", ref);
  if (ref.empty() && f.j.contains(id_key) && f.j[id_key].is_number_integer())
    ref = std::to_string(f.j[id_key].get<int64_t>());
  return ref;
}

// One API: an admin acts only on users of a lower role; root acts on anyone.
Result<void> may_manage(const Caller& caller, const store::User& target) {
  if (caller.is_root() || caller.role > target.role) return {};
  return forbidden("Unauthorized: cannot manage a user with the same or a higher role");
}

void read_user_fields(Fields& f, store::User& u, std::string& password) {
  f.str("username", u.username);
  f.str("display_name", u.display_name);
  f.str("email", u.email);
  f.str("group", u.group);
  f.integer("quota", u.quota);
  f.integer("role", u.role);
  f.str("password", password);
}

Result<void> validate_user(const store::User& u) {
  if (auto r = validate_username(u.username); !r) return r;
  if (u.display_name.size() > 20) return invalid("display_name is too long (at most 20 characters)");
  if (u.group.empty() || u.group.size() > 32) return invalid("group must be 1 to 32 characters");
  if (u.quota < 0) return invalid("quota must not be negative");
  return validate_role(u.role);
}

int64_t option_int(const relay::Catalog& c, const std::string& key) {
  const std::string v = c.option(key, "0");
  int64_t out = 0;
  std::from_chars(v.data(), v.data() + v.size(), out);
  return out;
}

Matched create_user(const RouteCtx& ctx) {
  auto j = parse_body(ctx.req.body);
  if (!j) return answer(fail(j.error()));
  store::NewUser n;
  std::string password;
  Fields f{*j, {}};
  read_user_fields(f, n.user, password);
  f.str("aff_code", n.inviter_aff_code);
  if (n.user.display_name.empty()) n.user.display_name = n.user.username;
  Result<void> valid = f.result();
  if (valid) valid = validate_user(n.user);
  if (valid && !password.empty()) valid = validate_password(password);
  if (valid && n.user.role >= ctx.caller.role && !ctx.caller.is_root())
    valid = forbidden("Unauthorized: cannot create a user with the same or a higher role");
  if (!valid) return answer(fail(valid.error()));
  if (!password.empty()) n.user.password = hash_password(password);
  auto catalog = ctx.deps.catalog.get();
  n.quota_for_new_user = option_int(*catalog, "QuotaForNewUser");
  n.quota_for_inviter = option_int(*catalog, "QuotaForInviter");
  n.quota_for_invitee = option_int(*catalog, "QuotaForInvitee");
  // One API gives every new user an unlimited "default" token; GENERATE_DEFAULT_TOKEN=false turns it off.
  n.default_token = ctx.deps.generate_default_token;
  return store_work([n](store::Store& db) { return envelope(db.create_user(n), user_json); }, true);
}

Matched update_user(const RouteCtx& ctx) {
  auto j = parse_body(ctx.req.body);
  if (!j) return answer(fail(j.error()));
  if (!j->contains("id") || !(*j)["id"].is_number_integer()) return answer(fail(invalid("id is required")));
  std::string password;
  if (j->contains("password") && (*j)["password"].is_string()) password = (*j)["password"].get<std::string>();
  if (!password.empty())
    if (auto v = validate_password(password); !v) return answer(fail(v.error()));
  const std::string hashed = password.empty() ? std::string() : hash_password(password);
  const Caller caller = ctx.caller;
  return store_work(
      [j = *j, hashed, caller](store::Store& db) {
        auto current = db.get_user(j["id"].get<int64_t>());
        if (!current) return fail(current.error());
        if (auto may = may_manage(caller, *current); !may) return fail(may.error());
        store::User u = *current;
        std::string ignored;
        Fields f{j, {}};
        read_user_fields(f, u, ignored);
        Result<void> valid = f.result();
        if (valid) valid = validate_user(u);
        if (valid && u.role != current->role && u.role >= caller.role && !caller.is_root())
          valid = forbidden("Unauthorized: cannot raise a user to the same or a higher role than yours");
        if (valid && current->role == kRoot && u.role != kRoot) valid = invalid("the root user cannot be demoted");
        if (!valid) return fail(valid.error());
        if (!hashed.empty()) u.password = hashed;
        return envelope(db.update_user(u), user_json);
      },
      true);
}

// POST /api/user/manage {username | id, action}: disable, enable, delete, promote, demote.
Matched manage_user(const RouteCtx& ctx) {
  auto j = parse_body(ctx.req.body);
  if (!j) return answer(fail(j.error()));
  std::string action;
  Fields f{*j, {}};
  const std::string ref = user_ref(f, "id");
  f.str("action", action);
  if (!f.result()) return answer(fail(*f.error));
  if (ref.empty()) return answer(fail(invalid("username is required")));
  static const char* kActions[] = {"disable", "enable", "delete", "promote", "demote"};
  if (std::find(std::begin(kActions), std::end(kActions), action) == std::end(kActions))
    return answer(fail(invalid("action must be one of disable, enable, delete, promote, demote")));
  const Caller caller = ctx.caller;
  return store_work(
      [ref, action, caller](store::Store& db) {
        auto target = find_user(db, ref);
        if (!target) return fail(target.error());
        if (auto may = may_manage(caller, *target); !may) return fail(may.error());
        store::User u = *target;
        const bool is_root = u.role == kRoot;
        if (action == "delete") {
          if (is_root) return fail(invalid("the root user cannot be deleted"));
          if (auto r = db.delete_user(u.id); !r) return fail(r.error());
          return ok(
              json{{"id", u.id}, {"username", u.username}, {"status", static_cast<int>(store::UserStatus::deleted)}});
        }
        if (action == "disable") {
          if (is_root) return fail(invalid("the root user cannot be disabled"));
          u.status = static_cast<int>(store::UserStatus::disabled);
        } else if (action == "enable") {
          u.status = static_cast<int>(store::UserStatus::enabled);
        } else if (action == "promote") {
          if (!caller.is_root()) return fail(forbidden("Unauthorized: only root can promote users to admin"));
          if (u.role >= kAdmin) return fail(invalid("user " + u.username + " is already an admin"));
          u.role = kAdmin;
        } else {  // demote
          if (is_root) return fail(invalid("the root user cannot be demoted"));
          if (u.role == kCommon) return fail(invalid("user " + u.username + " is already a common user"));
          u.role = kCommon;
        }
        return envelope(db.update_user(u), user_json);
      },
      true);
}

// POST /api/topup {user_id | username, quota, remark} (admin).
Matched admin_topup(const RouteCtx& ctx) {
  auto j = parse_body(ctx.req.body);
  if (!j) return answer(fail(j.error()));
  std::string remark;
  int64_t quota = 0;
  Fields f{*j, {}};
  const std::string ref = user_ref(f, "user_id");
  f.integer("quota", quota);
  f.str("remark", remark);
  if (!f.result()) return answer(fail(*f.error));
  if (ref.empty()) return answer(fail(invalid("user_id or username is required")));
  if (quota == 0) return answer(fail(invalid("quota must not be zero")));
  return store_work(
      [ref, quota, remark](store::Store& db) {
        auto target = find_user(db, ref);
        if (!target) return fail(target.error());
        std::string content = "admin top-up: " + std::to_string(quota) + " quota";
        if (!remark.empty()) content += " (" + remark + ")";
        return envelope(db.topup_user(target->id, quota, content), user_json);
      },
      true);
}

// POST /api/user/topup {key} redeems a code for the caller; the admin socket may name the user.
Matched redeem(const RouteCtx& ctx) {
  auto j = parse_body(ctx.req.body);
  if (!j) return answer(fail(j.error()));
  std::string key, ref;
  Fields f{*j, {}};
  f.str("key", key);
  if (ctx.caller.is_admin()) ref = user_ref(f, "user_id");
  if (!f.result()) return answer(fail(*f.error));
  key = std::string(trim(key));
  if (key.empty()) return answer(fail(invalid("key is required")));
  if (ref.empty()) ref = std::to_string(ctx.caller.user_id);
  return store_work(
      [key, ref](store::Store& db) {
        auto target = find_user(db, ref);
        if (!target) return fail(target.error());
        return envelope(db.redeem(key, target->id), [](int64_t quota) { return json(quota); });
      },
      true);
}

json self_json(const store::User& u) {
  json j = user_json(u);
  j["access_token"] = u.access_token;
  return j;
}

Matched self_routes(const RouteCtx& ctx) {
  const int64_t me = ctx.caller.user_id;
  const auto& parts = ctx.parts;
  if (ctx.is("GET", 2) && parts[1] == "self")
    return store_work([me](store::Store& db) { return envelope(db.get_user(me), self_json); });
  if (ctx.is("PUT", 2) && parts[1] == "self") {
    auto j = parse_body(ctx.req.body);
    if (!j) return answer(fail(j.error()));
    std::string display_name, password;
    bool has_display_name = j->contains("display_name");
    Fields f{*j, {}};
    f.str("display_name", display_name);
    f.str("password", password);
    if (!f.result()) return answer(fail(*f.error));
    if (!password.empty())
      if (auto v = validate_password(password); !v) return answer(fail(v.error()));
    if (display_name.size() > 20) return answer(fail(invalid("display_name is too long (at most 20 characters)")));
    const std::string hashed = password.empty() ? std::string() : hash_password(password);
    return store_work(
        [me, display_name, has_display_name, hashed](store::Store& db) {
          auto u = db.get_user(me);
          if (!u) return fail(u.error());
          if (has_display_name) u->display_name = display_name;
          if (!hashed.empty()) u->password = hashed;
          return envelope(db.update_user(*u), user_json);
        },
        true);
  }
  if (ctx.is("GET", 2) && parts[1] == "token")
    return store_work(
        [me](store::Store& db) {
          return envelope(db.regenerate_access_token(me), [](const std::string& t) { return json(t); });
        },
        true);
  if (ctx.is("GET", 2) && parts[1] == "aff")
    return store_work([me](store::Store& db) {
      return envelope(db.get_user(me), [](const store::User& u) { return json(u.aff_code); });
    });
  if (ctx.is("POST", 2) && parts[1] == "topup") return redeem(ctx);
  if (ctx.is("GET", 2) && parts[1] == "available_models") {
    auto catalog = ctx.deps.catalog.get();
    const store::User* u = catalog->find_user(me);
    return answer(ok(u ? json(catalog->models_for_group(u->group)) : json::array()));
  }
  return Matched{};
}

}  // namespace

std::optional<Matched> route_users(const RouteCtx& ctx) {
  const auto& parts = ctx.parts;
  if (parts[0] == "topup") {
    if (auto denied = require(ctx, store::Role::admin)) return denied;
    if (ctx.is("POST", 1)) return admin_topup(ctx);
    return std::nullopt;
  }
  if (parts[0] == "group") {
    if (auto denied = require(ctx, store::Role::admin)) return denied;
    if (!ctx.is("GET", 1)) return std::nullopt;
    json names = json::array();
    auto ratios = json::parse(ctx.deps.catalog.get()->ratios.group_ratios_json(), nullptr, false);
    if (ratios.is_object())
      for (auto& [name, ratio] : ratios.items()) names.push_back(name);
    return answer(ok(names));
  }
  if (parts[0] != "user") return std::nullopt;

  // A user's own routes.
  if (ctx.n() == 2 && (parts[1] == "self" || parts[1] == "token" || parts[1] == "aff" || parts[1] == "topup" ||
                       parts[1] == "available_models")) {
    if (auto denied = require(ctx, store::Role::common)) return denied;
    Matched m = self_routes(ctx);
    if (m.immediate || m.work) return m;
    return std::nullopt;
  }

  if (auto denied = require(ctx, store::Role::admin)) return denied;
  const Page page = ctx.page;
  if (ctx.is("GET", 1)) {
    const std::string order = ctx.req.query_param("order");
    return store_work([page, order](store::Store& db) {
      return envelope(db.list_users(), [&](std::vector<store::User> l) {
        auto by = [&](auto field) {
          std::stable_sort(l.begin(), l.end(), [&](const auto& a, const auto& b) { return field(a) > field(b); });
        };
        if (order == "quota") by([](const store::User& u) { return u.quota; });
        if (order == "used_quota") by([](const store::User& u) { return u.used_quota; });
        if (order == "request_count") by([](const store::User& u) { return u.request_count; });
        return page_of(l, page, user_json);
      });
    });
  }
  if (ctx.is("GET", 2) && parts[1] == "search") {
    const std::string keyword = to_lower_ascii(ctx.req.query_param("keyword"));
    return store_work([keyword](store::Store& db) {
      return envelope(db.list_users(), [&](const std::vector<store::User>& l) {
        json a = json::array();
        for (const auto& u : l)
          if (to_lower_ascii(u.username).find(keyword) != std::string::npos ||
              to_lower_ascii(u.display_name).find(keyword) != std::string::npos ||
              to_lower_ascii(u.email).find(keyword) != std::string::npos || std::to_string(u.id) == keyword)
            a.push_back(user_json(u));
        return a;
      });
    });
  }
  if (ctx.is("POST", 1)) return create_user(ctx);
  if (ctx.is("PUT", 1)) return update_user(ctx);
  if (ctx.is("POST", 2) && parts[1] == "manage") return manage_user(ctx);
  const Caller caller = ctx.caller;
  // POST /api/user/{id|name}/access_token: a new management token for that user (ours).
  if (ctx.is("POST", 3) && parts[2] == "access_token") {
    const std::string ref(parts[1]);
    return store_work(
        [ref, caller](store::Store& db) {
          auto target = find_user(db, ref);
          if (!target) return fail(target.error());
          if (target->id != caller.user_id)
            if (auto may = may_manage(caller, *target); !may) return fail(may.error());
          return envelope(db.regenerate_access_token(target->id), [&](const std::string& t) {
            return json{{"id", target->id}, {"username", target->username}, {"access_token", t}};
          });
        },
        true);
  }
  if (ctx.n() != 2) return std::nullopt;
  const std::string ref(parts[1]);
  if (ctx.method == "GET")
    return store_work([ref](store::Store& db) { return envelope(find_user(db, ref), user_json); });
  if (ctx.method == "DELETE")
    return store_work(
        [ref, caller](store::Store& db) {
          auto target = find_user(db, ref);
          if (!target) return fail(target.error());
          if (auto may = may_manage(caller, *target); !may) return fail(may.error());
          if (target->role == kRoot) return fail(invalid("the root user cannot be deleted"));
          return envelope_void(db.delete_user(target->id));
        },
        true);
  return std::nullopt;
}

}  // namespace oneapi::admin
