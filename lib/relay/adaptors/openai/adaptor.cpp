#include "relay/adaptors/openai/adaptor.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/channel_types.hpp"
#include "core/json_view.hpp"
#include "net/sse.hpp"
#include "relay/adaptors/common.hpp"
#include "relay/formats/responses.hpp"

namespace oneapi::relay::adaptors::openai {

namespace {

using nlohmann::json;

// A member's token_count, or `fallback` when it is missing or not a number.
int64_t count_of(std::string_view value, int64_t fallback = 0) {
  if (jsonview::kind(value) != jsonview::Kind::number) return fallback;
  return token_count(jsonview::number(value));
}

// The "usage" member's text (from a scan) as usage; nullopt when it is missing or not an object.
std::optional<Usage> usage_from(std::string_view usage) {
  std::string_view f[5];
  if (!jsonview::scan_object(
          usage,
          {"prompt_tokens", "completion_tokens", "total_tokens", "prompt_tokens_details", "prompt_cache_hit_tokens"},
          f))
    return std::nullopt;
  Usage u;
  u.prompt_tokens = count_of(f[0]);
  u.completion_tokens = count_of(f[1]);
  u.total_tokens = count_of(f[2], u.prompt_tokens + u.completion_tokens);
  // OpenAI: prompt_tokens_details.cached_tokens; DeepSeek: prompt_cache_hit_tokens.
  std::string_view cached;
  if (jsonview::scan_object(f[3], {"cached_tokens"}, &cached)) u.cached_prompt_tokens = count_of(cached);
  if (u.cached_prompt_tokens == 0) u.cached_prompt_tokens = count_of(f[4]);
  u.cached_prompt_tokens = std::min(u.cached_prompt_tokens, u.prompt_tokens);
  return u;
}

void append_if_string(std::string_view value, std::string& out) {
  if (jsonview::kind(value) == jsonview::Kind::string) jsonview::append_string(value, out);
}

// Generated text in a response or chunk's "choices" (from a scan): message/delta content,
// reasoning, tool-call names and arguments, or text. Sets `finished` when a choice has a finish
// reason.
void append_choice_text(std::string_view choices, std::string& out, bool* finished = nullptr) {
  std::string_view c[4];  // text, message, delta, finish_reason
  jsonview::for_each_object(choices, {"text", "message", "delta", "finish_reason"}, c, [&] {
    append_if_string(c[0], out);
    if (finished && jsonview::kind(c[3]) == jsonview::Kind::string) *finished = true;
    for (std::string_view m : {c[1], c[2]}) {
      std::string_view f[3];  // content, reasoning_content, tool_calls
      if (!jsonview::scan_object(m, {"content", "reasoning_content", "tool_calls"}, f)) continue;
      append_if_string(f[0], out);
      append_if_string(f[1], out);
      jsonview::for_each_element(f[2], [&](std::string_view call) {
        std::string_view function, g[2];
        if (!jsonview::scan_object(call, {"function"}, &function) ||
            !jsonview::scan_object(function, {"name", "arguments"}, g))
          return;
        append_if_string(g[0], out);
        append_if_string(g[1], out);
      });
    }
  });
}

class OpenAiStreamDecoder final : public StreamDecoder {
 public:
  explicit OpenAiStreamDecoder(bool client_wants_usage) : client_wants_usage_(client_wants_usage) {}

  void feed(std::string_view bytes, std::string& out) override {
    events_.clear();
    sse_.feed(bytes, events_);
    for (auto& e : events_) handle(e, out);
  }

  StreamSummary finish(std::string& out) override {
    net::SseEvent last;
    if (sse_.finish(last)) handle(last, out);
    return summary_;
  }

  StreamSummary snapshot() const override { return summary_; }

 private:
  void handle(net::SseEvent& e, std::string& out) {
    if (e.data.empty()) return;
    if (e.data == "[DONE]") {
      summary_.done_seen = true;
      return;
    }
    std::string_view m[2];                                          // usage, choices
    if (!jsonview::scan_object(e.data, {"usage", "choices"}, m)) {  // not ours to judge: pass it on unchanged
      net::sse_append(out, e.data);
      return;
    }
    auto usage = usage_from(m[0]);
    if (usage) summary_.usage = usage;
    const bool has_choices = jsonview::non_empty_array(m[1]);
    // Some compatible providers end with a finish reason and no [DONE]: that is complete too.
    if (has_choices) append_choice_text(m[1], summary_.completion_text, &summary_.done_seen);
    if (!has_choices && !usage) return;  // Azure sends empty chunks; One API drops them
    if (usage && !client_wants_usage_) {
      if (!has_choices) return;  // the usage-only chunk the client did not ask for
      auto j = json::parse(e.data, nullptr, false);
      if (j.is_object()) j.erase("usage");
      net::sse_append(out, j.is_object() ? j.dump() : e.data);
      return;
    }
    net::sse_append(out, e.data);
  }

  bool client_wants_usage_;
  net::SseDecoder sse_;
  std::vector<net::SseEvent> events_;
  StreamSummary summary_;
};

// "https://host/v1" + "/v1/chat/completions": users paste either form; accept both (likewise for a
// type's own prefix, e.g. a Doubao base ending in /api/v3).
std::string join_url(std::string_view base, std::string_view prefix, std::string_view rest) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  if (!prefix.empty() && base.ends_with(prefix)) base.remove_suffix(prefix.size());
  return std::string(base) + std::string(prefix) + std::string(rest);
}

unsigned mode_bit(RelayMode mode) {
  switch (mode) {
    case RelayMode::chat_completions:
      return kModeChat;
    case RelayMode::completions:
      return kModeCompletions;
    case RelayMode::embeddings:
      return kModeEmbeddings;
  }
  return 0;
}

// The channel config's "user_id" (Cloudflare's account id), or "".
std::string config_user_id(const store::Channel& channel) {
  auto cfg = json::parse(channel.config, nullptr, false);
  if (!cfg.is_object()) return "";
  auto v = cfg.find("user_id");
  return v != cfg.end() && v->is_string() ? v->get<std::string>() : "";
}

class OpenAiAdaptor final : public Adaptor {
 public:
  std::string_view name() const override { return "openai"; }

  Result<UpstreamRequest> build_request(const AdaptorContext& ctx, const json& body,
                                        std::string_view raw_body) const override {
    UpstreamRequest r;
    auto url = upstream_url(ctx);
    if (!url) return url.error();
    r.url = std::move(*url);
    r.headers.push_back({"Authorization", "Bearer " + ctx.channel->key});
    r.headers.push_back({"Content-Type", "application/json"});
    r.headers.push_back({"Accept", ctx.stream ? "text/event-stream" : "application/json"});
    if (ctx.channel->type == 20) {  // OpenRouter asks callers to identify themselves
      r.headers.push_back({"HTTP-Referer", "https://github.com/songquanpeng/one-api"});
      r.headers.push_back({"X-Title", "One API"});
    }
    // A Responses body passed through keeps its own usage reporting (response.completed).
    const bool ask_for_usage = ctx.stream && ctx.enforce_include_usage && ctx.mode != RelayMode::embeddings &&
                               ctx.format == ClientFormat::openai;
    r.body = request_body(ctx, body, raw_body, ask_for_usage);
    return r;
  }

  Result<ParsedResponse> parse_response(const AdaptorContext& ctx, std::string body) const override {
    if (ctx.format == ClientFormat::responses) return parse_response_object(std::move(body));
    return parse_openai_response(std::move(body), ctx.want_text);
  }

  std::unique_ptr<StreamDecoder> new_stream_decoder(const AdaptorContext& ctx) const override {
    if (ctx.format == ClientFormat::responses) return formats::responses::new_pass_through_decoder();
    return new_openai_stream_decoder(ctx.client_wants_usage);
  }

  Error parse_error(int status, std::string_view body) const override { return parse_upstream_error(status, body); }

  // OpenAI itself has /v1/responses; the compatible providers get it converted to chat.
  bool speaks(ClientFormat format, int channel_type) const override {
    return format == ClientFormat::openai || (format == ClientFormat::responses && channel_type == kOpenAiType);
  }

 private:
  static constexpr int kOpenAiType = 1;

  // A Response object from /v1/responses: passed through, usage and text read from it.
  static Result<ParsedResponse> parse_response_object(std::string body) {
    auto j = json::parse(body, nullptr, false);
    if (!j.is_object()) {
      Error e = Error::make(ErrorKind::upstream_error, "upstream returned a response that is not JSON",
                            "unmarshal_response_body_failed");
      e.status = 502;
      return e;
    }
    ParsedResponse p;
    p.usage = formats::responses::usage_of_response(j);
    p.completion_text = formats::responses::text_of_response(j);
    p.body = std::move(body);
    return p;
  }
};

}  // namespace

Result<std::string> upstream_url(const AdaptorContext& ctx) {
  const store::Channel& channel = *ctx.channel;
  const ChannelTypeInfo* type = find_channel_type(channel.type);
  if (!type) return Error::make(ErrorKind::invalid_request, "unknown channel type", "invalid_channel");
  if (!(type->modes & mode_bit(ctx.mode)))
    return Error::make(ErrorKind::invalid_request,
                       std::string(type->display_name) + " channels do not serve " + ctx.request_path,
                       "unsupported_relay_mode");
  std::string base = channel.base_url.empty() ? std::string(type->default_base_url) : channel.base_url;
  if (base.empty()) return Error::make(ErrorKind::invalid_request, "channel has no base URL", "invalid_channel");
  if (ctx.mode == RelayMode::chat_completions && !type->chat_path.empty()) return join_url(base, "", type->chat_path);

  std::string prefix(type->path_prefix);
  if (auto at = prefix.find(kUserIdPlaceholder); at != std::string::npos) {
    const std::string user_id = config_user_id(channel);
    if (user_id.empty())
      return Error::make(ErrorKind::invalid_request,
                         std::string(type->display_name) + " channel needs config.user_id (the account id)",
                         "invalid_channel");
    prefix.replace(at, kUserIdPlaceholder.size(), user_id);
  }
  std::string_view rest = ctx.request_path;
  if (rest.starts_with("/v1/") || rest == "/v1") rest.remove_prefix(3);
  return join_url(base, prefix, rest);
}

Error parse_upstream_error(int status, std::string_view body) {
  Error e;
  e.kind = ErrorKind::upstream_error;
  e.status = status;
  e.type = "upstream_error";
  e.code = "bad_response_status_code";
  e.retryable = status == 429 || status >= 500 || !(status == 400 || (status >= 200 && status < 300));
  auto j = json::parse(body, nullptr, false);
  auto str = [](const json& v) -> std::string { return v.is_string() ? v.get<std::string>() : std::string(); };
  if (j.is_object()) {
    if (auto err = j.find("error"); err != j.end() && err->is_object()) {
      e.message = str(err->value("message", json()));
      if (auto t = err->find("type"); t != err->end() && t->is_string() && !t->get<std::string>().empty())
        e.type = t->get<std::string>();
      if (auto c = err->find("code"); c != err->end()) {
        if (c->is_string())
          e.code = c->get<std::string>();
        else if (c->is_number())
          e.code = std::to_string(c->get<int64_t>());
      }
    }
    for (const char* key : {"message", "msg", "err", "error_msg"})
      if (e.message.empty() && j.contains(key)) e.message = str(j[key]);
    if (e.message.empty() && j.contains("error") && j["error"].is_string()) e.message = j["error"].get<std::string>();
    if (e.message.empty() && j.contains("header") && j["header"].is_object())
      e.message = str(j["header"].value("message", json()));
  }
  if (e.message.empty()) e.message = "bad response status code " + std::to_string(status);
  return e;
}

std::string request_body(const AdaptorContext& ctx, const json& body, std::string_view raw_body, bool ask_for_usage) {
  if (!ctx.model_mapped && !ask_for_usage) return std::string(raw_body);
  // The common stream: include_usage to add and no stream_options yet. Spliced into the bytes,
  // which costs a copy, where the document costs a copy of every member and a serialisation.
  std::string_view options;
  if (!ctx.model_mapped && jsonview::scan_object(raw_body, {"stream_options"}, &options) && options.empty()) {
    const size_t close = raw_body.find_last_of('}');
    const std::string_view head = raw_body.substr(0, close);
    const size_t last = head.find_last_not_of(" \t\r\n");
    std::string out;
    out.reserve(raw_body.size() + 40);
    out.append(head);
    if (last != std::string_view::npos && head[last] != '{') out += ',';
    out += R"("stream_options":{"include_usage":true})";
    out.append(raw_body.substr(close));
    return out;
  }
  json out = body;
  if (ctx.model_mapped) out["model"] = ctx.upstream_model;
  if (ask_for_usage) out["stream_options"]["include_usage"] = true;
  return out.dump();
}

Result<ParsedResponse> parse_openai_response(std::string body, bool want_text) {
  ParsedResponse p;
  std::string_view m[2];  // usage, choices
  if (!jsonview::scan_object(body, {"usage", "choices"}, m)) {
    Error e = Error::make(ErrorKind::upstream_error, "upstream returned a response that is not JSON",
                          "unmarshal_response_body_failed");
    e.status = 502;
    return e;
  }
  p.usage = usage_from(m[0]);
  // Walking the choices for their text costs more than the rest: only when it will be counted.
  if (want_text || !usage_counts(p.usage)) append_choice_text(m[1], p.completion_text);
  p.body = std::move(body);  // the views above point into it: read nothing after this
  return p;
}

std::unique_ptr<StreamDecoder> new_openai_stream_decoder(bool client_wants_usage) {
  return std::make_unique<OpenAiStreamDecoder>(client_wants_usage);
}

const Adaptor& instance() {
  static const OpenAiAdaptor adaptor;
  return adaptor;
}

}  // namespace oneapi::relay::adaptors::openai
