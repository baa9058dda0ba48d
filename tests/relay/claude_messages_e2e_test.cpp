// End to end through the real oneapid: a Claude Messages client (POST /v1/messages, as the
// Anthropic SDK and Claude Code send it) served by an OpenAI channel (converted both ways) and by
// an Anthropic channel (passed through), billed and logged like a chat request.
#include <catch2/catch.hpp>

#include "billing/quota.hpp"
#include "billing/ratios.hpp"
#include "net/sse.hpp"
#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

constexpr const char* kClaudeModel = "claude-sonnet-4-5";

HttpResult claude_post(int port, const std::string& path, const std::string& key, const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  std::vector<std::pair<std::string, std::string>> headers = {
      {"x-api-key", key}, {"anthropic-version", "2023-06-01"}, {"Content-Type", "application/json"}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  return http_call(port, "POST", path, body, headers);
}

std::vector<std::pair<std::string, json>> sse_events(const std::string& body) {
  net::SseDecoder decoder;
  std::vector<net::SseEvent> raw;
  decoder.feed(body, raw);
  std::vector<std::pair<std::string, json>> out;
  for (const auto& e : raw) out.emplace_back(e.event, json::parse(e.data));
  return out;
}

void check_anthropic_error(const HttpResult& res, int status, const std::string& type) {
  CHECK(res.status == status);
  CHECK_FALSE(res.header("x-oneapi-request-id").empty());
  auto body = json::parse(res.body, nullptr, false);
  REQUIRE(body.is_object());
  CHECK(body["type"] == "error");
  CHECK(body["error"]["type"] == type);
  CHECK_FALSE(body["error"]["message"].get<std::string>().empty());
  CHECK(body["request_id"] == res.header("x-oneapi-request-id"));
}

const char* kToolRequest = R"({"model":"gpt-4o-mini","max_tokens":300,
  "system":[{"type":"text","text":"You are a weather bot."}],
  "tools":[{"name":"get_weather","description":"Weather of a city",
            "input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
  "messages":[{"role":"user","content":"Weather in Paris?"}]})";

}  // namespace

TEST_CASE("Claude client, OpenAI channel: a message is converted both ways, billed and logged",
          "[e2e][claude-inbound]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    auto body = json::parse(req.body, nullptr, false);
    // A chat completions request, or a 400 as OpenAI would answer a malformed one.
    if (req.path != "/v1/chat/completions" || !body.is_object() || !body["messages"].is_array()) {
      r.status = 400;
      r.body = R"({"error":{"message":"mock: not a chat request","type":"invalid_request_error"}})";
      return;
    }
    json answer = json::parse(openai_chat_body("Bonjour !", 40, 3));
    answer["usage"]["prompt_tokens_details"] = {{"cached_tokens", 10}};
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = answer.dump();
  });
  Gateway g;
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(10'000'000);

  // Claude Code's doubled prefix, and the key as a bearer token this time
  for (const std::string path : {"/v1/messages", "/v1/v1/messages"}) {
    const std::string body = R"({"model":"gpt-4o-mini","max_tokens":200,"system":"Answer in French.",
      "messages":[{"role":"user","content":[{"type":"text","text":"Say hello"}]}],"stop_sequences":["###"]})";
    auto res = path == "/v1/messages" ? claude_post(g.port(), path, key, body) : post_json(g.port(), path, key, body);
    INFO(path << ": " << res.body);
    REQUIRE(res.status == 200);
    const std::string request_id = res.header("x-oneapi-request-id");
    CHECK_FALSE(request_id.empty());
    auto msg = json::parse(res.body);
    CHECK(msg["type"] == "message");
    CHECK(msg["role"] == "assistant");
    CHECK(msg["id"].get<std::string>().rfind("msg_", 0) == 0);
    CHECK(msg["content"] == json::parse(R"([{"type":"text","text":"Bonjour !"}])"));
    CHECK(msg["stop_reason"] == "end_turn");
    CHECK(msg["usage"]["input_tokens"] == 30);  // Anthropic counts the cache read apart
    CHECK(msg["usage"]["cache_read_input_tokens"] == 10);
    CHECK(msg["usage"]["output_tokens"] == 3);

    auto row = log_row(g, request_id);
    CHECK(as_int(row, "prompt_tokens") == 40);
    CHECK(as_int(row, "completion_tokens") == 3);
    CHECK(as_int(row, "quota") == expected_quota("gpt-4o-mini", 1, 40, 3, 10));
  }
  CHECK(token_used(g) == 2 * expected_quota("gpt-4o-mini", 1, 40, 3, 10));

  auto seen = mock.requests();
  REQUIRE(seen.size() == 2);
  auto sent = json::parse(seen[0].body);
  CHECK(sent["model"] == "gpt-4o-mini");
  CHECK(sent["max_tokens"] == 200);
  CHECK(sent["stop"] == json::array({"###"}));
  CHECK(sent["messages"] == json::parse(R"([{"role":"system","content":"Answer in French."},
                                            {"role":"user","content":"Say hello"}])"));
  CHECK(seen[0].header("Authorization") == "Bearer sk-upstream-secret");
}

TEST_CASE("Claude client, OpenAI channel: a stream becomes Claude's events in the SDK's order",
          "[e2e][claude-inbound][stream]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    auto body = json::parse(req.body, nullptr, false);
    const bool wants_usage = body.is_object() && body.value("stream", false) && body.contains("stream_options") &&
                             body["stream_options"].value("include_usage", false);
    if (req.path != "/v1/chat/completions" || !wants_usage) {
      r.status = 400;
      r.body = R"({"error":{"message":"mock: expected a stream with usage","type":"invalid_request_error"}})";
      return;
    }
    r.status = 200;
    r.headers = {{"Content-Type", "text/event-stream"}};
    for (auto& e : openai_stream_events({"Hello", " there", "!"}, true, 15, 4)) r.chunks.push_back({0, e});
  });
  Gateway g;
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(10'000'000);

  // Claude Code adds ?beta=true
  auto res = claude_post(g.port(), "/v1/messages?beta=true", key,
                         R"({"model":"gpt-4o-mini","max_tokens":50,"stream":true,
                             "messages":[{"role":"user","content":"Say hello"}]})");
  REQUIRE(res.status == 200);
  CHECK(res.header("content-type").find("text/event-stream") != std::string::npos);
  CHECK(res.body.find("[DONE]") == std::string::npos);
  auto events = sse_events(res.body);
  std::vector<std::string> names;
  std::string text;
  for (const auto& [name, data] : events) {
    CHECK(data["type"] == name);
    names.push_back(name);
    if (name == "content_block_delta") {
      CHECK(data["index"] == 0);
      CHECK(data["delta"]["type"] == "text_delta");
      text += data["delta"]["text"].get<std::string>();
    }
  }
  CHECK(names == std::vector<std::string>{"message_start", "ping", "content_block_start", "content_block_delta",
                                          "content_block_delta", "content_block_delta", "content_block_stop",
                                          "message_delta", "message_stop"});
  CHECK(text == "Hello there!");
  REQUIRE(events.size() == 9);
  CHECK(events[0].second["message"]["model"] == "gpt-4o-mini");
  CHECK(events[0].second["message"]["content"] == json::array());
  CHECK(events[2].second["content_block"] == json::parse(R"({"type":"text","text":""})"));
  const json& final_delta = events[7].second;
  CHECK(final_delta["delta"]["stop_reason"] == "end_turn");
  CHECK(final_delta["usage"]["input_tokens"] == 15);
  CHECK(final_delta["usage"]["output_tokens"] == 4);

  auto row = log_row(g, res.header("x-oneapi-request-id"));
  CHECK(as_int(row, "prompt_tokens") == 15);
  CHECK(as_int(row, "completion_tokens") == 4);
  CHECK(as_int(row, "quota") == expected_quota("gpt-4o-mini", 1, 15, 4, 0));
  CHECK(token_used(g) == expected_quota("gpt-4o-mini", 1, 15, 4, 0));
}

TEST_CASE("Claude client, OpenAI channel: a tool use round trip", "[e2e][claude-inbound]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    if (req.path != "/v1/chat/completions") {
      r.status = 404;
      r.body = R"({"error":{"message":"mock: unknown path","type":"invalid_request_error"}})";
      return;
    }
    auto body = json::parse(req.body);
    const json& last = body["messages"].back();
    json message = {{"role", "assistant"}};
    std::string finish = "stop";
    if (last["role"] == "tool") {  // the second turn: the tool's result came back
      message["content"] =
          "It is " + last["content"].get<std::string>() + " in " + last["tool_call_id"].get<std::string>();
    } else {
      message["content"] = nullptr;
      message["tool_calls"] = json::parse(
          R"([{"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}])");
      finish = "tool_calls";
    }
    json answer = {{"id", "chatcmpl-tool"},
                   {"object", "chat.completion"},
                   {"model", "gpt-4o-mini"},
                   {"choices", json::array({{{"index", 0}, {"message", message}, {"finish_reason", finish}}})},
                   {"usage", {{"prompt_tokens", 50}, {"completion_tokens", 9}, {"total_tokens", 59}}}};
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = answer.dump();
  });
  Gateway g;
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(10'000'000);

  auto first = claude_post(g.port(), "/v1/messages", key, kToolRequest);
  REQUIRE(first.status == 200);
  auto msg = json::parse(first.body);
  CHECK(msg["stop_reason"] == "tool_use");
  REQUIRE(msg["content"].size() == 1);
  const json tool_use = msg["content"][0];
  CHECK(tool_use ==
        json::parse(R"({"type":"tool_use","id":"call_abc","name":"get_weather","input":{"city":"Paris"}})"));

  auto sent = json::parse(mock.requests()[0].body);
  CHECK(sent["tools"] == json::parse(R"([{"type":"function","function":{"name":"get_weather",
    "description":"Weather of a city",
    "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}])"));
  CHECK(sent["messages"][0] == json::parse(R"({"role":"system","content":"You are a weather bot."})"));

  // The client runs the tool and sends the result, as the Anthropic SDK does.
  json second = json::parse(kToolRequest);
  second["messages"].push_back({{"role", "assistant"}, {"content", msg["content"]}});
  json tool_result = {{"type", "tool_result"}, {"tool_use_id", "call_abc"}, {"content", "18C"}};
  second["messages"].push_back({{"role", "user"}, {"content", json::array({tool_result})}});
  auto res = claude_post(g.port(), "/v1/messages", key, second.dump());
  REQUIRE(res.status == 200);
  auto answer = json::parse(res.body);
  CHECK(answer["content"][0]["text"] == "It is 18C in call_abc");
  CHECK(answer["stop_reason"] == "end_turn");
  auto sent2 = json::parse(mock.requests()[1].body);
  const json& turns = sent2["messages"];
  REQUIRE(turns.size() == 4);
  CHECK(turns[2]["role"] == "assistant");
  CHECK(turns[2]["tool_calls"][0]["id"] == "call_abc");
  CHECK(json::parse(turns[2]["tool_calls"][0]["function"]["arguments"].get<std::string>()) == json{{"city", "Paris"}});
  CHECK(turns[3] == json::parse(R"({"role":"tool","tool_call_id":"call_abc","content":"18C"})"));
}

TEST_CASE("Claude client, Anthropic channel: passed through as is, model mapped, usage billed",
          "[e2e][claude-inbound]") {
  const std::string answer_text =
      R"({"id":"msg_01","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022",)"
      R"("content":[{"type":"text","text":"Hi!"}],"stop_reason":"end_turn","stop_sequence":null,)"
      R"("usage":{"input_tokens":21,"cache_creation_input_tokens":0,"cache_read_input_tokens":100,"output_tokens":6}})";
  const std::vector<std::string> stream = {
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_02\",\"type\":\"message\","
      "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-3-5-haiku-20241022\",\"stop_reason\":null,"
      "\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,\"cache_read_input_tokens\":0,\"output_tokens\":1}}}\n\n",
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
      "event: ping\ndata: {\"type\": \"ping\"}\n\n",
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
      "\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}\n\n",
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"};
  MockUpstream mock([&](const net::ServerRequest& req, MockReply& r) {
    auto body = json::parse(req.body, nullptr, false);
    if (req.path != "/v1/messages" || req.header("x-api-key") != "sk-ant-upstream" || !body.is_object()) {
      r.status = 400;
      r.body = R"({"type":"error","error":{"type":"invalid_request_error","message":"mock: malformed request"}})";
      return;
    }
    r.status = 200;
    if (body.value("stream", false)) {
      r.headers = {{"Content-Type", "text/event-stream"}};
      for (const auto& e : stream) r.chunks.push_back({0, e});
    } else {
      r.headers = {{"Content-Type", "application/json"}};
      r.body = answer_text;
    }
  });
  Gateway g;
  auto added = g.daemon.ctl({"--json", "channel", "add", "--type", "anthropic", "--name", "claude", "--base-url",
                             mock.base_url(), "--key", "sk-ant-upstream", "--models", kClaudeModel, "--model-mapping",
                             json{{kClaudeModel, "claude-3-5-haiku-20241022"}}.dump()});
  REQUIRE(added.exit_code == 0);
  const std::string key = g.add_token(10'000'000);

  const std::string request = R"({"model":"claude-sonnet-4-5","max_tokens":64,"top_k":4,
    "system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],
    "thinking":{"type":"enabled","budget_tokens":1024},
    "messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}},
                                          {"type":"text","text":"Hi"}]}]})";
  auto res =
      claude_post(g.port(), "/v1/messages", key, request, {{"anthropic-beta", "interleaved-thinking-2025-05-14"}});
  REQUIRE(res.status == 200);
  CHECK(res.body == answer_text);  // Anthropic's answer as it came
  CHECK_FALSE(res.header("x-oneapi-request-id").empty());
  auto seen = mock.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].header("anthropic-beta") == "interleaved-thinking-2025-05-14");
  CHECK(seen[0].header("anthropic-version") == "2023-06-01");
  CHECK(seen[0].header("Authorization").empty());
  json expected = json::parse(request);
  expected["model"] = "claude-3-5-haiku-20241022";
  CHECK(json::parse(seen[0].body) == expected);
  auto row = log_row(g, res.header("x-oneapi-request-id"));
  CHECK(as_int(row, "prompt_tokens") == 121);
  CHECK(as_int(row, "completion_tokens") == 6);
  const int64_t whole_quota = expected_quota("claude-3-5-haiku-20241022", 14, 121, 6, 100);
  CHECK(as_int(row, "quota") == whole_quota);

  json stream_request = json::parse(request);
  stream_request["stream"] = true;
  auto streamed = claude_post(g.port(), "/v1/v1/messages", key, stream_request.dump());
  REQUIRE(streamed.status == 200);
  std::string upstream_bytes;
  for (const auto& e : stream) upstream_bytes += e;
  CHECK(streamed.body == upstream_bytes);  // byte for byte, nothing added at the end
  auto stream_row = log_row(g, streamed.header("x-oneapi-request-id"));
  CHECK(as_int(stream_row, "prompt_tokens") == 25);
  CHECK(as_int(stream_row, "completion_tokens") == 7);
  const int64_t stream_quota = expected_quota("claude-3-5-haiku-20241022", 14, 25, 7, 0);
  CHECK(as_int(stream_row, "quota") == stream_quota);
  CHECK(token_used(g) == whole_quota + stream_quota);
}

TEST_CASE("Claude client: errors in Anthropic's shape", "[e2e][claude-inbound]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.status = 429;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})";
  });
  Gateway g;
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(10'000'000);
  const std::string good = R"({"model":"gpt-4o-mini","max_tokens":5,"messages":[{"role":"user","content":"Hi"}]})";

  check_anthropic_error(claude_post(g.port(), "/v1/messages", "sk-not-a-real-key", good), 401, "authentication_error");
  check_anthropic_error(claude_post(g.port(), "/v1/messages", key,
                                    R"({"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hi"}]})"),
                        400, "invalid_request_error");
  check_anthropic_error(claude_post(g.port(), "/v1/messages", key, "{not json"), 400, "invalid_request_error");
  auto limited = claude_post(g.port(), "/v1/messages", key, good);
  check_anthropic_error(limited, 429, "rate_limit_error");
  CHECK(mock.request_count() >= 1);
  CHECK(token_used(g) == 0);
}

TEST_CASE("Claude client: count_tokens counts locally, charges nothing", "[e2e][claude-inbound]") {
  MockUpstream mock([](const net::ServerRequest&, MockReply& r) {
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    json answer = json::parse(openai_chat_body("ok", 0, 0));
    answer.erase("usage");  // no usage: the gateway bills its own count of the prompt
    r.body = answer.dump();
  });
  Gateway g;
  g.add_channel(mock.base_url());
  const std::string key = g.add_token(10'000'000);
  const std::string request = R"({"model":"gpt-4o-mini","system":"You are terse.",
    "messages":[{"role":"user","content":"How many tokens is this sentence?"}]})";

  auto counted = claude_post(g.port(), "/v1/messages/count_tokens", key, request);
  REQUIRE(counted.status == 200);
  const int64_t tokens = json::parse(counted.body).at("input_tokens").get<int64_t>();
  CHECK(tokens > 5);
  auto doubled = claude_post(g.port(), "/v1/v1/messages/count_tokens", key, request);
  REQUIRE(doubled.status == 200);
  CHECK(json::parse(doubled.body)["input_tokens"] == tokens);
  json with_tools = json::parse(request);
  with_tools["tools"] = json::parse(kToolRequest)["tools"];
  auto tooled = claude_post(g.port(), "/v1/messages/count_tokens", key, with_tools.dump());
  REQUIRE(tooled.status == 200);
  CHECK(json::parse(tooled.body)["input_tokens"].get<int64_t>() > tokens);
  CHECK(mock.request_count() == 0);
  CHECK(token_used(g) == 0);
  CHECK(db_int(g.db(), "SELECT COUNT(*) FROM logs WHERE type IN (2, 6)") == 0);
  check_anthropic_error(claude_post(g.port(), "/v1/messages/count_tokens", "sk-wrong", request), 401,
                        "authentication_error");

  // The same count the relay bills when the upstream reports no usage.
  json message = json::parse(request);
  message["max_tokens"] = 10;
  auto res = claude_post(g.port(), "/v1/messages", key, message.dump());
  REQUIRE(res.status == 200);
  CHECK(as_int(log_row(g, res.header("x-oneapi-request-id")), "prompt_tokens") == tokens);
}

TEST_CASE("Claude client, Anthropic channel: an error mid-stream ends the stream with one error event",
          "[e2e][claude-inbound][stream]") {
  const std::string start =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_3\",\"type\":\"message\","
      "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\",\"stop_reason\":null,"
      "\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n";
  MockUpstream mock([&](const net::ServerRequest&, MockReply& r) {
    r.status = 200;
    r.headers = {{"Content-Type", "text/event-stream"}};
    r.chunks = {{0, start},
                {0,
                 "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                 "\"message\":\"Overloaded\"}}\n\n"}};
  });
  Gateway g;
  auto added = g.daemon.ctl({"--json", "channel", "add", "--type", "anthropic", "--name", "claude", "--base-url",
                             mock.base_url(), "--key", "sk-ant-upstream", "--models", kClaudeModel});
  REQUIRE(added.exit_code == 0);
  const std::string key = g.add_token(10'000'000);
  auto res = claude_post(g.port(), "/v1/messages", key,
                         R"({"model":"claude-sonnet-4-5","max_tokens":20,"stream":true,
                             "messages":[{"role":"user","content":"Hi"}]})");
  REQUIRE(res.status == 200);
  REQUIRE(res.body.size() > start.size());
  CHECK(res.body.substr(0, start.size()) == start);
  auto tail = sse_events(res.body.substr(start.size()));
  REQUIRE(tail.size() == 1);  // the upstream's error event is replaced by the gateway's, not doubled
  CHECK(tail[0].first == "error");
  CHECK(tail[0].second["error"]["type"] == "overloaded_error");
  CHECK(tail[0].second["error"]["message"] == "Overloaded");
  CHECK(tail[0].second["request_id"] == res.header("x-oneapi-request-id"));
  CHECK(res.body.find("message_stop") == std::string::npos);
}
