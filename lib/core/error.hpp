#pragma once
// One list of error kinds; error_status() maps each to its HTTP status and OpenAI error type.
#include <string>
#include <string_view>

namespace oneapi {

enum class ErrorKind {
  invalid_request,     // 400
  unauthorized,        // 401
  forbidden,           // 403 (model not allowed, subnet, disabled user)
  insufficient_quota,  // 403
  not_found,           // 404
  payload_too_large,   // 413
  rate_limited,        // 429
  no_channel,          // 503
  upstream_error,      // status of the upstream, 500 if none
  upstream_timeout,    // 504
  unavailable,         // 503 (shutting down, database down)
  internal,            // 500
};

struct Error {
  ErrorKind kind = ErrorKind::internal;
  std::string message;
  std::string code;  // OpenAI `code`, e.g. "invalid_api_key"
  int status = 0;    // overrides the kind's status when non-zero (upstream errors)
  std::string type;  // overrides the kind's OpenAI type when non-empty
  bool retryable = false;
  int retry_after_seconds = 0;  // Retry-After: the upstream's, or the gateway's own rate limit's

  static Error make(ErrorKind k, std::string msg, std::string code = {}) {
    Error e;
    e.kind = k;
    e.message = std::move(msg);
    e.code = std::move(code);
    return e;
  }
};

int error_status(const Error& e);
std::string_view error_type(const Error& e);
// {"error":{"message","type","param","code"}}; request_id non-empty appends " (request id: …)"
std::string to_openai_error_json(const Error& e, std::string_view request_id = {});

}  // namespace oneapi
