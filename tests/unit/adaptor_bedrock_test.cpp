// The Bedrock adaptor: Anthropic bodies sent to /model/{id}/invoke(-with-response-stream) with
// SigV4, Anthropic answers, Anthropic stream events inside AWS's binary event stream, and
// Bedrock's errors. Stream fixtures are Anthropic's documented events framed by the test's own
// encoder (tests/support/eventstream_encoder.hpp).
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "relay/adaptor.hpp"
#include "relay/adaptors/anthropic/adaptor.hpp"
#include "relay/adaptors/bedrock/adaptor.hpp"
#include "relay/adaptors/bedrock/eventstream.hpp"
#include "relay/adaptors/bedrock/sigv4.hpp"
#include "relay/channel_health.hpp"
#include "support/eventstream_encoder.hpp"

using namespace oneapi;
using namespace oneapi::relay;
using nlohmann::json;
namespace bedrock = oneapi::relay::adaptors::bedrock;
namespace anthropic = oneapi::relay::adaptors::anthropic;

namespace {

constexpr const char* kAk = "AKIAIOSFODNN7EXAMPLE";
constexpr const char* kSk = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
// 2024-06-20T10:00:00Z
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1718877600));

store::Channel bedrock_channel(std::string base_url = {}) {
  store::Channel c;
  c.id = 7;
  c.type = 33;
  c.key = std::string(kAk) + "|" + kSk + "|us-west-2";
  c.base_url = std::move(base_url);
  return c;
}

AdaptorContext context(const store::Channel& c, const std::string& model, bool stream) {
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.upstream_model = model;
  ctx.stream = stream;
  ctx.request_path = "/v1/chat/completions";
  return ctx;
}

std::string header(const UpstreamRequest& r, std::string_view name) {
  return std::string(net::find_header(r.headers, name));
}

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(ONEAPI_SOURCE_DIR) + "/tests/data/anthropic/" + name, std::ios::binary);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The data lines of an Anthropic SSE fixture, each framed as Bedrock sends it.
std::string bedrock_stream_of(const std::string& sse) {
  std::string out;
  std::istringstream in(sse);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("data: ", 0) == 0) out += test::bedrock_chunk(line.substr(6));
  return out;
}

struct Decoded {
  std::string out;
  StreamSummary summary;
};

// Feeds `bytes` in pieces cut at `cuts` (sorted offsets).
Decoded decode(const std::string& bytes, const std::vector<size_t>& cuts = {}, bool wants_usage = true) {
  auto d = bedrock::make_stream_decoder(wants_usage, 1700000000);
  Decoded r;
  size_t from = 0;
  for (size_t cut : cuts) {
    d->feed(std::string_view(bytes).substr(from, cut - from), r.out);
    from = cut;
  }
  d->feed(std::string_view(bytes).substr(from), r.out);
  r.summary = d->finish(r.out);
  return r;
}

}  // namespace

TEST_CASE("Bedrock request: URL, SigV4 headers and an Anthropic body without model or stream", "[bedrock][adaptor]") {
  const auto channel = bedrock_channel();
  const json body = json::parse(R"({"model":"claude-3-5-sonnet-20240620","max_tokens":300,"stream":true,
      "user":"u-1","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]})");
  auto r = bedrock::build_request_at(context(channel, "claude-3-5-sonnet-20240620", false), body, kNow);
  REQUIRE(r);
  CHECK(r->method == "POST");
  CHECK(r->url ==
        "https://bedrock-runtime.us-west-2.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke");
  CHECK(header(*r, "X-Amz-Date") == "20240620T100000Z");
  CHECK(header(*r, "Content-Type") == "application/json");
  CHECK(header(*r, "Accept") == "application/json");
  CHECK(header(*r, "X-Amz-Content-Sha256") == bedrock::sha256_hex(r->body));
  const std::string auth = header(*r, "Authorization");
  CHECK(auth.rfind(std::string("AWS4-HMAC-SHA256 Credential=") + kAk + "/20240620/us-west-2/bedrock/aws4_request, " +
                       "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=",
                   0) == 0);
  CHECK(auth.find(kSk) == std::string::npos);

  // The signature is the one SigV4 gives for the request as the HTTP client will send it.
  bedrock::SignableRequest sent;
  sent.method = "POST";
  sent.path = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/invoke";
  sent.headers = {{"Host", "bedrock-runtime.us-west-2.amazonaws.com"},
                  {"Content-Type", "application/json"},
                  {"X-Amz-Date", "20240620T100000Z"},
                  {"X-Amz-Content-Sha256", bedrock::sha256_hex(r->body)}};
  sent.body = r->body;
  const auto expected = bedrock::sigv4_sign(sent, {kAk, kSk}, {"us-west-2", "bedrock"}, "20240620T100000Z");
  CHECK(auth == expected.authorization);

  const json sent_body = json::parse(r->body);
  CHECK(sent_body["anthropic_version"] == "bedrock-2023-05-31");
  CHECK_FALSE(sent_body.contains("model"));
  CHECK_FALSE(sent_body.contains("stream"));
  CHECK_FALSE(sent_body.contains("metadata"));
  CHECK(sent_body["max_tokens"] == 300);
  CHECK(sent_body["system"] == "Be brief.");
  CHECK(sent_body["messages"] == json::parse(R"([{"role":"user","content":[{"type":"text","text":"Hi"}]}])"));
}

TEST_CASE("Bedrock request: streaming path, base URL override, mapped and unknown model ids", "[bedrock][adaptor]") {
  const auto channel = bedrock_channel("http://127.0.0.1:9/prefix/");
  const json body = json::parse(R"({"model":"x","stream":true,"messages":[{"role":"user","content":"Hi"}]})");
  auto r = bedrock::build_request_at(context(channel, "anthropic.claude-3-haiku-20240307-v1:0", true), body, kNow);
  REQUIRE(r);
  CHECK(r->url ==
        "http://127.0.0.1:9/prefix/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke-with-response-stream");
  CHECK(header(*r, "Accept") == "application/vnd.amazon.eventstream");
  CHECK_FALSE(json::parse(r->body).contains("stream"));
  CHECK(json::parse(r->body)["max_tokens"] == anthropic::kDefaultMaxTokens);

  CHECK(bedrock::bedrock_model_id("claude-2.1") == "anthropic.claude-v2:1");
  CHECK(bedrock::bedrock_model_id("claude-3-5-sonnet-20241022") == "anthropic.claude-3-5-sonnet-20241022-v2:0");
  CHECK(bedrock::bedrock_model_id("us.anthropic.claude-3-7-sonnet-20250219-v1:0") ==
        "us.anthropic.claude-3-7-sonnet-20250219-v1:0");

  auto ctx = context(channel, "claude-2.1", false);
  ctx.mode = RelayMode::embeddings;
  auto refused = bedrock::instance().build_request(ctx, body, "");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().kind == ErrorKind::invalid_request);
}

TEST_CASE("Bedrock credentials: AK|SK|REGION key, One API's config, and clear refusals", "[bedrock][adaptor]") {
  store::Channel c = bedrock_channel();
  auto k = bedrock::channel_credentials(c);
  REQUIRE(k);
  CHECK(k->access_key_id == kAk);
  CHECK(k->secret_access_key == kSk);
  CHECK(k->region == "us-west-2");

  c.key = "";
  c.config = R"({"region":"eu-central-1","ak":"AK2","sk":"SK2"})";
  k = bedrock::channel_credentials(c);
  REQUIRE(k);
  CHECK((k->access_key_id == "AK2" && k->secret_access_key == "SK2" && k->region == "eu-central-1"));

  c.key = "AK3|SK3";  // region from the config
  k = bedrock::channel_credentials(c);
  REQUIRE(k);
  CHECK((k->access_key_id == "AK3" && k->region == "eu-central-1"));

  c.config = "";
  CHECK_FALSE(bedrock::channel_credentials(c));  // no region anywhere
  c.key = "just-a-key";
  auto bad = bedrock::channel_credentials(c);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("AK|SK|REGION") != std::string::npos);
  CHECK(bad.error().message.find("just-a-key") == std::string::npos);
}

TEST_CASE("Event stream parser: headers of every type, payload and both CRCs", "[bedrock][eventstream]") {
  CHECK(bedrock::crc32("123456789") == 0xCBF43926u);  // the standard check value
  CHECK(bedrock::crc32("123456789") == test::bitwise_crc32("123456789"));
  const std::string frame = test::encode_event_stream_message({{":flag", 0, ""},
                                                               {"b", 2, std::string(1, '\x05')},
                                                               {"i", 4, std::string("\x00\x00\x01\x00", 4)},
                                                               {"t", 8, std::string(8, '\x01')},
                                                               {"raw", 6, std::string("\x00\x01", 2)},
                                                               {"id", 9, std::string(16, '\x02')},
                                                               {":message-type", 7, "event"},
                                                               {":event-type", 7, "chunk"}},
                                                              "payload bytes");
  bedrock::EventStreamParser p;
  std::vector<bedrock::EventStreamMessage> out;
  REQUIRE(p.feed(frame + frame, out));
  REQUIRE(out.size() == 2);
  CHECK(out[0].headers.size() == 2);
  CHECK(out[0].header(":message-type") == "event");
  CHECK(out[0].header(":event-type") == "chunk");
  CHECK(out[0].payload == "payload bytes");
  CHECK_FALSE(p.has_partial());

  std::string bad = frame;
  bad[bad.size() - 6] ^= 0x20;  // a payload byte: the message CRC no longer matches
  bedrock::EventStreamParser q;
  out.clear();
  CHECK_FALSE(q.feed(frame + bad + frame, out));
  CHECK(out.size() == 1);
  REQUIRE(q.error());
  CHECK(q.error()->find("CRC") != std::string::npos);
  CHECK_FALSE(q.feed(frame, out));  // nothing after a corruption is trusted
  CHECK(out.size() == 1);
}

TEST_CASE("Bedrock stream: Anthropic's events inside the event stream give exactly the Anthropic output",
          "[bedrock][eventstream]") {
  const std::string sse = read_fixture("stream_tool_use.sse");
  const std::string bytes = bedrock_stream_of(sse);

  std::string anthropic_out;
  auto reference = anthropic::make_stream_decoder(true, 1700000000);
  reference->feed(sse, anthropic_out);
  const StreamSummary want = reference->finish(anthropic_out);
  REQUIRE(want.done_seen);
  REQUIRE(want.usage);

  const Decoded whole = decode(bytes);
  CHECK(whole.out == anthropic_out);
  CHECK(whole.summary.done_seen);
  CHECK_FALSE(whole.summary.error);
  REQUIRE(whole.summary.usage);
  CHECK(whole.summary.usage->prompt_tokens == want.usage->prompt_tokens);
  CHECK(whole.summary.usage->completion_tokens == want.usage->completion_tokens);
  CHECK(whole.summary.usage->cached_prompt_tokens == want.usage->cached_prompt_tokens);
  CHECK(whole.summary.completion_text == want.completion_text);
  CHECK(whole.out.find("\"tool_calls\"") != std::string::npos);

  for (size_t cut = 1; cut < bytes.size(); ++cut) {
    const Decoded split = decode(bytes, {cut});
    if (split.out != whole.out || split.summary.usage->total_tokens != whole.summary.usage->total_tokens ||
        split.summary.error || !split.summary.done_seen)
      FAIL("output differs when the body is split at byte " << cut);
  }
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < bytes.size(); ++i) every_byte.push_back(i);
  const Decoded bytewise = decode(bytes, every_byte);
  CHECK(bytewise.out == whole.out);
  CHECK(bytewise.summary.usage->total_tokens == whole.summary.usage->total_tokens);
}

TEST_CASE("Bedrock stream: a corrupt frame ends with an error and no garbage", "[bedrock][eventstream]") {
  const std::string bytes = bedrock_stream_of(read_fixture("stream_tool_use.sse"));
  const Decoded whole = decode(bytes);
  for (size_t at : {size_t(2), size_t(9), bytes.size() / 2, bytes.size() - 2}) {
    std::string bad = bytes;
    bad[at] ^= 0x01;
    const Decoded d = decode(bad);
    REQUIRE(d.summary.error);
    CHECK(d.summary.error->code == "bad_event_stream");
    CHECK_FALSE(d.summary.done_seen);
    CHECK(whole.out.rfind(d.out, 0) == 0);  // only what came before the corruption, whole events
    CHECK(d.out.size() < whole.out.size());
  }
  // A body cut inside a message.
  const Decoded cut = decode(bytes.substr(0, bytes.size() - 5));
  REQUIRE(cut.summary.error);
  CHECK(cut.summary.error->code == "bad_event_stream");
}

TEST_CASE("Bedrock stream: an exception frame becomes StreamSummary.error", "[bedrock][eventstream]") {
  const std::string sse = read_fixture("stream_tool_use.sse");
  std::string bytes;
  std::istringstream in(sse);
  int events = 0;
  for (std::string line; std::getline(in, line) && events < 4;)
    if (line.rfind("data: ", 0) == 0) {
      bytes += test::bedrock_chunk(line.substr(6));
      ++events;
    }
  bytes += test::bedrock_exception("throttlingException", R"({"message":"Too many requests, please wait."})");
  const Decoded d = decode(bytes);
  REQUIRE(d.summary.error);
  CHECK(d.summary.error->status == 429);
  CHECK(d.summary.error->type == "ThrottlingException");
  CHECK(d.summary.error->message == "Too many requests, please wait.");
  CHECK(d.out.find("Okay") != std::string::npos);  // what came before is delivered
  CHECK_FALSE(d.summary.done_seen);
}

TEST_CASE("Bedrock errors: throttling retries, validation does not, a bad token disables", "[bedrock][adaptor]") {
  const Adaptor& a = bedrock::instance();
  Error e = a.parse_error(429, R"({"message":"Too many requests, please wait before trying again."})");
  CHECK(e.status == 429);
  CHECK(e.type == "ThrottlingException");
  CHECK(e.retryable);
  CHECK(e.message == "Too many requests, please wait before trying again.");
  CHECK_FALSE(should_disable_channel(e));

  e = a.parse_error(400, R"({"message":"Malformed input request: #: extraneous key [model] is not permitted"})");
  CHECK(e.status == 400);
  CHECK(e.type == "ValidationException");
  CHECK_FALSE(e.retryable);
  CHECK_FALSE(should_disable_channel(e));

  e = a.parse_error(403, R"({"message":"The security token included in the request is invalid."})");
  CHECK(e.status == 403);
  CHECK(e.type == "UnrecognizedClientException");
  CHECK(should_disable_channel(e));

  e = a.parse_error(403,
                    R"({"Message":"User: arn:aws:iam::1:user/x is not authorized to perform: bedrock:InvokeModel"})");
  CHECK(e.type == "AccessDeniedException");
  CHECK(e.message.find("not authorized") != std::string::npos);
  CHECK(should_disable_channel(e));

  e = a.parse_error(500, R"({"__type":"com.amazon#ModelErrorException:http://x","message":"boom"})");
  CHECK(e.retryable);
  CHECK(e.message == "boom");

  e = a.parse_error(503, "not json");
  CHECK(e.status == 503);
  CHECK(e.retryable);
  CHECK_FALSE(e.message.empty());
}

TEST_CASE("Bedrock answer: Anthropic's message becomes an OpenAI completion with usage", "[bedrock][adaptor]") {
  const auto channel = bedrock_channel();
  const std::string body = R"({"id":"msg_bdrk_01","type":"message","role":"assistant",
      "model":"claude-3-5-sonnet-20240620","content":[{"type":"text","text":"Hello!"}],
      "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,"output_tokens":4}})";
  auto p = bedrock::instance().parse_response(context(channel, "claude-3-5-sonnet-20240620", false), body);
  REQUIRE(p);
  const json j = json::parse(p->body);
  CHECK(j["choices"][0]["message"]["content"] == "Hello!");
  CHECK(j["choices"][0]["finish_reason"] == "stop");
  REQUIRE(p->usage);
  CHECK(p->usage->prompt_tokens == 12);
  CHECK(p->usage->completion_tokens == 4);

  auto err = bedrock::instance().parse_response(context(channel, "m", false), R"({"message":"bad"})");
  REQUIRE_FALSE(err);
  CHECK(err.error().message == "bad");
}
