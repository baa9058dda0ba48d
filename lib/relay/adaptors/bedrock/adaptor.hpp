#pragma once
// Claude on AWS Bedrock (One API channel type 33, "AwsClaude"): the body is Anthropic's Messages
// body with anthropic_version in it (no model, no stream), sent to /model/{id}/invoke or
// /model/{id}/invoke-with-response-stream and signed with SigV4; answers are Anthropic's, streams
// are Anthropic's events inside AWS's binary event stream framing.
#include <chrono>
#include <memory>
#include <string>

#include "core/result.hpp"
#include "relay/adaptor.hpp"
#include "store/models.hpp"

namespace oneapi::relay::adaptors::bedrock {

inline constexpr const char* kAnthropicVersion = "bedrock-2023-05-31";
inline constexpr const char* kService = "bedrock";

const Adaptor& instance();

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region;
};

// One API keeps AK, SK and region in the channel config ({"ak","sk","region"}); older versions
// and most users put "AK|SK|REGION" in the key. The key wins; config fills what it lacks.
Result<Credentials> channel_credentials(const store::Channel& channel);

// Bedrock's model id for a model name (One API's built-in Claude map), else the name itself.
std::string bedrock_model_id(const std::string& model);

// The request signed at `now` (tests pin it).
Result<UpstreamRequest> build_request_at(const AdaptorContext& ctx, const nlohmann::json& body,
                                         std::chrono::system_clock::time_point now);

// The stream decoder with a fixed `created` timestamp (tests compare outputs byte for byte).
std::unique_ptr<StreamDecoder> make_stream_decoder(bool client_wants_usage, int64_t created);

}  // namespace oneapi::relay::adaptors::bedrock
