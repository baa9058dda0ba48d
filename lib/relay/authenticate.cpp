#include <string>

#include "core/util.hpp"
#include "relay/steps.hpp"

namespace oneapi::relay {

namespace {
// "Bearer sk-KEY" or "sk-KEY-CHANNELID": One API strips "Bearer ", then "sk-", then splits on '-'.
std::string_view bearer_key(const net::ServerRequest& req) {
  std::string_view v = req.header("Authorization");
  if (v.empty()) v = req.header("X-Api-Key");
  if (v.empty()) v = req.header("Api-Key");
  v = trim(v);
  if (v.size() >= 7 && iequals(v.substr(0, 7), "bearer ")) v = trim(v.substr(7));
  if (v.substr(0, 3) == "sk-") v.remove_prefix(3);
  return v;
}
}  // namespace

Result<void> authenticate(RelayState& s, const net::ServerRequest& req) {
  std::string_view key = bearer_key(req);
  if (key.empty()) return Error::make(ErrorKind::unauthorized, "No token provided", "invalid_api_key");
  if (auto dash = key.find('-'); dash != std::string_view::npos) {
    std::string_view channel = key.substr(dash + 1);
    key = key.substr(0, dash);
    if (channel.empty() || channel.find_first_not_of("0123456789") != std::string_view::npos || channel.size() > 12)
      return Error::make(ErrorKind::unauthorized, "Invalid token", "invalid_api_key");
    s.pinned_channel_id = std::stoll(std::string(channel));
  }
  const store::Token* token = s.catalog->find_token(key);
  if (!token) return Error::make(ErrorKind::unauthorized, "Invalid token", "invalid_api_key");
  const std::string who = token->name + " (#" + std::to_string(token->id) + ")";
  switch (static_cast<store::TokenStatus>(token->status)) {
    case store::TokenStatus::enabled:
      break;
    case store::TokenStatus::exhausted:
      return Error::make(ErrorKind::insufficient_quota, "API Key " + who + " quota has been exhausted",
                         "token_quota_exhausted");
    case store::TokenStatus::expired:
      return Error::make(ErrorKind::unauthorized, "token " + who + " has expired", "token_expired");
    default:
      return Error::make(ErrorKind::unauthorized,
                         "token " + who + " status is not available (status: " + std::to_string(token->status) + ")",
                         "token_disabled");
  }
  if (token->expired_time != -1 && token->expired_time < unix_now())
    return Error::make(ErrorKind::unauthorized, "token " + who + " has expired", "token_expired");
  if (!token->unlimited_quota && token->remain_quota <= 0)
    return Error::make(
        ErrorKind::insufficient_quota,
        "token " + who + " quota has been used up (remaining: " + std::to_string(token->remain_quota) + ")",
        "token_quota_exhausted");
  const std::string& ip = req.client_ip.empty() ? req.peer_ip : req.client_ip;
  if (!token->subnet.empty() && !ip_in_subnets(ip, token->subnet))
    return Error::make(ErrorKind::forbidden,
                       "token can only be used from the specified subnets: " + token->subnet + ", current ip: " + ip,
                       "ip_not_allowed");
  const store::User* user = s.catalog->find_user(token->user_id);
  if (!user || user->status != static_cast<int>(store::UserStatus::enabled))
    return Error::make(ErrorKind::forbidden, "user has been banned", "user_banned");
  if (s.pinned_channel_id != 0 && user->role < static_cast<int>(store::Role::admin))
    return Error::make(ErrorKind::forbidden, "common users are not allowed to specify a channel",
                       "channel_pin_forbidden");
  s.token = token;
  s.user = user;
  return {};
}

Result<void> authorize_model(const RelayState& s) {
  if (s.token->models.empty()) return {};
  for (const auto& m : split_csv(s.token->models))
    if (m == s.model) return {};
  return Error::make(ErrorKind::forbidden, "this token has no access to model " + s.model, "model_not_allowed");
}

}  // namespace oneapi::relay
