// The Claude Messages client format: Claude requests to chat completions, chat answers, streams and
// errors back to Claude's shapes (Anthropic's documented wire format), and the Anthropic adaptor's
// pass-through of Claude clients.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <vector>

#include "net/sse.hpp"
#include "relay/adaptor.hpp"
#include "relay/adaptors/anthropic/adaptor.hpp"
#include "relay/formats/claude_messages.hpp"
#include "support/result_check.hpp"

using namespace oneapi;
using namespace oneapi::relay;
using namespace oneapi::test;
using nlohmann::json;
namespace claude = oneapi::relay::formats::claude;

namespace {

json to_chat(const std::string& claude_body) { return ok(claude::bridge().to_chat_request(json::parse(claude_body))); }

// SSE text as (event name, data JSON) pairs, in order.
std::vector<std::pair<std::string, json>> events_of(const std::string& sse) {
  net::SseDecoder decoder;
  std::vector<net::SseEvent> raw;
  decoder.feed(sse, raw);
  std::vector<std::pair<std::string, json>> out;
  for (const auto& e : raw) out.emplace_back(e.event, json::parse(e.data));
  return out;
}

std::vector<std::string> names_of(const std::vector<std::pair<std::string, json>>& events) {
  std::vector<std::string> names;
  for (const auto& [name, data] : events) {
    CHECK(data["type"] == name);  // Anthropic repeats the event name as the data's type
    names.push_back(name);
  }
  return names;
}

std::string chunk(const json& delta, const json& finish_reason = nullptr) {
  json c = {{"id", "chatcmpl-abc123"},
            {"object", "chat.completion.chunk"},
            {"created", 1},
            {"model", "gpt-4o-mini"},
            {"choices", json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}}})}};
  return net::sse_encode(c.dump());
}

}  // namespace

TEST_CASE("Claude request: system blocks, text, images, stop sequences, sampling, stream, user", "[claude-inbound]") {
  json chat = to_chat(R"({
    "model": "claude-sonnet-4-5", "max_tokens": 1024,
    "system": [{"type":"text","text":"You are Claude Code."},{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
    "messages": [
      {"role":"user","content":"Hello"},
      {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"x"},{"type":"text","text":"Hi!"}]},
      {"role":"user","content":[{"type":"text","text":"What is this?"},
        {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
        {"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}]}],
    "stop_sequences": ["\n\nHuman:"], "temperature": 0.5, "top_p": 0.9, "top_k": 5,
    "stream": true, "metadata": {"user_id": "user-42"}})");
  CHECK(chat["model"] == "claude-sonnet-4-5");
  CHECK(chat["max_tokens"] == 1024);
  CHECK(chat["stop"] == json::array({"\n\nHuman:"}));
  CHECK(chat["temperature"] == 0.5);
  CHECK(chat["top_p"] == 0.9);
  CHECK_FALSE(chat.contains("top_k"));
  CHECK(chat["stream"] == true);
  CHECK(chat["stream_options"]["include_usage"] == true);
  CHECK(chat["user"] == "user-42");
  CHECK(chat["messages"] == json::parse(R"([
    {"role":"system","content":"You are Claude Code.\nBe brief."},
    {"role":"user","content":"Hello"},
    {"role":"assistant","content":"Hi!"},
    {"role":"user","content":[{"type":"text","text":"What is this?"},
      {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},
      {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}])"));
}

TEST_CASE("Claude request: tools, tool_choice, tool_use and tool_result turns", "[claude-inbound]") {
  json chat = to_chat(R"({
    "model": "m", "max_tokens": 100,
    "tools": [{"name":"get_weather","description":"Weather of a city",
               "input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},
              {"type":"web_search_20250305","name":"web_search","max_uses":3}],
    "tool_choice": {"type":"tool","name":"get_weather","disable_parallel_tool_use":true},
    "messages": [
      {"role":"user","content":"Weather in Paris and Rome?"},
      {"role":"assistant","content":[{"type":"text","text":"Checking."},
        {"type":"tool_use","id":"toolu_01","name":"get_weather","input":{"city":"Paris"}},
        {"type":"tool_use","id":"toolu_02","name":"get_weather","input":{"city":"Rome"}}]},
      {"role":"user","content":[
        {"type":"tool_result","tool_use_id":"toolu_01","content":"18C"},
        {"type":"tool_result","tool_use_id":"toolu_02","is_error":true,"content":[{"type":"text","text":"timeout"}]},
        {"type":"text","text":"Summarise."}]}]})");
  CHECK(chat["tools"] == json::parse(R"([{"type":"function","function":{"name":"get_weather",
    "description":"Weather of a city",
    "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])"));
  CHECK(chat["tool_choice"] == json::parse(R"({"type":"function","function":{"name":"get_weather"}})"));
  CHECK(chat["parallel_tool_calls"] == false);
  const json& m = chat["messages"];
  REQUIRE(m.size() == 5);
  CHECK(m[1]["role"] == "assistant");
  CHECK(m[1]["content"] == "Checking.");
  REQUIRE(m[1]["tool_calls"].size() == 2);
  CHECK(m[1]["tool_calls"][0]["id"] == "toolu_01");
  CHECK(m[1]["tool_calls"][0]["type"] == "function");
  CHECK(m[1]["tool_calls"][0]["function"]["name"] == "get_weather");
  CHECK(json::parse(m[1]["tool_calls"][1]["function"]["arguments"].get<std::string>()) == json{{"city", "Rome"}});
  CHECK(m[2] == json::parse(R"({"role":"tool","tool_call_id":"toolu_01","content":"18C"})"));
  CHECK(m[3] == json::parse(R"({"role":"tool","tool_call_id":"toolu_02","content":"Error: timeout"})"));
  CHECK(m[4] == json::parse(R"({"role":"user","content":"Summarise."})"));

  for (auto [claude_choice, chat_choice] :
       std::vector<std::pair<std::string, json>>{{"auto", "auto"}, {"any", "required"}, {"none", "none"}}) {
    json c = to_chat(R"({"model":"m","max_tokens":1,"messages":[],"tools":[{"name":"t","input_schema":{}}],
                         "tool_choice":{"type":")" +
                     claude_choice + R"("}})");
    CHECK(c["tool_choice"] == chat_choice);
  }
}

TEST_CASE("Claude request: max_tokens is required, roles and content are checked", "[claude-inbound]") {
  auto missing = claude::bridge().to_chat_request(json::parse(R"({"model":"m","messages":[]})"));
  REQUIRE_FALSE(missing);
  CHECK(error_status(missing.error()) == 400);
  CHECK(missing.error().message.find("max_tokens") != std::string::npos);
  // count_tokens takes none
  CHECK(claude::to_chat_request(json::parse(R"({"model":"m","messages":[]})"), false));
  CHECK_FALSE(claude::bridge().to_chat_request(json::parse(R"({"model":"m","max_tokens":0,"messages":[]})")));
  CHECK_FALSE(claude::bridge().to_chat_request(json::parse(R"({"model":"m","max_tokens":5})")));
  CHECK_FALSE(claude::bridge().to_chat_request(
      json::parse(R"({"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]})")));
}

TEST_CASE("Chat answer as a Claude message: text, tool calls, stop reasons, usage with cache", "[claude-inbound]") {
  json answer = json::parse(R"({"id":"chatcmpl-xyz","object":"chat.completion","model":"gpt-4o",
    "choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Let me check.",
      "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}]})");
  Usage usage{100, 20, 120, 30};
  json msg = json::parse(ok(claude::bridge().from_chat_response(json::object(), answer, usage)));
  CHECK(msg["id"] == "msg_xyz");
  CHECK(msg["type"] == "message");
  CHECK(msg["role"] == "assistant");
  CHECK(msg["model"] == "gpt-4o");
  CHECK(msg["content"] == json::parse(R"([{"type":"text","text":"Let me check."},
    {"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}}])"));
  CHECK(msg["stop_reason"] == "tool_use");
  CHECK(msg["stop_sequence"].is_null());
  CHECK(msg["usage"] == json::parse(R"({"input_tokens":70,"cache_read_input_tokens":30,
    "cache_creation_input_tokens":0,"output_tokens":20})"));

  for (auto [finish, stop] : std::vector<std::pair<std::string, std::string>>{{"stop", "end_turn"},
                                                                              {"length", "max_tokens"},
                                                                              {"content_filter", "refusal"},
                                                                              {"function_call", "tool_use"}}) {
    answer["choices"][0]["finish_reason"] = finish;
    CHECK(json::parse(ok(claude::bridge().from_chat_response(json::object(), answer, usage)))["stop_reason"] == stop);
  }
  CHECK_FALSE(claude::bridge().from_chat_response(json::object(), json::parse(R"({"choices":[]})"), usage));
}

TEST_CASE("Claude stream encoder: text answer fed chunk by chunk, in the SDK's event order", "[claude-inbound]") {
  auto encoder = claude::bridge().new_stream_encoder(json::object(), "claude-sonnet-4-5");
  std::string out;
  encoder->feed(chunk({{"role", "assistant"}, {"content", ""}}), out);
  const std::string after_first = out;
  encoder->feed(chunk({{"content", "Hel"}}), out);
  encoder->feed(chunk({{"content", "lo"}}) + chunk(json::object(), "stop"), out);
  // the usage chunk of include_usage carries nothing more: finish() has the billed usage
  encoder->feed(net::sse_encode(R"({"id":"chatcmpl-abc123","choices":[],"usage":{"prompt_tokens":9}})"), out);
  encoder->finish(Usage{12, 2, 14, 4}, out);

  CHECK(names_of(events_of(after_first)) == std::vector<std::string>{"message_start", "ping"});
  auto events = events_of(out);
  CHECK(names_of(events) == std::vector<std::string>{"message_start", "ping", "content_block_start",
                                                     "content_block_delta", "content_block_delta", "content_block_stop",
                                                     "message_delta", "message_stop"});
  const json& message = events[0].second["message"];
  CHECK(message["id"] == "msg_abc123");
  CHECK(message["model"] == "claude-sonnet-4-5");
  CHECK(message["content"] == json::array());
  CHECK(message["stop_reason"].is_null());
  CHECK(message["usage"]["output_tokens"] == 1);
  CHECK(events[2].second["index"] == 0);
  CHECK(events[2].second["content_block"] == json::parse(R"({"type":"text","text":""})"));
  CHECK(events[3].second["delta"] == json::parse(R"({"type":"text_delta","text":"Hel"})"));
  CHECK(events[4].second["delta"]["text"] == "lo");
  CHECK(events[5].second["index"] == 0);
  CHECK(events[6].second["delta"] == json::parse(R"({"stop_reason":"end_turn","stop_sequence":null})"));
  CHECK(events[6].second["usage"] == json::parse(R"({"input_tokens":8,"cache_read_input_tokens":4,
    "cache_creation_input_tokens":0,"output_tokens":2})"));
  CHECK(out.substr(0, 21) == "event: message_start\n");
}

TEST_CASE("Claude stream encoder: text then a tool call with streamed arguments", "[claude-inbound]") {
  auto encoder = claude::bridge().new_stream_encoder(json::object(), "m");
  std::string out;
  encoder->feed(chunk({{"role", "assistant"}, {"content", "On it."}}), out);
  encoder->feed(chunk({{"tool_calls", json::parse(R"([{"index":0,"id":"call_9","type":"function",
                          "function":{"name":"get_weather","arguments":""}}])")}}),
                out);
  encoder->feed(chunk({{"tool_calls", json::parse(R"([{"index":0,"function":{"arguments":"{\"city\":"}}])")}}), out);
  encoder->feed(chunk({{"tool_calls", json::parse(R"([{"index":0,"function":{"arguments":"\"Paris\"}"}}])")}}), out);
  encoder->feed(chunk(json::object(), "tool_calls"), out);
  encoder->finish(Usage{10, 5, 15, 0}, out);

  auto events = events_of(out);
  CHECK(names_of(events) == std::vector<std::string>{"message_start", "ping", "content_block_start",
                                                     "content_block_delta", "content_block_stop", "content_block_start",
                                                     "content_block_delta", "content_block_delta", "content_block_stop",
                                                     "message_delta", "message_stop"});
  CHECK(events[4].second["index"] == 0);
  CHECK(events[5].second["index"] == 1);
  CHECK(events[5].second["content_block"] ==
        json::parse(R"({"type":"tool_use","id":"call_9","name":"get_weather","input":{}})"));
  std::string arguments;
  for (size_t i : {6, 7}) {
    CHECK(events[i].second["index"] == 1);
    CHECK(events[i].second["delta"]["type"] == "input_json_delta");
    arguments += events[i].second["delta"]["partial_json"].get<std::string>();
  }
  CHECK(json::parse(arguments) == json{{"city", "Paris"}});
  CHECK(events[8].second["index"] == 1);
  CHECK(events[9].second["delta"]["stop_reason"] == "tool_use");
  CHECK(events[9].second["usage"]["output_tokens"] == 5);
  CHECK(events[9].second["usage"]["input_tokens"] == 10);
}

TEST_CASE("Claude stream encoder: an empty answer still opens and closes the message", "[claude-inbound]") {
  auto encoder = claude::bridge().new_stream_encoder(json::object(), "m");
  std::string out;
  encoder->finish(Usage{3, 0, 3, 0}, out);
  CHECK(names_of(events_of(out)) == std::vector<std::string>{"message_start", "ping", "message_delta", "message_stop"});
}

TEST_CASE("Claude errors: Anthropic's shape and types, by status or the upstream's own type", "[claude-inbound]") {
  const auto& bridge = claude::bridge();
  auto body_of = [&](const Error& e) { return json::parse(bridge.error_body(e, "req-1")); };
  json bad = body_of(Error::make(ErrorKind::invalid_request, "max_tokens: Field required"));
  CHECK(bad == json::parse(R"({"type":"error","error":{"type":"invalid_request_error",
    "message":"max_tokens: Field required"},"request_id":"req-1"})"));
  CHECK(body_of(Error::make(ErrorKind::unauthorized, "Invalid token"))["error"]["type"] == "authentication_error");
  CHECK(body_of(Error::make(ErrorKind::forbidden, "no"))["error"]["type"] == "permission_error");
  CHECK(body_of(Error::make(ErrorKind::not_found, "no"))["error"]["type"] == "not_found_error");
  CHECK(body_of(Error::make(ErrorKind::rate_limited, "slow"))["error"]["type"] == "rate_limit_error");
  CHECK(body_of(Error::make(ErrorKind::no_channel, "none"))["error"]["type"] == "overloaded_error");
  CHECK(body_of(Error::make(ErrorKind::internal, "oops"))["error"]["type"] == "api_error");
  Error upstream = Error::make(ErrorKind::upstream_error, "Overloaded", "overloaded_error");
  upstream.type = "overloaded_error";
  upstream.status = 529;
  CHECK(body_of(upstream)["error"]["type"] == "overloaded_error");
  Error openai_upstream = Error::make(ErrorKind::upstream_error, "bad gateway");
  openai_upstream.type = "server_error";
  openai_upstream.status = 502;
  CHECK(body_of(openai_upstream)["error"]["type"] == "api_error");

  auto events = events_of(bridge.stream_error_event(upstream, "req-2"));
  REQUIRE(events.size() == 1);
  CHECK(events[0].first == "error");
  CHECK(events[0].second["error"]["message"] == "Overloaded");
  CHECK(events[0].second["request_id"] == "req-2");
}

TEST_CASE("Anthropic adaptor passes Claude clients through: body, headers, answer, stream", "[claude-inbound]") {
  const Adaptor& adaptor = relay::adaptors::anthropic::instance();
  CHECK(adaptor.speaks(ClientFormat::claude_messages, 14));
  store::Channel channel;
  channel.type = 14;
  channel.key = "sk-ant-channel";
  channel.base_url = "http://127.0.0.1:9/v1";
  AdaptorContext ctx;
  ctx.channel = &channel;
  ctx.format = ClientFormat::claude_messages;
  ctx.upstream_model = "claude-sonnet-4-5";
  ctx.client_headers = {{"anthropic-version", "2023-06-01"}, {"anthropic-beta", "prompt-caching-2024-07-31"}};
  const std::string raw =
      R"({"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"Hi"}],"top_k":3})";
  auto r = ok(adaptor.build_request(ctx, json::parse(raw), raw));
  CHECK(r.url == "http://127.0.0.1:9/v1/messages");
  CHECK(r.body == raw);  // byte for byte
  CHECK(net::find_header(r.headers, "x-api-key") == "sk-ant-channel");
  CHECK(net::find_header(r.headers, "anthropic-beta") == "prompt-caching-2024-07-31");
  ctx.model_mapped = true;
  ctx.upstream_model = "claude-3-5-haiku-latest";
  json mapped = json::parse(ok(adaptor.build_request(ctx, json::parse(raw), raw)).body);
  json expected = json::parse(raw);
  expected["model"] = "claude-3-5-haiku-latest";
  CHECK(mapped == expected);

  const std::string answer = R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-3-5-haiku-latest",
    "content":[{"type":"text","text":"Hello"}],"stop_reason":"end_turn","stop_sequence":null,
    "usage":{"input_tokens":10,"cache_read_input_tokens":40,"cache_creation_input_tokens":5,"output_tokens":3}})";
  auto parsed = ok(adaptor.parse_response(ctx, answer));
  CHECK(parsed.body == answer);
  REQUIRE(parsed.usage);
  CHECK(parsed.usage->prompt_tokens == 55);
  CHECK(parsed.usage->cached_prompt_tokens == 40);
  CHECK(parsed.usage->completion_tokens == 3);

  const std::string stream =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\","
      "\"role\":\"assistant\",\"content\":[],\"model\":\"m\",\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
      "{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
      "{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
      "\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  auto decoder = adaptor.new_stream_decoder(ctx);
  std::string out;
  for (size_t i = 0; i < stream.size(); i += 7) decoder->feed(std::string_view(stream).substr(i, 7), out);
  auto summary = decoder->finish(out);
  CHECK(out == stream);
  CHECK(summary.done_seen);
  CHECK_FALSE(summary.error);
  REQUIRE(summary.usage);
  CHECK(summary.usage->prompt_tokens == 25);
  CHECK(summary.usage->completion_tokens == 7);

  // Split in two at every byte boundary: the same bytes out, the same usage.
  for (size_t cut = 1; cut < stream.size(); ++cut) {
    auto split = adaptor.new_stream_decoder(ctx);
    std::string bytes;
    split->feed(std::string_view(stream).substr(0, cut), bytes);
    split->feed(std::string_view(stream).substr(cut), bytes);
    auto s = split->finish(bytes);
    if (bytes != stream || !s.done_seen || !s.usage || s.usage->prompt_tokens != 25 || s.usage->completion_tokens != 7)
      FAIL("pass-through differs when split at byte " << cut);
  }

  // An error event is held back (the relay sends its own) and reported.
  auto failing = adaptor.new_stream_decoder(ctx);
  out.clear();
  failing->feed(stream.substr(0, stream.find("event: content_block_stop")), out);
  failing->feed(
      "event: error\ndata: "
      "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
      out);
  auto failed = failing->finish(out);
  CHECK(out == stream.substr(0, stream.find("event: content_block_stop")));
  REQUIRE(failed.error);
  CHECK(failed.error->type == "overloaded_error");
  CHECK(error_status(*failed.error) == 529);
}
