// The channel type table: One API's numbers, names, default base URLs and path rules.
#include "core/channel_types.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "core/util.hpp"
#include "relay/adaptor.hpp"
#include "relay/adaptors/openai/adaptor.hpp"

using namespace oneapi;
using namespace oneapi::relay;

namespace {

store::Channel channel_of(int type, std::string base_url = "", std::string config = "") {
  store::Channel c;
  c.type = type;
  c.key = "sk-provider";
  c.base_url = std::move(base_url);
  c.config = std::move(config);
  return c;
}

Result<std::string> url_for(const store::Channel& c, RelayMode mode, std::string path) {
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.mode = mode;
  ctx.request_path = std::move(path);
  return adaptors::openai::upstream_url(ctx);
}

std::string chat_url(int type, std::string base_url = "", std::string config = "") {
  auto c = channel_of(type, std::move(base_url), std::move(config));
  auto url = url_for(c, RelayMode::chat_completions, "/v1/chat/completions");
  return url ? *url : "error: " + url.error().message;
}

}  // namespace

TEST_CASE("every channel type has a unique number and names, and a known adaptor", "[compat]") {
  std::set<int> numbers;
  std::set<std::string> names;
  for (const auto& t : channel_types()) {
    INFO("type " << t.type << " " << t.name);
    CHECK(numbers.insert(t.type).second);
    CHECK(t.type > 0);
    CHECK(to_lower_ascii(t.name) == t.name);
    CHECK(names.insert(std::string(t.name)).second);
    for (auto alias : t.aliases)
      if (!alias.empty()) CHECK(names.insert(to_lower_ascii(alias)).second);
    CHECK_FALSE(t.display_name.empty());
    REQUIRE(adaptor_named(t.adaptor) != nullptr);
    CHECK(adaptor_for(t.type) == adaptor_named(t.adaptor));
    CHECK(default_base_url(t.type) == t.default_base_url);
    if (!t.default_base_url.empty()) {
      CHECK((t.default_base_url.starts_with("https://") || t.default_base_url.starts_with("http://")));
      CHECK_FALSE(t.default_base_url.ends_with("/"));
    }
    if (t.adaptor == "openai") CHECK(t.auth_header == "Authorization: Bearer");
    CHECK(t.modes != 0);
    // Names and numbers round-trip through the parser oneapictl and the admin API use.
    CHECK(parse_channel_type(t.name) == &t);
    CHECK(parse_channel_type(std::to_string(t.type)) == &t);
    CHECK(channel_type_name(t.type) == t.name);
  }
}

TEST_CASE("the providers of issue 5 carry One API's numbers", "[compat]") {
  const std::pair<const char*, int> expected[] = {
      {"deepseek", 36},   {"mistral", 28},    {"groq", 29},        {"moonshot", 25},
      {"openrouter", 20}, {"xai", 45},        {"siliconflow", 44}, {"together", 39},
      {"ollama", 30},     {"doubao", 40},     {"volcengine", 40},  {"dashscope", 49},
      {"zhipu", 16},      {"01ai", 31},       {"stepfun", 32},     {"baichuan", 26},
      {"minimax", 27},    {"cloudflare", 37}, {"novita", 41},      {"azure", 3},
      {"anthropic", 14},  {"gemini", 24},     {"openai", 1},       {"openai-compatible", 50},
      {"vertexai", 42},   {"vertex", 42},     {"bedrock", 33}};
  for (auto [name, number] : expected) {
    INFO(name);
    const ChannelTypeInfo* t = parse_channel_type(name);
    REQUIRE(t != nullptr);
    CHECK(t->type == number);
  }
  CHECK(parse_channel_type("DouBao")->type == 40);  // names are case-insensitive
  CHECK(parse_channel_type(" 40 ")->type == 40);
  CHECK(parse_channel_type("nonsense") == nullptr);
  CHECK(parse_channel_type("9999") == nullptr);
  CHECK(parse_channel_type("40x") == nullptr);
  CHECK(parse_channel_type("") == nullptr);
  CHECK(channel_type_name(9999) == "9999");
}

TEST_CASE("upstream URLs follow One API's per-provider path rules", "[compat]") {
  CHECK(chat_url(36) == "https://api.deepseek.com/v1/chat/completions");
  CHECK(chat_url(29) == "https://api.groq.com/openai/v1/chat/completions");
  CHECK(chat_url(20) == "https://openrouter.ai/api/v1/chat/completions");
  CHECK(chat_url(30) == "http://localhost:11434/v1/chat/completions");
  CHECK(chat_url(16) == "https://open.bigmodel.cn/api/paas/v4/chat/completions");
  CHECK(chat_url(40) == "https://ark.cn-beijing.volces.com/api/v3/chat/completions");
  CHECK(chat_url(49) == "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions");
  CHECK(chat_url(27) == "https://api.minimax.chat/v1/text/chatcompletion_v2");
  CHECK(chat_url(41) == "https://api.novita.ai/v3/openai/chat/completions");
  CHECK(chat_url(37, "", R"({"user_id":"acc123"})") ==
        "https://api.cloudflare.com/client/v4/accounts/acc123/ai/v1/chat/completions");
  CHECK(chat_url(50, "https://example.test/api/paas/v4/") == "https://example.test/api/paas/v4/chat/completions");

  // A base URL pasted with the type's prefix is not doubled.
  CHECK(chat_url(40, "https://ark.ap-southeast.bytepluses.com/api/v3/") ==
        "https://ark.ap-southeast.bytepluses.com/api/v3/chat/completions");
  CHECK(chat_url(1, "https://proxy.test/v1") == "https://proxy.test/v1/chat/completions");

  auto doubao = channel_of(40);
  CHECK(*url_for(doubao, RelayMode::embeddings, "/v1/embeddings") ==
        "https://ark.cn-beijing.volces.com/api/v3/embeddings");
  auto zhipu = channel_of(16, "http://127.0.0.1:9");
  CHECK(*url_for(zhipu, RelayMode::embeddings, "/v1/embeddings") == "http://127.0.0.1:9/api/paas/v4/embeddings");
}

TEST_CASE("path rules refuse what the provider does not serve", "[compat]") {
  auto cloudflare = channel_of(37);  // no account id in the config
  auto url = url_for(cloudflare, RelayMode::chat_completions, "/v1/chat/completions");
  REQUIRE_FALSE(url);
  CHECK(url.error().code == "invalid_channel");
  CHECK(url.error().message.find("user_id") != std::string::npos);

  auto minimax = channel_of(27);
  url = url_for(minimax, RelayMode::embeddings, "/v1/embeddings");
  REQUIRE_FALSE(url);
  CHECK(url.error().code == "unsupported_relay_mode");
  auto novita = channel_of(41);
  CHECK_FALSE(url_for(novita, RelayMode::completions, "/v1/completions"));
  auto custom = channel_of(8);  // no default base URL
  CHECK(url_for(custom, RelayMode::chat_completions, "/v1/chat/completions").error().code == "invalid_channel");
}

TEST_CASE("the OpenAI adaptor sends the channel key as a Bearer token to the type's URL", "[compat]") {
  auto c = channel_of(40, "http://127.0.0.1:9");
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.request_path = "/v1/chat/completions";
  const std::string raw = R"({"model":"doubao-pro-32k","messages":[]})";
  auto r = adaptor_for(40)->build_request(ctx, nlohmann::json::parse(raw), raw);
  REQUIRE(r);
  CHECK(r->url == "http://127.0.0.1:9/api/v3/chat/completions");
  CHECK(net::find_header(r->headers, "authorization") == "Bearer sk-provider");
}
