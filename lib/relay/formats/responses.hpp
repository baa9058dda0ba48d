#pragma once
// OpenAI's Responses API (/v1/responses) over chat completions: the request converted to a chat
// request, the chat answer (whole or streamed) back into a Response object or Responses stream
// events. Channels whose API has /v1/responses get the client's body as is; the pieces here that
// read a Response (usage, the stream's end) serve that pass-through too.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "relay/adaptor.hpp"
#include "relay/client_format.hpp"

namespace oneapi::relay::formats::responses {

const FormatBridge& bridge();

// Usage of a Response object ({input_tokens, output_tokens, input_tokens_details.cached_tokens}),
// or nullopt when it has none.
std::optional<Usage> usage_of_response(const nlohmann::json& response);
// The text a Response generated (output text, refusals, function call names and arguments).
std::string text_of_response(const nlohmann::json& response);

// Reads a Responses API stream passed through byte for byte: usage from response.completed (or
// response.incomplete), the end at either, a failure at response.failed or `error`.
std::unique_ptr<StreamDecoder> new_pass_through_decoder();

}  // namespace oneapi::relay::formats::responses
