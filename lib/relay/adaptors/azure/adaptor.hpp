#pragma once
// Azure OpenAI (One API channel type 3): OpenAI's wire format at
// {base}/openai/deployments/{deployment}/{task}?api-version={v}, authenticated with `api-key`.
#include <string>

#include "relay/adaptor.hpp"

namespace oneapi::relay::adaptors::azure {

const Adaptor& instance();

// Used when the channel sets no api_version (config JSON) and no `other` (One API's old column).
inline constexpr const char* kDefaultApiVersion = "2024-12-01-preview";

// The deployment a request goes to: the mapped model as given, else the model without dots (One
// API's rule, so gpt-3.5-turbo reaches a deployment named gpt-35-turbo).
std::string deployment_for(const AdaptorContext& ctx);

}  // namespace oneapi::relay::adaptors::azure
