#pragma once
// The one small interface every provider implements. Adaptors are stateless and const, do no
// I/O, and know nothing of sockets: they convert the request, build the upstream URL and
// headers, parse the response or stream, and report usage.
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "net/http_types.hpp"
#include "relay/client_format.hpp"
#include "store/models.hpp"

namespace oneapi::relay {

enum class RelayMode { chat_completions, completions, embeddings };

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // part of prompt_tokens served from the provider's prompt cache
};

// Whether an upstream's usage counts: otherwise the relay counts the answer's text itself.
inline bool usage_counts(const std::optional<Usage>& u) {
  return u && (u->prompt_tokens > 0 || u->completion_tokens > 0);
}

struct UpstreamRequest {
  std::string method = "POST";
  std::string url;
  net::Headers headers;
  std::string body;
};

struct AdaptorContext {
  RelayMode mode = RelayMode::chat_completions;
  const store::Channel* channel = nullptr;
  std::string request_path;    // the client's path, e.g. "/v1/chat/completions"
  std::string upstream_model;  // after the channel's model mapping
  bool model_mapped = false;
  bool stream = false;
  bool client_wants_usage = false;    // stream_options.include_usage from the client
  bool enforce_include_usage = true;  // ENFORCE_INCLUDE_USAGE: ask an OpenAI-format stream for usage
  int64_t local_prompt_tokens = 0;    // the gateway's own count, for upstreams that report no usage
  // Not openai: the body is the client's own Claude Messages or Responses request, passed through
  // (only to an adaptor that speaks() it), and answers go back in that format.
  ClientFormat format = ClientFormat::openai;
  // A short-lived OAuth token the relay obtained for this channel's key before building the
  // request (relay/access_tokens.hpp; Vertex AI); empty for other types.
  std::string access_token;
  // With such a body, the client's headers that go with it (anthropic-version, anthropic-beta).
  net::Headers client_headers;
  // The caller shows the answer's text (a channel test): read it even when usage counts.
  bool want_text = false;
};

struct ParsedResponse {
  std::string body;  // what the client receives
  std::optional<Usage> usage;
  // For a local count when usage is missing. Adaptors may leave it empty when usage_counts(usage)
  // and the context does not want_text.
  std::string completion_text;
};

struct StreamSummary {
  std::optional<Usage> usage;
  std::string completion_text;
  bool done_seen = false;  // the upstream sent its terminal marker
  // The upstream reported a failure inside the stream (e.g. Anthropic's `event: error`): the
  // relay ends the client's stream with an error event and no [DONE], as for a cut stream.
  std::optional<Error> error;
};

class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Decodes upstream bytes (split anywhere) and appends client-bound SSE bytes to `out`.
  // Never emits the terminal "data: [DONE]": the relay sends it after the bill is settled.
  virtual void feed(std::string_view bytes, std::string& out) = 0;
  // End of the upstream body: flushes what is left into `out`.
  virtual StreamSummary finish(std::string& out) = 0;
  // What was seen so far (used when the client or the upstream goes away mid-stream).
  virtual StreamSummary snapshot() const = 0;
};

class Adaptor {
 public:
  virtual ~Adaptor() = default;
  virtual std::string_view name() const = 0;
  // `body` is the client's parsed JSON, `raw_body` its bytes (pass them through when nothing
  // needs converting).
  virtual Result<UpstreamRequest> build_request(const AdaptorContext& ctx, const nlohmann::json& body,
                                                std::string_view raw_body) const = 0;
  virtual Result<ParsedResponse> parse_response(const AdaptorContext& ctx, std::string body) const = 0;
  virtual std::unique_ptr<StreamDecoder> new_stream_decoder(const AdaptorContext& ctx) const = 0;
  // An upstream error answer as OpenAI error JSON fields, marked retryable or not.
  virtual Error parse_error(int status, std::string_view body) const = 0;
  // Does this adaptor take requests in `format` as they are, for a channel of `channel_type`?
  virtual bool speaks(ClientFormat format, int /*channel_type*/) const { return format == ClientFormat::openai; }
};

// The adaptor serving a channel type, or nullptr.
const Adaptor* adaptor_for(int channel_type);
// The adaptor of a name in core/channel_types.cpp's adaptor column, or nullptr.
const Adaptor* adaptor_named(std::string_view name);
// Default base URL of a channel type ("" when the user must give one).
std::string_view default_base_url(int channel_type);

}  // namespace oneapi::relay
