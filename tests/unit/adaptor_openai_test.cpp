#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "billing/quota.hpp"
#include "relay/adaptor.hpp"
#include "relay/adaptors/common.hpp"
#include "relay/adaptors/openai/adaptor.hpp"

using namespace oneapi;
using namespace oneapi::relay;
using nlohmann::json;

namespace {
store::Channel channel(int type, std::string base) {
  store::Channel c;
  c.id = 7;
  c.type = type;
  c.key = "sk-upstream";
  c.base_url = std::move(base);
  return c;
}

const char* kTranscript =
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
    "\"content\":\"\"}}],\"usage\":null}\n\n"
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"}}],"
    "\"usage\":null}\n\n"
    ": keep-alive comment\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" "
    "world\"}}],\"usage\":null}\r\n\r\n"
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_"
    "tokens\":2,\"total_tokens\":11}}\n\n"
    "data: [DONE]\n\n";
}  // namespace

TEST_CASE("OpenAI request: URL, auth header, pass-through body", "[adaptor][openai]") {
  auto c = channel(1, "http://127.0.0.1:9/");
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.request_path = "/v1/chat/completions";
  ctx.upstream_model = "gpt-4o-mini";
  const std::string raw = R"({"model":"gpt-4o-mini","messages":[]})";
  auto r = adaptors::openai::instance().build_request(ctx, json::parse(raw), raw);
  REQUIRE(r);
  CHECK(r->url == "http://127.0.0.1:9/v1/chat/completions");
  CHECK(net::find_header(r->headers, "authorization") == "Bearer sk-upstream");
  CHECK(r->body == raw);  // nothing to convert: the client's bytes go through unchanged
}

TEST_CASE("OpenAI request: a base URL ending in /v1 is not doubled, type 50 drops /v1", "[adaptor][openai]") {
  auto c = channel(1, "https://api.deepseek.com/v1");
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.request_path = "/v1/chat/completions";
  const std::string raw = R"({"model":"m","messages":[]})";
  CHECK(adaptors::openai::instance().build_request(ctx, json::parse(raw), raw)->url ==
        "https://api.deepseek.com/v1/chat/completions");
  auto compat = channel(50, "https://example.test/api/paas/v4");
  ctx.channel = &compat;
  CHECK(adaptors::openai::instance().build_request(ctx, json::parse(raw), raw)->url ==
        "https://example.test/api/paas/v4/chat/completions");
}

TEST_CASE("OpenAI request: streams ask for usage, mapping rewrites the model", "[adaptor][openai]") {
  auto c = channel(1, "http://h");
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.request_path = "/v1/chat/completions";
  ctx.stream = true;
  ctx.model_mapped = true;
  ctx.upstream_model = "real-model";
  const std::string raw = R"({"model":"alias","stream":true,"messages":[]})";
  auto r = adaptors::openai::instance().build_request(ctx, json::parse(raw), raw);
  REQUIRE(r);
  auto body = json::parse(r->body);
  CHECK(body["model"] == "real-model");
  CHECK(body["stream_options"]["include_usage"] == true);
  CHECK(net::find_header(r->headers, "Accept") == "text/event-stream");
}

TEST_CASE("OpenAI stream decoder is incremental at every byte boundary", "[adaptor][openai]") {
  const std::string t = kTranscript;
  AdaptorContext ctx;
  ctx.client_wants_usage = false;
  auto whole = adaptors::openai::instance().new_stream_decoder(ctx);
  std::string expected;
  whole->feed(t, expected);
  auto expected_summary = whole->finish(expected);
  REQUIRE(expected_summary.usage);
  CHECK(expected_summary.usage->prompt_tokens == 9);
  CHECK(expected_summary.usage->completion_tokens == 2);
  CHECK(expected_summary.completion_text == "Hello world");
  CHECK(expected_summary.done_seen);
  // The usage chunk is dropped (client did not ask), [DONE] is left for the relay to send.
  CHECK(expected.find("usage\":{") == std::string::npos);
  CHECK(expected.find("[DONE]") == std::string::npos);
  CHECK(expected.find("Hello") != std::string::npos);

  for (size_t split = 1; split < t.size(); ++split) {
    auto d = adaptors::openai::instance().new_stream_decoder(ctx);
    std::string out;
    d->feed(std::string_view(t).substr(0, split), out);
    d->feed(std::string_view(t).substr(split), out);
    auto s = d->finish(out);
    REQUIRE(out == expected);
    REQUIRE(s.completion_text == "Hello world");
    REQUIRE(s.usage);
    REQUIRE(s.done_seen);
  }
}

TEST_CASE("OpenAI stream decoder passes the usage chunk on when the client asked", "[adaptor][openai]") {
  AdaptorContext ctx;
  ctx.client_wants_usage = true;
  auto d = adaptors::openai::instance().new_stream_decoder(ctx);
  std::string out;
  d->feed(kTranscript, out);
  d->finish(out);
  CHECK(out.find("\"prompt_tokens\":9") != std::string::npos);
}

TEST_CASE("OpenAI non-stream response: usage and text", "[adaptor][openai]") {
  AdaptorContext ctx;
  std::string body =
      R"({"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hi there"}}],"usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}})";
  auto p = adaptors::openai::instance().parse_response(ctx, body);
  REQUIRE(p);
  REQUIRE(p->usage);
  CHECK(p->usage->prompt_tokens == 5);
  CHECK(p->usage->completion_tokens == 3);
  CHECK(p->completion_text.empty());  // the usage counts: the text is not read
  CHECK(p->body == body);
  CHECK_FALSE(adaptors::openai::instance().parse_response(ctx, "<html>"));

  ctx.want_text = true;  // a channel test shows it
  auto shown = adaptors::openai::instance().parse_response(ctx, body);
  REQUIRE(shown);
  CHECK(shown->completion_text == "Hi there");

  ctx.want_text = false;  // no usage, or usage of nothing: the text is read to be counted
  for (const char* usage : {"", R"(,"usage":null)", R"(,"usage":{"prompt_tokens":0,"completion_tokens":0})"}) {
    INFO(usage);
    auto counted = adaptors::openai::instance().parse_response(
        ctx, std::string(R"({"choices":[{"message":{"content":"Hi there"}}])") + usage + "}");
    REQUIRE(counted);
    CHECK(counted->completion_text == "Hi there");
  }
}

TEST_CASE("upstream errors: message, code and retry rule", "[adaptor][openai]") {
  auto e = adaptors::openai::parse_upstream_error(
      401,
      R"({"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}})");
  CHECK(e.message == "Incorrect API key provided");
  CHECK(e.code == "invalid_api_key");
  CHECK(e.type == "invalid_request_error");
  CHECK(oneapi::error_status(e) == 401);
  CHECK(e.retryable);  // One API retries everything but 400 and 2xx
  CHECK(adaptors::openai::parse_upstream_error(400, "{}").retryable == false);
  CHECK(adaptors::openai::parse_upstream_error(429, "{}").retryable);
  CHECK(adaptors::openai::parse_upstream_error(503, "").message == "bad response status code 503");
  CHECK(adaptors::openai::parse_upstream_error(500, R"({"msg":"busy"})").message == "busy");
}

TEST_CASE("every registered channel type resolves to an adaptor", "[adaptor]") {
  for (int type : {1, 2, 8, 20, 25, 28, 29, 36, 44, 45, 50}) {
    INFO("type " << type);
    CHECK(adaptor_for(type) != nullptr);
  }
  CHECK(adaptor_for(9999) == nullptr);
  CHECK(default_base_url(1) == "https://api.openai.com");
  CHECK(default_base_url(36) == "https://api.deepseek.com");
}

TEST_CASE("OpenAI answers: every kind of generated text, cached tokens, odd chunks", "[adaptor][openai]") {
  AdaptorContext ctx;
  ctx.want_text = true;
  const std::string body =
      R"({"choices":[{"text":"A\u00e9"},{"message":{"content":"B\n","reasoning_content":"C",)"
      R"("tool_calls":[{"function":{"name":"f","arguments":"{\"x\":1}"}},{"type":"x"}]}},7],)"
      R"("usage":{"prompt_tokens":10,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":3}}})";
  auto p = adaptors::openai::instance().parse_response(ctx, body);
  REQUIRE(p);
  CHECK(p->completion_text ==
        "A\xc3\xa9"
        "B\nCf{\"x\":1}");
  REQUIRE(p->usage);
  CHECK(p->usage->total_tokens == 14);  // missing: prompt + completion
  CHECK(p->usage->cached_prompt_tokens == 3);
  auto deepseek = adaptors::openai::instance().parse_response(
      ctx, R"({"choices":[],"usage":{"prompt_tokens":10,"completion_tokens":1,"prompt_cache_hit_tokens":99}})");
  REQUIRE(deepseek);
  CHECK(deepseek->usage->cached_prompt_tokens == 10);  // never more than the prompt
  auto no_usage = adaptors::openai::instance().parse_response(ctx, R"({"choices":[],"usage":null})");
  REQUIRE(no_usage);
  CHECK_FALSE(no_usage->usage);
  for (const char* bad : {"", "[]", R"({"choices":[})", R"({"a":1} {)"})
    CHECK_FALSE(adaptors::openai::instance().parse_response(ctx, bad));

  ctx.client_wants_usage = false;
  auto d = adaptors::openai::instance().new_stream_decoder(ctx);
  std::string out;
  d->feed("data: not json\n\n", out);                                                        // passed on unchanged
  d->feed("data: {\"choices\":[]}\n\n", out);                                                // empty: dropped
  d->feed("data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}\n\n", out);  // passed on
  CHECK(out == "data: not json\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"x\"}}],\"usage\":null}\n\n");
  out.clear();
  // Usage riding on the last content chunk, which the client did not ask for: the chunk goes on
  // without it. A finish reason and no [DONE] still ends the stream complete.
  d->feed(
      R"(data: {"choices":[{"delta":{"content":"y"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":2}})"
      "\n\n",
      out);
  auto s = d->finish(out);
  CHECK(out.find("usage") == std::string::npos);
  CHECK(out.find("\"finish_reason\":\"stop\"") != std::string::npos);
  CHECK(s.done_seen);
  CHECK(s.completion_text == "xy");
  REQUIRE(s.usage);
  CHECK(s.usage->completion_tokens == 2);
}

TEST_CASE("OpenAI request: a stream's include_usage is added to the client's bytes, or merged", "[adaptor][openai]") {
  auto c = channel(1, "http://h");
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.request_path = "/v1/chat/completions";
  ctx.stream = true;
  const std::string raw = "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"}\"}]} \n";
  auto r = adaptors::openai::instance().build_request(ctx, json::parse(raw), raw);
  REQUIRE(r);
  CHECK(r->body.starts_with(raw.substr(0, raw.find_last_of('}'))));  // the client's bytes, in order
  auto body = json::parse(r->body);
  CHECK(body["stream_options"]["include_usage"] == true);
  CHECK(body["messages"][0]["content"] == "}");
  CHECK(body.size() == 4);
  // Options of its own: merged in the document, the client's other options kept.
  const std::string with_options = R"({"model":"m","stream":true,"stream_options":{"include_usage":false,"x":1}})";
  auto merged =
      json::parse(adaptors::openai::instance().build_request(ctx, json::parse(with_options), with_options)->body);
  CHECK(merged["stream_options"]["include_usage"] == true);
  CHECK(merged["stream_options"]["x"] == 1);
}

TEST_CASE("OpenAI answers: absurd token counts are held at a bound, never a negative bill", "[adaptor][openai]") {
  AdaptorContext ctx;
  auto p = adaptors::openai::instance().parse_response(
      ctx,
      R"({"choices":[],"usage":{"prompt_tokens":1e300,"completion_tokens":99999999999999999999,"total_tokens":-5}})");
  REQUIRE(p);
  REQUIRE(p->usage);
  CHECK(p->usage->prompt_tokens == 1'000'000'000'000);
  CHECK(p->usage->completion_tokens == 1'000'000'000'000);
  CHECK(p->usage->total_tokens == 0);
  billing::Price price;
  price.model_ratio = 15;
  price.completion_ratio = 4;
  CHECK(billing::quota_for_usage(price, p->usage->prompt_tokens, p->usage->completion_tokens, 0) > 0);
  // The same bound for the adaptors that read usage from a document (Anthropic, Gemini, Bedrock).
  const auto doc = json::parse(R"({"a":1e300,"b":-3,"c":"7","d":12.9})");
  CHECK(adaptors::count_of(doc, "a") == 1'000'000'000'000);
  CHECK(adaptors::count_of(doc, "b") == 0);
  CHECK(adaptors::count_of(doc, "c") == 0);
  CHECK(adaptors::count_of(doc, "d") == 12);
  CHECK(billing::quota_for_usage(price, 4'000'000'000'000'000'000, 4'000'000'000'000'000'000, 0) ==
        9'000'000'000'000'000'000);
}
