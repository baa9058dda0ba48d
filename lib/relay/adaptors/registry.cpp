// The one table from channel type to adaptor. Adding a provider: one folder, one line here.
#include <array>

#include "relay/adaptor.hpp"
#include "relay/adaptors/anthropic/adaptor.hpp"
#include "relay/adaptors/azure/adaptor.hpp"
#include "relay/adaptors/bedrock/adaptor.hpp"
#include "relay/adaptors/gemini/adaptor.hpp"
#include "relay/adaptors/openai/adaptor.hpp"

namespace oneapi::relay {

namespace {
struct Entry {
  int type;
  const char* default_base_url;
  const Adaptor& (*adaptor)();
};

// One API's channel type numbers; all but Azure (3), Anthropic (14), Gemini (24) and AWS Bedrock
// (33) speak the OpenAI wire format with Bearer keys.
const Entry kRegistry[] = {
    {1, "https://api.openai.com", adaptors::openai::instance},
    {2, "https://oa.api2d.net", adaptors::openai::instance},
    {3, "", adaptors::azure::instance},  // Azure OpenAI: the resource's endpoint
    {4, "https://api.closeai-proxy.xyz", adaptors::openai::instance},
    {5, "https://api.openai-sb.com", adaptors::openai::instance},
    {6, "https://api.openaimax.com", adaptors::openai::instance},
    {7, "https://api.ohmygpt.com", adaptors::openai::instance},
    {8, "", adaptors::openai::instance},  // Custom
    {9, "https://api.caipacity.com", adaptors::openai::instance},
    {10, "https://api.aiproxy.io", adaptors::openai::instance},
    {12, "https://api.api2gpt.com", adaptors::openai::instance},
    {13, "https://api.aigc2d.com", adaptors::openai::instance},
    {14, "https://api.anthropic.com", adaptors::anthropic::instance},
    {19, "https://ai.360.cn", adaptors::openai::instance},
    {20, "https://openrouter.ai/api", adaptors::openai::instance},
    {22, "https://fastgpt.run/api/openapi", adaptors::openai::instance},
    {24, "https://generativelanguage.googleapis.com", adaptors::gemini::instance},
    {25, "https://api.moonshot.cn", adaptors::openai::instance},
    {28, "https://api.mistral.ai", adaptors::openai::instance},
    {29, "https://api.groq.com/openai", adaptors::openai::instance},
    {31, "https://api.lingyiwanwu.com", adaptors::openai::instance},
    {32, "https://api.stepfun.com", adaptors::openai::instance},
    {33, "https://bedrock-runtime.{region}.amazonaws.com", adaptors::bedrock::instance},  // region from the key
    {36, "https://api.deepseek.com", adaptors::openai::instance},
    {39, "https://api.together.xyz", adaptors::openai::instance},
    {44, "https://api.siliconflow.cn", adaptors::openai::instance},
    {45, "https://api.x.ai", adaptors::openai::instance},
    {50, "", adaptors::openai::instance},  // OpenAICompatible: base URL + path without /v1
};

const Entry* find(int type) {
  for (const auto& e : kRegistry)
    if (e.type == type) return &e;
  return nullptr;
}
}  // namespace

const Adaptor* adaptor_for(int channel_type) {
  const Entry* e = find(channel_type);
  return e ? &e->adaptor() : nullptr;
}

std::string_view default_base_url(int channel_type) {
  const Entry* e = find(channel_type);
  return e ? e->default_base_url : "";
}

}  // namespace oneapi::relay
