// End to end: OpenAI-compatible providers with their own path rules (Doubao, Cloudflare Workers AI,
// MiniMax) through the real oneapid; the mock answers only on the exact path with the exact key.
#include <catch2/catch.hpp>
#include <map>

#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

struct ProviderRoute {
  std::string path;
  std::string key;
  std::string reply;  // the provider's answer (OpenAI chat.completion shape)
};

// Answers like the provider when path and Authorization match one route, else 404 like an
// upstream that does not know the path.
MockUpstream::Script provider_script(std::map<std::string, ProviderRoute> by_model) {
  return [by_model](const net::ServerRequest& req, MockReply& r) {
    auto body = json::parse(req.body, nullptr, false);
    const std::string model = body.is_object() ? body.value("model", "") : "";
    auto it = by_model.find(model);
    if (it == by_model.end() || req.path != it->second.path ||
        req.header("Authorization") != "Bearer " + it->second.key) {
      r.status = 404;
      r.headers = {{"Content-Type", "application/json"}};
      r.body = R"({"error":{"message":"unexpected path or key","type":"invalid_request_error"}})";
      return;
    }
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = it->second.reply;
  };
}

int64_t add_typed_channel(Gateway& g, const std::string& type, const std::string& base_url, const std::string& key,
                          const std::string& model, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"--json",     "channel", "add",   "--type", type,       "--name", "compat-" + type,
                                   "--base-url", base_url,  "--key", key,      "--models", model};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = g.daemon.ctl(args);
  INFO(r.err << r.out);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out).at("id").get<int64_t>();
}

}  // namespace

TEST_CASE("Doubao, Cloudflare and MiniMax channels reach their providers' paths with Bearer keys", "[compat][e2e]") {
  // Doubao (Volcengine Ark) answers chat at /api/v3/chat/completions.
  const std::string doubao_reply =
      R"({"id":"021718","object":"chat.completion","created":1718000000,"model":"doubao-pro-32k-240615",)"
      R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello from Ark"},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":11,"completion_tokens":4,"total_tokens":15}})";
  // Workers AI's OpenAI-compatible endpoint, per account.
  const std::string cloudflare_reply =
      R"({"id":"id-1718000000","object":"chat.completion","created":1718000000,)"
      R"("model":"@cf/meta/llama-3.1-8b-instruct","choices":[{"index":0,"message":{"role":"assistant",)"
      R"("content":"Hello from Workers AI"},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":9,"completion_tokens":5,"total_tokens":14}})";
  const std::string minimax_reply =
      R"({"id":"02ff7c","choices":[{"finish_reason":"stop","index":0,"message":{"content":"Hello from MiniMax",)"
      R"("role":"assistant","name":"MM Intelligent Assistant"}}],"created":1718000000,"model":"abab6.5s-chat",)"
      R"("object":"chat.completion","usage":{"total_tokens":20,"prompt_tokens":14,"completion_tokens":6},)"
      R"("base_resp":{"status_code":0,"status_msg":""}})";
  MockUpstream mock(provider_script({
      {"doubao-pro-32k", {"/api/v3/chat/completions", "ark-key", doubao_reply}},
      {"@cf/meta/llama-3.1-8b-instruct",
       {"/client/v4/accounts/acc-42/ai/v1/chat/completions", "cf-token", cloudflare_reply}},
      {"abab6.5s-chat", {"/v1/text/chatcompletion_v2", "mm-key", minimax_reply}},
  }));
  Gateway g;
  add_typed_channel(g, "doubao", mock.base_url(), "ark-key", "doubao-pro-32k");
  add_typed_channel(g, "37", mock.base_url() + "/", "cf-token", "@cf/meta/llama-3.1-8b-instruct",
                    {"--config", R"({"user_id":"acc-42"})"});
  add_typed_channel(g, "MiniMax", mock.base_url(), "mm-key", "abab6.5s-chat");
  const std::string key = g.add_token();

  const std::pair<std::string, std::string> cases[] = {{"doubao-pro-32k", "Hello from Ark"},
                                                       {"@cf/meta/llama-3.1-8b-instruct", "Hello from Workers AI"},
                                                       {"abab6.5s-chat", "Hello from MiniMax"}};
  for (const auto& [model, content] : cases) {
    INFO(model);
    auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body(false, model));
    REQUIRE(res.status == 200);
    CHECK(json::parse(res.body)["choices"][0]["message"]["content"] == content);
  }
  auto seen = mock.requests();
  REQUIRE(seen.size() == 3);  // each answered on the first try: no 404, no retry
  CHECK(seen[0].path == "/api/v3/chat/completions");
  CHECK(seen[1].path == "/client/v4/accounts/acc-42/ai/v1/chat/completions");
  CHECK(seen[2].path == "/v1/text/chatcompletion_v2");
  CHECK(seen[2].header("Authorization") == "Bearer mm-key");

  // Usage reported by each provider is what the log records.
  CHECK(db_int(g.db(), "SELECT prompt_tokens FROM logs WHERE model_name='doubao-pro-32k' AND type=2") == 11);
  CHECK(db_int(g.db(), "SELECT completion_tokens FROM logs WHERE model_name='abab6.5s-chat' AND type=2") == 6);

  // MiniMax serves chat only (as in One API): embeddings fail without reaching the upstream.
  auto emb = post_json(g.port(), "/v1/embeddings", key, R"({"model":"abab6.5s-chat","input":"hi"})");
  CHECK(emb.status >= 400);
  CHECK(json::parse(emb.body)["error"]["message"].get<std::string>().find("MiniMax") != std::string::npos);
  CHECK(mock.request_count() == 3);
}

TEST_CASE("a Cloudflare channel without an account id is refused by the admin API", "[compat][e2e]") {
  Gateway g;
  auto r = g.daemon.ctl({"channel", "add", "--type", "cloudflare", "--name", "cf", "--key", "k", "--models", "m"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("user_id") != std::string::npos);
}
