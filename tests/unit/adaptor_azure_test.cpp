// The Azure OpenAI adaptor: deployment URLs, api-version, the api-key header; answers are OpenAI's.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "relay/adaptor.hpp"
#include "relay/adaptors/azure/adaptor.hpp"

using namespace oneapi;
using namespace oneapi::relay;
using nlohmann::json;

namespace {

const Adaptor& azure() { return adaptors::azure::instance(); }

store::Channel azure_channel() {
  store::Channel c;
  c.id = 5;
  c.type = 3;
  c.key = "azure-secret-key";
  c.base_url = "https://contoso.openai.azure.com/";
  return c;
}

AdaptorContext ctx_for(const store::Channel& c, std::string model, RelayMode mode = RelayMode::chat_completions,
                       std::string path = "/v1/chat/completions") {
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.mode = mode;
  ctx.request_path = std::move(path);
  ctx.upstream_model = std::move(model);
  return ctx;
}

}  // namespace

TEST_CASE("Azure request: deployment URL per task, api-key header, client bytes kept", "[adaptor][azure]") {
  auto c = azure_channel();
  auto ctx = ctx_for(c, "gpt-3.5-turbo");
  const std::string raw = R"({"model":"gpt-3.5-turbo","messages":[{"role":"user","content":"hi"}]})";
  auto r = azure().build_request(ctx, json::parse(raw), raw);
  REQUIRE(r);
  // No mapping: One API's rule drops the dots (gpt-3.5-turbo -> deployment gpt-35-turbo).
  CHECK(r->url == "https://contoso.openai.azure.com/openai/deployments/gpt-35-turbo/chat/completions?api-version=" +
                      std::string(adaptors::azure::kDefaultApiVersion));
  CHECK(net::find_header(r->headers, "api-key") == "azure-secret-key");
  CHECK(net::find_header(r->headers, "authorization").empty());
  CHECK(r->body == raw);

  auto emb = ctx_for(c, "text-embedding-3-small", RelayMode::embeddings, "/v1/embeddings");
  CHECK(azure().build_request(emb, json::object(), "{}")->url.find("/deployments/text-embedding-3-small/embeddings?") !=
        std::string::npos);
  auto comp = ctx_for(c, "gpt-35-turbo-instruct", RelayMode::completions, "/v1/completions");
  CHECK(
      azure().build_request(comp, json::object(), "{}")->url.find("/deployments/gpt-35-turbo-instruct/completions?") !=
      std::string::npos);

  c.base_url.clear();
  CHECK_FALSE(azure().build_request(ctx, json::parse(raw), raw));  // Azure has no default endpoint
}

TEST_CASE("Azure request: mapped deployment names are used as given", "[adaptor][azure]") {
  auto c = azure_channel();
  auto ctx = ctx_for(c, "prod-gpt-4.1");
  ctx.model_mapped = true;
  const std::string raw = R"({"model":"gpt-4.1","messages":[]})";
  auto r = azure().build_request(ctx, json::parse(raw), raw);
  REQUIRE(r);
  CHECK(adaptors::azure::deployment_for(ctx) == "prod-gpt-4.1");
  CHECK(r->url.find("/openai/deployments/prod-gpt-4.1/chat/completions?") != std::string::npos);
  CHECK(json::parse(r->body)["model"] == "prod-gpt-4.1");
}

TEST_CASE("Azure api-version: channel config, then the other column, then the default", "[adaptor][azure]") {
  auto c = azure_channel();
  auto ctx = ctx_for(c, "gpt-4o");
  ctx.stream = true;
  const std::string raw = R"({"model":"gpt-4o","stream":true,"messages":[]})";
  c.other = "2024-02-01";
  auto old = azure().build_request(ctx, json::parse(raw), raw);
  REQUIRE(old);
  CHECK(old->url.substr(old->url.find('?')) == "?api-version=2024-02-01");
  // Versions before 2024-09-01-preview refuse stream_options: usage is then counted locally.
  CHECK_FALSE(json::parse(old->body).contains("stream_options"));

  c.config = R"({"api_version":"2024-10-21"})";
  auto recent = azure().build_request(ctx, json::parse(raw), raw);
  REQUIRE(recent);
  CHECK(recent->url.substr(recent->url.find('?')) == "?api-version=2024-10-21");
  CHECK(json::parse(recent->body)["stream_options"]["include_usage"] == true);
  CHECK(net::find_header(recent->headers, "accept") == "text/event-stream");
}

TEST_CASE("Azure answers and errors go through the OpenAI code", "[adaptor][azure]") {
  auto c = azure_channel();
  auto ctx = ctx_for(c, "gpt-4o");
  const std::string body =
      R"({"id":"chatcmpl-1","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"},"finish_reason":"stop","content_filter_results":{}}],"usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}})";
  auto p = azure().parse_response(ctx, body);
  REQUIRE(p);
  CHECK(p->body == body);
  REQUIRE(p->usage);
  CHECK(p->usage->prompt_tokens == 9);

  // Azure's first stream chunk carries only prompt_filter_results: dropped, as One API does.
  ctx.stream = true;
  auto d = azure().new_stream_decoder(ctx);
  std::string out;
  d->feed(
      "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\",\"prompt_filter_results\":[]}\n\n"
      "data: "
      "{\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"index\":0}],\"id\":\"c\",\"object\":\"chat.completion.chunk\"}"
      "\n\n"
      "data: [DONE]\n\n",
      out);
  auto s = d->finish(out);
  CHECK(out.find("prompt_filter_results") == std::string::npos);
  CHECK(out.find("\"Hi\"") != std::string::npos);
  CHECK(s.done_seen);

  Error e = azure().parse_error(
      404,
      R"({"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}})");
  CHECK(e.code == "DeploymentNotFound");
  CHECK(e.message.find("does not exist") != std::string::npos);
  CHECK(e.message.find("model mapping") != std::string::npos);
  Error auth = azure().parse_error(
      401,
      R"({"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint."}})");
  CHECK(error_status(auth) == 401);
  CHECK(azure().parse_error(429, R"({"error":{"code":"429","message":"Rate limit"}})").retryable);
  CHECK_FALSE(azure().parse_error(400, R"({"error":{"code":"content_filter","message":"filtered"}})").retryable);
}
