// The Anthropic adaptor: OpenAI chat requests to /v1/messages and Anthropic answers, streams and
// errors back to OpenAI's shapes. Fixtures follow Anthropic's documented wire format.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "relay/adaptor.hpp"
#include "relay/adaptors/anthropic/adaptor.hpp"
#include "relay/channel_health.hpp"

using namespace oneapi;
using namespace oneapi::relay;
using nlohmann::json;
namespace anthropic = oneapi::relay::adaptors::anthropic;

namespace {

store::Channel anthropic_channel(std::string base_url = {}) {
  store::Channel c;
  c.id = 3;
  c.type = 14;
  c.key = "sk-ant-channel-key";
  c.base_url = std::move(base_url);
  return c;
}

json convert(const std::string& openai_body, const std::string& model = "claude-3-5-sonnet-20241022",
             bool stream = false) {
  auto r = anthropic::convert_request(json::parse(openai_body), model, stream);
  REQUIRE(r);
  return *r;
}

std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(ONEAPI_SOURCE_DIR) + "/tests/data/anthropic/" + name, std::ios::binary);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The JSON payloads of the "data: " lines of client-bound SSE bytes.
std::vector<json> chunks_of(const std::string& sse) {
  std::vector<json> out;
  std::istringstream in(sse);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("data: ", 0) == 0) out.push_back(json::parse(line.substr(6)));
  return out;
}

StreamSummary decode(const std::string& bytes, std::string& out, bool wants_usage = false) {
  auto d = anthropic::make_stream_decoder(wants_usage, 1700000000);
  d->feed(bytes, out);
  return d->finish(out);
}

std::string sse(const std::string& event, const std::string& data) {
  return "event: " + event + "\ndata: " + data + "\n\n";
}

}  // namespace

TEST_CASE("Anthropic request: URL, headers, model, max_tokens default", "[adaptor][anthropic]") {
  auto c = anthropic_channel();
  AdaptorContext ctx;
  ctx.channel = &c;
  ctx.request_path = "/v1/chat/completions";
  ctx.upstream_model = "claude-3-5-haiku-20241022";  // after the channel's mapping
  ctx.model_mapped = true;
  const std::string raw = R"({"model":"claude-alias","messages":[{"role":"user","content":"Hi"}]})";
  auto r = anthropic::instance().build_request(ctx, json::parse(raw), raw);
  REQUIRE(r);
  CHECK(r->url == "https://api.anthropic.com/v1/messages");
  CHECK(net::find_header(r->headers, "x-api-key") == "sk-ant-channel-key");
  CHECK(net::find_header(r->headers, "anthropic-version") == "2023-06-01");
  CHECK(net::find_header(r->headers, "content-type") == "application/json");
  CHECK(net::find_header(r->headers, "authorization").empty());  // Anthropic does not take Bearer keys
  auto body = json::parse(r->body);
  CHECK(body["model"] == "claude-3-5-haiku-20241022");
  CHECK(body["max_tokens"] == anthropic::kDefaultMaxTokens);
  CHECK(body["messages"] == json::parse(R"([{"role":"user","content":[{"type":"text","text":"Hi"}]}])"));
  CHECK_FALSE(body.contains("stream"));

  // A base URL with or without /v1 and trailing slashes.
  for (const char* base : {"http://127.0.0.1:9", "http://127.0.0.1:9/", "http://127.0.0.1:9/v1/"}) {
    auto other = anthropic_channel(base);
    ctx.channel = &other;
    CHECK(anthropic::instance().build_request(ctx, json::parse(raw), raw)->url == "http://127.0.0.1:9/v1/messages");
  }
}

TEST_CASE("Anthropic request: system, sampling, stop, max_tokens, stream", "[adaptor][anthropic]") {
  auto body = convert(R"({"model":"c","max_tokens":300,"temperature":0.2,"top_p":0.9,"stop":"END","user":"u-1",
    "messages":[{"role":"system","content":"Be brief."},
                {"role":"developer","content":[{"type":"text","text":"Answer in French."}]},
                {"role":"user","content":"Bonjour"}]})",
                      "claude-3-haiku-20240307", true);
  CHECK(body["system"] == "Be brief.\n\nAnswer in French.");
  CHECK(body["max_tokens"] == 300);
  CHECK(body["temperature"] == 0.2);
  CHECK(body["top_p"] == 0.9);
  CHECK(body["stop_sequences"] == json::array({"END"}));
  CHECK(body["stream"] == true);
  CHECK(body["metadata"]["user_id"] == "u-1");
  REQUIRE(body["messages"].size() == 1);  // system messages leave the list
  CHECK(body["messages"][0]["role"] == "user");

  auto newer = convert(R"({"model":"c","max_completion_tokens":77,"stop":["a","b"],
    "messages":[{"role":"user","content":"x"}]})");
  CHECK(newer["max_tokens"] == 77);
  CHECK(newer["stop_sequences"] == json::array({"a", "b"}));
  CHECK_FALSE(newer.contains("system"));
  CHECK(convert(R"({"model":"c","max_tokens":0,"messages":[]})")["max_tokens"] == anthropic::kDefaultMaxTokens);
}

TEST_CASE("Anthropic request: images as base64 and URL sources", "[adaptor][anthropic]") {
  auto body = convert(R"({"model":"c","messages":[{"role":"user","content":[
    {"type":"text","text":"What is in these?"},
    {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
    {"type":"image_url","image_url":{"url":"https://example.test/cat.jpg","detail":"low"}}]}]})");
  const auto& content = body["messages"][0]["content"];
  REQUIRE(content.size() == 3);
  CHECK(content[0] == json::parse(R"({"type":"text","text":"What is in these?"})"));
  CHECK(content[1] ==
        json::parse(R"({"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}})"));
  CHECK(content[2] == json::parse(R"({"type":"image","source":{"type":"url","url":"https://example.test/cat.jpg"}})"));

  auto bad = anthropic::convert_request(
      json::parse(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x"}}]}]})"),
      "c", false);
  REQUIRE_FALSE(bad);
  CHECK(error_status(bad.error()) == 400);
  auto audio = anthropic::convert_request(
      json::parse(R"({"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]})"), "c", false);
  REQUIRE_FALSE(audio);
  CHECK(audio.error().message.find("input_audio") != std::string::npos);
}

TEST_CASE("Anthropic request: tools, tool_choice, tool calls and tool results", "[adaptor][anthropic]") {
  auto body = convert(R"({"model":"c","tool_choice":"required","parallel_tool_calls":false,
    "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather at a place",
              "parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}},
             {"type":"function","function":{"name":"now"}}],
    "messages":[
      {"role":"user","content":"Weather in Paris and London, and the time?"},
      {"role":"assistant","content":"Let me look.","tool_calls":[
        {"id":"toolu_1","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"Paris\"}"}},
        {"id":"toolu_2","type":"function","function":{"name":"get_weather","arguments":"{\"location\":\"London\"}"}}]},
      {"role":"tool","tool_call_id":"toolu_1","content":"18C"},
      {"role":"tool","tool_call_id":"toolu_2","content":[{"type":"text","text":"12C"}]},
      {"role":"user","content":"Thanks"},
      {"role":"assistant","content":null,"tool_calls":[
        {"id":"toolu_3","type":"function","function":{"name":"now","arguments":""}}]}]})");
  CHECK(body["tools"] == json::parse(R"([
    {"name":"get_weather","description":"Weather at a place",
     "input_schema":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}},
    {"name":"now","input_schema":{"type":"object","properties":{}}}])"));
  CHECK(body["tool_choice"] == json::parse(R"({"type":"any","disable_parallel_tool_use":true})"));
  const auto& m = body["messages"];
  REQUIRE(m.size() == 4);  // the two tool results and "Thanks" merge into one user turn
  CHECK(m[1] == json::parse(R"({"role":"assistant","content":[
    {"type":"text","text":"Let me look."},
    {"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"location":"Paris"}},
    {"type":"tool_use","id":"toolu_2","name":"get_weather","input":{"location":"London"}}]})"));
  CHECK(m[2] == json::parse(R"({"role":"user","content":[
    {"type":"tool_result","tool_use_id":"toolu_1","content":"18C"},
    {"type":"tool_result","tool_use_id":"toolu_2","content":"12C"},
    {"type":"text","text":"Thanks"}]})"));
  CHECK(m[3] == json::parse(R"({"role":"assistant","content":[
    {"type":"tool_use","id":"toolu_3","name":"now","input":{}}]})"));

  auto named = convert(R"({"model":"c","tools":[{"type":"function","function":{"name":"f"}}],
    "tool_choice":{"type":"function","function":{"name":"f"}},"messages":[]})");
  CHECK(named["tool_choice"] == json::parse(R"({"type":"tool","name":"f"})"));
  CHECK(convert(R"({"model":"c","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none",
    "messages":[]})")["tool_choice"] == json::parse(R"({"type":"none"})"));
  CHECK_FALSE(convert(R"({"model":"c","messages":[]})").contains("tools"));

  // Consecutive user messages merge too: Anthropic requires alternating roles.
  auto merged = convert(R"({"model":"c","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]})");
  CHECK(merged["messages"] ==
        json::parse(R"([{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}])"));

  auto broken = anthropic::convert_request(json::parse(R"({"messages":[{"role":"assistant","tool_calls":[
    {"id":"t","type":"function","function":{"name":"f","arguments":"not json"}}]}]})"),
                                           "c", false);
  CHECK_FALSE(broken);
}

TEST_CASE("Anthropic channels refuse embeddings and completions with a clear 400", "[adaptor][anthropic]") {
  auto c = anthropic_channel();
  for (RelayMode mode : {RelayMode::embeddings, RelayMode::completions}) {
    AdaptorContext ctx;
    ctx.mode = mode;
    ctx.channel = &c;
    ctx.upstream_model = "claude-3-haiku-20240307";
    const std::string raw = R"({"model":"claude-3-haiku-20240307","input":"x","prompt":"x"})";
    auto r = anthropic::instance().build_request(ctx, json::parse(raw), raw);
    REQUIRE_FALSE(r);
    CHECK(error_status(r.error()) == 400);
    CHECK_FALSE(r.error().retryable);
    CHECK(r.error().message.find("not supported by Anthropic channels") != std::string::npos);
    auto client_json = json::parse(to_openai_error_json(r.error()));
    CHECK(client_json["error"]["type"] == "invalid_request_error");
  }
}

TEST_CASE("Anthropic non-stream response: text, tool calls, finish reason, usage with cache", "[adaptor][anthropic]") {
  AdaptorContext ctx;
  const std::string body = R"({"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant",
    "model":"claude-3-5-sonnet-20241022",
    "content":[{"type":"text","text":"I'll check."},
               {"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"location":"San Francisco, CA"}}],
    "stop_reason":"tool_use","stop_sequence":null,
    "usage":{"input_tokens":20,"cache_creation_input_tokens":30,"cache_read_input_tokens":1000,"output_tokens":55}})";
  auto p = anthropic::instance().parse_response(ctx, body);
  REQUIRE(p);
  REQUIRE(p->usage);
  CHECK(p->usage->prompt_tokens == 1050);
  CHECK(p->usage->completion_tokens == 55);
  CHECK(p->usage->total_tokens == 1105);
  CHECK(p->usage->cached_prompt_tokens == 1000);
  auto out = json::parse(p->body);
  CHECK(out["id"] == "chatcmpl-msg_01XFDUDYJgAACzvnptvVoYEL");
  CHECK(out["object"] == "chat.completion");
  CHECK(out["model"] == "claude-3-5-sonnet-20241022");
  CHECK(out["created"].get<int64_t>() > 1700000000);
  const auto& choice = out["choices"][0];
  CHECK(choice["finish_reason"] == "tool_calls");
  CHECK(choice["message"]["role"] == "assistant");
  CHECK(choice["message"]["content"] == "I'll check.");
  const auto& call = choice["message"]["tool_calls"][0];
  CHECK(call["id"] == "toolu_01A");
  CHECK(call["type"] == "function");
  CHECK(call["function"]["name"] == "get_weather");
  CHECK(json::parse(call["function"]["arguments"].get<std::string>()) == json{{"location", "San Francisco, CA"}});
  CHECK(out["usage"]["prompt_tokens"] == 1050);
  CHECK(out["usage"]["prompt_tokens_details"]["cached_tokens"] == 1000);

  const std::pair<const char*, const char*> reasons[] = {
      {"end_turn", "stop"}, {"stop_sequence", "stop"}, {"max_tokens", "length"}, {"tool_use", "tool_calls"}};
  for (auto [anthropic_reason, openai_reason] : reasons) {
    json msg = {{"id", "m"},
                {"type", "message"},
                {"content", {{{"type", "text"}, {"text", "x"}}}},
                {"stop_reason", anthropic_reason},
                {"usage", {{"input_tokens", 1}, {"output_tokens", 1}}}};
    auto r = anthropic::instance().parse_response(ctx, msg.dump());
    REQUIRE(r);
    CHECK(json::parse(r->body)["choices"][0]["finish_reason"] == openai_reason);
  }
  CHECK_FALSE(anthropic::instance().parse_response(ctx, "<html>"));
}

TEST_CASE("Anthropic errors: message, type, retry rule, channel health", "[adaptor][anthropic]") {
  const auto& a = anthropic::instance();
  auto overloaded =
      a.parse_error(529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  CHECK(overloaded.message == "Overloaded");
  CHECK(overloaded.type == "overloaded_error");
  CHECK(overloaded.code == "overloaded_error");
  CHECK(error_status(overloaded) == 529);
  CHECK(overloaded.retryable);
  CHECK(a.parse_error(429, R"({"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})").retryable);
  CHECK(a.parse_error(500, R"({"type":"error","error":{"type":"api_error","message":"boom"}})").retryable);
  auto invalid =
      a.parse_error(400, R"({"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: bad"}})");
  CHECK_FALSE(invalid.retryable);
  CHECK(invalid.message == "max_tokens: bad");
  auto client_json = json::parse(to_openai_error_json(invalid));
  CHECK(client_json["error"]["message"] == "max_tokens: bad");
  CHECK(client_json["error"]["type"] == "invalid_request_error");

  // One API's dead-key rule recognises Anthropic's answers.
  auto bad_key =
      a.parse_error(401, R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})");
  CHECK(should_disable_channel(bad_key));
  bad_key.status = 403;  // a proxy in front may answer differently: the type and message still count
  CHECK(should_disable_channel(bad_key));
  auto no_credit = a.parse_error(400, R"({"type":"error","error":{"type":"invalid_request_error",
    "message":"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."}})");
  CHECK(should_disable_channel(no_credit));
  CHECK_FALSE(should_disable_channel(overloaded));
  CHECK_FALSE(should_disable_channel(invalid));
}

TEST_CASE("Anthropic stream fixture decodes the same at every byte boundary", "[adaptor][anthropic][stream]") {
  const std::string t = read_fixture("stream_tool_use.sse");
  for (bool wants_usage : {true, false}) {
    INFO("client wants usage: " << wants_usage);
    std::string expected;
    const auto summary = decode(t, expected, wants_usage);
    REQUIRE(summary.done_seen);
    REQUIRE_FALSE(summary.error);
    REQUIRE(summary.usage);
    CHECK(summary.usage->prompt_tokens == 472 + 1800 + 200);
    CHECK(summary.usage->cached_prompt_tokens == 1800);
    CHECK(summary.usage->completion_tokens == 89);  // message_delta's cumulative count wins over message_start's
    CHECK(summary.usage->total_tokens == 472 + 1800 + 200 + 89);
    CHECK(expected.find("[DONE]") == std::string::npos);  // the relay sends it after settling
    CHECK(expected.find("ping") == std::string::npos);

    // What an OpenAI client reassembles from the chunks.
    std::string content, arguments, tool_id, tool_name, finish;
    std::optional<json> usage_chunk;
    for (const auto& c : chunks_of(expected)) {
      CHECK(c["object"] == "chat.completion.chunk");
      CHECK(c["id"] == "chatcmpl-msg_014p7gG3wDgGV9EUtLvnow3U");
      CHECK(c["model"] == "claude-3-5-sonnet-20241022");
      if (c["choices"].empty()) {
        usage_chunk = c["usage"];
        continue;
      }
      const auto& delta = c["choices"][0]["delta"];
      if (delta.contains("content")) content += delta["content"].get<std::string>();
      if (delta.contains("tool_calls")) {
        const auto& call = delta["tool_calls"][0];
        CHECK(call["index"] == 0);
        if (call.contains("id")) tool_id = call["id"];
        if (call["function"].contains("name")) tool_name = call["function"]["name"];
        arguments += call["function"]["arguments"].get<std::string>();
      }
      if (c["choices"][0]["finish_reason"].is_string()) finish = c["choices"][0]["finish_reason"];
    }
    CHECK(content == "Okay, let's check the weather for San Francisco, CA:");
    CHECK(tool_id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    CHECK(tool_name == "get_weather");
    CHECK(json::parse(arguments) == json{{"location", "San Francisco, CA"}, {"unit", "fahrenheit"}});
    CHECK(finish == "tool_calls");
    CHECK(usage_chunk.has_value() == wants_usage);
    if (usage_chunk) {
      CHECK((*usage_chunk)["prompt_tokens"] == summary.usage->prompt_tokens);
      CHECK((*usage_chunk)["completion_tokens"] == 89);
      CHECK((*usage_chunk)["prompt_tokens_details"]["cached_tokens"] == 1800);
    }

    for (size_t split = 0; split <= t.size(); ++split) {
      auto d = anthropic::make_stream_decoder(wants_usage, 1700000000);
      std::string out;
      d->feed(std::string_view(t).substr(0, split), out);
      d->feed(std::string_view(t).substr(split), out);
      auto s = d->finish(out);
      REQUIRE(out == expected);
      REQUIRE(s.done_seen);
      REQUIRE_FALSE(s.error);
      REQUIRE(s.usage);
      REQUIRE(s.usage->prompt_tokens == summary.usage->prompt_tokens);
      REQUIRE(s.usage->completion_tokens == summary.usage->completion_tokens);
      REQUIRE(s.usage->cached_prompt_tokens == summary.usage->cached_prompt_tokens);
      REQUIRE(s.completion_text == summary.completion_text);
    }
  }
}

TEST_CASE("Anthropic stream: an error event or a missing message_stop is not a clean end",
          "[adaptor][anthropic][stream]") {
  const std::string start = sse("message_start", R"({"type":"message_start","message":{"id":"msg_1","type":"message",)"
                                                 R"("role":"assistant","content":[],"model":"claude-3-haiku-20240307",)"
                                                 R"("usage":{"input_tokens":25,"output_tokens":1}}})");
  const std::string block = sse(
      "content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
  const std::string hello =
      sse("content_block_delta",
          R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}})");
  const std::string overloaded =
      sse("error", R"({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})");

  std::string out;
  auto mid = decode(start + block + hello + overloaded, out);
  CHECK_FALSE(mid.done_seen);
  REQUIRE(mid.error);
  CHECK(mid.error->message == "Overloaded");
  CHECK(error_status(*mid.error) == 529);
  REQUIRE(mid.usage);  // words were delivered: they are billed
  CHECK(mid.usage->prompt_tokens == 25);
  CHECK(out.find("Hello") != std::string::npos);

  out.clear();
  auto early = decode(start + overloaded, out);
  REQUIRE(early.error);
  CHECK_FALSE(early.usage);  // nothing delivered: nothing billed
  CHECK(early.completion_text.empty());

  out.clear();
  auto cut = decode(start + block + hello, out);
  CHECK_FALSE(cut.done_seen);
  REQUIRE(cut.error);
  CHECK(cut.error->code == "stream_incomplete");
}

TEST_CASE("channel type 14 is Anthropic", "[adaptor][anthropic]") {
  REQUIRE(adaptor_for(14) != nullptr);
  CHECK(adaptor_for(14)->name() == "anthropic");
  CHECK(default_base_url(14) == "https://api.anthropic.com");
}
