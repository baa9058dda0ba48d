// End to end through the real oneapid: POST /v1/responses from an OpenAI Responses client against
// a DeepSeek channel (chat completions only: the request is converted) and an OpenAI channel (it
// has /v1/responses: the request passes through); bills read back from the SQLite file.
#include <catch2/catch.hpp>

#include "billing/quota.hpp"
#include "billing/ratios.hpp"
#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

constexpr const char* kDeepSeekModel = "deepseek-chat";
constexpr const char* kOpenAiModel = "gpt-4o-mini";
constexpr const char* kMappedModel = "gpt-4o-mini-2024-07-18";
constexpr int kDeepSeekType = 36;
constexpr int kOpenAiType = 1;

int64_t add_deepseek_channel(Gateway& g, const std::string& base_url) {
  auto r = g.daemon.ctl({"--json", "channel", "add", "--type", "deepseek", "--name", "ds", "--base-url", base_url,
                         "--key", "sk-deepseek-secret", "--models", kDeepSeekModel});
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out).at("id").get<int64_t>();
}

struct Event {
  std::string name;
  json data;
};

// "event: X\ndata: {…}\n\n" blocks; the event name must match the data's type.
std::vector<Event> parse_events(const std::string& body) {
  std::vector<Event> out;
  for (size_t pos = 0; pos < body.size();) {
    size_t end = body.find("\n\n", pos);
    REQUIRE(end != std::string::npos);
    const std::string block = body.substr(pos, end - pos);
    pos = end + 2;
    const size_t nl = block.find('\n');
    REQUIRE(block.rfind("event: ", 0) == 0);
    REQUIRE(block.compare(nl + 1, 6, "data: ") == 0);
    Event e{block.substr(7, nl - 7), json::parse(block.substr(nl + 7))};
    CHECK(e.data["type"] == e.name);
    out.push_back(std::move(e));
  }
  return out;
}

void check_billed(const Gateway& g, const HttpResult& res, const std::string& model, int channel_type, int64_t prompt,
                  int64_t completion, int64_t cached) {
  auto row = log_row(g, res.header("x-oneapi-request-id"));
  CHECK(as_int(row, "prompt_tokens") == prompt);
  CHECK(as_int(row, "completion_tokens") == completion);
  CHECK(as_int(row, "cached_prompt_tokens") == cached);
  const int64_t expected = expected_quota(model, channel_type, prompt, completion, cached);
  CHECK(expected > 0);
  CHECK(as_int(row, "quota") == expected);
}

// DeepSeek's chat completion, usage with its prompt cache hits.
std::string deepseek_answer(const json& message, const std::string& finish_reason) {
  json j = {{"id", "930c60df-bf64-41c9-a88e-3ec75f81e00e"},
            {"object", "chat.completion"},
            {"created", 1705651092},
            {"model", kDeepSeekModel},
            {"choices", {{{"index", 0}, {"message", message}, {"finish_reason", finish_reason}}}},
            {"usage",
             {{"prompt_tokens", 21},
              {"completion_tokens", 6},
              {"total_tokens", 27},
              {"prompt_cache_hit_tokens", 8},
              {"prompt_cache_miss_tokens", 13}}}};
  return j.dump();
}

void bad_chat_request(MockReply& r, const std::string& why) {
  r.status = 400;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = json{{"error", {{"message", "mock: " + why}, {"type", "invalid_request_error"}}}}.dump();
}

std::vector<std::string> names(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) out.push_back(e.name);
  return out;
}

}  // namespace

TEST_CASE("Responses on a chat-only channel: converted to chat completions and back", "[e2e][responses]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    auto body = json::parse(req.body, nullptr, false);
    if (req.path != "/v1/chat/completions" || !body.is_object() || !body.contains("messages"))
      return bad_chat_request(r, "not a chat completions request");
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = deepseek_answer({{"role", "assistant"}, {"content", "Hello!"}}, "stop");
  });
  Gateway g;
  add_deepseek_channel(g, mock.base_url());
  const std::string key = g.add_token(10'000'000);

  auto res = post_json(g.port(), "/v1/responses", key, R"({"model":"deepseek-chat","instructions":"Be brief.",
      "input":[{"role":"user","content":[{"type":"input_text","text":"Say hello"}]}],
      "max_output_tokens":100,"temperature":0.5,"store":true})");
  REQUIRE(res.status == 200);
  CHECK(!res.header("x-oneapi-request-id").empty());
  auto sent = json::parse(mock.requests().at(0).body);
  CHECK(sent["model"] == kDeepSeekModel);
  CHECK(sent["messages"] ==
        json::parse(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Say hello"}])"));
  CHECK(sent["max_tokens"] == 100);
  CHECK(sent["temperature"] == 0.5);
  CHECK_FALSE(sent.contains("input"));
  CHECK_FALSE(sent.contains("store"));

  auto r = json::parse(res.body);
  CHECK(r["object"] == "response");
  CHECK(r["status"] == "completed");
  CHECK(r["model"] == kDeepSeekModel);
  CHECK(r["instructions"] == "Be brief.");
  CHECK(r["max_output_tokens"] == 100);
  REQUIRE(r["output"].size() == 1);
  CHECK(r["output"][0]["content"][0]["text"] == "Hello!");
  CHECK(r["usage"]["input_tokens"] == 21);
  CHECK(r["usage"]["output_tokens"] == 6);
  CHECK(r["usage"]["total_tokens"] == 27);
  CHECK(r["usage"]["input_tokens_details"]["cached_tokens"] == 8);
  check_billed(g, res, kDeepSeekModel, kDeepSeekType, 21, 6, 8);
  CHECK(token_used(g) == expected_quota(kDeepSeekModel, kDeepSeekType, 21, 6, 8));
}

TEST_CASE("Responses stream on a chat-only channel: Responses events with the billed usage",
          "[e2e][responses][stream]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    auto body = json::parse(req.body, nullptr, false);
    if (req.path != "/v1/chat/completions" || !body.is_object() || body.value("stream", false) != true ||
        !body.contains("stream_options") || body["stream_options"].value("include_usage", false) != true)
      return bad_chat_request(r, "expected a streamed chat request asking for usage");
    r.status = 200;
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events({"Hello", " there", "!"}, true, 15, 5)) r.chunks.push_back({0, e});
  });
  Gateway g;
  add_deepseek_channel(g, mock.base_url());
  const std::string key = g.add_token(10'000'000);

  auto res =
      post_json(g.port(), "/v1/responses", key, R"({"model":"deepseek-chat","input":"Say hello","stream":true})");
  REQUIRE(res.status == 200);
  CHECK(res.header("content-type").find("text/event-stream") != std::string::npos);
  CHECK(!res.header("x-oneapi-request-id").empty());
  CHECK(res.body.find("[DONE]") == std::string::npos);
  auto events = parse_events(res.body);
  CHECK(names(events) == std::vector<std::string>{
                             "response.created", "response.in_progress", "response.output_item.added",
                             "response.content_part.added", "response.output_text.delta", "response.output_text.delta",
                             "response.output_text.delta", "response.output_text.done", "response.content_part.done",
                             "response.output_item.done", "response.completed"});
  for (size_t i = 0; i < events.size(); ++i) CHECK(events[i].data["sequence_number"] == static_cast<int64_t>(i));
  std::string text;
  for (const auto& e : events)
    if (e.name == "response.output_text.delta") text += e.data["delta"].get<std::string>();
  CHECK(text == "Hello there!");
  const json& done = events.back().data["response"];
  CHECK(done["status"] == "completed");
  CHECK(done["output"][0]["content"][0]["text"] == "Hello there!");
  CHECK(done["usage"]["input_tokens"] == 15);
  CHECK(done["usage"]["output_tokens"] == 5);
  CHECK(done["usage"]["total_tokens"] == 20);
  check_billed(g, res, kDeepSeekModel, kDeepSeekType, 15, 5, 0);
  CHECK(as_int(log_row(g, res.header("x-oneapi-request-id")), "is_stream") == 1);
}

TEST_CASE("Responses on a chat-only channel: a function call round trip", "[e2e][responses]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    auto body = json::parse(req.body, nullptr, false);
    if (!body.is_object() || !body.contains("messages")) return bad_chat_request(r, "no messages");
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    if (body["messages"].back()["role"] == "tool") {
      r.body = deepseek_answer({{"role", "assistant"}, {"content", "It is sunny in Paris."}}, "stop");
      return;
    }
    json call = {{"id", "call_0_abc"},
                 {"type", "function"},
                 {"function", {{"name", "get_weather"}, {"arguments", R"({"city":"Paris"})"}}}};
    r.body = deepseek_answer({{"role", "assistant"}, {"content", ""}, {"tool_calls", {call}}}, "tool_calls");
  });
  Gateway g;
  add_deepseek_channel(g, mock.base_url());
  const std::string key = g.add_token(10'000'000);
  const json tools = json::parse(R"([{"type":"function","name":"get_weather","description":"Weather of a city",
      "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}])");
  json ask = {{"model", kDeepSeekModel}, {"input", "Weather in Paris?"}, {"tools", tools}};

  auto first = post_json(g.port(), "/v1/responses", key, ask.dump());
  REQUIRE(first.status == 200);
  auto sent = json::parse(mock.requests().at(0).body);
  CHECK(sent["tools"][0]["type"] == "function");
  CHECK(sent["tools"][0]["function"]["name"] == "get_weather");
  CHECK(sent["tools"][0]["function"]["parameters"] == tools[0]["parameters"]);
  auto answer = json::parse(first.body);
  REQUIRE(answer["output"].size() == 1);
  const json call = answer["output"][0];
  CHECK(call["type"] == "function_call");
  CHECK(call["call_id"] == "call_0_abc");
  CHECK(call["name"] == "get_weather");
  CHECK(call["arguments"] == R"({"city":"Paris"})");

  // The client sends the call back with its output, as the Responses docs show.
  json follow = ask;
  follow["input"] = json::array({{{"role", "user"}, {"content", "Weather in Paris?"}},
                                 call,
                                 {{"type", "function_call_output"}, {"call_id", "call_0_abc"}, {"output", "sunny"}}});
  auto second = post_json(g.port(), "/v1/responses", key, follow.dump());
  REQUIRE(second.status == 200);
  auto messages = json::parse(mock.requests().at(1).body)["messages"];
  REQUIRE(messages.size() == 3);
  CHECK(messages[1]["role"] == "assistant");
  CHECK(messages[1]["tool_calls"][0]["id"] == "call_0_abc");
  CHECK(messages[1]["tool_calls"][0]["function"]["arguments"] == R"({"city":"Paris"})");
  CHECK(messages[2] == json::parse(R"({"role":"tool","tool_call_id":"call_0_abc","content":"sunny"})"));
  CHECK(json::parse(second.body)["output"][0]["content"][0]["text"] == "It is sunny in Paris.");
  check_billed(g, second, kDeepSeekModel, kDeepSeekType, 21, 6, 8);
}

TEST_CASE("Responses on a chat-only channel: what only the Responses API has is a 400, unknown model",
          "[e2e][responses]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) { reply_chat(r); });
  Gateway g;
  add_deepseek_channel(g, mock.base_url());
  const std::string key = g.add_token(10'000'000);

  for (const char* body : {R"({"model":"deepseek-chat","input":"and then?","previous_response_id":"resp_abc"})",
                           R"({"model":"deepseek-chat","input":"news?","tools":[{"type":"web_search"}]})"}) {
    INFO(body);
    auto res = post_json(g.port(), "/v1/responses", key, body);
    CHECK(res.status == 400);
    CHECK(!res.header("x-oneapi-request-id").empty());
    auto e = json::parse(res.body);
    CHECK(e["error"]["type"] == "invalid_request_error");
    CHECK(e["error"]["message"].get<std::string>().find("Responses API") != std::string::npos);
  }
  CHECK(mock.request_count() == 0);
  CHECK(token_used(g) == 0);

  auto unknown = post_json(g.port(), "/v1/responses", key, R"({"model":"no-such-model","input":"hi"})");
  CHECK(unknown.status == 503);
  CHECK(!unknown.header("x-oneapi-request-id").empty());
  auto e = json::parse(unknown.body);
  CHECK(e["error"]["code"] == "model_not_found");
  CHECK(e["error"]["message"].get<std::string>().find("no-such-model") != std::string::npos);

  auto malformed = post_json(g.port(), "/v1/responses", key, R"({"model":"deepseek-chat","input":42})");
  CHECK(malformed.status == 400);
  CHECK(json::parse(malformed.body)["error"]["type"] == "invalid_request_error");
}

namespace {

// A Response object as OpenAI documents it.
json openai_response(const std::string& text, const std::string& status) {
  return {{"id", "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"},
          {"object", "response"},
          {"created_at", 1741476542},
          {"status", status},
          {"error", nullptr},
          {"model", kMappedModel},
          {"output",
           {{{"type", "message"},
             {"id", "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b"},
             {"status", "completed"},
             {"role", "assistant"},
             {"content", {{{"type", "output_text"}, {"text", text}, {"annotations", json::array()}}}}}}},
          {"usage",
           {{"input_tokens", 40},
            {"input_tokens_details", {{"cached_tokens", 32}}},
            {"output_tokens", 3},
            {"output_tokens_details", {{"reasoning_tokens", 0}}},
            {"total_tokens", 43}}}};
}

std::string event(const std::string& type, json data, int sequence) {
  data["type"] = type;
  data["sequence_number"] = sequence;
  return "event: " + type + "\ndata: " + data.dump() + "\n\n";
}

std::vector<MockChunk> openai_response_stream() {
  json created = openai_response("", "in_progress");
  created["output"] = json::array();
  created["usage"] = nullptr;
  const std::string item = "msg_67ccd2bf17f0819081ff3bb2cf6508e60bb6a6b452d3795b";
  int seq = 0;
  std::vector<MockChunk> out;
  out.push_back({0, event("response.created", {{"response", created}}, seq++)});
  out.push_back({0, event("response.in_progress", {{"response", created}}, seq++)});
  out.push_back({0, event("response.output_item.added",
                          {{"output_index", 0},
                           {"item",
                            {{"id", item},
                             {"type", "message"},
                             {"status", "in_progress"},
                             {"role", "assistant"},
                             {"content", json::array()}}}},
                          seq++)});
  for (const char* word : {"Hi", " there"})
    out.push_back({0, event("response.output_text.delta",
                            {{"item_id", item}, {"output_index", 0}, {"content_index", 0}, {"delta", word}}, seq++)});
  out.push_back(
      {0, event("response.output_text.done",
                {{"item_id", item}, {"output_index", 0}, {"content_index", 0}, {"text", "Hi there"}}, seq++)});
  // The last event split across two writes, as networks do.
  std::string completed = event("response.completed", {{"response", openai_response("Hi there", "completed")}}, seq++);
  out.push_back({0, completed.substr(0, 40)});
  out.push_back({5, completed.substr(40)});
  return out;
}

}  // namespace

TEST_CASE("Responses on an OpenAI channel: passed through, usage from the Response", "[e2e][responses]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    auto body = json::parse(req.body, nullptr, false);
    if (req.path != "/v1/responses" || req.header("authorization") != "Bearer sk-upstream-secret" ||
        !body.is_object() || body.value("model", "") != kMappedModel)
      return bad_chat_request(r, "not the Responses request expected");
    r.status = 200;
    if (body.value("stream", false)) {
      r.headers = {{"Content-Type", "text/event-stream"}};
      r.chunks = openai_response_stream();
    } else {
      r.headers = {{"Content-Type", "application/json"}};
      r.body = openai_response("Hi there", "completed").dump();
    }
  });
  Gateway g;
  g.add_channel(mock.base_url(), kOpenAiModel, {"--model-mapping", json{{kOpenAiModel, kMappedModel}}.dump()});
  const std::string key = g.add_token(10'000'000);
  // Fields only the Responses API knows go through untouched.
  const json request = json::parse(R"({"model":"gpt-4o-mini","input":"Say hi","instructions":"Be brief.",
      "previous_response_id":"resp_earlier","tools":[{"type":"web_search"}],"store":true,"max_output_tokens":50})");

  auto res = post_json(g.port(), "/v1/responses", key, request.dump());
  REQUIRE(res.status == 200);
  CHECK(!res.header("x-oneapi-request-id").empty());
  REQUIRE(mock.request_count() == 1);
  auto sent = json::parse(mock.requests()[0].body);
  CHECK(sent["model"] == kMappedModel);
  sent["model"] = kOpenAiModel;
  CHECK(sent == request);
  CHECK(res.body == openai_response("Hi there", "completed").dump());
  check_billed(g, res, kMappedModel, kOpenAiType, 40, 3, 32);

  json stream_request = request;
  stream_request["stream"] = true;
  auto streamed = post_json(g.port(), "/v1/responses", key, stream_request.dump());
  REQUIRE(streamed.status == 200);
  CHECK(!streamed.header("x-oneapi-request-id").empty());
  auto stream_sent = json::parse(mock.requests().at(1).body);
  CHECK_FALSE(stream_sent.contains("stream_options"));  // not a chat request: nothing added
  stream_sent["model"] = kOpenAiModel;
  CHECK(stream_sent == stream_request);
  std::string upstream_bytes;
  for (const auto& c : openai_response_stream()) upstream_bytes += c.data;
  CHECK(streamed.body == upstream_bytes);
  check_billed(g, streamed, kMappedModel, kOpenAiType, 40, 3, 32);
  CHECK(token_used(g) == 2 * expected_quota(kMappedModel, kOpenAiType, 40, 3, 32));
}

TEST_CASE("Responses stream on a chat-only channel: a cut upstream ends with an error event",
          "[e2e][responses][stream]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.status = 200;
    r.headers = {{"Content-Type", "text/event-stream"}};
    auto events = openai_stream_events({"Hello", " there"}, false);
    events.pop_back();  // no [DONE], no finish reason: the connection just ends
    for (auto& e : events) r.chunks.push_back({0, e});
    r.cut_after_chunks = true;
  });
  Gateway g;
  add_deepseek_channel(g, mock.base_url());
  const std::string key = g.add_token(10'000'000);

  auto res =
      post_json(g.port(), "/v1/responses", key, R"({"model":"deepseek-chat","input":"Say hello","stream":true})");
  REQUIRE(res.status == 200);
  auto events = parse_events(res.body);
  REQUIRE(events.size() >= 2);
  CHECK(events.front().name == "response.created");
  CHECK(events.back().name == "error");
  CHECK(events.back().data.contains("message"));
  for (const auto& e : events) CHECK(e.name != "response.completed");
  auto row = log_row(g, res.header("x-oneapi-request-id"));
  CHECK(as_int(row, "completion_tokens") > 0);  // what was delivered is billed
  CHECK(token_used(g) == as_int(row, "quota"));
}
