// Gemini's GenerateContentResponse (whole or streamed as SSE) and BatchEmbedContentsResponse ->
// OpenAI's chat.completion, chat.completion.chunk and embedding list.
#include <algorithm>
#include <vector>

#include "net/sse.hpp"
#include "relay/adaptors/common.hpp"
#include "relay/adaptors/gemini/convert.hpp"

namespace oneapi::relay::adaptors::gemini {

using nlohmann::json;

namespace {

Error bad_upstream(std::string message) {
  Error e = Error::make(ErrorKind::upstream_error, std::move(message), "unmarshal_response_body_failed");
  e.status = 502;
  return e;
}

// What one candidate's parts say, in OpenAI terms.
struct CandidateParts {
  std::string text;
  std::string reasoning;  // parts marked "thought" (only sent when the request asked for thoughts)
  json tool_calls = json::array();
};

// `next_call` numbers tool calls across the whole answer so their ids never repeat.
CandidateParts read_parts(const json& candidate, const Identity& who, int& next_call, bool stream_indexes) {
  CandidateParts out;
  auto content = candidate.find("content");
  if (content == candidate.end() || !content->is_object()) return out;
  auto parts = content->find("parts");
  if (parts == content->end() || !parts->is_array()) return out;
  for (const auto& p : *parts) {
    if (!p.is_object()) continue;
    if (auto t = p.find("text"); t != p.end() && t->is_string()) {
      (p.value("thought", false) ? out.reasoning : out.text) += t->get_ref<const std::string&>();
    }
    if (auto f = p.find("functionCall"); f != p.end() && f->is_object()) {
      const int n = next_call++;
      json call = {
          {"id", "call_" + who.id + "_" + std::to_string(n)},
          {"type", "function"},
          {"function", {{"name", f->value("name", "")}, {"arguments", f->value("args", json::object()).dump()}}}};
      if (stream_indexes) call["index"] = n;
      out.tool_calls.push_back(std::move(call));
    }
  }
  return out;
}

void append_completion_text(const CandidateParts& c, std::string& out) {
  out += c.reasoning;
  out += c.text;
  for (const auto& call : c.tool_calls) {
    out += call["function"]["name"].get<std::string>();
    out += call["function"]["arguments"].get<std::string>();
  }
}

int candidate_index(const json& candidate, size_t position) {
  auto i = candidate.find("index");
  return i != candidate.end() && i->is_number_integer() ? i->get<int>() : static_cast<int>(position);
}

// Gemini streams the same SSE framing OpenAI does; events are GenerateContentResponse objects and
// the stream simply ends (no terminal marker): a finishReason is the sign of a complete answer.
class GeminiStreamDecoder final : public StreamDecoder {
 public:
  GeminiStreamDecoder(Identity who, bool client_wants_usage)
      : who_(std::move(who)), client_wants_usage_(client_wants_usage) {}

  void feed(std::string_view bytes, std::string& out) override {
    events_.clear();
    sse_.feed(bytes, events_);
    for (auto& e : events_) handle(e, out);
  }

  StreamSummary finish(std::string& out) override {
    net::SseEvent last;
    if (sse_.finish(last)) handle(last, out);
    // usageMetadata is cumulative: the last one seen is the answer's.
    if (client_wants_usage_ && !last_usage_.is_null()) {
      json chunk = chunk_head();
      chunk["choices"] = json::array();
      chunk["usage"] = openai_usage(last_usage_);
      out += net::sse_encode(chunk.dump());
    }
    return summary_;
  }

  StreamSummary snapshot() const override { return summary_; }

 private:
  json chunk_head() const {
    return {{"id", "chatcmpl-" + who_.id},
            {"object", "chat.completion.chunk"},
            {"created", who_.created},
            {"model", who_.model}};
  }

  void handle(const net::SseEvent& e, std::string& out) {
    if (e.data.empty()) return;
    auto j = json::parse(e.data, nullptr, false);
    if (!j.is_object()) return;  // Gemini sends only JSON objects; nothing else is an answer
    if (auto err = j.find("error"); err != j.end() && err->is_object()) {
      // The relay ends the client's stream with this as an error event, never with [DONE].
      Error failure = Error::make(ErrorKind::upstream_error, err->value("message", "upstream error"),
                                  err->value("status", "upstream_error"));
      failure.status = 502;
      summary_.error = std::move(failure);
      return;
    }
    if (auto u = j.find("usageMetadata"); u != j.end() && u->is_object()) {
      last_usage_ = *u;
      summary_.usage = usage_of(j);
    }
    auto candidates = j.find("candidates");
    if (candidates == j.end() || !candidates->is_array()) return;
    json choices = json::array();
    for (size_t pos = 0; pos < candidates->size(); ++pos) {
      const json& cand = (*candidates)[pos];
      if (!cand.is_object()) continue;
      const int index = candidate_index(cand, pos);
      CandidateParts parts = read_parts(cand, who_, next_call_, true);
      append_completion_text(parts, summary_.completion_text);
      if (!parts.tool_calls.empty()) called_tools_ = true;
      json delta = json::object();
      if (std::find(started_.begin(), started_.end(), index) == started_.end()) {
        started_.push_back(index);
        delta["role"] = "assistant";
      }
      if (!parts.text.empty()) delta["content"] = parts.text;
      if (!parts.reasoning.empty()) delta["reasoning_content"] = parts.reasoning;
      if (!parts.tool_calls.empty()) delta["tool_calls"] = std::move(parts.tool_calls);
      json finish = finish_reason(cand.value("finishReason", json()), called_tools_);
      if (!finish.is_null()) summary_.done_seen = true;
      if (delta.empty() && finish.is_null()) continue;
      if (delta.size() == 1 && delta.contains("role")) delta["content"] = "";  // as OpenAI's first chunk
      choices.push_back({{"index", index}, {"delta", std::move(delta)}, {"finish_reason", std::move(finish)}});
    }
    if (choices.empty()) return;
    json chunk = chunk_head();
    chunk["choices"] = std::move(choices);
    out += net::sse_encode(chunk.dump());
  }

  Identity who_;
  bool client_wants_usage_;
  net::SseDecoder sse_;
  std::vector<net::SseEvent> events_;
  StreamSummary summary_;
  json last_usage_;
  std::vector<int> started_;  // candidate indexes whose first delta (with the role) went out
  int next_call_ = 0;
  bool called_tools_ = false;
};

}  // namespace

std::optional<Usage> usage_of(const json& response) {
  auto m = response.find("usageMetadata");
  if (m == response.end() || !m->is_object()) return std::nullopt;
  Usage u;
  u.prompt_tokens = count_of(*m, "promptTokenCount") + count_of(*m, "toolUsePromptTokenCount");
  u.completion_tokens = count_of(*m, "candidatesTokenCount") + count_of(*m, "thoughtsTokenCount");
  u.total_tokens = count_of(*m, "totalTokenCount");
  if (u.total_tokens == 0) u.total_tokens = u.prompt_tokens + u.completion_tokens;
  u.cached_prompt_tokens = std::min(count_of(*m, "cachedContentTokenCount"), u.prompt_tokens);
  return u;
}

json openai_usage(const json& usage_metadata) {
  const json wrapper = {{"usageMetadata", usage_metadata}};
  const Usage u = usage_of(wrapper).value_or(Usage{});
  json out = {
      {"prompt_tokens", u.prompt_tokens}, {"completion_tokens", u.completion_tokens}, {"total_tokens", u.total_tokens}};
  if (u.cached_prompt_tokens > 0) out["prompt_tokens_details"] = {{"cached_tokens", u.cached_prompt_tokens}};
  if (const int64_t thoughts = count_of(usage_metadata, "thoughtsTokenCount"); thoughts > 0)
    out["completion_tokens_details"] = {{"reasoning_tokens", thoughts}};
  return out;
}

json finish_reason(const json& gemini_reason, bool called_tools) {
  if (!gemini_reason.is_string()) return nullptr;
  const std::string& r = gemini_reason.get_ref<const std::string&>();
  if (r.empty() || r == "FINISH_REASON_UNSPECIFIED") return nullptr;
  if (r == "MAX_TOKENS") return "length";
  for (const char* filtered : {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"})
    if (r == filtered) return "content_filter";
  return called_tools ? "tool_calls" : "stop";  // STOP, and OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, …
}

Result<ParsedResponse> chat_response(std::string_view body, const Identity& who) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return bad_upstream("Gemini returned a response that is not a JSON object");
  ParsedResponse p;
  json choices = json::array();
  int next_call = 0;
  const json candidates = j.value("candidates", json::array());
  for (size_t pos = 0; pos < candidates.size(); ++pos) {
    const json& cand = candidates[pos];
    if (!cand.is_object()) continue;
    CandidateParts parts = read_parts(cand, who, next_call, false);
    append_completion_text(parts, p.completion_text);
    const bool called_tools = !parts.tool_calls.empty();
    json message = {{"role", "assistant"}, {"content", parts.text}};
    if (called_tools) {
      if (parts.text.empty()) message["content"] = nullptr;
      message["tool_calls"] = std::move(parts.tool_calls);
    }
    if (!parts.reasoning.empty()) message["reasoning_content"] = parts.reasoning;
    json finish = finish_reason(cand.value("finishReason", json()), called_tools);
    if (finish.is_null()) finish = called_tools ? "tool_calls" : "stop";
    choices.push_back(
        {{"index", candidate_index(cand, pos)}, {"message", std::move(message)}, {"finish_reason", std::move(finish)}});
  }
  if (choices.empty()) {
    // A prompt Gemini blocks gets no candidate, only promptFeedback.blockReason.
    const json feedback = j.value("promptFeedback", json::object());
    if (!feedback.is_object() || !feedback.contains("blockReason"))
      return bad_upstream("Gemini returned no candidates");
    choices.push_back(
        {{"index", 0}, {"message", {{"role", "assistant"}, {"content", ""}}}, {"finish_reason", "content_filter"}});
  }
  json out = {{"id", "chatcmpl-" + who.id},
              {"object", "chat.completion"},
              {"created", who.created},
              {"model", who.model},
              {"choices", std::move(choices)}};
  p.usage = usage_of(j);
  if (p.usage) out["usage"] = openai_usage(j["usageMetadata"]);
  p.body = out.dump();
  return p;
}

Result<ParsedResponse> embedding_response(std::string_view body, const std::string& model, int64_t prompt_tokens) {
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return bad_upstream("Gemini returned a response that is not a JSON object");
  auto embeddings = j.find("embeddings");
  if (embeddings == j.end() || !embeddings->is_array()) return bad_upstream("Gemini returned no embeddings");
  json data = json::array();
  for (size_t i = 0; i < embeddings->size(); ++i)
    data.push_back(
        {{"object", "embedding"}, {"index", i}, {"embedding", (*embeddings)[i].value("values", json::array())}});
  ParsedResponse p;
  json out = {{"object", "list"}, {"data", std::move(data)}, {"model", model}};
  if (prompt_tokens > 0) {
    p.usage = Usage{prompt_tokens, 0, prompt_tokens, 0};
    out["usage"] = {{"prompt_tokens", prompt_tokens}, {"total_tokens", prompt_tokens}};
  }
  p.body = out.dump();
  return p;
}

std::unique_ptr<StreamDecoder> make_stream_decoder(Identity who, bool client_wants_usage) {
  return std::make_unique<GeminiStreamDecoder>(std::move(who), client_wants_usage);
}

}  // namespace oneapi::relay::adaptors::gemini
