#include "relay/adaptors/azure/adaptor.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "relay/adaptors/common.hpp"
#include "relay/adaptors/openai/adaptor.hpp"

namespace oneapi::relay::adaptors::azure {

namespace {

using nlohmann::json;

// The operation under the deployment: the client's path without /v1/ (chat/completions,
// completions, embeddings).
std::string task_for(const AdaptorContext& ctx) {
  std::string_view path = ctx.request_path;
  if (path.rfind("/v1/", 0) == 0) return std::string(path.substr(4));
  switch (ctx.mode) {
    case RelayMode::completions:
      return "completions";
    case RelayMode::embeddings:
      return "embeddings";
    case RelayMode::chat_completions:
      break;
  }
  return "chat/completions";
}

// Azure accepts stream_options from api-version 2024-09-01-preview on; older versions refuse the
// whole request over the unknown field. Versions are dates, so text order is date order.
bool accepts_stream_options(std::string_view api_version) {
  return api_version.substr(0, 10) >= std::string_view("2024-09-01");
}

class AzureAdaptor final : public Adaptor {
 public:
  std::string_view name() const override { return "azure"; }

  Result<UpstreamRequest> build_request(const AdaptorContext& ctx, const json& body,
                                        std::string_view raw_body) const override {
    const std::string base = channel_base_url(*ctx.channel);
    if (base.empty())
      return Error::make(ErrorKind::invalid_request,
                         "Azure channels need their endpoint as base URL (https://<resource>.openai.azure.com)",
                         "invalid_channel");
    std::string version = configured_api_version(*ctx.channel);
    if (version.empty()) version = kDefaultApiVersion;
    UpstreamRequest r;
    r.url = base + "/openai/deployments/" + deployment_for(ctx) + "/" + task_for(ctx) + "?api-version=" + version;
    r.headers.push_back({"api-key", ctx.channel->key});
    r.headers.push_back({"Content-Type", "application/json"});
    r.headers.push_back({"Accept", ctx.stream ? "text/event-stream" : "application/json"});
    const bool ask_for_usage =
        ctx.stream && ctx.enforce_include_usage && ctx.mode != RelayMode::embeddings && accepts_stream_options(version);
    r.body = openai::request_body(ctx, body, raw_body, ask_for_usage);
    return r;
  }

  Result<ParsedResponse> parse_response(const AdaptorContext& ctx, std::string body) const override {
    return openai::parse_openai_response(std::move(body), ctx.want_text);
  }

  std::unique_ptr<StreamDecoder> new_stream_decoder(const AdaptorContext& ctx) const override {
    return openai::new_openai_stream_decoder(ctx.client_wants_usage);
  }

  Error parse_error(int status, std::string_view body) const override {
    Error e = openai::parse_upstream_error(status, body);
    // One API's most reported Azure pitfall: the deployment is named differently from the model.
    if (e.code == "DeploymentNotFound")
      e.message += " (map the model to your deployment name with the channel's model mapping)";
    return e;
  }
};

}  // namespace

std::string deployment_for(const AdaptorContext& ctx) {
  std::string deployment = ctx.upstream_model;
  if (!ctx.model_mapped) deployment.erase(std::remove(deployment.begin(), deployment.end(), '.'), deployment.end());
  return deployment;
}

const Adaptor& instance() {
  static const AzureAdaptor adaptor;
  return adaptor;
}

}  // namespace oneapi::relay::adaptors::azure
