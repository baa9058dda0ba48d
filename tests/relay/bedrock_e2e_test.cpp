// End to end through the real oneapid: an OpenAI client, an AWS Bedrock channel (type 33) and a
// mock upstream speaking Bedrock on loopback: it checks each request's path and its SigV4
// signature (recomputed from the request as received), answers with Anthropic's message JSON or
// AWS's binary event stream; bills are read back from the SQLite file.
#include <catch2/catch.hpp>
#include <optional>
#include <regex>

#include "billing/quota.hpp"
#include "billing/ratios.hpp"
#include "relay/adaptors/bedrock/sigv4.hpp"
#include "relay/e2e_support.hpp"
#include "support/eventstream_encoder.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;
namespace bedrock = oneapi::relay::adaptors::bedrock;

namespace {

constexpr const char* kModel = "claude-3-5-sonnet-20240620";
constexpr const char* kModelId = "anthropic.claude-3-5-sonnet-20240620-v1:0";
constexpr const char* kAk = "AKIDBEDROCKTEST";
constexpr const char* kSk = "bedrock/secret+KEY";
constexpr const char* kRegion = "us-east-1";

int64_t add_bedrock_channel(Gateway& g, const std::string& base_url, const std::string& type = "bedrock",
                            const std::string& models = kModel, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"--json",
                                   "channel",
                                   "add",
                                   "--type",
                                   type,
                                   "--name",
                                   "bedrock",
                                   "--base-url",
                                   base_url,
                                   "--key",
                                   std::string(kAk) + "|" + kSk + "|" + kRegion,
                                   "--models",
                                   models};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = g.daemon.ctl(args);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out).at("id").get<int64_t>();
}

std::string anthropic_message(const std::string& text, int input_tokens, int output_tokens) {
  json msg = {{"id", "msg_bdrk_01"},
              {"type", "message"},
              {"role", "assistant"},
              {"model", kModel},
              {"content", json::array({{{"type", "text"}, {"text", text}}})},
              {"stop_reason", "end_turn"},
              {"stop_sequence", nullptr},
              {"usage", {{"input_tokens", input_tokens}, {"output_tokens", output_tokens}}}};
  return msg.dump();
}

// Anthropic's documented stream events, each in a Bedrock frame; message_stop carries Bedrock's
// invocation metrics as Bedrock adds them. With `throttle`, an exception frame follows the words.
std::string bedrock_stream(const std::vector<std::string>& words, int input_tokens, int output_tokens,
                           bool throttle = false) {
  std::string out;
  json message = {{"id", "msg_bdrk_stream"},
                  {"type", "message"},
                  {"role", "assistant"},
                  {"content", json::array()},
                  {"model", kModel},
                  {"stop_reason", nullptr},
                  {"usage", {{"input_tokens", input_tokens}, {"output_tokens", 1}}}};
  out += bedrock_chunk(json{{"type", "message_start"}, {"message", message}}.dump());
  out += bedrock_chunk(
      json{{"type", "content_block_start"}, {"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}}.dump());
  for (const auto& w : words)
    out += bedrock_chunk(
        json{{"type", "content_block_delta"}, {"index", 0}, {"delta", {{"type", "text_delta"}, {"text", w}}}}.dump());
  if (throttle) return out + bedrock_exception("throttlingException", R"({"message":"Too many tokens, slow down."})");
  out += bedrock_chunk(json{{"type", "content_block_stop"}, {"index", 0}}.dump());
  out += bedrock_chunk(json{{"type", "message_delta"},
                            {"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
                            {"usage", {{"output_tokens", output_tokens}}}}
                           .dump());
  out += bedrock_chunk(json{
      {"type", "message_stop"},
      {"amazon-bedrock-invocationMetrics", {{"inputTokenCount", input_tokens}, {"outputTokenCount", output_tokens}}}}
                           .dump());
  return out;
}

// Writes `bytes` in uneven pieces, so frames straddle network chunks.
std::vector<MockChunk> pieces(const std::string& bytes) {
  std::vector<MockChunk> out;
  size_t at = 0, size = 7;
  while (at < bytes.size()) {
    out.push_back({0, bytes.substr(at, size)});
    at += size;
    size = size * 3 % 101 + 5;
  }
  return out;
}

void reject(MockReply& r, int status, const std::string& message) {
  r.status = status;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = json{{"message", message}}.dump();
}

// What Bedrock checks before answering: the path, the SigV4 Authorization header (recomputed
// from the request as received, with the same secret) and the body's anthropic_version.
bool well_signed(const net::ServerRequest& req, const std::string& model_id, MockReply& r) {
  const std::string encoded_id = bedrock::uri_encode(model_id, false);
  if (req.path != "/model/" + encoded_id + "/invoke" &&
      req.path != "/model/" + encoded_id + "/invoke-with-response-stream") {
    reject(r, 404, "mock: unexpected path " + req.path);
    return false;
  }
  static const std::regex kAuth(
      R"(AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([a-z0-9-]+)/bedrock/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64}))");
  const std::string auth(req.header("Authorization"));
  const std::string date(req.header("X-Amz-Date"));
  std::smatch m;
  if (!std::regex_match(auth, m, kAuth) || m[1] != kAk || m[3] != kRegion || date.size() != 16 ||
      date.substr(0, 8) != m[2].str()) {
    reject(r, 403, "mock: malformed Authorization: " + auth);
    return false;
  }
  bedrock::SignableRequest received;
  received.method = req.method;
  received.path = req.path;
  received.query = req.query;
  received.body = req.body;
  const std::string signed_headers = m[4];
  for (size_t from = 0; from <= signed_headers.size();) {
    const size_t semi = std::min(signed_headers.find(';', from), signed_headers.size());
    const std::string name = signed_headers.substr(from, semi - from);
    received.headers.push_back({name, std::string(req.header(name))});
    from = semi + 1;
  }
  if (signed_headers.find("host") == std::string::npos || signed_headers.find("x-amz-date") == std::string::npos) {
    reject(r, 403, "mock: host and x-amz-date must be signed");
    return false;
  }
  const auto expected = bedrock::sigv4_sign(received, {kAk, kSk}, {kRegion, "bedrock"}, date);
  if (expected.signature != m[5].str()) {
    reject(r, 403,
           "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
           "Access Key and signing method.");
    return false;
  }
  auto body = json::parse(req.body, nullptr, false);
  if (!body.is_object() || body.value("anthropic_version", "") != "bedrock-2023-05-31" || body.contains("model") ||
      body.contains("stream") || !body.contains("messages")) {
    reject(r, 400, "Malformed input request: mock: not a Bedrock Claude body");
    return false;
  }
  return true;
}

// The bill lib/billing computes for these counts, for `model` on a Bedrock channel (type 33).
int64_t expected_quota(const std::string& model, int64_t prompt, int64_t completion) {
  billing::Ratios ratios;
  billing::Price price;
  price.model_ratio = ratios.model_ratio(model, 33);
  price.completion_ratio = ratios.completion_ratio(model, 33);
  price.group_ratio = ratios.group_ratio("default");
  price.cached_input_ratio = ratios.cached_input_ratio(model, 33);
  return billing::quota_for_usage(price, prompt, completion, 0);
}

std::vector<json> data_lines(const std::string& sse, bool& done) {
  std::vector<json> out;
  done = false;
  for (size_t pos = 0; (pos = sse.find("data: ", pos)) != std::string::npos;) {
    const size_t end = sse.find("\n\n", pos);
    const std::string line = sse.substr(pos + 6, end - pos - 6);
    if (line == "[DONE]")
      done = true;
    else
      out.push_back(json::parse(line));
    pos = end;
  }
  return out;
}

}  // namespace

TEST_CASE("Bedrock channel: a signed invoke, converted both ways and billed", "[e2e][bedrock]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    if (!well_signed(req, kModelId, r)) return;
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = anthropic_message("Bonjour !", 23, 7);
  });
  Gateway g;
  add_bedrock_channel(g, mock.base_url());
  const std::string key = g.add_token(10'000'000);

  auto res = post_json(g.port(), "/v1/chat/completions", key,
                       R"({"model":"claude-3-5-sonnet-20240620","max_tokens":200,
        "messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":"Say hello"}]})");
  INFO(res.body);
  REQUIRE(res.status == 200);
  auto body = json::parse(res.body);
  CHECK(body["choices"][0]["message"]["content"] == "Bonjour !");
  CHECK(body["usage"]["prompt_tokens"] == 23);
  CHECK(body["usage"]["completion_tokens"] == 7);

  auto seen = mock.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].target == "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke");
  CHECK(seen[0].header("Authorization").find(kSk) == std::string::npos);
  auto sent = json::parse(seen[0].body);
  CHECK(sent["system"] == "Answer in French.");
  CHECK(sent["max_tokens"] == 200);

  auto row = log_row(g, res.header("x-oneapi-request-id"));
  CHECK(as_int(row, "prompt_tokens") == 23);
  CHECK(as_int(row, "completion_tokens") == 7);
  CHECK(as_int(row, "quota") == expected_quota(kModel, 23, 7));
  CHECK(token_used(g) == expected_quota(kModel, 23, 7));
  CHECK(token_used(g) > 0);
}

TEST_CASE("Bedrock channel: the event stream becomes OpenAI chunks, an exception frame ends it with an error",
          "[e2e][bedrock][stream]") {
  const std::string mapped_id = "anthropic.claude-3-haiku-20240307-v1:0";
  MockUpstream mock([&](const net::ServerRequest& req, MockReply& r) {
    if (!well_signed(req, mapped_id, r)) return;
    if (req.path.find("invoke-with-response-stream") == std::string::npos)
      return reject(r, 400, "mock: expected stream");
    r.status = 200;
    r.headers = {{"Content-Type", "application/vnd.amazon.eventstream"},
                 {"X-Amzn-Bedrock-Content-Type", "application/json"}};
    const bool throttle = req.body.find("please fail") != std::string::npos;
    r.chunks = pieces(bedrock_stream({"Hello", " there", "!"}, 17, 6, throttle));
  });
  Gateway g;
  // One API's number, and a model mapping to a Bedrock id the built-in map does not know.
  add_bedrock_channel(g, mock.base_url(), "33", "claude-3-haiku",
                      {"--model-mapping", json{{"claude-3-haiku", mapped_id}}.dump()});
  const std::string key = g.add_token(10'000'000);

  auto res = post_json(g.port(), "/v1/chat/completions", key,
                       chat_body(true, "claude-3-haiku", R"(,"stream_options":{"include_usage":true})"));
  INFO(res.body);
  REQUIRE(res.status == 200);
  bool done = false;
  const auto chunks = data_lines(res.body, done);
  CHECK(done);
  std::string text;
  std::optional<json> usage;
  for (const auto& c : chunks) {
    CHECK(c["object"] == "chat.completion.chunk");
    if (c["choices"].empty())
      usage = c["usage"];
    else if (c["choices"][0]["delta"].contains("content"))
      text += c["choices"][0]["delta"]["content"].get<std::string>();
  }
  CHECK(text == "Hello there!");
  REQUIRE(usage);
  CHECK((*usage)["prompt_tokens"] == 17);
  CHECK((*usage)["completion_tokens"] == 6);
  auto row = log_row(g, res.header("x-oneapi-request-id"));
  CHECK(as_int(row, "is_stream") == 1);
  CHECK(as_int(row, "completion_tokens") == 6);
  CHECK(as_int(row, "quota") == expected_quota(mapped_id, 17, 6));
  CHECK(token_used(g) == expected_quota(mapped_id, 17, 6));

  // An exception frame mid-stream: the words are billed, the client gets an error event, no [DONE].
  const int64_t used_before = token_used(g);
  auto failed =
      post_json(g.port(), "/v1/chat/completions", key,
                R"({"model":"claude-3-haiku","stream":true,"messages":[{"role":"user","content":"please fail"}]})");
  REQUIRE(failed.status == 200);
  CHECK(failed.body.find("Hello") != std::string::npos);
  CHECK(failed.body.find("[DONE]") == std::string::npos);
  CHECK(failed.body.find("Too many tokens, slow down.") != std::string::npos);
  auto failed_row = log_row(g, failed.header("x-oneapi-request-id"));
  CHECK(as_int(failed_row, "prompt_tokens") == 17);
  CHECK(token_used(g) - used_before == as_int(failed_row, "quota"));
}

TEST_CASE("Bedrock channel: a wrong secret is refused by the signature check, an invalid token disables it",
          "[e2e][bedrock][errors]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    if (!well_signed(req, kModelId, r)) return;
    reject(r, 403, "The security token included in the request is invalid.");
  });
  Gateway g;
  REQUIRE(g.daemon.ctl({"option", "set", "AutomaticDisableChannelEnabled", "true"}).exit_code == 0);
  // "aws" is accepted as the type's name too; the wrong secret fails the mock's signature check.
  auto added =
      g.daemon.ctl({"--json", "channel", "add", "--type", "aws", "--name", "wrong", "--base-url", mock.base_url(),
                    "--key", std::string(kAk) + "|not-the-secret|" + kRegion, "--models", kModel});
  REQUIRE(added.exit_code == 0);
  const int64_t id = json::parse(added.out).at("id").get<int64_t>();
  CHECK(json::parse(added.out).value("type", 0) == 33);
  const std::string key = g.add_token(10'000'000);

  auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body(false, kModel));
  CHECK(res.status == 403);
  CHECK(res.body.find("signature we calculated does not match") != std::string::npos);

  // With the right secret the mock answers as Bedrock does for a revoked key: the channel goes.
  REQUIRE(g.daemon.ctl({"channel", "update", std::to_string(id), "--key", std::string(kAk) + "|" + kSk + "|" + kRegion})
              .exit_code == 0);
  res = post_json(g.port(), "/v1/chat/completions", key, chat_body(false, kModel));
  CHECK(res.status == 403);
  CHECK(res.body.find("security token included in the request is invalid") != std::string::npos);
  CHECK(db_int(g.db(), "SELECT status FROM channels WHERE id = " + std::to_string(id)) == 3);
}
