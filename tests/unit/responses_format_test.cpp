// The Responses API bridge: requests to chat completions, chat answers and chat streams back.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <vector>

#include "relay/client_format.hpp"
#include "relay/formats/responses.hpp"

using namespace oneapi;
using namespace oneapi::relay;
using nlohmann::json;

namespace {

const FormatBridge& bridge() {
  const FormatBridge* b = bridge_for(ClientFormat::responses);
  REQUIRE(b != nullptr);
  return *b;
}

json to_chat(const std::string& body) {
  auto chat = bridge().to_chat_request(json::parse(body));
  REQUIRE(chat.has_value());
  return *chat;
}

struct Event {
  std::string name;
  json data;
};

// Splits "event: X\ndata: {…}\n\n" events; checks the event line matches the data's type.
std::vector<Event> parse_events(const std::string& sse) {
  std::vector<Event> out;
  size_t pos = 0;
  while (pos < sse.size()) {
    size_t end = sse.find("\n\n", pos);
    REQUIRE(end != std::string::npos);
    std::string block = sse.substr(pos, end - pos);
    pos = end + 2;
    REQUIRE(block.rfind("event: ", 0) == 0);
    size_t nl = block.find('\n');
    Event e{block.substr(7, nl - 7), json::parse(block.substr(nl + 1 + 6))};
    REQUIRE(block.substr(nl + 1, 6) == "data: ");
    CHECK(e.data["type"] == e.name);
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<std::string> names(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.name);
  return out;
}

std::string chunk(const json& delta, const json& finish_reason = nullptr) {
  json c = {{"id", "chatcmpl-1"},
            {"object", "chat.completion.chunk"},
            {"model", "deepseek-chat"},
            {"choices", {{{"index", 0}, {"delta", delta}, {"finish_reason", finish_reason}}}}};
  return "data: " + c.dump() + "\n\n";
}

void check_sequence_numbers(const std::vector<Event>& events) {
  for (size_t i = 0; i < events.size(); ++i) CHECK(events[i].data["sequence_number"] == static_cast<int64_t>(i));
}

Usage usage(int64_t prompt, int64_t completion, int64_t cached = 0) {
  Usage u;
  u.prompt_tokens = prompt;
  u.completion_tokens = completion;
  u.total_tokens = prompt + completion;
  u.cached_prompt_tokens = cached;
  return u;
}

}  // namespace

TEST_CASE("Responses request: instructions, string input and the simple fields", "[responses][unit]") {
  json chat = to_chat(R"({"model":"deepseek-chat","instructions":"Be brief.","input":"Hi there",
      "max_output_tokens":64,"temperature":0.2,"top_p":0.9,"user":"u-1","parallel_tool_calls":false,
      "store":true,"reasoning":{"effort":"low"},"stream":true})");
  CHECK(chat["model"] == "deepseek-chat");
  CHECK(chat["messages"] == json::parse(R"([{"role":"system","content":"Be brief."},
      {"role":"user","content":"Hi there"}])"));
  CHECK(chat["max_tokens"] == 64);
  CHECK(chat["temperature"] == 0.2);
  CHECK(chat["top_p"] == 0.9);
  CHECK(chat["user"] == "u-1");
  CHECK(chat["parallel_tool_calls"] == false);
  CHECK(chat["reasoning_effort"] == "low");
  CHECK(chat["stream"] == true);
  CHECK(chat["stream_options"]["include_usage"] == true);
  CHECK_FALSE(chat.contains("store"));
  CHECK_FALSE(chat.contains("input"));
  CHECK_FALSE(chat.contains("max_output_tokens"));
}

TEST_CASE("Responses request: message items, images, function calls and their outputs", "[responses][unit]") {
  json chat = to_chat(R"({"model":"m","input":[
      {"role":"developer","content":"Use tools."},
      {"type":"message","role":"user","content":[{"type":"input_text","text":"What is in this image?"},
        {"type":"input_image","image_url":"https://example.com/cat.png","detail":"high"}]},
      {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Let me check.","annotations":[]}]},
      {"type":"function_call","id":"fc_1","call_id":"call_A","name":"get_weather","arguments":"{\"city\":\"Paris\"}"},
      {"type":"function_call","id":"fc_2","call_id":"call_B","name":"get_time","arguments":"{}"},
      {"type":"function_call_output","call_id":"call_A","output":"sunny"},
      {"type":"function_call_output","call_id":"call_B","output":[{"type":"input_text","text":"noon"}]},
      {"type":"reasoning","id":"rs_1","summary":[]}]})");
  json expected = json::parse(R"([
      {"role":"system","content":"Use tools."},
      {"role":"user","content":[{"type":"text","text":"What is in this image?"},
        {"type":"image_url","image_url":{"url":"https://example.com/cat.png","detail":"high"}}]},
      {"role":"assistant","content":"Let me check.","tool_calls":[
        {"id":"call_A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
        {"id":"call_B","type":"function","function":{"name":"get_time","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"call_A","content":"sunny"},
      {"role":"tool","tool_call_id":"call_B","content":"noon"}])");
  CHECK(chat["messages"] == expected);
}

TEST_CASE("Responses request: function tools, tool_choice and text.format", "[responses][unit]") {
  json chat = to_chat(R"({"model":"m","input":"weather?",
      "tools":[{"type":"function","name":"get_weather","description":"Weather of a city",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}}},"strict":true}],
      "tool_choice":{"type":"function","name":"get_weather"},
      "text":{"format":{"type":"json_schema","name":"answer","schema":{"type":"object"},"strict":true}}})");
  CHECK(chat["tools"] == json::parse(R"([{"type":"function","function":{"name":"get_weather",
      "description":"Weather of a city","parameters":{"type":"object","properties":{"city":{"type":"string"}}},
      "strict":true}}])"));
  CHECK(chat["tool_choice"] == json::parse(R"({"type":"function","function":{"name":"get_weather"}})"));
  CHECK(chat["response_format"] ==
        json::parse(
            R"({"type":"json_schema","json_schema":{"name":"answer","schema":{"type":"object"},"strict":true}})"));

  json plain = to_chat(R"({"model":"m","input":"x","tool_choice":"required","text":{"format":{"type":"json_object"}},
      "tools":[{"type":"function","name":"f"}]})");
  CHECK(plain["tool_choice"] == "required");
  CHECK(plain["response_format"] == json::parse(R"({"type":"json_object"})"));
  CHECK_FALSE(to_chat(R"({"model":"m","input":"x","text":{"format":{"type":"text"}}})").contains("response_format"));
}

TEST_CASE("Responses request: malformed input is the client's error", "[responses][unit]") {
  for (const char* body : {R"({"model":"m"})", R"({"model":"m","input":42})", R"({"model":"m","input":["hi"]})",
                           R"({"model":"m","input":[{"role":"robot","content":"x"}]})",
                           R"({"model":"m","input":[{"type":"function_call","name":"f"}]})",
                           R"({"model":"m","input":[{"type":"function_call_output","output":"x"}]})"}) {
    INFO(body);
    auto chat = bridge().to_chat_request(json::parse(body));
    REQUIRE_FALSE(chat.has_value());
    CHECK(error_status(chat.error()) == 400);
  }
}

TEST_CASE("Responses request: what only the Responses API serves is named, not converted", "[responses][unit]") {
  struct Case {
    const char* body;
    const char* mentions;
  };
  for (const Case& c : {
           Case{R"({"model":"m","input":"x","previous_response_id":"resp_1"})", "previous_response_id"},
           Case{R"({"model":"m","previous_response_id":"resp_1"})", "previous_response_id"},
           Case{R"({"model":"m","input":"x","conversation":"conv_1"})", "conversation"},
           Case{R"({"model":"m","input":"x","tools":[{"type":"web_search"}]})", "web_search"},
           Case{R"({"model":"m","input":[{"role":"user","content":[{"type":"input_image","file_id":"file-1"}]}]})",
                "file_id"},
           Case{R"({"model":"m","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]})",
                "input_file"},
           Case{R"({"model":"m","input":[{"type":"item_reference","id":"msg_1"}]})", "item_reference"},
           Case{R"({"model":"m","input":[{"role":"user","content":[{"type":"input_video"}]}]})", "input_video"},
       }) {
    INFO(c.body);
    json body = json::parse(c.body);
    CHECK(bridge().to_chat_request(body).has_value());  // converts, without it
    auto e = bridge().needs_native(body);
    REQUIRE(e.has_value());
    CHECK(error_status(*e) == 400);
    CHECK(e->message.find(c.mentions) != std::string::npos);
    CHECK(e->message.find("Responses API") != std::string::npos);
  }
  CHECK_FALSE(bridge().needs_native(json::parse(R"({"model":"m","input":"x","tools":[{"type":"function","name":"f"}],
      "previous_response_id":null})")));
}

TEST_CASE("Responses answer: text, usage and the request's echo", "[responses][unit]") {
  json request = json::parse(R"({"model":"my-model","input":"hi","instructions":"Be brief.","max_output_tokens":50,
      "temperature":0.3,"tools":[{"type":"function","name":"f"}]})");
  json chat = json::parse(R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"up-model",
      "choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}],
      "usage":{"prompt_tokens":30,"completion_tokens":7,"total_tokens":37,
        "completion_tokens_details":{"reasoning_tokens":2}}})");
  auto out = bridge().from_chat_response(request, chat, usage(30, 7, 10));
  REQUIRE(out.has_value());
  json r = json::parse(*out);
  CHECK(r["object"] == "response");
  CHECK(r["id"].get<std::string>().rfind("resp_", 0) == 0);
  CHECK(r["created_at"] == 1700000000);
  CHECK(r["status"] == "completed");
  CHECK(r["model"] == "my-model");
  CHECK(r["instructions"] == "Be brief.");
  CHECK(r["max_output_tokens"] == 50);
  CHECK(r["temperature"] == 0.3);
  CHECK(r["tools"] == request["tools"]);
  REQUIRE(r["output"].size() == 1);
  const json& msg = r["output"][0];
  CHECK(msg["type"] == "message");
  CHECK(msg["id"].get<std::string>().rfind("msg_", 0) == 0);
  CHECK(msg["role"] == "assistant");
  CHECK(msg["status"] == "completed");
  CHECK(msg["content"] == json::parse(R"([{"type":"output_text","text":"Hello!","annotations":[]}])"));
  CHECK(r["usage"] == json::parse(R"({"input_tokens":30,"input_tokens_details":{"cached_tokens":10},
      "output_tokens":7,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":37})"));
}

TEST_CASE("Responses answer: function calls, and length makes it incomplete", "[responses][unit]") {
  json chat = json::parse(R"({"id":"c","object":"chat.completion","created":1,"model":"m",
      "choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[
        {"id":"call_X","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
        "finish_reason":"tool_calls"}]})");
  json r = json::parse(*bridge().from_chat_response(json::parse(R"({"model":"m"})"), chat, usage(5, 9)));
  CHECK(r["status"] == "completed");
  REQUIRE(r["output"].size() == 1);
  const json& call = r["output"][0];
  CHECK(call["type"] == "function_call");
  CHECK(call["id"].get<std::string>().rfind("fc_", 0) == 0);
  CHECK(call["call_id"] == "call_X");
  CHECK(call["name"] == "get_weather");
  CHECK(call["arguments"] == "{\"city\":\"Oslo\"}");
  CHECK(call["status"] == "completed");
  CHECK(r["usage"]["output_tokens"] == 9);

  json cut = json::parse(R"({"choices":[{"index":0,"message":{"role":"assistant","content":"Once upon"},
      "finish_reason":"length"}]})");
  json i = json::parse(*bridge().from_chat_response(json::parse(R"({"model":"m"})"), cut, usage(5, 2)));
  CHECK(i["status"] == "incomplete");
  CHECK(i["incomplete_details"]["reason"] == "max_output_tokens");
  CHECK(i["output"][0]["status"] == "incomplete");

  CHECK_FALSE(bridge().from_chat_response(json::object(), json::parse(R"({"choices":[]})"), usage(1, 1)).has_value());
}

TEST_CASE("Responses stream: text events in OpenAI's order with the billed usage", "[responses][unit][stream]") {
  auto encoder = bridge().new_stream_encoder(json::parse(R"({"model":"my-model","instructions":"Hi"})"), "my-model");
  std::string out;
  // Split mid-event, as network reads do.
  std::string sse = chunk({{"role", "assistant"}, {"content", ""}}) + chunk({{"content", "Hel"}}) +
                    chunk({{"content", "lo"}}) + chunk(json::object(), "stop");
  encoder->feed(sse.substr(0, 50), out);
  encoder->feed(sse.substr(50), out);
  encoder->finish(usage(11, 2, 4), out);
  auto events = parse_events(out);
  CHECK(names(events) == std::vector<std::string>{"response.created", "response.in_progress",
                                                  "response.output_item.added", "response.content_part.added",
                                                  "response.output_text.delta", "response.output_text.delta",
                                                  "response.output_text.done", "response.content_part.done",
                                                  "response.output_item.done", "response.completed"});
  check_sequence_numbers(events);
  CHECK(events[0].data["response"]["status"] == "in_progress");
  CHECK(events[0].data["response"]["model"] == "my-model");
  CHECK(events[0].data["response"]["instructions"] == "Hi");
  const std::string item_id = events[2].data["item"]["id"];
  CHECK(events[4].data["delta"] == "Hel");
  CHECK(events[5].data["delta"] == "lo");
  CHECK(events[5].data["item_id"] == item_id);
  CHECK(events[6].data["text"] == "Hello");
  CHECK(events[7].data["part"]["text"] == "Hello");
  CHECK(events[8].data["item"]["content"][0]["text"] == "Hello");
  const json& done = events[9].data["response"];
  CHECK(done["status"] == "completed");
  CHECK(done["id"] == events[0].data["response"]["id"]);
  CHECK(done["output"][0]["id"] == item_id);
  CHECK(done["usage"]["input_tokens"] == 11);
  CHECK(done["usage"]["output_tokens"] == 2);
  CHECK(done["usage"]["total_tokens"] == 13);
  CHECK(done["usage"]["input_tokens_details"]["cached_tokens"] == 4);
}

TEST_CASE("Responses stream: a function call after text", "[responses][unit][stream]") {
  auto encoder = bridge().new_stream_encoder(json::object(), "m");
  std::string out;
  encoder->feed(chunk({{"content", "Checking."}}), out);
  encoder->feed(chunk({{"tool_calls",
                        {{{"index", 0},
                          {"id", "call_W"},
                          {"type", "function"},
                          {"function", {{"name", "get_weather"}, {"arguments", ""}}}}}}}),
                out);
  encoder->feed(chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "{\"city\":"}}}}}}}), out);
  encoder->feed(chunk({{"tool_calls", {{{"index", 0}, {"function", {{"arguments", "\"Rome\"}"}}}}}}}), out);
  encoder->feed(chunk(json::object(), "tool_calls"), out);
  encoder->finish(usage(20, 8), out);
  auto events = parse_events(out);
  CHECK(names(events) ==
        std::vector<std::string>{"response.created", "response.in_progress", "response.output_item.added",
                                 "response.content_part.added", "response.output_text.delta",
                                 "response.output_text.done", "response.content_part.done", "response.output_item.done",
                                 "response.output_item.added", "response.function_call_arguments.delta",
                                 "response.function_call_arguments.delta", "response.function_call_arguments.done",
                                 "response.output_item.done", "response.completed"});
  check_sequence_numbers(events);
  CHECK(events[8].data["output_index"] == 1);
  CHECK(events[8].data["item"]["type"] == "function_call");
  CHECK(events[8].data["item"]["call_id"] == "call_W");
  CHECK(events[8].data["item"]["name"] == "get_weather");
  CHECK(events[11].data["arguments"] == "{\"city\":\"Rome\"}");
  const json& output = events[13].data["response"]["output"];
  REQUIRE(output.size() == 2);
  CHECK(output[0]["type"] == "message");
  CHECK(output[1] == events[12].data["item"]);
  CHECK(output[1]["arguments"] == "{\"city\":\"Rome\"}");
  CHECK(output[1]["status"] == "completed");
}

TEST_CASE("Responses stream: cut by max tokens ends with response.incomplete, errors", "[responses][unit][stream]") {
  auto encoder = bridge().new_stream_encoder(json::object(), "m");
  std::string out;
  encoder->feed(chunk({{"content", "Once"}}) + chunk(json::object(), "length"), out);
  encoder->finish(usage(3, 1), out);
  auto events = parse_events(out);
  REQUIRE(!events.empty());
  CHECK(events.back().name == "response.incomplete");
  CHECK(events.back().data["response"]["incomplete_details"]["reason"] == "max_output_tokens");

  Error e = Error::make(ErrorKind::upstream_error, "boom", "stream_incomplete");
  auto error = parse_events(bridge().stream_error_event(e, "req-1"));
  REQUIRE(error.size() == 1);
  CHECK(error[0].name == "error");
  CHECK(error[0].data["code"] == "stream_incomplete");
  CHECK(error[0].data["message"].get<std::string>().find("boom") != std::string::npos);
  CHECK(error[0].data.contains("param"));
  CHECK(json::parse(bridge().error_body(e, "req-1"))["error"]["message"].get<std::string>().find("boom") == 0);
}

TEST_CASE("Responses pass-through: usage of a Response and of a stream", "[responses][unit]") {
  json response = json::parse(R"({"id":"resp_1","object":"response","status":"completed","output":[
      {"type":"message","content":[{"type":"output_text","text":"Hi!"}]}],
      "usage":{"input_tokens":40,"input_tokens_details":{"cached_tokens":32},"output_tokens":3,
        "output_tokens_details":{"reasoning_tokens":0},"total_tokens":43}})");
  auto u = formats::responses::usage_of_response(response);
  REQUIRE(u);
  CHECK(u->prompt_tokens == 40);
  CHECK(u->completion_tokens == 3);
  CHECK(u->total_tokens == 43);
  CHECK(u->cached_prompt_tokens == 32);
  CHECK(formats::responses::text_of_response(response) == "Hi!");

  auto decoder = formats::responses::new_pass_through_decoder();
  std::string upstream =
      "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0}\n\n"
      "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"Hi!\"}\n\n"
      "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":" +
      response.dump() + "}\n\n";
  std::string out;
  for (size_t i = 0; i < upstream.size(); i += 7) decoder->feed(std::string_view(upstream).substr(i, 7), out);
  auto summary = decoder->finish(out);
  CHECK(out == upstream);
  CHECK(summary.done_seen);
  CHECK(summary.completion_text == "Hi!");
  REQUIRE(summary.usage);
  CHECK(summary.usage->prompt_tokens == 40);
  CHECK(summary.usage->cached_prompt_tokens == 32);
  CHECK_FALSE(summary.error);

  // Split in two at every byte boundary: the same bytes out, the same usage.
  for (size_t cut = 1; cut < upstream.size(); ++cut) {
    auto split = formats::responses::new_pass_through_decoder();
    std::string bytes;
    split->feed(std::string_view(upstream).substr(0, cut), bytes);
    split->feed(std::string_view(upstream).substr(cut), bytes);
    auto s = split->finish(bytes);
    if (bytes != upstream || !s.done_seen || !s.usage || s.usage->prompt_tokens != 40 || s.completion_text != "Hi!")
      FAIL("pass-through differs when split at byte " << cut);
  }

  auto failing = formats::responses::new_pass_through_decoder();
  failing->feed(
      "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":{\"status\":\"failed\","
      "\"error\":{\"code\":\"server_error\",\"message\":\"The model failed\"}}}\n\n",
      out);
  auto failed = failing->finish(out);
  REQUIRE(failed.error);
  CHECK(failed.error->message == "The model failed");
  CHECK_FALSE(failed.done_seen);
}
