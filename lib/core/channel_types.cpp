#include "core/channel_types.hpp"

#include <charconv>

#include "core/util.hpp"

namespace oneapi {

namespace {

constexpr unsigned kChatAndEmbeddings = kModeChat | kModeEmbeddings;

// Sorted by number. Rows without an adaptor field speak the OpenAI wire format with Bearer keys;
// path rules and mode limits are One API's (relay/adaptor/{doubao,minimax,novita,cloudflare,...}).
constexpr ChannelTypeInfo kChannelTypes[] = {
    {.type = 1, .name = "openai", .display_name = "OpenAI", .default_base_url = "https://api.openai.com"},
    {.type = 2, .name = "api2d", .display_name = "API2D", .default_base_url = "https://oa.api2d.net"},
    {.type = 3,
     .name = "azure",
     .display_name = "Azure OpenAI",
     .default_base_url = "",  // each resource has its own endpoint
     .adaptor = "azure",
     .auth_header = "api-key"},
    {.type = 4, .name = "closeai", .display_name = "CloseAI", .default_base_url = "https://api.closeai-proxy.xyz"},
    {.type = 5, .name = "openai-sb", .display_name = "OpenAI-SB", .default_base_url = "https://api.openai-sb.com"},
    {.type = 6, .name = "openaimax", .display_name = "OpenAIMax", .default_base_url = "https://api.openaimax.com"},
    {.type = 7, .name = "ohmygpt", .display_name = "OhMyGPT", .default_base_url = "https://api.ohmygpt.com"},
    {.type = 8, .name = "custom", .display_name = "Custom", .default_base_url = ""},
    {.type = 9, .name = "ails", .display_name = "Ails", .default_base_url = "https://api.caipacity.com"},
    {.type = 10, .name = "aiproxy", .display_name = "AIProxy", .default_base_url = "https://api.aiproxy.io"},
    {.type = 12, .name = "api2gpt", .display_name = "API2GPT", .default_base_url = "https://api.api2gpt.com"},
    {.type = 13, .name = "aigc2d", .display_name = "AIGC2D", .default_base_url = "https://api.aigc2d.com"},
    {.type = 14,
     .name = "anthropic",
     .display_name = "Anthropic",
     .default_base_url = "https://api.anthropic.com",
     .adaptor = "anthropic",
     .auth_header = "x-api-key",
     .aliases = {"claude"}},
    // One API signs a JWT from the key; the v4 API also takes the key itself as a Bearer token.
    {.type = 16,
     .name = "zhipu",
     .display_name = "Zhipu (GLM, API v4)",
     .default_base_url = "https://open.bigmodel.cn",
     .path_prefix = "/api/paas/v4",
     .modes = kChatAndEmbeddings,
     .aliases = {"zhipu-v4", "glm", "bigmodel"}},
    {.type = 19, .name = "ai360", .display_name = "360 AI", .default_base_url = "https://ai.360.cn"},
    {.type = 20, .name = "openrouter", .display_name = "OpenRouter", .default_base_url = "https://openrouter.ai/api"},
    {.type = 22, .name = "fastgpt", .display_name = "FastGPT", .default_base_url = "https://fastgpt.run/api/openapi"},
    {.type = 24,
     .name = "gemini",
     .display_name = "Google Gemini",
     .default_base_url = "https://generativelanguage.googleapis.com",
     .adaptor = "gemini",
     .auth_header = "x-goog-api-key",
     .aliases = {"google"}},
    {.type = 25,
     .name = "moonshot",
     .display_name = "Moonshot (Kimi)",
     .default_base_url = "https://api.moonshot.cn",
     .aliases = {"kimi"}},
    {.type = 26, .name = "baichuan", .display_name = "Baichuan", .default_base_url = "https://api.baichuan-ai.com"},
    {.type = 27,
     .name = "minimax",
     .display_name = "MiniMax",
     .default_base_url = "https://api.minimax.chat",
     .modes = kModeChat,
     .chat_path = "/v1/text/chatcompletion_v2"},
    {.type = 28, .name = "mistral", .display_name = "Mistral", .default_base_url = "https://api.mistral.ai"},
    {.type = 29, .name = "groq", .display_name = "Groq", .default_base_url = "https://api.groq.com/openai"},
    // One API speaks Ollama's native /api/chat; this uses Ollama's OpenAI-compatible /v1 endpoint.
    {.type = 30, .name = "ollama", .display_name = "Ollama", .default_base_url = "http://localhost:11434"},
    {.type = 31,
     .name = "lingyiwanwu",
     .display_name = "01.AI (Yi)",
     .default_base_url = "https://api.lingyiwanwu.com",
     .aliases = {"01ai", "01.ai", "yi"}},
    {.type = 32, .name = "stepfun", .display_name = "StepFun", .default_base_url = "https://api.stepfun.com"},
    {.type = 33,
     .name = "bedrock",
     .display_name = "AWS Bedrock (Claude)",
     .default_base_url = "https://bedrock-runtime.{region}.amazonaws.com",  // region from the key
     .adaptor = "bedrock",
     .auth_header = "Authorization: AWS4-HMAC-SHA256 (SigV4; key AK|SK|REGION)",
     .modes = kModeChat,
     .aliases = {"aws"}},
    {.type = 36, .name = "deepseek", .display_name = "DeepSeek", .default_base_url = "https://api.deepseek.com"},
    {.type = 37,
     .name = "cloudflare",
     .display_name = "Cloudflare Workers AI",
     .default_base_url = "https://api.cloudflare.com",
     .path_prefix = "/client/v4/accounts/{user_id}/ai/v1",
     .modes = kChatAndEmbeddings,
     .aliases = {"workers-ai"}},
    {.type = 39,
     .name = "together",
     .display_name = "Together AI",
     .default_base_url = "https://api.together.xyz",
     .aliases = {"togetherai"}},
    {.type = 40,
     .name = "doubao",
     .display_name = "Doubao (VolcEngine Ark)",
     .default_base_url = "https://ark.cn-beijing.volces.com",
     .path_prefix = "/api/v3",
     .modes = kChatAndEmbeddings,
     .aliases = {"volcengine", "ark"}},
    {.type = 41,
     .name = "novita",
     .display_name = "Novita AI",
     .default_base_url = "https://api.novita.ai/v3/openai",
     .path_prefix = "",
     .modes = kModeChat},
    {.type = 42,
     .name = "vertexai",
     .display_name = "Google Vertex AI (Gemini, Claude)",
     .default_base_url = "https://{region}-aiplatform.googleapis.com",  // aiplatform.googleapis.com for "global"
     .adaptor = "vertexai",
     .auth_header = "Authorization: Bearer (OAuth token from the service-account JSON key)",
     .modes = kModeChat,
     .aliases = {"vertex", "vertex-ai"}},
    {.type = 44,
     .name = "siliconflow",
     .display_name = "SiliconFlow",
     .default_base_url = "https://api.siliconflow.cn"},
    {.type = 45,
     .name = "xai",
     .display_name = "xAI (Grok)",
     .default_base_url = "https://api.x.ai",
     .aliases = {"grok"}},
    {.type = 49,
     .name = "ali-bailian",
     .display_name = "Alibaba DashScope (compatible mode)",
     .default_base_url = "https://dashscope.aliyuncs.com",
     .path_prefix = "/compatible-mode/v1",
     .modes = kChatAndEmbeddings,
     .aliases = {"dashscope", "bailian", "qwen"}},
    {.type = 50,
     .name = "openai-compatible",
     .display_name = "OpenAI-compatible",
     .default_base_url = "",
     .path_prefix = ""},
    {.type = 51,
     .name = "gemini-openai-compatible",
     .display_name = "Gemini (OpenAI-compatible API)",
     .default_base_url = "https://generativelanguage.googleapis.com/v1beta/openai",
     .path_prefix = ""},
};

}  // namespace

std::span<const ChannelTypeInfo> channel_types() { return kChannelTypes; }

const ChannelTypeInfo* find_channel_type(int type) {
  for (const auto& t : kChannelTypes)
    if (t.type == type) return &t;
  return nullptr;
}

const ChannelTypeInfo* parse_channel_type(std::string_view s) {
  s = trim(s);
  for (const auto& t : kChannelTypes) {
    if (iequals(t.name, s)) return &t;
    for (auto alias : t.aliases)
      if (!alias.empty() && iequals(alias, s)) return &t;
  }
  int number = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
  if (ec != std::errc() || end != s.data() + s.size()) return nullptr;
  return find_channel_type(number);
}

std::string channel_type_name(int type) {
  const ChannelTypeInfo* t = find_channel_type(type);
  return t ? std::string(t->name) : std::to_string(type);
}

}  // namespace oneapi
