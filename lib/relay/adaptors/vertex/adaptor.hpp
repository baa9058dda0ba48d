#pragma once
// Google Vertex AI (One API channel type 42): Gemini models through generateContent and
// streamGenerateContent?alt=sse, Claude models through Anthropic's rawPredict and streamRawPredict,
// all under /v1/projects/{project}/locations/{region}/publishers/{google|anthropic}/models/{model}.
// The channel key is a service-account JSON key; the relay turns it into an OAuth access token
// (relay/access_tokens.hpp) before the adaptor builds the request with it.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "relay/adaptor.hpp"
#include "store/models.hpp"

namespace oneapi::relay::adaptors::vertex {

inline constexpr const char* kAnthropicVersion = "vertex-2023-10-16";
inline constexpr const char* kDefaultRegion = "us-central1";
inline constexpr const char* kScope = "https://www.googleapis.com/auth/cloud-platform";
inline constexpr const char* kDefaultTokenUri = "https://oauth2.googleapis.com/token";

const Adaptor& instance();

// The fields of a service-account key file this gateway uses.
struct ServiceAccount {
  std::string client_email;
  std::string private_key;  // PEM
  std::string private_key_id;
  std::string token_uri;
  std::string project_id;
};

// The key JSON; the error names what is wrong (never echoing the key).
Result<ServiceAccount> parse_service_account(std::string_view key_json);
// The channel's service account: its key when that is JSON, else One API's config "vertex_ai_adc".
Result<ServiceAccount> channel_service_account(const store::Channel& channel);

// The OAuth JWT-bearer assertion (RFC 7523) for `account`, issued at `now` (unix seconds), valid
// one hour, RS256-signed with the account's private key.
Result<std::string> signed_assertion(const ServiceAccount& account, int64_t now);

struct Location {
  std::string project;
  std::string region;
};
// Config "vertex_ai_project_id", else the key's project_id; config "region", else us-central1.
Result<Location> channel_location(const store::Channel& channel);

// Claude models live under the anthropic publisher; everything else under google.
bool is_claude(std::string_view model);

// The model's endpoint: {base}/v1/projects/…:{action}, where base is the channel's base URL when
// set (and not the type's "{region}" pattern), else https://aiplatform.googleapis.com for region "global", else
// https://{region}-aiplatform…
std::string endpoint_url(const store::Channel& channel, const Location& where, std::string_view model, bool stream);

}  // namespace oneapi::relay::adaptors::vertex
