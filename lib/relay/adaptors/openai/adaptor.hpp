#pragma once
#include "relay/adaptor.hpp"

namespace oneapi::relay::adaptors::openai {

// OpenAI and every OpenAI-compatible upstream (Bearer auth, OpenAI wire format).
const Adaptor& instance();

// The upstream URL for the channel's type: its base URL (or the type's default) and the client's
// path with "/v1" replaced by the type's path prefix; an error for modes the type does not serve.
Result<std::string> upstream_url(const AdaptorContext& ctx);

// One API's upstream error rules: the message from the upstream JSON, retry on 429, 5xx and
// anything but 400 and 2xx.
Error parse_upstream_error(int status, std::string_view body);

// The pieces other OpenAI-format adaptors (Azure) reuse.
// The body sent upstream: the client's bytes when nothing changes, else with the mapped model and,
// when `ask_for_usage`, stream_options.include_usage set.
std::string request_body(const AdaptorContext& ctx, const nlohmann::json& body, std::string_view raw_body,
                         bool ask_for_usage);
// A chat.completion / completion / embedding answer: passed through, usage read from it, and its
// text when the usage does not count or `want_text`.
Result<ParsedResponse> parse_openai_response(std::string body, bool want_text);
// Relays OpenAI SSE chunks; drops empty chunks and the usage chunk the client did not ask for.
std::unique_ptr<StreamDecoder> new_openai_stream_decoder(bool client_wants_usage);

}  // namespace oneapi::relay::adaptors::openai
