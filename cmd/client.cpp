#include "client.hpp"

#include "admin/protocol.hpp"
#include "admin/unix_client.hpp"
#include "output.hpp"

namespace oneapi::cli {

using nlohmann::json;

namespace {

Reply failure(int code, std::string message) {
  Reply r;
  r.exit_code = code;
  r.error = std::move(message);
  return r;
}

}  // namespace

Reply call(const Context& ctx, std::string_view method, const std::string& target, const json& body) {
  std::string payload = body.is_null() ? std::string() : body.dump(-1, ' ', false, json::error_handler_t::replace);
  admin::UnixResponse res;
  std::string error;
  if (!admin::unix_http_request(ctx.socket_path, std::string(method), target, payload, res, error, ctx.timeout_seconds))
    return failure(kExitUnreachable, error);

  json envelope = json::parse(res.body, nullptr, false);
  if (envelope.is_discarded() || !envelope.is_object()) {
    if (res.status == 404)
      return failure(kExitFailed,
                     "oneapid does not serve " + std::string(method) + " " + target + " (is it an older version?)");
    return failure(kExitFailed, "unexpected answer from oneapid (HTTP " + std::to_string(res.status) + ")");
  }
  // Unknown routes answer with OpenAI's error shape.
  if (!envelope.contains("success")) {
    std::string message = envelope.contains("error") ? text(envelope["error"], "message") : std::string();
    if (res.status == 404)
      return failure(kExitFailed, "oneapid does not serve " + std::string(method) + " " + target +
                                      (message.empty() ? std::string() : ": " + message));
    return failure(kExitFailed, message.empty()
                                    ? "unexpected answer from oneapid (HTTP " + std::to_string(res.status) + ")"
                                    : message);
  }
  if (!boolean(envelope, "success")) {
    std::string message = text(envelope, "message");
    if (message.empty()) message = "oneapid refused the request";
    const int code = text(envelope, "code") == admin::kCodeNotFound ? kExitNotFound : kExitFailed;
    return failure(code, message);
  }
  Reply r;
  r.data = envelope.contains("data") ? envelope["data"] : json();
  return r;
}

int fail(const Reply& reply) {
  print_error(reply.error);
  return reply.exit_code == kExitOk ? kExitFailed : reply.exit_code;
}

int usage_error(std::string_view message) {
  print_error(message);
  return kExitUsage;
}

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' || u == '_' ||
        u == '.' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

std::string with_query(std::string path, const std::vector<std::pair<std::string, std::string>>& params) {
  char sep = path.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    path += sep;
    path += url_encode(k) + "=" + url_encode(v);
    sep = '&';
  }
  return path;
}

}  // namespace oneapi::cli
