#include "core/error.hpp"

#include <nlohmann/json.hpp>

namespace oneapi {

int error_status(const Error& e) {
  if (e.status != 0) return e.status;
  switch (e.kind) {
    case ErrorKind::invalid_request:
      return 400;
    case ErrorKind::unauthorized:
      return 401;
    case ErrorKind::forbidden:
    case ErrorKind::insufficient_quota:
      return 403;
    case ErrorKind::not_found:
      return 404;
    case ErrorKind::payload_too_large:
      return 413;
    case ErrorKind::rate_limited:
      return 429;
    case ErrorKind::no_channel:
    case ErrorKind::unavailable:
      return 503;
    case ErrorKind::upstream_timeout:
      return 504;
    case ErrorKind::upstream_error:
    case ErrorKind::internal:
      return 500;
  }
  return 500;
}

std::string_view error_type(const Error& e) {
  if (!e.type.empty()) return e.type;
  switch (e.kind) {
    case ErrorKind::invalid_request:
    case ErrorKind::not_found:
    case ErrorKind::payload_too_large:
      return "invalid_request_error";
    case ErrorKind::unauthorized:
      return "authentication_error";
    case ErrorKind::forbidden:
      return "permission_error";
    case ErrorKind::insufficient_quota:
      return "insufficient_quota";
    case ErrorKind::rate_limited:
      return "rate_limit_error";
    case ErrorKind::upstream_error:
    case ErrorKind::upstream_timeout:
      return "upstream_error";
    case ErrorKind::no_channel:
    case ErrorKind::unavailable:
    case ErrorKind::internal:
      return "one_api_error";
  }
  return "one_api_error";
}

std::string to_openai_error_json(const Error& e, std::string_view request_id) {
  std::string message = e.message;
  if (!request_id.empty()) {
    message += " (request id: ";
    message += request_id;
    message += ")";
  }
  nlohmann::json j = {{"error",
                       {{"message", message},
                        {"type", error_type(e)},
                        {"param", ""},
                        {"code", e.code.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.code)}}}};
  return j.dump();
}

}  // namespace oneapi
