#pragma once
// The admin API, shared by the daemon's handlers and oneapictl. Served on the admin Unix socket
// (root-equivalent, mode 0600; the caller acts as root) and on the TCP port under the same /api
// routes for users with a management access token (`Authorization: <access_token>`).
//
// Every answer is HTTP 200 with One API's envelope
//   {"success": true,  "message": "", "data": <object|array>}
//   {"success": false, "message": "<why>", "code": "<error code>"}
// (One API answers management errors with 200 too; `code` is ours, so the CLI can map failures
// to exit codes). Unknown routes answer 404 with OpenAI error JSON; on TCP a missing or invalid
// access token answers 401 and a disabled user 403 before any route runs.
//
// Routes (One API's paths and field names; ids are integers; USER is a username or an id).
// Role needed: public, user (role >= 1), admin (>= 10), root (100). Handlers: routes_*.cpp.
//   public GET    /api/status, /api/cost/request/{request_id}
//   user   GET    /api/user/self | PUT /api/user/self {display_name, password}
//   user   GET    /api/user/token (new access token) | /api/user/aff | /api/user/available_models
//   user   POST   /api/user/topup {key [, username|user_id: admins only]} -> quota added
//   user   GET    /api/token/?p=&page_size= [&user_id= on the socket] | /api/token/{id}
//   user   POST   /api/token/ | PUT /api/token/[?status_only=1] | DELETE /api/token/{id}
//                 (a TCP caller sees only their own tokens; the socket sees all)
//   user   GET    /api/log/self?… | /api/log/self/stat?…
//   admin  GET    /api/user/?order= | /api/user/search?keyword= | /api/user/{USER}
//   admin  POST   /api/user/ | PUT /api/user/ | DELETE /api/user/{USER} | POST /api/user/manage
//                 {username, action: disable|enable|delete|promote|demote} | POST /api/user/{USER}/access_token
//   admin  POST   /api/topup {user_id|username, quota, remark}
//   admin  GET    /api/channel/… ; POST/PUT /api/channel/ ; DELETE /api/channel/{id}
//   admin  GET    /api/channel/test[/{id}][?scope=all|disabled][&model=] -> {id, name, ok, response_time_ms,
//                 error, model, answer, status} (an array without id) ; /api/channel/update_balance[/{id}]
//                 -> {id, name, type, supported, ok, balance, currency, balance_updated_time, error, status}
//   admin  GET    /api/redemption/ | /search | /{id} ; POST (count, name, quota; ?detail=1 rows) ; PUT ; DELETE
//   admin  GET    /api/log/?type=&username=&token_name=&model_name=&channel=&user_id=&start_timestamp=
//                 &end_timestamp=&p=&page_size= | /api/log/stat?… ; DELETE /api/log/?target_timestamp=
//   admin  GET    /api/group/
//   root   GET    /api/option/ | PUT /api/option/ {key, value}
#include <string_view>

namespace oneapi::admin {

inline constexpr std::string_view kStatus = "/api/status";
inline constexpr std::string_view kChannel = "/api/channel/";
inline constexpr std::string_view kChannelTest = "/api/channel/test";
inline constexpr std::string_view kChannelBalance = "/api/channel/update_balance";
inline constexpr std::string_view kToken = "/api/token/";
inline constexpr std::string_view kUser = "/api/user/";
inline constexpr std::string_view kLog = "/api/log/";
inline constexpr std::string_view kCost = "/api/cost/request/";
inline constexpr std::string_view kOption = "/api/option/";
inline constexpr std::string_view kRedemption = "/api/redemption/";
inline constexpr std::string_view kTopup = "/api/topup";

// Values of the envelope's "code" on failure.
inline constexpr std::string_view kCodeNotFound = "not_found";
inline constexpr std::string_view kCodeInvalid = "invalid_request";
inline constexpr std::string_view kCodeInternal = "internal";
inline constexpr std::string_view kCodeForbidden = "forbidden";        // the caller's role is too low
inline constexpr std::string_view kCodeUnauthorized = "unauthorized";  // no or an invalid access token
inline constexpr std::string_view kCodeFailed = "failed";              // e.g. a channel test that failed

}  // namespace oneapi::admin
