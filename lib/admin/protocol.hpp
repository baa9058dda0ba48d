#pragma once
// The admin API, shared by the daemon's handlers and oneapictl. Served on the admin Unix socket
// (root-equivalent, mode 0600) and, later, on the TCP port under the same /api routes.
//
// Every answer is HTTP 200 with One API's envelope
//   {"success": true,  "message": "", "data": <object|array>}
//   {"success": false, "message": "<why>", "code": "<error code>"}
// (One API answers management errors with 200 too; `code` is ours, so the CLI can map failures
// to exit codes). Unknown routes answer 404 with OpenAI error JSON.
//
// Routes (ids are integers; JSON field names are One API's):
//   GET    /api/status                      -> {version, start_time, uptime_seconds, quota_per_unit, system_name,
//   channels, tokens} GET    /api/channel/?p=N&page_size=M    -> [channel] (key omitted) GET    /api/channel/{id} ->
//   channel (key omitted) POST   /api/channel/   {type, name, key, base_url, models, group, priority, weight,
//                           model_mapping, config, system_prompt, status}  -> channel
//   PUT    /api/channel/   {id, <any field above>}            -> channel
//   DELETE /api/channel/{id}                                  -> null
//   GET    /api/channel/test/{id}[?model=M]  -> {channel_id, name, success, time (seconds, float),
//                                               response_time (ms), model, message}
//   GET    /api/channel/test                 -> [same, one per channel]  (enabled channels;
//                                               ?all=1 includes disabled ones)
//   GET    /api/token/?p=N&page_size=M      -> [token]            (key is "sk-…")
//   GET    /api/token/{id}                  -> token
//   POST   /api/token/   {name, remain_quota, unlimited_quota, expired_time, models, subnet, user_id}
//                                            -> token (with its full key "sk-…")
//   PUT    /api/token/   {id, <any field above>, status}  -> token
//   DELETE /api/token/{id}                                -> null
//   GET    /api/user/                        -> [user] (password omitted)
//   GET    /api/log/?p=N&page_size=M&type=T&username=U&token_name=T&model_name=M&channel=C
//                  &start_timestamp=S&end_timestamp=E     -> [log], newest first
//   GET    /api/cost/request/{request_id}   -> {request_id, quota, cost_usd, model_name,
//                                               prompt_tokens, completion_tokens, token_name,
//                                               created_at, is_stream, elapsed_time}
//   GET    /api/option/                      -> [{key, value}]
//   PUT    /api/option/  {key, value}        -> null
#include <string_view>

namespace oneapi::admin {

inline constexpr std::string_view kStatus = "/api/status";
inline constexpr std::string_view kChannel = "/api/channel/";
inline constexpr std::string_view kChannelTest = "/api/channel/test";
inline constexpr std::string_view kToken = "/api/token/";
inline constexpr std::string_view kUser = "/api/user/";
inline constexpr std::string_view kLog = "/api/log/";
inline constexpr std::string_view kCost = "/api/cost/request/";
inline constexpr std::string_view kOption = "/api/option/";

// Values of the envelope's "code" on failure.
inline constexpr std::string_view kCodeNotFound = "not_found";
inline constexpr std::string_view kCodeInvalid = "invalid_request";
inline constexpr std::string_view kCodeInternal = "internal";
inline constexpr std::string_view kCodeForbidden = "forbidden";        // the caller's role is too low
inline constexpr std::string_view kCodeUnauthorized = "unauthorized";  // no or an invalid access token
inline constexpr std::string_view kCodeFailed = "failed";              // e.g. a channel test that failed

}  // namespace oneapi::admin
