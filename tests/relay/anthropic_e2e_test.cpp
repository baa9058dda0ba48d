// End to end through the real oneapid: an OpenAI client, an Anthropic channel (type 14) and a mock
// upstream that speaks Anthropic's Messages API on loopback; bills read back from the SQLite file.
#include <catch2/catch.hpp>
#include <optional>

#include "billing/quota.hpp"
#include "billing/ratios.hpp"
#include "relay/e2e_support.hpp"

using namespace oneapi;
using namespace oneapi::test;
using nlohmann::json;

namespace {

constexpr const char* kModel = "claude-3-5-sonnet-20241022";
constexpr const char* kChannelKey = "sk-ant-upstream-secret";

int64_t add_anthropic_channel(Gateway& g, const std::string& base_url) {
  auto r = g.daemon.ctl({"--json", "channel", "add", "--type", "anthropic", "--name", "claude", "--base-url", base_url,
                         "--key", kChannelKey, "--models", kModel});
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out).at("id").get<int64_t>();
}

// A Messages API answer (Anthropic's documented shape).
std::string anthropic_message(const std::string& text, const json& usage) {
  json msg = {{"id", "msg_01XFDUDYJgAACzvnptvVoYEL"},
              {"type", "message"},
              {"role", "assistant"},
              {"model", kModel},
              {"content", json::array({{{"type", "text"}, {"text", text}}})},
              {"stop_reason", "end_turn"},
              {"stop_sequence", nullptr},
              {"usage", usage}};
  return msg.dump();
}

std::string event(const std::string& name, const json& data) {
  return "event: " + name + "\ndata: " + data.dump() + "\n\n";
}

// A streamed answer: message_start (input and cache counts), a ping, one text block, message_delta
// (cumulative output count), message_stop; or an error event after the words when `fail`.
std::vector<MockChunk> anthropic_stream(const std::vector<std::string>& words, const json& start_usage,
                                        int output_tokens, bool fail = false) {
  std::vector<MockChunk> out;
  json message = {{"id", "msg_stream"}, {"type", "message"},      {"role", "assistant"}, {"content", json::array()},
                  {"model", kModel},    {"stop_reason", nullptr}, {"usage", start_usage}};
  out.push_back({0, event("message_start", {{"type", "message_start"}, {"message", message}})});
  out.push_back(
      {0, event("content_block_start",
                {{"type", "content_block_start"}, {"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}})});
  out.push_back({0, event("ping", {{"type", "ping"}})});
  for (const auto& w : words)
    out.push_back(
        {0, event("content_block_delta",
                  {{"type", "content_block_delta"}, {"index", 0}, {"delta", {{"type", "text_delta"}, {"text", w}}}})});
  if (fail) {
    out.push_back(
        {0, event("error", {{"type", "error"}, {"error", {{"type", "overloaded_error"}, {"message", "Overloaded"}}}})});
    return out;
  }
  out.push_back({0, event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}})});
  out.push_back({0, event("message_delta", {{"type", "message_delta"},
                                            {"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
                                            {"usage", {{"output_tokens", output_tokens}}}})});
  out.push_back({0, event("message_stop", {{"type", "message_stop"}})});
  return out;
}

// The mock answers 400 in Anthropic's shape when the request is not what Anthropic expects, so a
// conversion bug fails loudly; the test also inspects the recorded requests.
bool well_formed(const net::ServerRequest& req, MockReply& r) {
  auto body = json::parse(req.body, nullptr, false);
  const bool ok = req.path == "/v1/messages" && req.header("x-api-key") == kChannelKey &&
                  req.header("anthropic-version") == "2023-06-01" && body.is_object() &&
                  body.value("max_tokens", 0) > 0 && body.contains("messages");
  if (!ok) {
    r.status = 400;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"type":"error","error":{"type":"invalid_request_error","message":"mock: malformed request"}})";
  }
  return ok;
}

int64_t user_used(const Gateway& g) {
  return db_int(g.db(), "SELECT used_quota FROM users WHERE id = (SELECT user_id FROM tokens WHERE name = 'test')");
}

// The bill lib/billing computes for these counts with the gateway's ratios for the model on an
// Anthropic channel (type 14) and a default-group user, after the CachedInputRatio option.
int64_t expected_quota(const std::string& cached_input_option, int64_t prompt, int64_t completion, int64_t cached) {
  billing::Ratios ratios;
  if (!cached_input_option.empty()) REQUIRE(ratios.set_cached_input_ratios(cached_input_option));
  billing::Price price;
  price.model_ratio = ratios.model_ratio(kModel, 14);
  price.completion_ratio = ratios.completion_ratio(kModel, 14);
  price.group_ratio = ratios.group_ratio("default");
  price.cached_input_ratio = ratios.cached_input_ratio(kModel, 14);
  return billing::quota_for_usage(price, prompt, completion, cached);
}

}  // namespace

TEST_CASE("Anthropic channel: a chat completion is converted both ways, billed and logged", "[e2e][anthropic]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    if (!well_formed(req, r)) return;
    r.status = 200;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = anthropic_message("Bonjour !", {{"input_tokens", 21}, {"output_tokens", 6}});
  });
  Gateway g;
  add_anthropic_channel(g, mock.base_url());
  const std::string key = g.add_token(10'000'000);

  auto res = post_json(g.port(), "/v1/chat/completions", key,
                       R"({"model":"claude-3-5-sonnet-20241022","max_tokens":200,"stop":["###"],
        "messages":[{"role":"system","content":"Answer in French."},{"role":"user","content":"Say hello"}]})");
  REQUIRE(res.status == 200);
  auto body = json::parse(res.body);
  CHECK(body["object"] == "chat.completion");
  CHECK(body["id"] == "chatcmpl-msg_01XFDUDYJgAACzvnptvVoYEL");
  CHECK(body["choices"][0]["message"]["content"] == "Bonjour !");
  CHECK(body["choices"][0]["finish_reason"] == "stop");
  CHECK(body["usage"]["prompt_tokens"] == 21);
  CHECK(body["usage"]["completion_tokens"] == 6);

  auto seen = mock.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].path == "/v1/messages");
  CHECK(seen[0].header("x-api-key") == kChannelKey);
  CHECK(seen[0].header("anthropic-version") == "2023-06-01");
  CHECK(seen[0].header("Authorization").empty());  // the client's key never reaches the upstream
  auto sent = json::parse(seen[0].body);
  CHECK(sent["model"] == kModel);
  CHECK(sent["max_tokens"] == 200);
  CHECK(sent["system"] == "Answer in French.");
  CHECK(sent["stop_sequences"] == json::array({"###"}));
  CHECK(sent["messages"] == json::parse(R"([{"role":"user","content":[{"type":"text","text":"Say hello"}]}])"));

  auto row = log_row(g, res.header("x-oneapi-request-id"));
  CHECK(as_int(row, "prompt_tokens") == 21);
  CHECK(as_int(row, "completion_tokens") == 6);
  CHECK(as_int(row, "quota") == expected_quota("", 21, 6, 0));
  CHECK(token_used(g) == expected_quota("", 21, 6, 0));
}

TEST_CASE("Anthropic channel: a stream becomes OpenAI chunks, usage chunk on request, errors stay errors",
          "[e2e][anthropic][stream]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    if (!well_formed(req, r)) return;
    auto body = json::parse(req.body);
    if (body.value("stream", false) != true) {
      r.status = 400;
      r.body = R"({"type":"error","error":{"type":"invalid_request_error","message":"mock: expected stream"}})";
      return;
    }
    r.status = 200;
    r.headers = {{"Content-Type", "text/event-stream"}};
    const bool fail = body.dump().find("please fail") != std::string::npos;
    r.chunks = anthropic_stream({"Hello", " there", "!"}, {{"input_tokens", 15}, {"output_tokens", 1}}, 5, fail);
  });
  Gateway g;
  add_anthropic_channel(g, mock.base_url());
  const std::string key = g.add_token(10'000'000);

  auto res = post_json(g.port(), "/v1/chat/completions", key,
                       chat_body(true, kModel, R"(,"stream_options":{"include_usage":true})"));
  REQUIRE(res.status == 200);
  CHECK(res.header("content-type").find("text/event-stream") != std::string::npos);
  std::string text;
  std::optional<json> usage;
  std::vector<std::string> lines;
  for (size_t pos = 0; (pos = res.body.find("data: ", pos)) != std::string::npos;) {
    size_t end = res.body.find("\n\n", pos);
    lines.push_back(res.body.substr(pos + 6, end - pos - 6));
    pos = end;
  }
  REQUIRE(!lines.empty());
  CHECK(lines.back() == "[DONE]");  // sent once, by the relay, after the bill
  lines.pop_back();
  for (const auto& l : lines) {
    auto c = json::parse(l);
    CHECK(c["object"] == "chat.completion.chunk");
    if (c["choices"].empty())
      usage = c["usage"];
    else if (c["choices"][0]["delta"].contains("content"))
      text += c["choices"][0]["delta"]["content"].get<std::string>();
  }
  CHECK(text == "Hello there!");
  REQUIRE(usage);
  CHECK((*usage)["prompt_tokens"] == 15);
  CHECK((*usage)["completion_tokens"] == 5);
  auto row = log_row(g, res.header("x-oneapi-request-id"));
  CHECK(as_int(row, "prompt_tokens") == 15);
  CHECK(as_int(row, "completion_tokens") == 5);
  CHECK(as_int(row, "is_stream") == 1);
  CHECK(as_int(row, "quota") == expected_quota("", 15, 5, 0));

  // Anthropic's `event: error` mid-stream: the words are billed, the client gets an error event, no [DONE].
  const int64_t used_before = token_used(g);
  auto failed = post_json(g.port(), "/v1/chat/completions", key,
                          R"({"model":"claude-3-5-sonnet-20241022","stream":true,
                              "messages":[{"role":"user","content":"please fail"}]})");
  REQUIRE(failed.status == 200);  // the headers had gone out
  CHECK(failed.body.find("Hello") != std::string::npos);
  CHECK(failed.body.find("[DONE]") == std::string::npos);
  CHECK(failed.body.find("Overloaded") != std::string::npos);
  auto failed_row = log_row(g, failed.header("x-oneapi-request-id"));
  CHECK(as_int(failed_row, "prompt_tokens") == 15);
  CHECK(token_used(g) - used_before == as_int(failed_row, "quota"));
  CHECK(as_int(failed_row, "quota") > 0);
}

TEST_CASE("Anthropic channel: cache reads are billed at CachedInputRatio and logged", "[e2e][anthropic][billing]") {
  const json usage = {{"input_tokens", 100},
                      {"cache_creation_input_tokens", 500},
                      {"cache_read_input_tokens", 3000},
                      {"output_tokens", 40}};
  MockUpstream mock([usage](const net::ServerRequest& req, MockReply& r) {
    if (!well_formed(req, r)) return;
    r.status = 200;
    if (json::parse(req.body).value("stream", false)) {
      r.headers = {{"Content-Type", "text/event-stream"}};
      json start = usage;
      start["output_tokens"] = 1;
      r.chunks = anthropic_stream({"Cached", " answer"}, start, usage["output_tokens"].get<int>());
    } else {
      r.headers = {{"Content-Type", "application/json"}};
      r.body = anthropic_message("Cached answer", usage);
    }
  });
  Gateway g;
  add_anthropic_channel(g, mock.base_url());
  const std::string key = g.add_token(10'000'000);
  const std::string option = R"({"claude-3-5-sonnet-20241022":0.25})";
  REQUIRE(g.daemon.ctl({"option", "set", "CachedInputRatio", option}).exit_code == 0);

  // Cache writes count as ordinary input; cache reads are the cached part.
  const int64_t prompt = 100 + 500 + 3000, cached = 3000, completion = 40;
  const int64_t expected = expected_quota(option, prompt, completion, cached);
  REQUIRE(expected < expected_quota("", prompt, completion, 0));  // the discount is visible
  const int64_t user_before = user_used(g);

  for (bool stream : {false, true}) {
    INFO("stream: " << stream);
    const int64_t token_before = token_used(g);
    auto res = post_json(g.port(), "/v1/chat/completions", key, chat_body(stream, kModel));
    REQUIRE(res.status == 200);
    auto row = log_row(g, res.header("x-oneapi-request-id"));
    CHECK(as_int(row, "prompt_tokens") == prompt);
    CHECK(as_int(row, "completion_tokens") == completion);
    CHECK(as_int(row, "cached_prompt_tokens") == cached);
    CHECK(as_int(row, "quota") == expected);
    CHECK(row.at("content").find("cached input ratio 0.25") != std::string::npos);
    CHECK(token_used(g) - token_before == expected);
  }
  CHECK(user_used(g) - user_before == 2 * expected);
}

TEST_CASE("Anthropic channel: upstream errors and unsupported modes are OpenAI-style errors", "[e2e][anthropic]") {
  MockUpstream mock([](const net::ServerRequest& req, MockReply& r) {
    if (!well_formed(req, r)) return;
    r.status = 529;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})";
  });
  Gateway g;
  add_anthropic_channel(g, mock.base_url());
  const std::string key = g.add_token(10'000'000);

  auto overloaded = post_json(g.port(), "/v1/chat/completions", key, chat_body(false, kModel));
  CHECK(overloaded.status == 529);
  auto err = json::parse(overloaded.body);
  CHECK(err["error"]["message"].get<std::string>().find("Overloaded") == 0);
  CHECK(err["error"]["type"] == "overloaded_error");
  CHECK(token_used(g) == 0);  // refunded

  for (const char* path : {"/v1/embeddings", "/v1/completions"}) {
    INFO(path);
    auto res = post_json(g.port(), path, key, R"({"model":"claude-3-5-sonnet-20241022","input":"x","prompt":"x"})");
    CHECK(res.status == 400);
    auto e = json::parse(res.body);
    CHECK(e["error"]["type"] == "invalid_request_error");
    CHECK(e["error"]["message"].get<std::string>().find("not supported by Anthropic channels") != std::string::npos);
  }
  CHECK(mock.request_count() == 1);  // neither reached the upstream
  CHECK(token_used(g) == 0);
}
