// The Gemini adaptor: OpenAI chat/embeddings requests to Gemini's REST format and back. Fixtures
// follow Google's documented generateContent / streamGenerateContent?alt=sse answers.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "relay/adaptor.hpp"
#include "relay/adaptors/gemini/adaptor.hpp"
#include "relay/channel_health.hpp"

using namespace oneapi;
using namespace oneapi::relay;
using nlohmann::json;

namespace {

const Adaptor& gemini() { return adaptors::gemini::instance(); }

store::Channel gemini_channel(std::string base = "") {
  store::Channel c;
  c.id = 3;
  c.type = 24;
  c.key = "AIza-test-key";
  c.base_url = std::move(base);
  return c;
}

AdaptorContext chat_ctx(const store::Channel& c, std::string model = "gemini-1.5-flash", bool stream = false) {
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.request_path = "/v1/chat/completions";
  ctx.upstream_model = std::move(model);
  ctx.stream = stream;
  return ctx;
}

json converted_body(const json& openai, const std::string& model = "gemini-1.5-flash") {
  auto c = gemini_channel();
  auto ctx = chat_ctx(c, model);
  auto r = gemini().build_request(ctx, openai, openai.dump());
  REQUIRE(r);
  return json::parse(r->body);
}

// A streamGenerateContent?alt=sse answer as Google sends it (CRLF framing, cumulative
// usageMetadata, the function call whole in one event, no terminal marker).
const char* kGeminiStream =
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Let me check \"}],\"role\": \"model\"},"
    "\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 31,\"candidatesTokenCount\": 3,"
    "\"totalTokenCount\": 34},\"modelVersion\": \"gemini-1.5-flash-002\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"the weather in Montr\xC3\xA9"
    "al \xE2\x98\x80\"}],\"role\": \"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 31,"
    "\"candidatesTokenCount\": 9,\"totalTokenCount\": 40},\"modelVersion\": \"gemini-1.5-flash-002\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": \"get_weather\","
    "\"args\": {\"location\": \"Montreal, QC\",\"unit\": \"celsius\"}}}],\"role\": \"model\"},"
    "\"finishReason\": \"STOP\",\"index\": 0,\"safetyRatings\": [{\"category\": \"HARM_CATEGORY_HARASSMENT\","
    "\"probability\": \"NEGLIGIBLE\"}]}],\"usageMetadata\": {\"promptTokenCount\": 31,"
    "\"candidatesTokenCount\": 17,\"totalTokenCount\": 48,\"cachedContentTokenCount\": 12},"
    "\"modelVersion\": \"gemini-1.5-flash-002\"}\r\n\r\n";

std::vector<json> data_events(const std::string& sse) {
  std::vector<json> out;
  size_t pos = 0;
  while ((pos = sse.find("data: ", pos)) != std::string::npos) {
    const size_t end = sse.find("\n\n", pos);
    out.push_back(json::parse(sse.substr(pos + 6, end - pos - 6)));
    pos = end;
  }
  return out;
}

}  // namespace

TEST_CASE("Gemini request: URL per mode and version, key only in a header", "[adaptor][gemini]") {
  auto c = gemini_channel();  // no base URL: the type's default
  auto ctx = chat_ctx(c, "gemini-1.5-pro");
  const json body = {{"model", "gemini-1.5-pro"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}};
  auto r = gemini().build_request(ctx, body, body.dump());
  REQUIRE(r);
  CHECK(r->url == "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-pro:generateContent");
  CHECK(net::find_header(r->headers, "x-goog-api-key") == "AIza-test-key");
  CHECK(net::find_header(r->headers, "authorization").empty());
  CHECK(r->url.find("AIza") == std::string::npos);

  ctx.stream = true;
  CHECK(gemini().build_request(ctx, body, body.dump())->url ==
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-pro:streamGenerateContent?alt=sse");

  // The channel's api_version (config JSON, else One API's old `other` column) wins.
  c.base_url = "http://127.0.0.1:9/";
  c.other = "v1alpha";
  CHECK(gemini().build_request(ctx, body, body.dump())->url ==
        "http://127.0.0.1:9/v1alpha/models/gemini-1.5-pro:streamGenerateContent?alt=sse");
  c.config = R"({"api_version":"v1"})";
  CHECK(adaptors::gemini::api_version_for(c, "gemini-1.5-pro") == "v1");
  c.config.clear();
  c.other.clear();
  // Outside One API's v1beta families: GEMINI_VERSION (unset in tests: v1beta).
  CHECK(adaptors::gemini::api_version_for(c, "gemini-2.5-flash") == "v1beta");
  CHECK(adaptors::gemini::api_version_for(c, "gemini-pro") == "v1beta");

  ctx.mode = RelayMode::completions;
  auto refused = gemini().build_request(ctx, body, body.dump());
  REQUIRE_FALSE(refused);
  CHECK(error_status(refused.error()) == 400);
}

TEST_CASE("Gemini request: roles, system_instruction, images and generationConfig", "[adaptor][gemini]") {
  const json openai = json::parse(R"({
    "model": "gemini-1.5-flash",
    "messages": [
      {"role": "system", "content": "You are terse."},
      {"role": "user", "content": [
        {"type": "text", "text": "What is in these?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.webp?size=large"}}]},
      {"role": "assistant", "content": "A cat."},
      {"role": "developer", "content": "Answer in French."},
      {"role": "user", "content": "Sure?"}],
    "temperature": 0.3, "top_p": 0.9, "max_tokens": 256, "stop": "END"
  })");
  const json g = converted_body(openai);
  REQUIRE(g["contents"].size() == 3);
  CHECK(g["contents"][0]["role"] == "user");
  CHECK(g["contents"][1]["role"] == "model");
  CHECK(g["contents"][1]["parts"][0]["text"] == "A cat.");
  CHECK(g["contents"][2]["role"] == "user");
  const json& parts = g["contents"][0]["parts"];
  REQUIRE(parts.size() == 3);
  CHECK(parts[0]["text"] == "What is in these?");
  CHECK(parts[1]["inline_data"]["mime_type"] == "image/png");
  CHECK(parts[1]["inline_data"]["data"] == "iVBORw0KGgo=");
  CHECK(parts[2]["file_data"]["file_uri"] == "https://example.com/cat.webp?size=large");
  CHECK(parts[2]["file_data"]["mime_type"] == "image/webp");
  // Every system or developer message goes to system_instruction, none into contents.
  REQUIRE(g["system_instruction"]["parts"].size() == 2);
  CHECK(g["system_instruction"]["parts"][0]["text"] == "You are terse.");
  CHECK(g["system_instruction"]["parts"][1]["text"] == "Answer in French.");
  CHECK(g["generationConfig"]["temperature"] == 0.3);
  CHECK(g["generationConfig"]["topP"] == 0.9);
  CHECK(g["generationConfig"]["maxOutputTokens"] == 256);
  CHECK(g["generationConfig"]["stopSequences"] == json::array({"END"}));
  // One API's safety settings: GEMINI_SAFETY_SETTING (default BLOCK_NONE) for each category.
  REQUIRE(g["safetySettings"].size() == 4);
  for (const auto& s : g["safetySettings"]) CHECK(s["threshold"] == "BLOCK_NONE");
  CHECK(g["safetySettings"][0]["category"] == "HARM_CATEGORY_HARASSMENT");
  CHECK(g["safetySettings"][3]["category"] == "HARM_CATEGORY_DANGEROUS_CONTENT");
  CHECK_FALSE(g.contains("tools"));

  const json bad_image = {
      {"model", "m"},
      {"messages",
       {{{"role", "user"}, {"content", {{{"type", "image_url"}, {"image_url", {{"url", "data:image/png,raw"}}}}}}}}}};
  auto c = gemini_channel();
  auto ctx = chat_ctx(c);
  auto refused = gemini().build_request(ctx, bad_image, bad_image.dump());
  REQUIRE_FALSE(refused);
  CHECK(error_status(refused.error()) == 400);
}

TEST_CASE("Gemini request: tools, tool calls and their answers", "[adaptor][gemini]") {
  const json openai = json::parse(R"({
    "model": "gemini-1.5-flash",
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather now",
      "parameters": {"type": "object", "additionalProperties": false,
        "properties": {"location": {"type": "string"}, "additionalProperties": {"type": "string"}},
        "required": ["location"]}}},
      {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}}],
    "tool_choice": "required",
    "messages": [
      {"role": "user", "content": "Weather and time in Paris?"},
      {"role": "assistant", "content": null, "tool_calls": [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}},
        {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]},
      {"role": "tool", "tool_call_id": "call_a", "content": "{\"temp_c\":21}"},
      {"role": "tool", "tool_call_id": "call_b", "content": "14:05"}]
  })");
  const json g = converted_body(openai);
  const json& decls = g["tools"][0]["function_declarations"];
  REQUIRE(decls.size() == 2);
  CHECK(decls[0]["name"] == "get_weather");
  CHECK(decls[0]["description"] == "Weather now");
  CHECK_FALSE(decls[0]["parameters"].contains("additionalProperties"));          // Gemini's schema refuses it
  CHECK(decls[0]["parameters"]["properties"].contains("additionalProperties"));  // a property so named stays
  CHECK(decls[0]["parameters"]["required"] == json::array({"location"}));
  CHECK_FALSE(decls[1].contains("parameters"));  // an OBJECT without properties is refused too
  CHECK(g["toolConfig"]["functionCallingConfig"]["mode"] == "ANY");

  REQUIRE(g["contents"].size() == 3);
  const json& model_turn = g["contents"][1];
  CHECK(model_turn["role"] == "model");
  REQUIRE(model_turn["parts"].size() == 2);
  CHECK(model_turn["parts"][0]["functionCall"]["name"] == "get_weather");
  CHECK(model_turn["parts"][0]["functionCall"]["args"]["location"] == "Paris");
  CHECK(model_turn["parts"][1]["functionCall"]["args"] == json::object());
  // Both answers go back in one user turn, named after the calls they answer.
  const json& answers = g["contents"][2];
  CHECK(answers["role"] == "user");
  REQUIRE(answers["parts"].size() == 2);
  CHECK(answers["parts"][0]["functionResponse"]["name"] == "get_weather");
  CHECK(answers["parts"][0]["functionResponse"]["response"]["temp_c"] == 21);
  CHECK(answers["parts"][1]["functionResponse"]["name"] == "get_time");
  CHECK(answers["parts"][1]["functionResponse"]["response"]["content"] == "14:05");

  json orphan = openai;
  orphan["messages"] = json::array({{{"role", "tool"}, {"tool_call_id", "nope"}, {"content", "x"}}});
  auto c = gemini_channel();
  auto ctx = chat_ctx(c);
  CHECK_FALSE(gemini().build_request(ctx, orphan, orphan.dump()));
}

TEST_CASE("Gemini response: text, function call, finish reasons and usage", "[adaptor][gemini]") {
  auto c = gemini_channel();
  auto ctx = chat_ctx(c, "gemini-1.5-flash");
  const std::string text_answer = R"({
    "candidates": [{"content": {"parts": [{"text": "Hello"}, {"text": " there"}], "role": "model"},
      "finishReason": "MAX_TOKENS", "index": 0}],
    "usageMetadata": {"promptTokenCount": 11, "candidatesTokenCount": 2, "totalTokenCount": 13,
      "cachedContentTokenCount": 4},
    "modelVersion": "gemini-1.5-flash-002"})";
  auto p = gemini().parse_response(ctx, text_answer);
  REQUIRE(p);
  const json out = json::parse(p->body);
  CHECK(out["object"] == "chat.completion");
  CHECK(out["model"] == "gemini-1.5-flash");
  CHECK(out["id"].get<std::string>().rfind("chatcmpl-", 0) == 0);
  CHECK(out["choices"][0]["message"]["role"] == "assistant");
  CHECK(out["choices"][0]["message"]["content"] == "Hello there");
  CHECK(out["choices"][0]["finish_reason"] == "length");
  CHECK(out["usage"]["prompt_tokens"] == 11);
  CHECK(out["usage"]["completion_tokens"] == 2);
  CHECK(out["usage"]["total_tokens"] == 13);
  CHECK(out["usage"]["prompt_tokens_details"]["cached_tokens"] == 4);
  REQUIRE(p->usage);
  CHECK(p->usage->prompt_tokens == 11);
  CHECK(p->usage->completion_tokens == 2);
  CHECK(p->usage->cached_prompt_tokens == 4);
  CHECK(p->completion_text == "Hello there");

  const std::string call_answer = R"({
    "candidates": [{"content": {"parts": [{"functionCall": {"name": "get_weather",
      "args": {"location": "Boston", "days": 2}}}], "role": "model"}, "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 20, "candidatesTokenCount": 8, "thoughtsTokenCount": 5,
      "totalTokenCount": 33}})";
  p = gemini().parse_response(ctx, call_answer);
  REQUIRE(p);
  const json call = json::parse(p->body)["choices"][0];
  CHECK(call["finish_reason"] == "tool_calls");
  CHECK(call["message"]["content"].is_null());
  REQUIRE(call["message"]["tool_calls"].size() == 1);
  const json& tc = call["message"]["tool_calls"][0];
  CHECK(tc["type"] == "function");
  CHECK(tc["id"].get<std::string>().rfind("call_", 0) == 0);
  CHECK(tc["function"]["name"] == "get_weather");
  REQUIRE(tc["function"]["arguments"].is_string());  // OpenAI's arguments are a JSON string
  CHECK(json::parse(tc["function"]["arguments"].get<std::string>()) == json({{"location", "Boston"}, {"days", 2}}));
  REQUIRE(p->usage);
  CHECK(p->usage->completion_tokens == 13);  // thinking is billed as output, as Google bills it
  CHECK(json::parse(p->body)["usage"]["completion_tokens_details"]["reasoning_tokens"] == 5);

  p = gemini().parse_response(
      ctx, R"({"candidates":[{"content":{"parts":[{"text":""}]},"finishReason":"SAFETY","index":0}]})");
  REQUIRE(p);
  CHECK(json::parse(p->body)["choices"][0]["finish_reason"] == "content_filter");
  CHECK_FALSE(p->usage);  // none reported: the relay counts locally

  p = gemini().parse_response(ctx, R"({"promptFeedback":{"blockReason":"SAFETY"}})");
  REQUIRE(p);
  CHECK(json::parse(p->body)["choices"][0]["finish_reason"] == "content_filter");
  CHECK_FALSE(gemini().parse_response(ctx, R"({"candidates":[]})"));
  CHECK_FALSE(gemini().parse_response(ctx, "<html>"));
}

TEST_CASE("Gemini errors: message, Google's reason, retry rule, dead-key detection", "[adaptor][gemini]") {
  const std::string bad_key = R"({
    "error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
      "status": "INVALID_ARGUMENT",
      "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
        "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}}]}})";
  Error e = gemini().parse_error(400, bad_key);
  CHECK(e.message == "API key not valid. Please pass a valid API key.");
  CHECK(e.code == "API_KEY_INVALID");
  CHECK(error_status(e) == 400);
  CHECK_FALSE(e.retryable);
  CHECK(should_disable_channel(e));  // One API's "api key not valid" rule

  e = gemini().parse_error(
      429, R"([{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}])");
  CHECK(e.message == "Resource has been exhausted");
  CHECK(e.code == "RESOURCE_EXHAUSTED");
  CHECK(e.retryable);
  CHECK_FALSE(should_disable_channel(e));
  CHECK(gemini()
            .parse_error(503, R"({"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}})")
            .retryable);
  CHECK_FALSE(
      gemini().parse_error(400, R"({"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}})").retryable);
}

TEST_CASE("Gemini stream decoder: chunks, tool call, finish, usage at every byte boundary", "[adaptor][gemini]") {
  const std::string t = kGeminiStream;
  auto c = gemini_channel();
  auto ctx = chat_ctx(c, "gemini-1.5-flash", true);
  ctx.client_wants_usage = true;
  auto whole = adaptors::gemini::new_stream_decoder(ctx, "fixed", 1700000000);
  std::string expected;
  whole->feed(t, expected);
  const StreamSummary expected_summary = whole->finish(expected);

  CHECK(expected.find("[DONE]") == std::string::npos);  // the relay sends it after settling
  const auto events = data_events(expected);
  REQUIRE(events.size() == 4);  // three answers and the usage chunk the client asked for
  for (const auto& ev : events) {
    CHECK(ev["id"] == "chatcmpl-fixed");
    CHECK(ev["object"] == "chat.completion.chunk");
    CHECK(ev["created"] == 1700000000);
    CHECK(ev["model"] == "gemini-1.5-flash");
  }
  CHECK(events[0]["choices"][0]["delta"]["role"] == "assistant");
  CHECK(events[0]["choices"][0]["delta"]["content"] == "Let me check ");
  CHECK(events[0]["choices"][0]["finish_reason"].is_null());
  CHECK_FALSE(events[1]["choices"][0]["delta"].contains("role"));
  CHECK(events[1]["choices"][0]["delta"]["content"] ==
        "the weather in Montr\xC3\xA9"
        "al \xE2\x98\x80");
  const json& call = events[2]["choices"][0]["delta"]["tool_calls"][0];
  CHECK(call["index"] == 0);
  CHECK(call["id"] == "call_fixed_0");
  CHECK(call["function"]["name"] == "get_weather");
  CHECK(json::parse(call["function"]["arguments"].get<std::string>())["location"] == "Montreal, QC");
  CHECK(events[2]["choices"][0]["finish_reason"] == "tool_calls");
  CHECK(events[3]["choices"].empty());
  CHECK(events[3]["usage"]["prompt_tokens"] == 31);
  CHECK(events[3]["usage"]["completion_tokens"] == 17);
  CHECK(events[3]["usage"]["total_tokens"] == 48);
  CHECK(events[3]["usage"]["prompt_tokens_details"]["cached_tokens"] == 12);

  REQUIRE(expected_summary.usage);  // the last, cumulative usageMetadata
  CHECK(expected_summary.usage->prompt_tokens == 31);
  CHECK(expected_summary.usage->completion_tokens == 17);
  CHECK(expected_summary.usage->cached_prompt_tokens == 12);
  CHECK(expected_summary.done_seen);
  CHECK(expected_summary.completion_text.find("Let me check the weather") == 0);
  CHECK(expected_summary.completion_text.find("get_weather") != std::string::npos);

  for (size_t split = 0; split <= t.size(); ++split) {
    auto d = adaptors::gemini::new_stream_decoder(ctx, "fixed", 1700000000);
    std::string out;
    d->feed(std::string_view(t).substr(0, split), out);
    d->feed(std::string_view(t).substr(split), out);
    const StreamSummary s = d->finish(out);
    INFO("split at byte " << split);
    REQUIRE(out == expected);
    REQUIRE(s.completion_text == expected_summary.completion_text);
    REQUIRE(s.usage);
    REQUIRE(s.usage->prompt_tokens == 31);
    REQUIRE(s.usage->completion_tokens == 17);
    REQUIRE(s.usage->total_tokens == 48);
    REQUIRE(s.usage->cached_prompt_tokens == 12);
    REQUIRE(s.done_seen);
  }

  // Without include_usage the usage chunk stays back; a stream cut before any finishReason is not done.
  ctx.client_wants_usage = false;
  auto quiet = adaptors::gemini::new_stream_decoder(ctx, "fixed", 1700000000);
  std::string out;
  quiet->feed(t.substr(0, t.find("data: ", 10)), out);
  const StreamSummary cut = quiet->finish(out);
  CHECK(data_events(out).size() == 1);
  CHECK(out.find("usage") == std::string::npos);
  CHECK_FALSE(cut.done_seen);
  REQUIRE(cut.usage);
  CHECK(cut.usage->completion_tokens == 3);
}

TEST_CASE("Gemini embeddings: batchEmbedContents both ways", "[adaptor][gemini]") {
  auto c = gemini_channel("http://127.0.0.1:9");
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.mode = RelayMode::embeddings;
  ctx.request_path = "/v1/embeddings";
  ctx.upstream_model = "text-embedding-004";
  ctx.local_prompt_tokens = 7;
  const json body = {{"model", "text-embedding-004"}, {"input", {"first text", "second text"}}, {"dimensions", 8}};
  auto r = gemini().build_request(ctx, body, body.dump());
  REQUIRE(r);
  CHECK(r->url == "http://127.0.0.1:9/v1beta/models/text-embedding-004:batchEmbedContents");
  const json g = json::parse(r->body);
  REQUIRE(g["requests"].size() == 2);
  CHECK(g["requests"][0]["model"] == "models/text-embedding-004");
  CHECK(g["requests"][1]["content"]["parts"][0]["text"] == "second text");
  CHECK(g["requests"][0]["outputDimensionality"] == 8);

  const json one = {{"model", "text-embedding-004"}, {"input", "just one"}};
  CHECK(json::parse(gemini().build_request(ctx, one, one.dump())->body)["requests"].size() == 1);
  const json tokens = {{"model", "text-embedding-004"}, {"input", {1, 2, 3}}};
  CHECK_FALSE(gemini().build_request(ctx, tokens, tokens.dump()));

  auto p = gemini().parse_response(ctx, R"({"embeddings":[{"values":[0.1,-0.2]},{"values":[0.3,0.4]}]})");
  REQUIRE(p);
  const json out = json::parse(p->body);
  CHECK(out["object"] == "list");
  REQUIRE(out["data"].size() == 2);
  CHECK(out["data"][1]["object"] == "embedding");
  CHECK(out["data"][1]["index"] == 1);
  CHECK(out["data"][1]["embedding"] == json::array({0.3, 0.4}));
  // Gemini reports no usage for embeddings: the gateway's own count stands in.
  CHECK(out["usage"]["prompt_tokens"] == 7);
  REQUIRE(p->usage);
  CHECK(p->usage->prompt_tokens == 7);
  CHECK(p->usage->completion_tokens == 0);
}

TEST_CASE("Gemini and Azure are registered under One API's type numbers", "[adaptor][gemini][azure]") {
  REQUIRE(adaptor_for(24) != nullptr);
  CHECK(adaptor_for(24)->name() == "google gemini");
  CHECK(default_base_url(24) == "https://generativelanguage.googleapis.com");
  REQUIRE(adaptor_for(3) != nullptr);
  CHECK(adaptor_for(3)->name() == "azure");
  CHECK(default_base_url(3).empty());  // each Azure resource has its own endpoint
}

TEST_CASE("Gemini stream: an error inside the stream is reported to the relay, not passed off as text",
          "[adaptor][gemini]") {
  auto c = gemini_channel();
  auto ctx = chat_ctx(c, "gemini-1.5-flash", true);
  auto d = adaptors::gemini::new_stream_decoder(ctx, "fixed", 1700000000);
  std::string out;
  d->feed("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"}}]}\r\n\r\n", out);
  d->feed(
      "data: {\"error\":{\"code\":503,\"message\":\"The model is overloaded.\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n",
      out);
  auto summary = d->finish(out);
  REQUIRE(summary.error.has_value());
  CHECK(summary.error->message == "The model is overloaded.");
  CHECK_FALSE(summary.done_seen);
  CHECK(summary.completion_text == "Hi");
  CHECK(out.find("overloaded") == std::string::npos);  // the relay writes the error event itself
}
