#pragma once
// Anthropic's Claude Messages API (POST /v1/messages) as a client format: requests become OpenAI
// chat completions, chat answers (whole or streamed) and errors go back in Claude's shapes, in the
// event order the Anthropic SDKs expect.
#include <nlohmann/json_fwd.hpp>

#include "relay/client_format.hpp"

namespace oneapi::relay::formats::claude {

const FormatBridge& bridge();

// A Claude Messages request as a chat completions body. max_tokens is required, as Anthropic
// requires it, except for count_tokens (`require_max_tokens` false).
Result<nlohmann::json> to_chat_request(const nlohmann::json& claude, bool require_max_tokens);

// Anthropic's error type for an HTTP status (400 invalid_request_error … 529 overloaded_error).
std::string_view error_type_for_status(int status);

}  // namespace oneapi::relay::formats::claude
