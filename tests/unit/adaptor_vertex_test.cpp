// The Vertex AI adaptor: the service-account JWT (checked against an RSA key made here), the
// endpoint URLs (regional and global hosts, Gemini and Claude, stream or not), the request bodies,
// and the answers and errors handed to the Gemini and Anthropic converters.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/util.hpp"
#include "relay/adaptor.hpp"
#include "relay/adaptors/vertex/adaptor.hpp"
#include "store/models.hpp"
#include "support/result_check.hpp"
#include "support/rsa_jwt.hpp"

using namespace oneapi;
using namespace oneapi::relay;
using namespace oneapi::test;
using nlohmann::json;
namespace vertex = oneapi::relay::adaptors::vertex;

namespace {

constexpr const char* kTokenUri = "https://oauth2.googleapis.com/token";

const RsaKeyPair& test_key() {
  static const RsaKeyPair key = make_rsa_key();
  return key;
}

store::Channel vertex_channel(const std::string& config = "", const std::string& base_url = "") {
  store::Channel c;
  c.id = 42;
  c.type = 42;
  c.key = service_account_json(test_key(), kTokenUri);
  c.config = config;
  c.base_url = base_url;
  return c;
}

AdaptorContext context(const store::Channel& c, const std::string& model, bool stream) {
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.upstream_model = model;
  ctx.stream = stream;
  ctx.request_path = "/v1/chat/completions";
  ctx.access_token = "ya29.test-access-token";
  return ctx;
}

const json kChat = {
    {"model", "x"},
    {"max_tokens", 100},
    {"messages", {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi"}}}}};

}  // namespace

TEST_CASE("base64url_encode: URL alphabet, no padding", "[vertex][util]") {
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64_encode("\xfb\xff") == "+/8=");
  CHECK(base64url_encode("ab") == "YWI");
  CHECK(base64url_encode("") == "");
}

TEST_CASE("Vertex JWT: RS256 over header.claims verifies with the key's public half", "[vertex][jwt]") {
  const auto account = ok(vertex::parse_service_account(service_account_json(test_key(), kTokenUri)));
  const int64_t now = 1718877600;
  const std::string jwt = ok(vertex::signed_assertion(account, now));
  CHECK(jwt.find('=') == std::string::npos);

  auto verified = verify_rs256(jwt, test_key().public_pem);
  REQUIRE(verified);
  CHECK(verified->header["alg"] == "RS256");
  CHECK(verified->header["typ"] == "JWT");
  CHECK(verified->header["kid"] == "0123456789abcdef0123456789abcdef01234567");
  CHECK(verified->claims["iss"] == "relay@test-project-42.iam.gserviceaccount.com");
  CHECK(verified->claims["scope"] == "https://www.googleapis.com/auth/cloud-platform");
  CHECK(verified->claims["aud"] == kTokenUri);
  CHECK(verified->claims["iat"] == now);
  CHECK(verified->claims["exp"] == now + 3600);

  // Another key's public half, or a changed claim, does not verify.
  const RsaKeyPair other = make_rsa_key();
  CHECK_FALSE(verify_rs256(jwt, other.public_pem));
  const size_t dot = jwt.find('.');
  const std::string forged_claims = base64url_encode(json{{"iss", "someone@else"}}.dump());
  const std::string forged = jwt.substr(0, dot + 1) + forged_claims + jwt.substr(jwt.rfind('.'));
  CHECK_FALSE(verify_rs256(forged, test_key().public_pem));
}

TEST_CASE("Vertex service account: a malformed key is named, never echoed", "[vertex][jwt]") {
  auto key = json::parse(service_account_json(test_key(), kTokenUri));
  CHECK(err(vertex::parse_service_account("not json at all")).message.find("not a JSON object") != std::string::npos);
  auto no_email = key;
  no_email.erase("client_email");
  CHECK(err(vertex::parse_service_account(no_email.dump())).message.find("client_email") != std::string::npos);
  auto no_key = key;
  no_key.erase("private_key");
  CHECK(err(vertex::parse_service_account(no_key.dump())).message.find("private_key") != std::string::npos);
  auto bad_pem = key;
  bad_pem["private_key"] = "-----BEGIN PRIVATE KEY-----\nMIIBroken\n-----END PRIVATE KEY-----\n";
  const auto account = ok(vertex::parse_service_account(bad_pem.dump()));
  const Error e = err(vertex::signed_assertion(account, 1));
  CHECK(e.message.find("PEM RSA private key") != std::string::npos);
  CHECK(e.message.find("MIIBroken") == std::string::npos);
  CHECK(e.code == "invalid_channel_credentials");
  // A missing token_uri is Google's.
  auto no_uri = key;
  no_uri.erase("token_uri");
  CHECK(ok(vertex::parse_service_account(no_uri.dump())).token_uri == "https://oauth2.googleapis.com/token");

  // One API's config field holds the key when the channel key is not JSON.
  store::Channel c = vertex_channel();
  c.config = json{{"vertex_ai_adc", c.key}}.dump();
  c.key = "placeholder";
  CHECK(ok(vertex::channel_service_account(c)).client_email == "relay@test-project-42.iam.gserviceaccount.com");
  c.config = "{}";
  CHECK(err(vertex::channel_service_account(c)).message.find("JSON key file") != std::string::npos);
}

TEST_CASE("Vertex URLs: regional and global hosts, Gemini and Claude, stream or not", "[vertex]") {
  const std::string root = "/v1/projects/test-project-42/locations/";
  SECTION("default region, project from the key, Gemini") {
    auto c = vertex_channel();
    auto where = ok(vertex::channel_location(c));
    CHECK(where.region == "us-central1");
    CHECK(vertex::endpoint_url(c, where, "gemini-1.5-pro", false) ==
          "https://us-central1-aiplatform.googleapis.com" + root +
              "us-central1/publishers/google/models/gemini-1.5-pro:generateContent");
    CHECK(vertex::endpoint_url(c, where, "gemini-1.5-pro", true) ==
          "https://us-central1-aiplatform.googleapis.com" + root +
              "us-central1/publishers/google/models/gemini-1.5-pro:streamGenerateContent?alt=sse");
  }
  SECTION("regional Claude") {
    auto c = vertex_channel(R"({"region":"europe-west1"})");
    auto where = ok(vertex::channel_location(c));
    CHECK(vertex::endpoint_url(c, where, "claude-3-5-sonnet-v2@20241022", false) ==
          "https://europe-west1-aiplatform.googleapis.com" + root +
              "europe-west1/publishers/anthropic/models/claude-3-5-sonnet-v2@20241022:rawPredict");
    CHECK(vertex::endpoint_url(c, where, "claude-3-5-sonnet-v2@20241022", true) ==
          "https://europe-west1-aiplatform.googleapis.com" + root +
              "europe-west1/publishers/anthropic/models/claude-3-5-sonnet-v2@20241022:streamRawPredict");
  }
  SECTION("global, project from the config") {
    auto c = vertex_channel(R"({"region":"global","vertex_ai_project_id":"other-proj"})");
    auto where = ok(vertex::channel_location(c));
    CHECK(where.project == "other-proj");
    CHECK(vertex::endpoint_url(c, where, "claude-sonnet-4@20250514", true) ==
          "https://aiplatform.googleapis.com/v1/projects/other-proj/locations/global/publishers/anthropic/models/"
          "claude-sonnet-4@20250514:streamRawPredict");
    CHECK(vertex::endpoint_url(c, where, "gemini-2.5-flash", false) ==
          "https://aiplatform.googleapis.com/v1/projects/other-proj/locations/global/publishers/google/models/"
          "gemini-2.5-flash:generateContent");
  }
  SECTION("a channel base URL replaces the host") {
    auto c = vertex_channel(R"({"region":"us-east5"})", "http://127.0.0.1:9999/");
    auto where = ok(vertex::channel_location(c));
    CHECK(vertex::endpoint_url(c, where, "gemini-2.0-flash", false) ==
          "http://127.0.0.1:9999" + root + "us-east5/publishers/google/models/gemini-2.0-flash:generateContent");
  }
  SECTION("a region that is no host name part is refused") {
    auto c = vertex_channel(R"({"region":"evil.example.com/x"})");
    CHECK(err(vertex::channel_location(c)).message.find("region") != std::string::npos);
  }
}

TEST_CASE("Vertex requests: Bearer token, Claude body without model, Gemini contents", "[vertex]") {
  const Adaptor& a = vertex::instance();
  const auto c = vertex_channel();

  auto claude = ok(a.build_request(context(c, "claude-3-5-haiku@20241022", true), kChat, kChat.dump()));
  CHECK(net::find_header(claude.headers, "Authorization") == "Bearer ya29.test-access-token");
  CHECK(claude.url.find("/publishers/anthropic/models/claude-3-5-haiku@20241022:streamRawPredict") !=
        std::string::npos);
  auto body = json::parse(claude.body);
  CHECK_FALSE(body.contains("model"));
  CHECK(body["anthropic_version"] == "vertex-2023-10-16");
  CHECK(body["system"] == "Be brief.");
  CHECK(body["max_tokens"] == 100);
  CHECK(body["stream"] == true);
  CHECK(body["messages"] == json::parse(R"([{"role":"user","content":[{"type":"text","text":"Hi"}]}])"));

  auto gemini = ok(a.build_request(context(c, "gemini-1.5-flash", false), kChat, kChat.dump()));
  CHECK(net::find_header(gemini.headers, "Authorization") == "Bearer ya29.test-access-token");
  CHECK(net::find_header(gemini.headers, "x-goog-api-key").empty());
  auto g = json::parse(gemini.body);
  CHECK(g["contents"][0]["role"] == "user");
  CHECK(g["contents"][0]["parts"][0]["text"] == "Hi");
  CHECK(g["generationConfig"]["maxOutputTokens"] == 100);

  auto no_token = context(c, "gemini-1.5-flash", false);
  no_token.access_token.clear();
  CHECK(err(a.build_request(no_token, kChat, kChat.dump())).code == "missing_access_token");
  auto embeddings = context(c, "text-embedding-005", false);
  embeddings.mode = RelayMode::embeddings;
  CHECK(err(a.build_request(embeddings, kChat, kChat.dump())).code == "unsupported_api_for_channel");
}

TEST_CASE("Vertex answers and errors: Gemini's and Anthropic's converters", "[vertex]") {
  const Adaptor& a = vertex::instance();
  const auto c = vertex_channel();
  auto g = ok(
      a.parse_response(context(c, "gemini-1.5-flash", false),
                       R"({"candidates":[{"content":{"role":"model","parts":[{"text":"Hello"}]},"finishReason":"STOP"}],
          "usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":2,"totalTokenCount":11}})"));
  REQUIRE(g.usage);
  CHECK(g.usage->prompt_tokens == 9);
  CHECK(json::parse(g.body)["choices"][0]["message"]["content"] == "Hello");
  auto claude = ok(
      a.parse_response(context(c, "claude-3-5-haiku@20241022", false),
                       R"({"id":"msg_vrtx_01","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",
          "content":[{"type":"text","text":"Hey"}],"stop_reason":"end_turn","usage":{"input_tokens":14,"output_tokens":3}})"));
  REQUIRE(claude.usage);
  CHECK(claude.usage->completion_tokens == 3);

  const Error google = a.parse_error(
      429,
      R"({"error":{"code":429,"message":"Resource exhausted. Please try again later.","status":"RESOURCE_EXHAUSTED"}})");
  CHECK(google.message == "Resource exhausted. Please try again later.");
  CHECK(google.code == "RESOURCE_EXHAUSTED");
  CHECK(google.retryable);
  const Error anthropic_error =
      a.parse_error(529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  CHECK(anthropic_error.message == "Overloaded");
  CHECK(anthropic_error.type == "overloaded_error");
}

TEST_CASE("channel keys: a multi-line JSON key is one key", "[vertex][store]") {
  store::Channel c;
  c.key = service_account_json(test_key(), kTokenUri);
  REQUIRE(c.key.find('\n') != std::string::npos);
  auto keys = store::channel_keys(c);
  REQUIRE(keys.size() == 1);
  CHECK(json::parse(keys[0])["client_email"] == "relay@test-project-42.iam.gserviceaccount.com");
  c.key = "sk-one\n  \nsk-two\n";
  CHECK(store::channel_keys(c) == std::vector<std::string>{"sk-one", "sk-two"});
  c.key = "{not json\n}";
  CHECK(store::channel_keys(c).size() == 2);
}
