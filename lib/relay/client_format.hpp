#pragma once
// The API formats a client may speak besides OpenAI chat completions: Claude Messages
// (/v1/messages) and OpenAI Responses (/v1/responses). Every adaptor takes and produces OpenAI
// chat completions, so a format bridge converts the client's request into a chat request and the
// chat answer (whole or streamed) back. A channel whose adaptor speaks the client's format itself
// (Adaptor::speaks) gets the client's body as is: pass-through, with the adaptor reporting usage.
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/result.hpp"

namespace oneapi::relay {

enum class ClientFormat { openai, claude_messages, responses };

struct Usage;

// Re-encodes the OpenAI chat SSE that stream decoders emit into the client's stream events.
class ClientStreamEncoder {
 public:
  virtual ~ClientStreamEncoder() = default;
  // `chat_sse` is whole "data: {chunk}\n\n" events (never "[DONE]"); appends the client's events.
  virtual void feed(std::string_view chat_sse, std::string& out) = 0;
  // The stream ended well and `usage` is what was billed: the closing events.
  virtual void finish(const Usage& usage, std::string& out) = 0;
};

class FormatBridge {
 public:
  virtual ~FormatBridge() = default;
  // The client's body as an OpenAI chat completions body (model, messages, stream, max_tokens,
  // tools …). Errors are the client's (400).
  virtual Result<nlohmann::json> to_chat_request(const nlohmann::json& client_body) const = 0;
  // A whole chat completion (what an adaptor's parse_response produced) as the client's answer;
  // `usage` is what was billed, `client_body` the client's request (Responses echoes its fields).
  virtual Result<std::string> from_chat_response(const nlohmann::json& client_body, const nlohmann::json& chat_response,
                                                 const Usage& usage) const = 0;
  // `model` is the client's model name, for the events that carry it.
  virtual std::unique_ptr<ClientStreamEncoder> new_stream_encoder(const nlohmann::json& client_body,
                                                                  const std::string& model) const = 0;
  // An error answer's body and a stream's error event, in the client's format.
  virtual std::string error_body(const Error& e, std::string_view request_id) const = 0;
  virtual std::string stream_error_event(const Error& e, std::string_view request_id) const = 0;

  // What only a channel speaking the format itself can serve (e.g. Responses' built-in tools or
  // previous_response_id): to_chat_request leaves it out, and a converted send fails with this.
  virtual std::optional<Error> needs_native(const nlohmann::json& /*client_body*/) const { return std::nullopt; }
};

// The bridge of a format, or nullptr for openai.
const FormatBridge* bridge_for(ClientFormat format);

}  // namespace oneapi::relay
