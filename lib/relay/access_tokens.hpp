#pragma once
// Short-lived OAuth access tokens for channel types whose key is a credential rather than an API
// key (Vertex AI's service-account JSON key). Adaptors do no I/O, so the relay fetches the token
// here, before building the request, and hands it over in AdaptorContext::access_token.
#include <boost/asio/awaitable.hpp>

#include "core/result.hpp"
#include "net/http_client.hpp"
#include "relay/adaptor.hpp"

namespace oneapi::relay {

// Sets ctx.access_token for the channel in ctx (clears it for types that need none). Tokens are
// cached per key (by a hash of it) until a minute before they expire. Two requests that miss the
// cache at the same moment both fetch one (the later answer replaces the earlier in the cache);
// that costs a token request, never a wrong token.
// Errors: an unusable key (internal, names the problem), a token endpoint that fails or refuses
// (upstream_error 502, retryable on another channel).
boost::asio::awaitable<Result<void>> obtain_access_token(AdaptorContext& ctx, net::HttpClient& client);
// Whether the channel in ctx needs one (a plain check, before a coroutine that would do nothing).
bool needs_access_token(const AdaptorContext& ctx);

// Forgets every cached token (tests).
void clear_access_token_cache();

}  // namespace oneapi::relay
