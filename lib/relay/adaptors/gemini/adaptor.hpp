#pragma once
// Google Gemini (One API channel type 24): the client speaks OpenAI chat completions and
// embeddings, the upstream generateContent, streamGenerateContent?alt=sse and batchEmbedContents.
#include <memory>
#include <string>

#include "relay/adaptor.hpp"

namespace oneapi::relay::adaptors::gemini {

const Adaptor& instance();

// One API's choice: the channel's configured version; else v1beta for gemini-1.5*, gemini-2*
// and gemma-3*; else GEMINI_VERSION (read once; default v1beta).
std::string api_version_for(const store::Channel& channel, std::string_view model);

// GEMINI_SAFETY_SETTING (read once; default BLOCK_NONE), for every safety category.
const std::string& safety_threshold();

// The stream decoder with a fixed completion id and `created` time, so tests can compare runs.
std::unique_ptr<StreamDecoder> new_stream_decoder(const AdaptorContext& ctx, std::string id, int64_t created);

}  // namespace oneapi::relay::adaptors::gemini
