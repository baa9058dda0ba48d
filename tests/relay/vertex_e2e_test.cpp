// End to end through the real oneapid: a Vertex AI channel (type 42) whose key is a service-account
// JSON key made in the test. The mock plays both Google services: the OAuth token endpoint (it
// verifies the JWT assertion's RS256 signature with the key's public half and its claims) and
// Vertex's generateContent / rawPredict endpoints in their real wire formats, accepting only the
// token it issued. Bills are read back from the SQLite file.
#include <catch2/catch.hpp>
#include <cstdlib>

#include "billing/quota.hpp"
#include "billing/ratios.hpp"
#include "core/util.hpp"
#include "relay/e2e_support.hpp"
#include "support/rsa_jwt.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

constexpr const char* kProject = "test-project-42";
constexpr const char* kRegion = "europe-west4";
constexpr const char* kEmail = "relay@test-project-42.iam.gserviceaccount.com";
constexpr const char* kGemini = "gemini-1.5-flash";
constexpr const char* kClaude = "claude-3-5-haiku@20241022";
constexpr const char* kIssuedToken = "ya29.c.mock-vertex-access-token";

std::string model_path(const char* publisher, const std::string& model, const char* action) {
  return std::string("/v1/projects/") + kProject + "/locations/" + kRegion + "/publishers/" + publisher + "/models/" +
         model + ":" + action;
}

void answer(MockReply& r, int status, json body) {
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = body.dump();
}

// Google's documented form of a token request: a JWT-bearer grant whose assertion this key signed.
void token_endpoint(const net::ServerRequest& req, MockReply& r, const RsaKeyPair& key, const std::string& token_uri) {
  if (req.header("Content-Type") != "application/x-www-form-urlencoded")
    return answer(r, 400, {{"error", "invalid_request"}, {"error_description", "mock: not a form"}});
  if (req.body.rfind("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=", 0) != 0)
    return answer(r, 400, {{"error", "unsupported_grant_type"}, {"error_description", "mock: " + req.body}});
  const std::string assertion = req.body.substr(req.body.find("assertion=") + 10);
  auto jwt = verify_rs256(assertion, key.public_pem);
  if (!jwt) return answer(r, 400, {{"error", "invalid_grant"}, {"error_description", "Invalid JWT Signature."}});
  const json& c = jwt->claims;
  const int64_t iat = c.value("iat", int64_t{0});
  if (c.value("iss", "") != kEmail || c.value("aud", "") != token_uri ||
      c.value("scope", "") != "https://www.googleapis.com/auth/cloud-platform" ||
      c.value("exp", int64_t{0}) != iat + 3600 || std::abs(iat - unix_now()) > 300 ||
      jwt->header.value("kid", "").empty())
    return answer(r, 400, {{"error", "invalid_grant"}, {"error_description", "mock: bad claims " + c.dump()}});
  answer(r, 200, {{"access_token", kIssuedToken}, {"expires_in", 3599}, {"token_type", "Bearer"}});
}

std::string gemini_answer() {
  return json{{"candidates",
               {{{"content", {{"role", "model"}, {"parts", {{{"text", "Hello from Vertex Gemini"}}}}}},
                 {"finishReason", "STOP"},
                 {"avgLogprobs", -0.05}}}},
              {"usageMetadata", {{"promptTokenCount", 31}, {"candidatesTokenCount", 9}, {"totalTokenCount", 40}}},
              {"modelVersion", "gemini-1.5-flash-002"},
              {"createTime", "2024-11-05T10:00:00.000000Z"},
              {"responseId", "vrtx-resp-1"}}
      .dump();
}

// streamGenerateContent?alt=sse: cumulative usage, the last event has the final counts.
const std::string kGeminiStream =
    "data: {\"candidates\": [{\"content\": {\"role\": \"model\",\"parts\": [{\"text\": \"Stream\"}]}}],"
    "\"usageMetadata\": {},\"modelVersion\": \"gemini-1.5-flash-002\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"role\": \"model\",\"parts\": [{\"text\": \"ing Gemini\"}]},"
    "\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 44,\"candidatesTokenCount\": 12,"
    "\"totalTokenCount\": 56},\"modelVersion\": \"gemini-1.5-flash-002\"}\r\n\r\n";

std::string claude_answer() {
  return json{{"id", "msg_vrtx_0123"},
              {"type", "message"},
              {"role", "assistant"},
              {"model", "claude-3-5-haiku-20241022"},
              {"content", json::array({{{"type", "text"}, {"text", "Hello from Vertex Claude"}}})},
              {"stop_reason", "end_turn"},
              {"stop_sequence", nullptr},
              {"usage", {{"input_tokens", 27}, {"output_tokens", 8}}}}
      .dump();
}

std::string sse(const std::string& event, const json& data) {
  return "event: " + event + "\ndata: " + data.dump() + "\n\n";
}

// Anthropic's documented stream events, as streamRawPredict relays them.
std::string claude_stream() {
  json message = {{"id", "msg_vrtx_stream"},
                  {"type", "message"},
                  {"role", "assistant"},
                  {"content", json::array()},
                  {"model", "claude-3-5-haiku-20241022"},
                  {"stop_reason", nullptr},
                  {"stop_sequence", nullptr},
                  {"usage", {{"input_tokens", 52}, {"output_tokens", 1}}}};
  std::string out = sse("message_start", {{"type", "message_start"}, {"message", message}});
  out += sse("content_block_start",
             {{"type", "content_block_start"}, {"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}});
  out += sse("ping", {{"type", "ping"}});
  for (const char* w : {"Streaming", " Claude"})
    out += sse("content_block_delta",
               {{"type", "content_block_delta"}, {"index", 0}, {"delta", {{"type", "text_delta"}, {"text", w}}}});
  out += sse("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}});
  out += sse("message_delta", {{"type", "message_delta"},
                               {"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
                               {"usage", {{"output_tokens", 15}}}});
  out += sse("message_stop", {{"type", "message_stop"}});
  return out;
}

// Vertex itself: only the issued token, only known model paths, bodies in each publisher's format.
void vertex_endpoint(const net::ServerRequest& req, MockReply& r) {
  if (req.header("Authorization") != std::string("Bearer ") + kIssuedToken)
    return answer(r, 401,
                  {{"error",
                    {{"code", 401},
                     {"message", "Request had invalid authentication credentials."},
                     {"status", "UNAUTHENTICATED"}}}});
  auto body = json::parse(req.body, nullptr, false);
  if (req.path == model_path("google", kGemini, "generateContent") && req.query.empty() && body.contains("contents")) {
    r.headers = {{"Content-Type", "application/json; charset=UTF-8"}};
    r.body = gemini_answer();
    return;
  }
  if (req.path == model_path("google", kGemini, "streamGenerateContent") && req.query == "alt=sse" &&
      body.contains("contents")) {
    r.headers = {{"Content-Type", "text/event-stream"}};
    r.chunks = {{0, kGeminiStream.substr(0, 50)}, {2, kGeminiStream.substr(50)}};
    return;
  }
  const bool claude_body = body.is_object() && body.value("anthropic_version", "") == "vertex-2023-10-16" &&
                           !body.contains("model") && body.contains("messages") && body.contains("max_tokens");
  if (req.path == model_path("anthropic", kClaude, "rawPredict") && claude_body && !body.contains("stream")) {
    r.headers = {{"Content-Type", "application/json"}};
    r.body = claude_answer();
    return;
  }
  if (req.path == model_path("anthropic", kClaude, "streamRawPredict") && claude_body && body.value("stream", false)) {
    r.headers = {{"Content-Type", "text/event-stream; charset=utf-8"}};
    const std::string events = claude_stream();
    r.chunks = {{0, events.substr(0, 120)}, {2, events.substr(120, 333)}, {2, events.substr(453)}};
    return;
  }
  answer(r, 404, {{"error", {{"code", 404}, {"message", "mock: no route " + req.target}, {"status", "NOT_FOUND"}}}});
}

int64_t expected_quota(const std::string& model, int64_t prompt, int64_t completion) {
  const billing::Ratios ratios;
  billing::Price price;
  price.model_ratio = ratios.model_ratio(model, 42);
  price.completion_ratio = ratios.completion_ratio(model, 42);
  price.group_ratio = ratios.group_ratio("default");
  price.cached_input_ratio = ratios.cached_input_ratio(model, 42);
  return billing::quota_for_usage(price, prompt, completion, 0);
}

std::map<std::string, std::string> log_of(const Gateway& g, const HttpResult& res) {
  auto rows = db_rows(g.db(), "SELECT * FROM logs WHERE request_id='" + res.header("x-oneapi-request-id") + "'");
  REQUIRE(rows.size() == 1);
  return rows[0];
}

size_t count_path(const MockUpstream& mock, const std::string& path) {
  size_t n = 0;
  for (const auto& r : mock.requests()) n += r.path == path;
  return n;
}

int64_t add_vertex_channel(Gateway& g, const std::string& base_url, const std::string& key_json) {
  auto added = g.daemon.ctl({"--json", "channel", "add", "--type", "vertexai", "--name", "vertex", "--base-url",
                             base_url, "--key", key_json, "--models", std::string(kGemini) + "," + kClaude, "--config",
                             json{{"region", kRegion}}.dump()});
  INFO(added.err << added.out);
  REQUIRE(added.exit_code == 0);
  CHECK(json::parse(added.out).value("type", 0) == 42);
  return json::parse(added.out).at("id").get<int64_t>();
}

}  // namespace

TEST_CASE("Vertex AI channel: one OAuth token, Gemini and Claude both ways, billed", "[e2e][vertex]") {
  const RsaKeyPair key = make_rsa_key();
  std::string token_uri;
  MockUpstream mock([&](const net::ServerRequest& req, MockReply& r) {
    if (req.path == "/token") return token_endpoint(req, r, key, token_uri);
    vertex_endpoint(req, r);
  });
  token_uri = mock.base_url() + "/token";
  const std::string key_json = service_account_json(key, token_uri, kProject, kEmail);
  Gateway g;
  add_vertex_channel(g, mock.base_url(), key_json);
  const std::string token = g.add_token(10'000'000);
  int64_t used_before = token_used(g);

  // Gemini, whole answer.
  auto res = post_json(g.port(), "/v1/chat/completions", token,
                       R"({"model":"gemini-1.5-flash","max_tokens":50,"messages":[{"role":"user","content":"Hi"}]})");
  INFO(res.body);
  REQUIRE(res.status == 200);
  auto body = json::parse(res.body);
  CHECK(body["choices"][0]["message"]["content"] == "Hello from Vertex Gemini");
  CHECK(body["usage"]["prompt_tokens"] == 31);
  auto seen = mock.requests();
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].path == "/token");
  CHECK(seen[1].target == model_path("google", kGemini, "generateContent"));
  CHECK(seen[1].header("Authorization") == std::string("Bearer ") + kIssuedToken);
  CHECK(json::parse(seen[1].body)["generationConfig"]["maxOutputTokens"] == 50);
  auto log = log_of(g, res);
  CHECK(log["prompt_tokens"] == "31");
  CHECK(log["completion_tokens"] == "9");
  CHECK(log["quota"] == std::to_string(expected_quota(kGemini, 31, 9)));
  CHECK(token_used(g) - used_before == expected_quota(kGemini, 31, 9));
  used_before = token_used(g);

  // Gemini, streamed.
  res = post_json(g.port(), "/v1/chat/completions", token,
                  chat_body(true, kGemini, R"(,"stream_options":{"include_usage":true})"));
  REQUIRE(res.status == 200);
  CHECK(res.body.find("\"content\":\"Stream\"") != std::string::npos);
  CHECK(res.body.find("\"content\":\"ing Gemini\"") != std::string::npos);
  CHECK(res.body.find("\"prompt_tokens\":44") != std::string::npos);
  CHECK(res.body.substr(res.body.size() - 14) == "data: [DONE]\n\n");
  log = log_of(g, res);
  CHECK(log["is_stream"] == "1");
  CHECK(log["completion_tokens"] == "12");
  CHECK(token_used(g) - used_before == expected_quota(kGemini, 44, 12));
  used_before = token_used(g);

  // Claude, whole answer: rawPredict under the anthropic publisher.
  res = post_json(g.port(), "/v1/chat/completions", token,
                  R"({"model":"claude-3-5-haiku@20241022","max_tokens":80,)"
                  R"("messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]})");
  REQUIRE(res.status == 200);
  body = json::parse(res.body);
  CHECK(body["choices"][0]["message"]["content"] == "Hello from Vertex Claude");
  CHECK(body["usage"]["completion_tokens"] == 8);
  seen = mock.requests();
  const auto& claude_req = seen.back();
  CHECK(claude_req.target == model_path("anthropic", kClaude, "rawPredict"));
  CHECK(claude_req.header("Authorization") == std::string("Bearer ") + kIssuedToken);
  auto sent = json::parse(claude_req.body);
  CHECK(sent["system"] == "Be brief.");
  CHECK(sent["max_tokens"] == 80);
  CHECK(sent["anthropic_version"] == "vertex-2023-10-16");
  CHECK_FALSE(sent.contains("model"));
  log = log_of(g, res);
  CHECK(log["prompt_tokens"] == "27");
  CHECK(token_used(g) - used_before == expected_quota(kClaude, 27, 8));
  used_before = token_used(g);

  // Claude, streamed: streamRawPredict.
  res = post_json(g.port(), "/v1/chat/completions", token,
                  chat_body(true, kClaude, R"(,"stream_options":{"include_usage":true})"));
  REQUIRE(res.status == 200);
  CHECK(mock.requests().back().target == model_path("anthropic", kClaude, "streamRawPredict"));
  CHECK(res.body.find("\"content\":\"Streaming\"") != std::string::npos);
  CHECK(res.body.find("\"completion_tokens\":15") != std::string::npos);
  CHECK(res.body.substr(res.body.size() - 14) == "data: [DONE]\n\n");
  log = log_of(g, res);
  CHECK(log["prompt_tokens"] == "52");
  CHECK(log["completion_tokens"] == "15");
  CHECK(token_used(g) - used_before == expected_quota(kClaude, 52, 15));

  // Four requests, one token request: the token was cached. Neither key nor token reached the log.
  CHECK(count_path(mock, "/token") == 1);
  CHECK(mock.request_count() == 5);
  const std::string daemon_log = g.daemon.log();
  CHECK(daemon_log.find(kIssuedToken) == std::string::npos);
  CHECK(daemon_log.find("PRIVATE KEY") == std::string::npos);
}

TEST_CASE("Vertex AI channel: a refused token request is a clear error and costs nothing", "[e2e][vertex][errors]") {
  const RsaKeyPair key = make_rsa_key();
  MockUpstream mock([&](const net::ServerRequest& req, MockReply& r) {
    if (req.path == "/token")
      return answer(r, 401, {{"error", "invalid_client"}, {"error_description", "The OAuth client was not found."}});
    vertex_endpoint(req, r);
  });
  Gateway g;
  add_vertex_channel(g, mock.base_url(), service_account_json(key, mock.base_url() + "/token", kProject, kEmail));
  const std::string token = g.add_token(10'000'000);

  auto res = post_json(g.port(), "/v1/chat/completions", token, chat_body(false, kGemini));
  INFO(res.body);
  CHECK(res.status == 502);
  auto err = json::parse(res.body)["error"];
  CHECK(err["code"] == "access_token_failed");
  CHECK(err["message"].get<std::string>().find("could not get an access token") != std::string::npos);
  CHECK(err["message"].get<std::string>().find("HTTP 401: invalid_client") != std::string::npos);
  CHECK(token_used(g) == 0);
  CHECK(db_int(g.db(), "SELECT used_quota FROM users WHERE username='root'") == 0);
  REQUIRE(mock.request_count() == 1);  // Vertex itself was never called
  CHECK(mock.requests()[0].path == "/token");

  // A key that is not a service-account key: named, not echoed, nothing sent anywhere.
  auto broken = json::parse(service_account_json(key, mock.base_url() + "/token", kProject, kEmail));
  broken.erase("client_email");
  Gateway g2;
  add_vertex_channel(g2, mock.base_url(), broken.dump());
  const std::string token2 = g2.add_token(10'000'000);
  res = post_json(g2.port(), "/v1/chat/completions", token2, chat_body(false, kGemini));
  CHECK(res.status == 500);
  CHECK(res.body.find("no client_email") != std::string::npos);
  CHECK(res.body.find("PRIVATE KEY") == std::string::npos);
  CHECK(token_used(g2) == 0);
  CHECK(mock.request_count() == 1);
}
