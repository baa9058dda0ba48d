#pragma once
// Conversions between OpenAI's wire format and Gemini's (the Gemini and Vertex AI adaptors).
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "relay/adaptor.hpp"

namespace oneapi::relay::adaptors::gemini {

// OpenAI chat request -> GenerateContentRequest; an invalid_request Error for what Gemini cannot take.
Result<nlohmann::json> chat_request(const nlohmann::json& openai, std::string_view safety_threshold);
// OpenAI embeddings request -> BatchEmbedContentsRequest for `model`.
Result<nlohmann::json> embedding_request(const nlohmann::json& openai, std::string_view model);

// Names a completion and its tool calls ("chatcmpl-<id>", "call_<id>_<n>").
struct Identity {
  std::string id;
  int64_t created = 0;
  std::string model;
};

// A fresh completion id, now, and the context's upstream model.
Identity new_identity(const AdaptorContext& ctx);

// GenerateContentResponse -> chat.completion.
Result<ParsedResponse> chat_response(std::string_view body, const Identity& who);
// BatchEmbedContentsResponse -> OpenAI's embedding list; Gemini reports no usage, so the
// gateway's own prompt count is the usage.
Result<ParsedResponse> embedding_response(std::string_view body, const std::string& model, int64_t prompt_tokens);

// usageMetadata -> Usage (thinking tokens count as completion, as Google bills them).
std::optional<Usage> usage_of(const nlohmann::json& response);
// usageMetadata -> OpenAI's usage object (with cached and reasoning token details).
nlohmann::json openai_usage(const nlohmann::json& usage_metadata);
// finishReason -> OpenAI finish_reason; null for none.
nlohmann::json finish_reason(const nlohmann::json& gemini_reason, bool called_tools);

std::unique_ptr<StreamDecoder> make_stream_decoder(Identity who, bool client_wants_usage);

}  // namespace oneapi::relay::adaptors::gemini
