#pragma once
// Small helpers more than one adaptor needs.
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

}  // namespace oneapi::relay::adaptors
