#pragma once
// Small helpers more than one adaptor needs.
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "store/models.hpp"

namespace oneapi::relay::adaptors {

// The API version a channel is configured with: its config JSON's "api_version", else the legacy
// `other` column (where One API kept it for Azure and Gemini); empty when neither is set.
std::string configured_api_version(const store::Channel& channel);

// The channel's base URL (or its type's default) without trailing slashes; empty when neither.
std::string channel_base_url(const store::Channel& channel);

// An environment variable read once per process (function-local statics call this), or `fallback`
// when unset or empty.
std::string env_or(const char* name, std::string_view fallback);

// A token count as an upstream reported it: 0 when not positive, and at most 10^12, since no answer
// reports that many. A count beyond it (a broken or hostile upstream) is held there instead of
// overflowing into a negative or wrapped bill.
int64_t token_count(double reported);

// A token count in a usage object: token_count(obj[key]) when it is a number, else 0.
int64_t count_of(const nlohmann::json& obj, const char* key);

}  // namespace oneapi::relay::adaptors
