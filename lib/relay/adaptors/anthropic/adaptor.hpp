#pragma once
// Anthropic's Messages API (One API channel type 14): clients speak OpenAI chat completions, the
// upstream speaks POST /v1/messages; requests, answers, streams and errors are converted both ways.
// Claude Messages clients (/v1/messages) are passed through: their body with the channel's model,
// their anthropic-version/-beta headers, Anthropic's answers and streams byte for byte.
#include <nlohmann/json_fwd.hpp>

#include "relay/adaptor.hpp"

namespace oneapi::relay::adaptors::anthropic {

inline constexpr const char* kApiVersion = "2023-06-01";
inline constexpr int64_t kDefaultMaxTokens = 4096;  // One API's default: Anthropic requires max_tokens

const Adaptor& instance();

// An OpenAI chat request as an Anthropic Messages request body for `model`.
Result<nlohmann::json> convert_request(const nlohmann::json& openai, const std::string& model, bool stream);

// The stream decoder with a fixed `created` timestamp (tests compare outputs byte for byte).
std::unique_ptr<StreamDecoder> make_stream_decoder(bool client_wants_usage, int64_t created);

}  // namespace oneapi::relay::adaptors::anthropic
