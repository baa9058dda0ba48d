#include "relay/formats/responses.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include "core/util.hpp"
#include "net/sse.hpp"
#include "relay/adaptors/common.hpp"

namespace oneapi::relay::formats::responses {

namespace {

using adaptors::count_of;
using nlohmann::json;

Error bad_request(std::string message) {
  return Error::make(ErrorKind::invalid_request, std::move(message), "invalid_request_error");
}

Error needs_responses_api(const std::string& what) {
  return Error::make(ErrorKind::invalid_request,
                     what +
                         " needs a channel that has the Responses API (OpenAI); this channel gets the request "
                         "converted to chat completions",
                     "unsupported_parameter");
}

bool present(const json& body, const char* key) {
  auto it = body.find(key);
  return it != body.end() && !it->is_null();
}

const std::string* string_at(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

std::string string_or(const json& obj, const char* key, std::string fallback = {}) {
  const std::string* s = string_at(obj, key);
  return s ? *s : fallback;
}

// ---- request: Responses → chat completions ----

bool is_text_part(const std::string& type) {
  return type == "input_text" || type == "output_text" || type == "text" || type == "summary_text";
}

// A message's content as chat content: a string when it is all text, else text and image_url parts.
Result<json> chat_content(const json& content) {
  if (content.is_string()) return content;
  if (!content.is_array()) return bad_request("message content must be a string or an array of content parts");
  json parts = json::array();
  std::string joined;
  bool only_text = true;
  for (const auto& part : content) {
    const std::string type = string_or(part, "type");
    if (is_text_part(type) || type == "refusal") {
      const std::string* text = string_at(part, type == "refusal" ? "refusal" : "text");
      if (!text) return bad_request("content part " + type + " has no text");
      if (!joined.empty()) joined += "\n";
      joined += *text;
      parts.push_back({{"type", "text"}, {"text", *text}});
    } else if (type == "input_image") {
      const std::string* url = string_at(part, "image_url");
      if (!url) continue;  // a file_id image: needs_native() reports it
      json image = {{"url", *url}};
      if (const std::string* detail = string_at(part, "detail"); detail && *detail != "auto") image["detail"] = *detail;
      parts.push_back({{"type", "image_url"}, {"image_url", std::move(image)}});
      only_text = false;
    }  // else input_file, input_audio and parts chat has no place for: needs_native() reports them
  }
  if (only_text) return json(joined);
  return parts;
}

// function_call_output's output: a string, or content parts whose text is joined.
std::string tool_output(const json& output) {
  if (output.is_string()) return output.get<std::string>();
  std::string out;
  if (output.is_array())
    for (const auto& part : output)
      if (const std::string* text = string_at(part, "text")) out += *text;
  if (out.empty() && !output.is_null() && !output.is_array()) out = output.dump();
  return out;
}

// Appends a tool call to the last assistant message, or to a new one: chat wants the calls of one
// turn in one message.
void add_tool_call(json& messages, json call) {
  if (messages.empty() || messages.back().value("role", "") != "assistant")
    messages.push_back({{"role", "assistant"}, {"content", nullptr}});
  json& assistant = messages.back();
  if (!assistant.contains("tool_calls")) assistant["tool_calls"] = json::array();
  assistant["tool_calls"].push_back(std::move(call));
}

Result<void> add_input_item(const json& item, json& messages) {
  if (!item.is_object()) return bad_request("input items must be objects");
  const std::string type = string_or(item, "type", "message");
  if (type == "message") {
    std::string role = string_or(item, "role");
    if (role != "user" && role != "assistant" && role != "system" && role != "developer")
      return bad_request("input message role must be user, assistant, system or developer");
    if (role == "developer") role = "system";  // not every chat upstream knows "developer"
    auto content = chat_content(item.contains("content") ? item["content"] : json(""));
    if (!content) return content.error();
    if (role == "assistant" && !messages.empty() && messages.back().value("role", "") == "assistant" &&
        messages.back().contains("tool_calls") && messages.back()["content"].is_null()) {
      messages.back()["content"] = std::move(*content);
      return {};
    }
    messages.push_back({{"role", role}, {"content", std::move(*content)}});
    return {};
  }
  if (type == "function_call") {
    const std::string* call_id = string_at(item, "call_id");
    const std::string* name = string_at(item, "name");
    if (!call_id || !name) return bad_request("function_call items need call_id and name");
    add_tool_call(messages, {{"id", *call_id},
                             {"type", "function"},
                             {"function", {{"name", *name}, {"arguments", string_or(item, "arguments", "{}")}}}});
    return {};
  }
  if (type == "function_call_output") {
    const std::string* call_id = string_at(item, "call_id");
    if (!call_id) return bad_request("function_call_output items need call_id");
    messages.push_back({{"role", "tool"},
                        {"tool_call_id", *call_id},
                        {"content", tool_output(item.contains("output") ? item["output"] : json())}});
    return {};
  }
  // Reasoning a client replays from an earlier answer: chat has no place for it.
  return {};
}

Result<json> chat_tool(const json& tool) {
  if (string_or(tool, "type") != "function") return json();  // built-in: needs_native() reports it
  const std::string* name = string_at(tool, "name");
  if (!name) return bad_request("function tools need a name");
  json function = {{"name", *name}};
  for (const char* key : {"description", "parameters", "strict"})
    if (present(tool, key)) function[key] = tool[key];
  return json{{"type", "function"}, {"function", std::move(function)}};
}

json chat_tool_choice(const json& choice) {
  if (choice.is_string()) return choice;
  const std::string type = string_or(choice, "type");
  if (type == "function" && string_at(choice, "name"))
    return {{"type", "function"}, {"function", {{"name", choice["name"]}}}};
  if (type == "allowed_tools") return string_or(choice, "mode", "auto");
  return "auto";
}

// text.format → response_format; nullopt for plain text.
std::optional<json> chat_response_format(const json& text) {
  if (!text.is_object() || !text.contains("format")) return std::nullopt;
  const json& format = text["format"];
  const std::string type = string_or(format, "type");
  if (type == "json_object") return json{{"type", "json_object"}};
  if (type != "json_schema") return std::nullopt;
  json schema = {{"name", string_or(format, "name", "response")}};
  for (const char* key : {"schema", "strict", "description"})
    if (present(format, key)) schema[key] = format[key];
  return json{{"type", "json_schema"}, {"json_schema", std::move(schema)}};
}

Result<json> to_chat(const json& body) {
  json chat = json::object();
  if (body.contains("model")) chat["model"] = body["model"];
  json messages = json::array();
  if (const std::string* instructions = string_at(body, "instructions"); instructions && !instructions->empty())
    messages.push_back({{"role", "system"}, {"content", *instructions}});
  auto input = body.find("input");
  if (input == body.end() || input->is_null()) {
    if (!present(body, "previous_response_id") && !present(body, "conversation"))
      return bad_request("input is required");
  } else if (input->is_string()) {
    messages.push_back({{"role", "user"}, {"content", *input}});
  } else if (input->is_array()) {
    for (const auto& item : *input)
      if (auto r = add_input_item(item, messages); !r) return r.error();
  } else {
    return bad_request("input must be a string or an array of input items");
  }
  chat["messages"] = std::move(messages);

  if (present(body, "max_output_tokens")) chat["max_tokens"] = body["max_output_tokens"];
  for (const char* key : {"temperature", "top_p", "user", "parallel_tool_calls", "top_logprobs", "service_tier"})
    if (present(body, key)) chat[key] = body[key];
  if (body.contains("top_logprobs") && body["top_logprobs"].is_number()) chat["logprobs"] = true;
  if (auto tools = body.find("tools"); tools != body.end() && tools->is_array()) {
    json converted = json::array();
    for (const auto& tool : *tools) {
      auto t = chat_tool(tool);
      if (!t) return t.error();
      if (!t->is_null()) converted.push_back(std::move(*t));
    }
    if (!converted.empty()) chat["tools"] = std::move(converted);
  }
  if (present(body, "tool_choice") && chat.contains("tools"))
    chat["tool_choice"] = chat_tool_choice(body["tool_choice"]);
  if (auto format = chat_response_format(body.value("text", json()))) chat["response_format"] = std::move(*format);
  if (auto reasoning = body.find("reasoning"); reasoning != body.end() && reasoning->is_object())
    if (const std::string* effort = string_at(*reasoning, "effort")) chat["reasoning_effort"] = *effort;
  if (present(body, "stream")) {
    chat["stream"] = body["stream"];
    if (body["stream"] == true) chat["stream_options"] = {{"include_usage", true}};
  }
  return chat;
}

std::optional<Error> unconvertible(const json& body) {
  if (present(body, "previous_response_id"))
    return needs_responses_api(
        "previous_response_id (this gateway stores no responses: send the whole conversation in input)");
  if (present(body, "conversation"))
    return needs_responses_api("conversation (this gateway stores no conversations: send them in input)");
  if (body.value("background", false) == true) return needs_responses_api("background");
  if (auto tools = body.find("tools"); tools != body.end() && tools->is_array())
    for (const auto& tool : *tools)
      if (const std::string type = string_or(tool, "type", "function"); type != "function")
        return needs_responses_api("the built-in tool '" + type + "'");
  auto input = body.find("input");
  if (input == body.end() || !input->is_array()) return std::nullopt;
  for (const auto& item : *input) {
    const std::string type = string_or(item, "type", "message");
    if (type != "message" && type != "function_call" && type != "function_call_output" && type != "reasoning")
      return needs_responses_api("the input item type '" + type + "'");
    if (type != "message" || !item.contains("content") || !item["content"].is_array()) continue;
    for (const auto& part : item["content"]) {
      const std::string part_type = string_or(part, "type");
      if (part_type == "input_image" && !string_at(part, "image_url"))
        return needs_responses_api("an input_image given by file_id");
      if (!is_text_part(part_type) && part_type != "refusal" && part_type != "input_image")
        return needs_responses_api("the content part '" + part_type + "'");
    }
  }
  return std::nullopt;
}

// ---- answer: chat completion → Response ----

std::string new_id(const char* prefix) { return prefix + random_hex32() + random_hex32().substr(0, 16); }

json value_or(const json& body, const char* key, json fallback) {
  return present(body, key) ? body[key] : std::move(fallback);
}

// A Response object without output and usage: what the request asked for, echoed as OpenAI does.
json response_skeleton(const json& request, const std::string& id, int64_t created_at, const std::string& model) {
  json reasoning = {{"effort", nullptr}, {"summary", nullptr}};
  if (auto r = request.find("reasoning"); r != request.end() && r->is_object())
    for (const char* key : {"effort", "summary"})
      if (present(*r, key)) reasoning[key] = (*r)[key];
  return {{"id", id},
          {"object", "response"},
          {"created_at", created_at},
          {"status", "in_progress"},
          {"error", nullptr},
          {"incomplete_details", nullptr},
          {"instructions", value_or(request, "instructions", nullptr)},
          {"max_output_tokens", value_or(request, "max_output_tokens", nullptr)},
          {"model", model},
          {"output", json::array()},
          {"parallel_tool_calls", value_or(request, "parallel_tool_calls", true)},
          {"previous_response_id", nullptr},
          {"reasoning", std::move(reasoning)},
          {"store", false},  // nothing is stored
          {"temperature", value_or(request, "temperature", 1.0)},
          {"text", value_or(request, "text", {{"format", {{"type", "text"}}}})},
          {"tool_choice", value_or(request, "tool_choice", "auto")},
          {"tools", value_or(request, "tools", json::array())},
          {"top_p", value_or(request, "top_p", 1.0)},
          {"truncation", value_or(request, "truncation", "disabled")},
          {"usage", nullptr},
          {"user", value_or(request, "user", nullptr)},
          {"metadata", value_or(request, "metadata", json::object())}};
}

json usage_json(const Usage& u, int64_t reasoning_tokens) {
  return {{"input_tokens", u.prompt_tokens},
          {"input_tokens_details", {{"cached_tokens", u.cached_prompt_tokens}}},
          {"output_tokens", u.completion_tokens},
          {"output_tokens_details", {{"reasoning_tokens", reasoning_tokens}}},
          {"total_tokens", u.total_tokens}};
}

int64_t reasoning_tokens_of(const json& chat_usage) {
  if (!chat_usage.is_object() || !chat_usage.contains("completion_tokens_details")) return 0;
  return count_of(chat_usage["completion_tokens_details"], "reasoning_tokens");
}

// "length" and "content_filter" end a Response as incomplete, with OpenAI's reason.
const char* incomplete_reason(const std::string& finish_reason) {
  if (finish_reason == "length") return "max_output_tokens";
  if (finish_reason == "content_filter") return "content_filter";
  return nullptr;
}

void set_status(json& response, const std::string& finish_reason) {
  const char* reason = incomplete_reason(finish_reason);
  response["status"] = reason ? "incomplete" : "completed";
  if (reason) response["incomplete_details"] = {{"reason", reason}};
}

json output_text_part(const std::string& text) {
  return {{"type", "output_text"}, {"text", text}, {"annotations", json::array()}};
}

json message_item(const std::string& id, const char* status, json content) {
  return {{"id", id}, {"type", "message"}, {"status", status}, {"role", "assistant"}, {"content", std::move(content)}};
}

json function_call_item(const std::string& id, const std::string& call_id, const std::string& name,
                        const std::string& arguments, const char* status) {
  return {{"id", id},    {"type", "function_call"}, {"status", status}, {"arguments", arguments}, {"call_id", call_id},
          {"name", name}};
}

std::string model_of(const json& request, const json& fallback) {
  if (const std::string* m = string_at(request, "model")) return *m;
  return fallback.is_string() ? fallback.get<std::string>() : std::string();
}

Result<std::string> from_chat(const json& request, const json& chat, const Usage& usage) {
  if (!chat.is_object() || !chat.contains("choices") || !chat["choices"].is_array() || chat["choices"].empty())
    return Error::make(ErrorKind::upstream_error, "the upstream answer has no choices", "bad_response_body");
  const json& choice = chat["choices"][0];
  const json message = choice.value("message", json::object());
  const std::string finish_reason = string_or(choice, "finish_reason");
  const int64_t created =
      chat.contains("created") && chat["created"].is_number_integer() ? chat["created"].get<int64_t>() : unix_now();
  json response = response_skeleton(request, new_id("resp_"), created, model_of(request, chat.value("model", json())));
  set_status(response, finish_reason);
  const char* item_status = incomplete_reason(finish_reason) ? "incomplete" : "completed";
  json& output = response["output"];
  json content = json::array();
  if (const std::string* text = string_at(message, "content"); text && !text->empty())
    content.push_back(output_text_part(*text));
  if (const std::string* refusal = string_at(message, "refusal"); refusal && !refusal->empty())
    content.push_back({{"type", "refusal"}, {"refusal", *refusal}});
  const bool has_calls =
      message.contains("tool_calls") && message["tool_calls"].is_array() && !message["tool_calls"].empty();
  if (!content.empty() || !has_calls) output.push_back(message_item(new_id("msg_"), item_status, std::move(content)));
  if (has_calls)
    for (const auto& call : message["tool_calls"]) {
      const json function = call.value("function", json::object());
      output.push_back(function_call_item(new_id("fc_"), string_or(call, "id"), string_or(function, "name"),
                                          string_or(function, "arguments"), "completed"));
    }
  response["usage"] = usage_json(usage, reasoning_tokens_of(chat.value("usage", json())));
  return response.dump();
}

// ---- stream: chat chunks → Responses events ----

class ResponsesStreamEncoder final : public ClientStreamEncoder {
 public:
  ResponsesStreamEncoder(const json& request, const std::string& model)
      : response_(response_skeleton(request, new_id("resp_"), unix_now(), model_of(request, model))) {}

  void feed(std::string_view chat_sse, std::string& out) override {
    events_.clear();
    sse_.feed(chat_sse, events_);
    for (const auto& e : events_) {
      if (e.data.empty() || e.data == "[DONE]") continue;
      auto chunk = json::parse(e.data, nullptr, false);
      if (!chunk.is_object()) continue;
      start(out);
      if (chunk.contains("usage")) reasoning_tokens_ = std::max(reasoning_tokens_, reasoning_tokens_of(chunk["usage"]));
      auto choices = chunk.find("choices");
      if (choices == chunk.end() || !choices->is_array()) continue;
      for (const auto& choice : *choices) {
        if (choice.value("index", 0) != 0) continue;
        const json delta = choice.value("delta", json::object());
        if (const std::string* text = string_at(delta, "content"); text && !text->empty()) text_delta(*text, out);
        if (auto calls = delta.find("tool_calls"); calls != delta.end() && calls->is_array())
          for (const auto& call : *calls) tool_delta(call, out);
        if (const std::string* reason = string_at(choice, "finish_reason")) finish_reason_ = *reason;
      }
    }
  }

  void finish(const Usage& usage, std::string& out) override {
    start(out);
    close_item(out);
    set_status(response_, finish_reason_);
    response_["output"] = output_;
    response_["usage"] = usage_json(usage, reasoning_tokens_);
    const bool incomplete = response_["status"] == "incomplete";
    emit(incomplete ? "response.incomplete" : "response.completed", {{"response", response_}}, out);
  }

 private:
  struct OpenCall {
    int index = -1;  // the chat tool_calls index
    std::string id, call_id, name, arguments;
  };

  void emit(const char* type, json data, std::string& out) {
    data["type"] = type;
    data["sequence_number"] = sequence_++;
    out += "event: ";
    out += type;
    out += "\ndata: ";
    out += data.dump();
    out += "\n\n";
  }

  void start(std::string& out) {
    if (started_) return;
    started_ = true;
    emit("response.created", {{"response", response_}}, out);
    emit("response.in_progress", {{"response", response_}}, out);
  }

  int output_index() const { return static_cast<int>(output_.size()); }

  void text_delta(const std::string& text, std::string& out) {
    if (call_.index >= 0) close_item(out);
    if (message_id_.empty()) {
      message_id_ = new_id("msg_");
      message_text_.clear();
      emit("response.output_item.added",
           {{"output_index", output_index()}, {"item", message_item(message_id_, "in_progress", json::array())}}, out);
      emit("response.content_part.added",
           {{"item_id", message_id_},
            {"output_index", output_index()},
            {"content_index", 0},
            {"part", output_text_part("")}},
           out);
    }
    message_text_ += text;
    emit("response.output_text.delta",
         {{"item_id", message_id_},
          {"output_index", output_index()},
          {"content_index", 0},
          {"delta", text},
          {"logprobs", json::array()}},
         out);
  }

  void tool_delta(const json& call, std::string& out) {
    const int index = call.value("index", 0);
    const json function = call.value("function", json::object());
    if (index != call_.index) {
      close_item(out);
      call_.index = index;
      call_.id = new_id("fc_");
      call_.call_id = string_or(call, "id", "call_" + random_alnum(24));
      call_.name = string_or(function, "name");
      call_.arguments.clear();
      emit("response.output_item.added",
           {{"output_index", output_index()},
            {"item", function_call_item(call_.id, call_.call_id, call_.name, "", "in_progress")}},
           out);
    } else if (call_.name.empty()) {
      call_.name = string_or(function, "name");
    }
    if (const std::string* args = string_at(function, "arguments"); args && !args->empty()) {
      call_.arguments += *args;
      emit("response.function_call_arguments.delta",
           {{"item_id", call_.id}, {"output_index", output_index()}, {"delta", *args}}, out);
    }
  }

  // Ends the open message or function call with its .done events.
  void close_item(std::string& out) {
    if (!message_id_.empty()) {
      const char* status = incomplete_reason(finish_reason_) ? "incomplete" : "completed";
      emit("response.output_text.done",
           {{"item_id", message_id_},
            {"output_index", output_index()},
            {"content_index", 0},
            {"text", message_text_},
            {"logprobs", json::array()}},
           out);
      emit("response.content_part.done",
           {{"item_id", message_id_},
            {"output_index", output_index()},
            {"content_index", 0},
            {"part", output_text_part(message_text_)}},
           out);
      json item = message_item(message_id_, status, json::array({output_text_part(message_text_)}));
      emit("response.output_item.done", {{"output_index", output_index()}, {"item", item}}, out);
      output_.push_back(std::move(item));
      message_id_.clear();
    }
    if (call_.index >= 0) {
      emit("response.function_call_arguments.done",
           {{"item_id", call_.id},
            {"output_index", output_index()},
            {"name", call_.name},
            {"arguments", call_.arguments}},
           out);
      json item = function_call_item(call_.id, call_.call_id, call_.name, call_.arguments, "completed");
      emit("response.output_item.done", {{"output_index", output_index()}, {"item", item}}, out);
      output_.push_back(std::move(item));
      call_ = OpenCall{};
    }
  }

  json response_;
  json output_ = json::array();
  net::SseDecoder sse_;
  std::vector<net::SseEvent> events_;
  int64_t sequence_ = 0;
  bool started_ = false;
  std::string message_id_, message_text_;
  OpenCall call_;
  std::string finish_reason_;
  int64_t reasoning_tokens_ = 0;
};

class ResponsesBridge final : public FormatBridge {
 public:
  Result<json> to_chat_request(const json& client_body) const override { return to_chat(client_body); }
  std::string error_body(const Error& e, std::string_view request_id) const override {
    return to_openai_error_json(e, request_id);
  }
  // OpenAI's `error` stream event.
  std::string stream_error_event(const Error& e, std::string_view request_id) const override {
    std::string message = e.message;
    if (!request_id.empty()) message += " (request id: " + std::string(request_id) + ")";
    json data = {{"type", "error"},
                 {"code", e.code.empty() ? json(nullptr) : json(e.code)},
                 {"message", std::move(message)},
                 {"param", nullptr},
                 {"sequence_number", 0}};
    return "event: error\ndata: " + data.dump() + "\n\n";
  }
  std::optional<Error> needs_native(const json& client_body) const override { return unconvertible(client_body); }
  Result<std::string> from_chat_response(const json& client_body, const json& chat_response,
                                         const Usage& usage) const override {
    return from_chat(client_body, chat_response, usage);
  }
  std::unique_ptr<ClientStreamEncoder> new_stream_encoder(const json& client_body,
                                                          const std::string& model) const override {
    return std::make_unique<ResponsesStreamEncoder>(client_body, model);
  }
};

// ---- pass-through: reading a Responses stream ----

class PassThroughDecoder final : public StreamDecoder {
 public:
  void feed(std::string_view bytes, std::string& out) override {
    out.append(bytes);  // the client's own format: byte for byte
    events_.clear();
    sse_.feed(bytes, events_);
    for (const auto& e : events_) handle(e);
  }

  StreamSummary finish(std::string&) override {
    net::SseEvent last;
    if (sse_.finish(last)) handle(last);
    return summary_;
  }

  StreamSummary snapshot() const override { return summary_; }

 private:
  void handle(const net::SseEvent& e) {
    auto data = json::parse(e.data, nullptr, false);
    if (!data.is_object()) return;
    const std::string type = string_or(data, "type", e.event);
    if (type == "response.output_text.delta" || type == "response.function_call_arguments.delta" ||
        type == "response.refusal.delta") {
      summary_.completion_text += string_or(data, "delta");
    } else if (type == "response.completed" || type == "response.incomplete") {
      summary_.done_seen = true;
      if (auto u = usage_of_response(data.value("response", json()))) summary_.usage = u;
    } else if (type == "response.failed" || type == "error") {
      const json response = data.value("response", json());
      const json error = type == "error" ? data : response.value("error", json());
      Error err = Error::make(ErrorKind::upstream_error, string_or(error, "message", "the upstream response failed"),
                              string_or(error, "code", "response_failed"));
      err.status = 502;
      summary_.error = std::move(err);
      if (auto u = usage_of_response(response)) summary_.usage = u;
    }
  }

  net::SseDecoder sse_;
  std::vector<net::SseEvent> events_;
  StreamSummary summary_;
};

}  // namespace

const FormatBridge& bridge() {
  static const ResponsesBridge instance;
  return instance;
}

std::optional<Usage> usage_of_response(const json& response) {
  if (!response.is_object()) return std::nullopt;
  auto it = response.find("usage");
  if (it == response.end() || !it->is_object()) return std::nullopt;
  Usage u;
  u.prompt_tokens = count_of(*it, "input_tokens");
  u.completion_tokens = count_of(*it, "output_tokens");
  u.total_tokens = it->contains("total_tokens") ? count_of(*it, "total_tokens") : u.prompt_tokens + u.completion_tokens;
  if (auto d = it->find("input_tokens_details"); d != it->end())
    u.cached_prompt_tokens = std::min(count_of(*d, "cached_tokens"), u.prompt_tokens);
  return u;
}

std::string text_of_response(const json& response) {
  std::string out;
  if (!response.is_object() || !response.contains("output") || !response["output"].is_array()) return out;
  for (const auto& item : response["output"]) {
    if (!item.is_object()) continue;
    out += string_or(item, "name");
    out += string_or(item, "arguments");
    if (auto content = item.find("content"); content != item.end() && content->is_array())
      for (const auto& part : *content) {
        out += string_or(part, "text");
        out += string_or(part, "refusal");
      }
  }
  return out;
}

std::unique_ptr<StreamDecoder> new_pass_through_decoder() { return std::make_unique<PassThroughDecoder>(); }

}  // namespace oneapi::relay::formats::responses
