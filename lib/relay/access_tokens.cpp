#include "relay/access_tokens.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "core/channel_types.hpp"
#include "core/util.hpp"
#include "relay/adaptors/vertex/adaptor.hpp"

namespace oneapi::relay {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace vertex = adaptors::vertex;

// Google's tokens live an hour; one is not used in its last minute, so a request that starts
// with it does not reach the upstream after it expired.
constexpr std::chrono::seconds kExpiryMargin{60};
constexpr size_t kMaxTokenAnswer = 64 * 1024;

struct CachedToken {
  std::string token;
  Clock::time_point usable_until;
};

struct TokenCache {
  std::mutex mutex;
  std::unordered_map<uint64_t, CachedToken> by_key;  // key_fingerprint of the credential
};

TokenCache& cache() {
  static TokenCache c;
  return c;
}

std::string cached(uint64_t key) {
  auto& c = cache();
  std::lock_guard lock(c.mutex);
  auto it = c.by_key.find(key);
  if (it == c.by_key.end()) return {};
  if (Clock::now() >= it->second.usable_until) {
    c.by_key.erase(it);
    return {};
  }
  return it->second.token;
}

void remember(uint64_t key, std::string token, std::chrono::seconds lifetime) {
  if (lifetime <= kExpiryMargin) return;
  auto& c = cache();
  std::lock_guard lock(c.mutex);
  c.by_key[key] = {std::move(token), Clock::now() + lifetime - kExpiryMargin};
}

Error token_failure(std::string why) {
  Error e = Error::make(ErrorKind::upstream_error, "Vertex AI: could not get an access token: " + std::move(why),
                        "access_token_failed");
  e.status = 502;
  e.retryable = true;
  return e;
}

// What an OAuth error answer says ({"error":"invalid_grant","error_description":"…"}), short.
std::string oauth_error_text(int status, const std::string& body) {
  std::string text = "the token endpoint answered HTTP " + std::to_string(status);
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return text;
  if (auto e = j.find("error"); e != j.end() && e->is_string()) text += ": " + e->get<std::string>();
  if (auto d = j.find("error_description"); d != j.end() && d->is_string()) {
    std::string description = d->get<std::string>();
    if (description.size() > 200) description.resize(200);
    text += " (" + description + ")";
  }
  return text;
}

struct FetchedToken {
  std::string token;
  std::chrono::seconds lifetime{0};
};

// RFC 7523's JWT bearer grant, as Google's service-account flow uses it.
boost::asio::awaitable<Result<FetchedToken>> fetch_token(const vertex::ServiceAccount& account,
                                                         net::HttpClient& client) {
  auto assertion = vertex::signed_assertion(account, unix_now());
  if (!assertion) co_return assertion.error();
  net::ClientRequest req;
  req.method = "POST";
  req.url = account.token_uri;
  req.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
  req.headers.push_back({"Accept", "application/json"});
  // The assertion's characters (base64url and '.') need no form encoding.
  req.body = "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + *assertion;
  auto response = co_await client.send(std::move(req));
  if (!response) co_return token_failure(response.error().message);
  auto body = co_await (*response)->read_all(kMaxTokenAnswer);
  if (!body) co_return token_failure(body.error().message);
  const int status = (*response)->status();
  if (status != 200) co_return token_failure(oauth_error_text(status, *body));
  auto j = json::parse(*body, nullptr, false);
  FetchedToken fetched;
  if (j.is_object())
    if (auto t = j.find("access_token"); t != j.end() && t->is_string()) fetched.token = t->get<std::string>();
  if (fetched.token.empty()) co_return token_failure("the token endpoint's answer has no access_token");
  fetched.lifetime = std::chrono::seconds(3600);  // Google's documented lifetime when none is given
  if (auto e = j.find("expires_in"); e != j.end() && e->is_number())
    fetched.lifetime = std::chrono::seconds(e->get<int64_t>());
  co_return fetched;
}

}  // namespace

bool needs_access_token(const AdaptorContext& ctx) {
  const ChannelTypeInfo* type = find_channel_type(ctx.channel->type);
  return type && type->adaptor == "vertexai";
}

boost::asio::awaitable<Result<void>> obtain_access_token(AdaptorContext& ctx, net::HttpClient& client) {
  ctx.access_token.clear();
  if (!needs_access_token(ctx)) co_return Result<void>{};
  auto account = vertex::channel_service_account(*ctx.channel);
  if (!account) co_return account.error();
  // The key identifies the account; the cache never holds it, only its fingerprint.
  const uint64_t key = key_fingerprint(account->client_email + "\n" + account->private_key_id + "\n" +
                                       account->token_uri + "\n" + account->private_key);
  ctx.access_token = cached(key);
  if (!ctx.access_token.empty()) co_return Result<void>{};
  auto fetched = co_await fetch_token(*account, client);
  if (!fetched) {
    spdlog::warn("channel #{}: access token request failed: {}", ctx.channel->id, fetched.error().message);
    co_return fetched.error();
  }
  ctx.access_token = fetched->token;
  remember(key, std::move(fetched->token), fetched->lifetime);
  co_return Result<void>{};
}

void clear_access_token_cache() {
  auto& c = cache();
  std::lock_guard lock(c.mutex);
  c.by_key.clear();
}

}  // namespace oneapi::relay
