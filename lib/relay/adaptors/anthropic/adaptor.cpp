#include "relay/adaptors/anthropic/adaptor.hpp"

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "net/sse.hpp"
#include "relay/adaptors/common.hpp"
#include "relay/adaptors/openai/adaptor.hpp"

namespace oneapi::relay::adaptors::anthropic {

namespace {

using nlohmann::json;

Error bad_request(std::string message) {
  return Error::make(ErrorKind::invalid_request, std::move(message), "invalid_request_for_anthropic");
}

std::string string_of(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// ---- request: OpenAI chat -> Anthropic messages ----

// The text of a message's content: a string, or the text parts of an array.
std::string text_of(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array())
    for (const auto& part : content)
      if (part.is_object() && string_of(part, "type") == "text") out += string_of(part, "text");
  return out;
}

// OpenAI's image_url part: a data: URL becomes a base64 source, an http(s) URL a url source.
Result<json> image_block(const json& part) {
  const json& image = part.contains("image_url") ? part["image_url"] : json();
  const std::string url = image.is_string() ? image.get<std::string>() : string_of(image, "url");
  if (starts_with(url, "data:")) {
    const size_t marker = url.find(";base64,");
    if (marker == std::string::npos) return bad_request("image data URLs must be base64 encoded");
    json source = {{"type", "base64"}, {"media_type", url.substr(5, marker - 5)}, {"data", url.substr(marker + 8)}};
    return json{{"type", "image"}, {"source", std::move(source)}};
  }
  if (starts_with(url, "http://") || starts_with(url, "https://"))
    return json{{"type", "image"}, {"source", {{"type", "url"}, {"url", url}}}};
  return bad_request("image_url must be an http(s) URL or a base64 data URL");
}

// A message's content as Anthropic content blocks (empty text is dropped: Anthropic rejects it).
Result<json> content_blocks(const json& content) {
  json blocks = json::array();
  if (content.is_null()) return blocks;
  if (content.is_string()) {
    if (!content.get_ref<const std::string&>().empty()) blocks.push_back({{"type", "text"}, {"text", content}});
    return blocks;
  }
  if (!content.is_array()) return bad_request("message content must be a string or an array of parts");
  for (const auto& part : content) {
    const std::string type = string_of(part, "type");
    if (type == "text") {
      std::string text = string_of(part, "text");
      if (!text.empty()) blocks.push_back({{"type", "text"}, {"text", std::move(text)}});
    } else if (type == "image_url") {
      auto image = image_block(part);
      if (!image) return image.error();
      blocks.push_back(std::move(*image));
    } else {
      return bad_request("content part type '" + type + "' is not supported by Anthropic channels");
    }
  }
  return blocks;
}

Result<json> tool_use_blocks(const json& tool_calls) {
  json blocks = json::array();
  if (!tool_calls.is_array()) return blocks;
  for (const auto& call : tool_calls) {
    const json& function = call.is_object() && call.contains("function") ? call["function"] : json();
    const std::string arguments = string_of(function, "arguments");
    json input = json::object();
    if (!arguments.empty()) {
      input = json::parse(arguments, nullptr, false);
      if (!input.is_object()) return bad_request("tool call arguments must be a JSON object");
    }
    blocks.push_back(
        {{"type", "tool_use"}, {"id", string_of(call, "id")}, {"name", string_of(function, "name")}, {"input", input}});
  }
  return blocks;
}

// Anthropic wants user and assistant turns to alternate: a message with the previous one's role
// joins it.
void append_turn(json& messages, const char* role, json blocks) {
  if (blocks.empty()) return;
  if (!messages.empty() && messages.back()["role"] == role) {
    for (auto& b : blocks) messages.back()["content"].push_back(std::move(b));
    return;
  }
  messages.push_back({{"role", role}, {"content", std::move(blocks)}});
}

Result<void> convert_messages(const json& in, json& out) {
  auto it = in.find("messages");
  if (it == in.end() || !it->is_array()) return bad_request("messages is required and must be an array");
  std::string system;
  json messages = json::array();
  for (const auto& m : *it) {
    if (!m.is_object()) return bad_request("every message must be an object");
    const std::string role = string_of(m, "role");
    const json& content = m.contains("content") ? m["content"] : json();
    if (role == "system" || role == "developer") {
      const std::string text = text_of(content);
      if (!text.empty()) system += (system.empty() ? "" : "\n\n") + text;
    } else if (role == "user" || role == "assistant") {
      auto blocks = content_blocks(content);
      if (!blocks) return blocks.error();
      if (role == "assistant") {
        auto calls = tool_use_blocks(m.contains("tool_calls") ? m["tool_calls"] : json());
        if (!calls) return calls.error();
        for (auto& c : *calls) blocks->push_back(std::move(c));
      }
      append_turn(messages, role == "user" ? "user" : "assistant", std::move(*blocks));
    } else if (role == "tool") {
      json result = {{"type", "tool_result"}, {"tool_use_id", string_of(m, "tool_call_id")}};
      if (std::string text = text_of(content); !text.empty()) result["content"] = std::move(text);
      append_turn(messages, "user", json::array({std::move(result)}));
    } else {
      return bad_request("message role '" + role + "' is not supported by Anthropic channels");
    }
  }
  // Anthropic wants a user turn's tool results before its other blocks.
  for (auto& m : messages) {
    auto& blocks = m["content"];
    std::stable_partition(blocks.begin(), blocks.end(),
                          [](const json& b) { return b.value("type", std::string()) == "tool_result"; });
  }
  if (!system.empty()) out["system"] = std::move(system);
  out["messages"] = std::move(messages);
  return {};
}

Result<void> convert_tools(const json& in, json& out) {
  auto tools = in.find("tools");
  if (tools == in.end() || !tools->is_array() || tools->empty()) return {};
  json converted = json::array();
  for (const auto& t : *tools) {
    const json& f = t.is_object() && t.contains("function") ? t["function"] : json();
    if (string_of(t, "type") != "function" || string_of(f, "name").empty())
      return bad_request("only function tools with a name are supported by Anthropic channels");
    json tool = {{"name", f["name"]}};
    if (f.contains("description") && f["description"].is_string()) tool["description"] = f["description"];
    const bool has_schema = f.contains("parameters") && f["parameters"].is_object();
    tool["input_schema"] = has_schema ? f["parameters"] : json{{"type", "object"}, {"properties", json::object()}};
    converted.push_back(std::move(tool));
  }
  out["tools"] = std::move(converted);

  json choice;
  if (auto c = in.find("tool_choice"); c != in.end()) {
    if (c->is_string()) {
      const std::string mode = c->get<std::string>();
      if (mode == "auto") choice = {{"type", "auto"}};
      if (mode == "required") choice = {{"type", "any"}};
      if (mode == "none") choice = {{"type", "none"}};
    } else if (c->is_object() && c->contains("function")) {
      choice = {{"type", "tool"}, {"name", string_of((*c)["function"], "name")}};
    }
  }
  if (auto p = in.find("parallel_tool_calls"); p != in.end() && p->is_boolean() && !p->get<bool>()) {
    if (choice.is_null()) choice = {{"type", "auto"}};
    if (choice["type"] != "none") choice["disable_parallel_tool_use"] = true;
  }
  if (!choice.is_null()) out["tool_choice"] = std::move(choice);
  return {};
}

// ---- responses: Anthropic -> OpenAI ----

std::string finish_reason_for(const std::string& stop_reason) {
  if (stop_reason == "max_tokens") return "length";
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

// Anthropic counts cache reads and cache writes apart from input_tokens; OpenAI's prompt_tokens
// includes everything the prompt held.
struct TokenCounts {
  int64_t input = 0, cache_read = 0, cache_creation = 0, output = 0;

  void take(const json& usage) {  // counts in a later event are cumulative: never go backwards
    input = std::max(input, count_of(usage, "input_tokens"));
    cache_read = std::max(cache_read, count_of(usage, "cache_read_input_tokens"));
    cache_creation = std::max(cache_creation, count_of(usage, "cache_creation_input_tokens"));
    output = std::max(output, count_of(usage, "output_tokens"));
  }
  Usage usage() const {
    Usage u;
    u.prompt_tokens = input + cache_read + cache_creation;
    u.completion_tokens = output;
    u.total_tokens = u.prompt_tokens + u.completion_tokens;
    u.cached_prompt_tokens = cache_read;
    return u;
  }
};

json openai_usage(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total_tokens},
          {"prompt_tokens_details", {{"cached_tokens", u.cached_prompt_tokens}}}};
}

int status_for_error_type(const std::string& type) {
  static const std::map<std::string, int> kStatus = {{"invalid_request_error", 400},
                                                     {"authentication_error", 401},
                                                     {"permission_error", 403},
                                                     {"not_found_error", 404},
                                                     {"request_too_large", 413},
                                                     {"rate_limit_error", 429},
                                                     {"api_error", 500},
                                                     {"overloaded_error", 529}};
  auto it = kStatus.find(type);
  return it == kStatus.end() ? 502 : it->second;
}

Error upstream_error(int status, std::string_view body) {
  Error e = openai::parse_upstream_error(status, body);  // Anthropic's error.message/type sit where OpenAI's do
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error")) {
    const std::string type = string_of(j["error"], "type");
    if (!type.empty()) e.code = type;  // One API reports the error type as the code too
  }
  return e;
}

class AnthropicStreamDecoder final : public StreamDecoder {
 public:
  AnthropicStreamDecoder(bool client_wants_usage, int64_t created)
      : client_wants_usage_(client_wants_usage), created_(created) {}

  void feed(std::string_view bytes, std::string& out) override {
    events_.clear();
    sse_.feed(bytes, events_);
    for (const auto& e : events_) handle(e, out);
  }

  StreamSummary finish(std::string& out) override {
    net::SseEvent last;
    if (sse_.finish(last)) handle(last, out);
    if (!summary_.done_seen && !error_) {  // a clean close without message_stop is still a cut answer
      Error e =
          Error::make(ErrorKind::upstream_error, "the upstream stream ended before message_stop", "stream_incomplete");
      e.status = 502;
      error_ = std::move(e);
    }
    return snapshot();
  }

  StreamSummary snapshot() const override {
    StreamSummary s = summary_;
    s.error = error_;
    // An upstream that failed before saying anything costs nothing, as with other providers.
    if (started_ && !(error_ && s.completion_text.empty())) s.usage = counts_.usage();
    return s;
  }

 private:
  void handle(const net::SseEvent& e, std::string& out) {
    if (e.data.empty() || summary_.done_seen || error_) return;
    const json j = json::parse(e.data, nullptr, false);
    if (!j.is_object()) return;
    std::string type = string_of(j, "type");
    if (type.empty()) type = e.event;
    if (type == "message_start") {
      const json& m = j.contains("message") ? j["message"] : json();
      id_ = "chatcmpl-" + string_of(m, "id");
      model_ = string_of(m, "model");
      if (m.is_object() && m.contains("usage")) counts_.take(m["usage"]);
      started_ = true;
      emit(out, {{"role", "assistant"}, {"content", ""}});
    } else if (type == "content_block_start") {
      const json& block = j.contains("content_block") ? j["content_block"] : json();
      const std::string block_type = string_of(block, "type");
      if (block_type == "tool_use") {
        const int tool = next_tool_++;
        tool_of_block_[count_of(j, "index")] = tool;
        const std::string name = string_of(block, "name");
        summary_.completion_text += name;
        json call = {{"index", tool},
                     {"id", string_of(block, "id")},
                     {"type", "function"},
                     {"function", {{"name", name}, {"arguments", ""}}}};
        emit(out, {{"tool_calls", json::array({std::move(call)})}});
      } else if (block_type == "text") {
        emit_text(out, "content", string_of(block, "text"));
      } else if (block_type == "thinking") {
        emit_text(out, "reasoning_content", string_of(block, "thinking"));
      }
    } else if (type == "content_block_delta") {
      const json& delta = j.contains("delta") ? j["delta"] : json();
      const std::string delta_type = string_of(delta, "type");
      if (delta_type == "text_delta") {
        emit_text(out, "content", string_of(delta, "text"));
      } else if (delta_type == "thinking_delta") {
        emit_text(out, "reasoning_content", string_of(delta, "thinking"));
      } else if (delta_type == "input_json_delta") {
        auto tool = tool_of_block_.find(count_of(j, "index"));
        const std::string partial = string_of(delta, "partial_json");
        if (tool == tool_of_block_.end() || partial.empty()) return;
        summary_.completion_text += partial;
        json call = {{"index", tool->second}, {"function", {{"arguments", partial}}}};
        emit(out, {{"tool_calls", json::array({std::move(call)})}});
      }
    } else if (type == "message_delta") {
      if (j.contains("usage")) counts_.take(j["usage"]);
      const std::string stop_reason = j.contains("delta") ? string_of(j["delta"], "stop_reason") : std::string();
      if (!stop_reason.empty()) emit(out, json::object(), finish_reason_for(stop_reason));
    } else if (type == "message_stop") {
      summary_.done_seen = true;
      if (client_wants_usage_ && started_) {
        json chunk = chunk_head();
        chunk["choices"] = json::array();
        chunk["usage"] = openai_usage(counts_.usage());
        out += net::sse_encode(chunk.dump());
      }
    } else if (type == "error") {
      // Not a clean end: the relay closes the client's stream with an error event and no [DONE].
      const json& err = j.contains("error") ? j["error"] : json();
      Error x = Error::make(ErrorKind::upstream_error, string_of(err, "message"), string_of(err, "type"));
      x.type = x.code;
      x.status = status_for_error_type(x.type);
      if (x.message.empty()) x.message = "the upstream reported an error mid-stream";
      error_ = std::move(x);
    }
    // ping, content_block_stop and event types added later carry nothing for the client.
  }

  json chunk_head() const {
    return {{"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_}};
  }

  void emit(std::string& out, json delta, const std::string& finish_reason = {}) {
    json choice = {{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", nullptr}};
    if (!finish_reason.empty()) choice["finish_reason"] = finish_reason;
    json chunk = chunk_head();
    chunk["choices"] = json::array({std::move(choice)});
    out += net::sse_encode(chunk.dump());
  }

  void emit_text(std::string& out, const char* field, const std::string& text) {
    if (text.empty()) return;
    summary_.completion_text += text;
    emit(out, {{field, text}});
  }

  bool client_wants_usage_;
  int64_t created_;
  net::SseDecoder sse_;
  std::vector<net::SseEvent> events_;
  StreamSummary summary_;
  std::optional<Error> error_;
  TokenCounts counts_;
  bool started_ = false;
  std::string id_ = "chatcmpl-";
  std::string model_;
  std::map<int64_t, int> tool_of_block_;  // Anthropic content block index -> OpenAI tool call index
  int next_tool_ = 0;
};

// A Claude Messages client's stream, passed through byte for byte, event by event, while its usage
// is read from message_start and message_delta. An `error` event is held back: the relay ends the
// stream with its own (same shape, with the request id).
class PassThroughStreamDecoder final : public StreamDecoder {
 public:
  void feed(std::string_view bytes, std::string& out) override {
    pending_.append(bytes);
    for (;;) {
      const size_t lf = pending_.find("\n\n"), crlf = pending_.find("\r\n\r\n");
      const size_t end = std::min(lf == std::string::npos ? lf : lf + 2, crlf == std::string::npos ? crlf : crlf + 4);
      if (end == std::string::npos) return;
      take(pending_.substr(0, end), out);
      pending_.erase(0, end);
    }
  }

  StreamSummary finish(std::string& out) override {
    if (!pending_.empty()) take(pending_ + "\n\n", out, pending_.size());  // a last event without its blank line
    pending_.clear();
    if (!summary_.done_seen && !summary_.error) {
      Error e =
          Error::make(ErrorKind::upstream_error, "the upstream stream ended before message_stop", "stream_incomplete");
      e.status = 502;
      summary_.error = std::move(e);
    }
    return snapshot();
  }

  StreamSummary snapshot() const override {
    StreamSummary s = summary_;
    if (started_ && !(s.error && s.completion_text.empty())) s.usage = counts_.usage();
    return s;
  }

 private:
  // One whole event: read it, and forward its bytes (the first `forward` of them).
  void take(const std::string& raw, std::string& out, size_t forward = std::string::npos) {
    events_.clear();
    sse_.feed(raw, events_);
    bool is_error = false;
    for (const auto& e : events_) is_error = read(e) || is_error;
    if (!is_error) out.append(raw, 0, forward);
  }

  // Returns whether the event is an error.
  bool read(const net::SseEvent& e) {
    const json j = json::parse(e.data, nullptr, false);
    std::string type = string_of(j, "type");
    if (type.empty()) type = e.event;
    if (type == "message_start") {
      started_ = true;
      if (j.contains("message") && j["message"].is_object() && j["message"].contains("usage"))
        counts_.take(j["message"]["usage"]);
    } else if (type == "message_delta") {
      if (j.contains("usage")) counts_.take(j["usage"]);
    } else if (type == "content_block_start") {
      const json& block = j.contains("content_block") ? j["content_block"] : json();
      summary_.completion_text += string_of(block, "text") + string_of(block, "name");
    } else if (type == "content_block_delta") {
      const json& delta = j.contains("delta") ? j["delta"] : json();
      for (const char* key : {"text", "partial_json", "thinking"}) summary_.completion_text += string_of(delta, key);
    } else if (type == "message_stop") {
      summary_.done_seen = true;
    } else if (type == "error") {
      const json& err = j.is_object() && j.contains("error") ? j["error"] : json();
      Error x = Error::make(ErrorKind::upstream_error, string_of(err, "message"), string_of(err, "type"));
      x.type = x.code;
      x.status = status_for_error_type(x.type);
      if (x.message.empty()) x.message = "the upstream reported an error mid-stream";
      if (!summary_.error) summary_.error = std::move(x);
      return true;
    }
    return false;
  }

  std::string pending_;
  net::SseDecoder sse_;
  std::vector<net::SseEvent> events_;
  StreamSummary summary_;
  TokenCounts counts_;
  bool started_ = false;
};

std::string messages_url(std::string_view base) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  // Users paste "https://api.anthropic.com" or ".../v1": accept both.
  if (base.size() >= 3 && base.substr(base.size() - 3) == "/v1") base.remove_suffix(3);
  return std::string(base) + "/v1/messages";
}

std::string_view mode_path(RelayMode mode) {
  return mode == RelayMode::embeddings ? "/v1/embeddings" : "/v1/completions";
}

class AnthropicAdaptor final : public Adaptor {
 public:
  std::string_view name() const override { return "anthropic"; }

  Result<UpstreamRequest> build_request(const AdaptorContext& ctx, const json& body,
                                        std::string_view raw_body) const override {
    if (ctx.mode != RelayMode::chat_completions)
      return Error::make(
          ErrorKind::invalid_request,
          std::string(mode_path(ctx.mode)) + " is not supported by Anthropic channels; use /v1/chat/completions",
          "unsupported_api_for_channel");
    UpstreamRequest r;
    std::string base = ctx.channel->base_url;
    if (base.empty()) base = std::string(default_base_url(ctx.channel->type));
    r.url = messages_url(base);
    r.headers.push_back({"x-api-key", ctx.channel->key});
    const std::string_view client_version = net::find_header(ctx.client_headers, "anthropic-version");
    r.headers.push_back({"anthropic-version", client_version.empty() ? kApiVersion : std::string(client_version)});
    if (std::string_view beta = net::find_header(ctx.client_headers, "anthropic-beta"); !beta.empty())
      r.headers.push_back({"anthropic-beta", std::string(beta)});
    r.headers.push_back({"Content-Type", "application/json"});
    r.headers.push_back({"Accept", ctx.stream ? "text/event-stream" : "application/json"});
    if (ctx.format == ClientFormat::claude_messages) {  // the client's own request: only the model changes
      if (!ctx.model_mapped) {
        r.body = std::string(raw_body);
      } else {
        json mapped = body;
        mapped["model"] = ctx.upstream_model;
        r.body = mapped.dump();
      }
      return r;
    }
    auto converted = convert_request(body, ctx.upstream_model, ctx.stream);
    if (!converted) return converted.error();
    r.body = converted->dump();
    return r;
  }

  Result<ParsedResponse> parse_response(const AdaptorContext& ctx, std::string body) const override {
    auto j = json::parse(body, nullptr, false);
    if (!j.is_object() || string_of(j, "type") == "error" || !j.contains("content")) {
      if (j.is_object() && j.contains("error")) return upstream_error(502, body);
      Error e = Error::make(ErrorKind::upstream_error, "upstream returned a response that is not an Anthropic message",
                            "unmarshal_response_body_failed");
      e.status = 502;
      return e;
    }
    if (ctx.format == ClientFormat::claude_messages) return pass_through(j, std::move(body));
    ParsedResponse p;
    std::string text, reasoning;
    json tool_calls = json::array();
    if (j["content"].is_array())
      for (const auto& block : j["content"]) {
        const std::string type = string_of(block, "type");
        if (type == "text") text += string_of(block, "text");
        if (type == "thinking") reasoning += string_of(block, "thinking");
        if (type == "tool_use") {
          const std::string arguments = block.contains("input") ? block["input"].dump() : "{}";
          const std::string name = string_of(block, "name");
          p.completion_text += name + arguments;
          tool_calls.push_back({{"id", string_of(block, "id")},
                                {"type", "function"},
                                {"function", {{"name", name}, {"arguments", arguments}}}});
        }
      }
    p.completion_text += text + reasoning;
    json message = {{"role", "assistant"}, {"content", text}};
    if (text.empty() && !tool_calls.empty()) message["content"] = nullptr;
    if (!reasoning.empty()) message["reasoning_content"] = reasoning;
    if (!tool_calls.empty()) message["tool_calls"] = std::move(tool_calls);
    json choice = {{"index", 0}, {"message", std::move(message)}, {"finish_reason", nullptr}};
    if (const std::string stop = string_of(j, "stop_reason"); !stop.empty())
      choice["finish_reason"] = finish_reason_for(stop);
    json out = {{"id", "chatcmpl-" + string_of(j, "id")},
                {"object", "chat.completion"},
                {"created", static_cast<int64_t>(std::time(nullptr))},
                {"model", string_of(j, "model")},
                {"choices", json::array({std::move(choice)})}};
    if (j.contains("usage") && j["usage"].is_object()) {
      TokenCounts counts;
      counts.take(j["usage"]);
      p.usage = counts.usage();
      out["usage"] = openai_usage(*p.usage);
    }
    p.body = out.dump();
    return p;
  }

  std::unique_ptr<StreamDecoder> new_stream_decoder(const AdaptorContext& ctx) const override {
    if (ctx.format == ClientFormat::claude_messages) return std::make_unique<PassThroughStreamDecoder>();
    return make_stream_decoder(ctx.client_wants_usage, static_cast<int64_t>(std::time(nullptr)));
  }

  Error parse_error(int status, std::string_view body) const override { return upstream_error(status, body); }

  // Claude Messages clients get Anthropic's own answers.
  bool speaks(ClientFormat format, int) const override {
    return format == ClientFormat::openai || format == ClientFormat::claude_messages;
  }

 private:
  // The answer as Anthropic sent it, with its usage read.
  static ParsedResponse pass_through(const json& message, std::string body) {
    ParsedResponse p;
    if (message["content"].is_array())
      for (const auto& block : message["content"])
        p.completion_text += string_of(block, "text") + string_of(block, "thinking") + string_of(block, "name") +
                             (block.contains("input") ? block["input"].dump() : std::string());
    if (message.contains("usage") && message["usage"].is_object()) {
      TokenCounts counts;
      counts.take(message["usage"]);
      p.usage = counts.usage();
    }
    p.body = std::move(body);
    return p;
  }
};

}  // namespace

Result<json> convert_request(const json& in, const std::string& model, bool stream) {
  if (!in.is_object()) return bad_request("the request body must be a JSON object");
  json out = {{"model", model}};
  if (auto r = convert_messages(in, out); !r) return r.error();
  int64_t max_tokens = 0;
  for (const char* key : {"max_completion_tokens", "max_tokens"})
    if (auto it = in.find(key); it != in.end() && it->is_number_integer() && it->get<int64_t>() > 0) {
      max_tokens = it->get<int64_t>();
      break;
    }
  out["max_tokens"] = max_tokens > 0 ? max_tokens : kDefaultMaxTokens;
  for (const char* key : {"temperature", "top_p", "top_k"})
    if (auto it = in.find(key); it != in.end() && it->is_number()) out[key] = *it;
  if (auto stop = in.find("stop"); stop != in.end()) {
    json sequences = json::array();
    if (stop->is_string()) sequences.push_back(*stop);
    if (stop->is_array())
      for (const auto& s : *stop)
        if (s.is_string()) sequences.push_back(s);
    if (!sequences.empty()) out["stop_sequences"] = std::move(sequences);
  }
  if (stream) out["stream"] = true;
  if (auto r = convert_tools(in, out); !r) return r.error();
  if (auto user = in.find("user");
      user != in.end() && user->is_string() && !user->get_ref<const std::string&>().empty())
    out["metadata"] = {{"user_id", *user}};
  return out;
}

std::unique_ptr<StreamDecoder> make_stream_decoder(bool client_wants_usage, int64_t created) {
  return std::make_unique<AnthropicStreamDecoder>(client_wants_usage, created);
}

const Adaptor& instance() {
  static const AnthropicAdaptor adaptor;
  return adaptor;
}

}  // namespace oneapi::relay::adaptors::anthropic
