#include "relay/adaptors/gemini/adaptor.hpp"

#include <nlohmann/json.hpp>

#include "core/util.hpp"
#include "relay/adaptors/common.hpp"
#include "relay/adaptors/gemini/convert.hpp"
#include "relay/adaptors/openai/adaptor.hpp"

namespace oneapi::relay::adaptors::gemini {

namespace {

using nlohmann::json;

const std::string& default_version() {
  static const std::string version = env_or("GEMINI_VERSION", "v1beta");
  return version;
}

// "models/gemini-pro" and "gemini-pro" name the same model in Gemini's URLs.
std::string_view bare_model(std::string_view model) {
  if (model.rfind("models/", 0) == 0) model.remove_prefix(7);
  return model;
}

class GeminiAdaptor final : public Adaptor {
 public:
  std::string_view name() const override { return "google gemini"; }

  Result<UpstreamRequest> build_request(const AdaptorContext& ctx, const json& body, std::string_view) const override {
    const std::string base = channel_base_url(*ctx.channel);
    if (base.empty()) return Error::make(ErrorKind::invalid_request, "channel has no base URL", "invalid_channel");
    if (ctx.mode == RelayMode::completions)
      return Error::make(ErrorKind::invalid_request,
                         "Gemini channels serve /v1/chat/completions and /v1/embeddings, not /v1/completions",
                         "unsupported_endpoint");
    const std::string_view model = bare_model(ctx.upstream_model);
    const bool embeddings = ctx.mode == RelayMode::embeddings;
    Result<json> converted = embeddings ? embedding_request(body, model) : chat_request(body, safety_threshold());
    const char* action = embeddings   ? "batchEmbedContents"
                         : ctx.stream ? "streamGenerateContent?alt=sse"
                                      : "generateContent";
    if (!converted) return converted.error();
    UpstreamRequest r;
    r.url = base + "/" + api_version_for(*ctx.channel, model) + "/models/" + std::string(model) + ":" + action;
    // The key travels in a header, never in the URL (URLs end up in logs).
    r.headers.push_back({"x-goog-api-key", ctx.channel->key});
    r.headers.push_back({"Content-Type", "application/json"});
    r.headers.push_back({"Accept", ctx.stream ? "text/event-stream" : "application/json"});
    r.body = converted->dump();
    return r;
  }

  Result<ParsedResponse> parse_response(const AdaptorContext& ctx, std::string body) const override {
    if (ctx.mode == RelayMode::embeddings) return embedding_response(body, ctx.upstream_model, ctx.local_prompt_tokens);
    return chat_response(body, new_identity(ctx));
  }

  std::unique_ptr<StreamDecoder> new_stream_decoder(const AdaptorContext& ctx) const override {
    return make_stream_decoder(new_identity(ctx), ctx.client_wants_usage);
  }

  // {"error":{"code":400,"message":"…","status":"INVALID_ARGUMENT","details":[{"reason":…}]}}, sometimes
  // inside a one-element array. One API's retry rule; the code is Google's reason (API_KEY_INVALID)
  // or status, so logs say what went wrong.
  Error parse_error(int status, std::string_view body) const override {
    auto j = json::parse(body, nullptr, false);
    if (j.is_array() && !j.empty()) j = j[0];
    const std::string unwrapped = j.is_object() ? j.dump() : std::string(body);
    Error e = openai::parse_upstream_error(status, unwrapped);
    if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return e;
    const json& err = j["error"];
    if (auto s = err.find("status"); s != err.end() && s->is_string() && !s->get<std::string>().empty())
      e.code = s->get<std::string>();
    if (auto details = err.find("details"); details != err.end() && details->is_array())
      for (const auto& d : *details)
        if (d.is_object() && d.contains("reason") && d["reason"].is_string()) {
          e.code = d["reason"].get<std::string>();
          break;
        }
    return e;
  }
};

}  // namespace

// Read once per process, as One API reads its environment at startup.
const std::string& safety_threshold() {
  static const std::string threshold = env_or("GEMINI_SAFETY_SETTING", "BLOCK_NONE");
  return threshold;
}

Identity new_identity(const AdaptorContext& ctx) { return {random_alnum(24), unix_now(), ctx.upstream_model}; }

std::string api_version_for(const store::Channel& channel, std::string_view model) {
  if (std::string configured = configured_api_version(channel); !configured.empty()) return configured;
  for (std::string_view family : {"gemini-2", "gemini-1.5", "gemma-3"})
    if (model.find(family) != std::string_view::npos) return "v1beta";
  return default_version();
}

std::unique_ptr<StreamDecoder> new_stream_decoder(const AdaptorContext& ctx, std::string id, int64_t created) {
  return make_stream_decoder({std::move(id), created, ctx.upstream_model}, ctx.client_wants_usage);
}

const Adaptor& instance() {
  static const GeminiAdaptor adaptor;
  return adaptor;
}

}  // namespace oneapi::relay::adaptors::gemini
