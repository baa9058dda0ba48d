// End to end through the real oneapid: Gemini (type 24) and Azure OpenAI (type 3) channels against
// mock upstreams speaking each provider's own wire format, billed into the real SQLite file.
#include <atomic>
#include <catch2/catch.hpp>

#include "admin/unix_client.hpp"
#include "billing/quota.hpp"
#include "billing/ratios.hpp"
#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

constexpr const char* kGeminiKey = "AIzaSy-upstream-gemini-key";
constexpr const char* kAzureKey = "azure-upstream-key-0123";

int64_t root_used(const Gateway& g) { return db_int(g.db(), "SELECT used_quota FROM users WHERE username='root'"); }

std::map<std::string, std::string> log_of(const Gateway& g, const HttpResult& res) {
  auto rows = db_rows(g.db(), "SELECT * FROM logs WHERE request_id='" + res.header("x-oneapi-request-id") + "'");
  REQUIRE(rows.size() == 1);
  return rows[0];
}

// Google's generateContent answer.
std::string gemini_answer(const std::string& text, int prompt, int candidates) {
  json j = {
      {"candidates",
       {{{"content", {{"parts", {{{"text", text}}}}, {"role", "model"}}},
         {"finishReason", "STOP"},
         {"index", 0},
         {"safetyRatings", {{{"category", "HARM_CATEGORY_HATE_SPEECH"}, {"probability", "NEGLIGIBLE"}}}}}}},
      {"usageMetadata",
       {{"promptTokenCount", prompt}, {"candidatesTokenCount", candidates}, {"totalTokenCount", prompt + candidates}}},
      {"modelVersion", "gemini-1.5-flash-002"}};
  return j.dump();
}

// streamGenerateContent?alt=sse as Google frames it (CRLF), with a function call and cumulative usage.
const std::string kGeminiStream =
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Checking\"}],\"role\": \"model\"},\"index\": 0}],"
    "\"usageMetadata\": {\"promptTokenCount\": 1200,\"candidatesTokenCount\": 2,\"totalTokenCount\": 1202}}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" now.\"},{\"functionCall\": {\"name\": "
    "\"get_weather\",\"args\": {\"city\": \"Oslo\"}}}],\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],"
    "\"usageMetadata\": {\"promptTokenCount\": 1200,\"candidatesTokenCount\": 700,\"totalTokenCount\": 1900,"
    "\"cachedContentTokenCount\": 1000}}\r\n\r\n";

const std::string kBadKey =
    R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",)"
    R"("details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}})";

}  // namespace

TEST_CASE("Gemini channel: converted requests, key in a header, answers converted and billed", "[e2e][gemini]") {
  std::atomic<bool> key_revoked{false};
  MockUpstream mock([&](const net::ServerRequest& req, MockReply& r) {
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    if (key_revoked) {
      r.status = 400;
      r.body = kBadKey;
    } else if (req.path.find(":streamGenerateContent") != std::string::npos) {
      r.headers = {{"Content-Type", "text/event-stream"}};
      // Network pieces that cut events (and a JSON string) anywhere.
      r.chunks = {{0, kGeminiStream.substr(0, 37)}, {5, kGeminiStream.substr(37, 150)}, {5, kGeminiStream.substr(187)}};
    } else if (req.path.find(":batchEmbedContents") != std::string::npos) {
      r.body = R"({"embeddings":[{"values":[0.25,-0.5,0.125]}]})";
    } else {
      r.body = gemini_answer("Hello from Gemini", 1000, 500);
    }
  });
  Gateway g({{"GEMINI_SAFETY_SETTING", "BLOCK_ONLY_HIGH"}, {"GEMINI_VERSION", "v1"}});
  auto added =
      g.daemon.ctl({"--json", "channel", "add", "--type", "gemini", "--name", "gemini", "--base-url", mock.base_url(),
                    "--key", kGeminiKey, "--models", "gemini-1.5-flash,gemini-pro,text-embedding-004"});
  REQUIRE(added.exit_code == 0);
  const int64_t channel_id = json::parse(added.out).at("id").get<int64_t>();
  const std::string key = g.add_token();
  int64_t used_before = root_used(g);

  // Non-stream.
  auto res = post_json(g.port(), "/v1/chat/completions", key,
                       R"({"model":"gemini-1.5-flash","messages":[{"role":"system","content":"Be brief."},)"
                       R"({"role":"user","content":"Say hello"}],"max_tokens":64,"temperature":0.5})");
  REQUIRE(res.status == 200);
  auto body = json::parse(res.body);
  CHECK(body["object"] == "chat.completion");
  CHECK(body["choices"][0]["message"]["content"] == "Hello from Gemini");
  CHECK(body["choices"][0]["finish_reason"] == "stop");
  CHECK(body["usage"]["prompt_tokens"] == 1000);
  CHECK(body["usage"]["completion_tokens"] == 500);

  auto seen = mock.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].path == "/v1beta/models/gemini-1.5-flash:generateContent");  // One API: v1beta for gemini-1.5*
  CHECK(seen[0].query.empty());
  CHECK(seen[0].header("x-goog-api-key") == kGeminiKey);
  CHECK(seen[0].header("Authorization").empty());
  CHECK(seen[0].target.find(kGeminiKey) == std::string::npos);
  auto sent = json::parse(seen[0].body);
  CHECK(sent["contents"] == json::parse(R"([{"role":"user","parts":[{"text":"Say hello"}]}])"));
  CHECK(sent["system_instruction"]["parts"][0]["text"] == "Be brief.");
  CHECK(sent["generationConfig"]["maxOutputTokens"] == 64);
  CHECK(sent["generationConfig"]["temperature"] == 0.5);
  CHECK(sent["safetySettings"][0]["threshold"] == "BLOCK_ONLY_HIGH");  // GEMINI_SAFETY_SETTING

  auto log = log_of(g, res);
  CHECK(log["prompt_tokens"] == "1000");
  CHECK(log["completion_tokens"] == "500");
  const int64_t q1 = expected_quota("gemini-1.5-flash", 24, 1000, 500, 0);
  CHECK(q1 > 0);
  CHECK(log["quota"] == std::to_string(q1));
  CHECK(root_used(g) - used_before == q1);
  used_before = root_used(g);

  // Stream, with the usage chunk asked for.
  res = post_json(g.port(), "/v1/chat/completions", key,
                  R"({"model":"gemini-1.5-flash","stream":true,"stream_options":{"include_usage":true},)"
                  R"("messages":[{"role":"user","content":"Weather in Oslo?"}]})");
  REQUIRE(res.status == 200);
  CHECK(res.header("content-type").find("text/event-stream") == 0);
  seen = mock.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].path == "/v1beta/models/gemini-1.5-flash:streamGenerateContent");
  CHECK(seen[1].query == "alt=sse");
  CHECK(seen[1].header("x-goog-api-key") == kGeminiKey);
  CHECK(seen[1].target.find(kGeminiKey) == std::string::npos);
  CHECK_FALSE(json::parse(seen[1].body).contains("stream_options"));  // not a Gemini field

  CHECK(res.body.find("\"content\":\"Checking\"") != std::string::npos);
  CHECK(res.body.find("\"name\":\"get_weather\"") != std::string::npos);
  CHECK(res.body.find("\"finish_reason\":\"tool_calls\"") != std::string::npos);
  CHECK(res.body.find("\"prompt_tokens\":1200") != std::string::npos);
  REQUIRE(res.body.size() >= 14);
  CHECK(res.body.substr(res.body.size() - 14) == "data: [DONE]\n\n");
  CHECK(res.body.find("[DONE]") == res.body.size() - 8);  // once, from the relay

  log = log_of(g, res);
  CHECK(log["is_stream"] == "1");
  CHECK(log["prompt_tokens"] == "1200");
  CHECK(log["completion_tokens"] == "700");
  CHECK(log["cached_prompt_tokens"] == "1000");
  const int64_t q2 = expected_quota("gemini-1.5-flash", 24, 1200, 700, 1000);
  CHECK(log["quota"] == std::to_string(q2));
  CHECK(root_used(g) - used_before == q2);
  used_before = root_used(g);

  // GEMINI_VERSION applies outside One API's v1beta families.
  res = post_json(g.port(), "/v1/chat/completions", key, chat_body(false, "gemini-pro"));
  REQUIRE(res.status == 200);
  CHECK(mock.requests().at(2).path == "/v1/models/gemini-pro:generateContent");
  CHECK(root_used(g) - used_before == expected_quota("gemini-pro", 24, 1000, 500, 0));
  used_before = root_used(g);

  // Embeddings: batchEmbedContents; Gemini reports no usage, so the local prompt count is billed.
  res = post_json(g.port(), "/v1/embeddings", key, R"({"model":"text-embedding-004","input":"hello world"})");
  REQUIRE(res.status == 200);
  CHECK(mock.requests().at(3).path == "/v1/models/text-embedding-004:batchEmbedContents");  // GEMINI_VERSION
  body = json::parse(res.body);
  CHECK(body["data"][0]["embedding"] == json::array({0.25, -0.5, 0.125}));
  const int64_t counted = body["usage"]["prompt_tokens"].get<int64_t>();
  CHECK(counted > 0);
  log = log_of(g, res);
  CHECK(log["prompt_tokens"] == std::to_string(counted));
  CHECK(root_used(g) - used_before == expected_quota("text-embedding-004", 24, counted, 0, 0));

  // `channel test` goes through the same adaptor.
  const size_t before_test = mock.request_count();
  CHECK(g.daemon.ctl({"channel", "test", std::to_string(channel_id), "--model", "gemini-1.5-flash"}).exit_code == 0);
  REQUIRE(mock.request_count() == before_test + 1);
  CHECK(mock.requests().back().path == "/v1beta/models/gemini-1.5-flash:generateContent");

  // A revoked key: Gemini's 400 API_KEY_INVALID reaches the client and disables the channel.
  REQUIRE(g.daemon.ctl({"option", "set", "AutomaticDisableChannelEnabled", "true"}).exit_code == 0);
  key_revoked = true;
  res = post_json(g.port(), "/v1/chat/completions", key, chat_body(false, "gemini-1.5-flash"));
  CHECK(res.status == 400);
  CHECK(res.body.find("API key not valid") != std::string::npos);
  auto status = g.daemon.ctl({"--json", "channel", "get", std::to_string(channel_id)});
  REQUIRE(status.exit_code == 0);
  CHECK(json::parse(status.out)["status"] == 3);
  CHECK(g.daemon.log().find(kGeminiKey) == std::string::npos);
}

TEST_CASE("Azure channel: deployment URL, api-version, api-key header, billed", "[e2e][azure]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    r.status = 200;
    if (json::parse(req.body).value("stream", false)) {
      r.headers = {{"Content-Type", "text/event-stream"}};
      // Azure opens with a chunk holding only the prompt's content-filter results.
      r.chunks.push_back({0,
                          "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\","
                          "\"prompt_filter_results\":[{\"prompt_index\":0,\"content_filter_results\":{}}]}\n\n"});
      for (auto& e : openai_stream_events({"Hi", " there"}, true, 300, 200)) r.chunks.push_back({0, e});
    } else {
      r.headers = {{"Content-Type", "application/json"}};
      r.body = openai_chat_body("Hello from Azure", 2000, 400);
    }
  });
  Gateway g;
  // Through the admin API, which takes One API's config JSON (api_version) and model mapping.
  const json channel = {{"type", 3},
                        {"name", "azure"},
                        {"key", kAzureKey},
                        {"base_url", mock.base_url()},
                        {"models", "gpt-3.5-turbo,gpt-4o"},
                        {"model_mapping", R"({"gpt-4o":"prod-4o"})"},
                        {"config", R"({"api_version":"2024-10-21"})"}};
  admin::UnixResponse created;
  std::string error;
  REQUIRE(admin::unix_http_request(g.daemon.socket(), "POST", "/api/channel/", channel.dump(), created, error));
  REQUIRE(json::parse(created.body)["success"] == true);
  const std::string key = g.add_token();
  int64_t used_before = root_used(g);

  auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body(false, "gpt-3.5-turbo"));
  REQUIRE(res.status == 200);
  CHECK(json::parse(res.body)["choices"][0]["message"]["content"] == "Hello from Azure");
  auto seen = mock.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].path == "/openai/deployments/gpt-35-turbo/chat/completions");  // One API drops the dots
  CHECK(seen[0].query == "api-version=2024-10-21");
  CHECK(seen[0].header("api-key") == kAzureKey);
  CHECK(seen[0].header("Authorization").empty());
  CHECK(seen[0].target.find(kAzureKey) == std::string::npos);
  CHECK(json::parse(seen[0].body)["messages"][0]["content"] == "Say hello");
  auto log = log_of(g, res);
  CHECK(log["prompt_tokens"] == "2000");
  CHECK(log["completion_tokens"] == "400");
  const int64_t q1 = expected_quota("gpt-3.5-turbo", 3, 2000, 400, 0);
  CHECK(q1 > 0);
  CHECK(log["quota"] == std::to_string(q1));
  CHECK(root_used(g) - used_before == q1);
  used_before = root_used(g);

  res = post_json(g.port(), "/v1/chat/completions", key, chat_body(true, "gpt-4o"));
  REQUIRE(res.status == 200);
  seen = mock.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].path == "/openai/deployments/prod-4o/chat/completions");  // the mapping names the deployment
  CHECK(seen[1].query == "api-version=2024-10-21");
  CHECK(seen[1].header("api-key") == kAzureKey);
  auto sent = json::parse(seen[1].body);
  CHECK(sent["stream_options"]["include_usage"] == true);
  CHECK(sent["model"] == "prod-4o");
  CHECK(res.body.find("prompt_filter_results") == std::string::npos);
  CHECK(res.body.find("\" there\"") != std::string::npos);
  CHECK(res.body.find("\"usage\":{") == std::string::npos);  // not asked for
  CHECK(res.body.substr(res.body.size() - 14) == "data: [DONE]\n\n");
  log = log_of(g, res);
  CHECK(log["prompt_tokens"] == "300");
  CHECK(log["completion_tokens"] == "200");
  // One API prices by the name sent upstream: here the deployment's.
  const int64_t q2 = expected_quota("prod-4o", 3, 300, 200, 0);
  CHECK(log["quota"] == std::to_string(q2));
  CHECK(root_used(g) - used_before == q2);
}
