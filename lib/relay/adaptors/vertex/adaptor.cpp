#include "relay/adaptors/vertex/adaptor.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/util.hpp"
#include "relay/adaptors/anthropic/adaptor.hpp"
#include "relay/adaptors/common.hpp"
#include "relay/adaptors/gemini/adaptor.hpp"
#include "relay/adaptors/gemini/convert.hpp"

namespace oneapi::relay::adaptors::vertex {

namespace {

using nlohmann::json;

std::string string_of(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? std::string(trim(it->get<std::string>())) : std::string();
}

json channel_config(const store::Channel& channel) {
  if (channel.config.empty()) return json::object();
  auto cfg = json::parse(channel.config, nullptr, false);
  return cfg.is_object() ? cfg : json::object();
}

Error bad_credentials(const std::string& why) {
  Error e = Error::make(ErrorKind::internal, "the Vertex AI channel's service account key is unusable: " + why,
                        "invalid_channel_credentials");
  e.retryable = true;  // the channel's fault: another channel may serve the request
  return e;
}

bool valid_region(std::string_view region) {
  if (region.empty()) return false;
  for (char c : region)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  return true;
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

Result<std::string> rs256_sign(const std::string& pem, std::string_view data) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::unique_ptr<EVP_PKEY, PkeyFree> key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)
                                              : nullptr);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA)
    return bad_credentials("private_key is not a PEM RSA private key");
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> md(EVP_MD_CTX_new());
  size_t size = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return bad_credentials("signing with private_key failed");
  std::string signature(size, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    return bad_credentials("signing with private_key failed");
  signature.resize(size);
  return signature;
}

class VertexAdaptor final : public Adaptor {
 public:
  std::string_view name() const override { return "vertexai"; }

  Result<UpstreamRequest> build_request(const AdaptorContext& ctx, const json& body, std::string_view) const override {
    if (ctx.mode != RelayMode::chat_completions)
      return Error::make(ErrorKind::invalid_request,
                         std::string(ctx.mode == RelayMode::embeddings ? "/v1/embeddings" : "/v1/completions") +
                             " is not supported by Vertex AI channels; use /v1/chat/completions",
                         "unsupported_api_for_channel");
    if (ctx.access_token.empty())
      return Error::make(ErrorKind::internal, "no access token was obtained for the Vertex AI channel",
                         "missing_access_token");
    auto where = channel_location(*ctx.channel);
    if (!where) return where.error();
    const bool claude = is_claude(ctx.upstream_model);
    Result<json> converted = claude ? anthropic::convert_request(body, ctx.upstream_model, ctx.stream)
                                    : gemini::chat_request(body, gemini::safety_threshold());
    if (!converted) return converted.error();
    if (claude) {
      // The model is in the URL; Vertex wants its own anthropic_version in the body instead.
      converted->erase("model");
      (*converted)["anthropic_version"] = kAnthropicVersion;
    }
    UpstreamRequest r;
    r.url = endpoint_url(*ctx.channel, *where, ctx.upstream_model, ctx.stream);
    r.headers.push_back({"Authorization", "Bearer " + ctx.access_token});
    r.headers.push_back({"Content-Type", "application/json"});
    r.headers.push_back({"Accept", ctx.stream ? "text/event-stream" : "application/json"});
    r.body = converted->dump();
    return r;
  }

  Result<ParsedResponse> parse_response(const AdaptorContext& ctx, std::string body) const override {
    if (is_claude(ctx.upstream_model)) return anthropic::instance().parse_response(ctx, std::move(body));
    return gemini::chat_response(body, gemini::new_identity(ctx));
  }

  std::unique_ptr<StreamDecoder> new_stream_decoder(const AdaptorContext& ctx) const override {
    if (is_claude(ctx.upstream_model))
      return anthropic::make_stream_decoder(ctx.client_wants_usage, static_cast<int64_t>(std::time(nullptr)));
    return gemini::make_stream_decoder(gemini::new_identity(ctx), ctx.client_wants_usage);
  }

  // Vertex's own errors are Google's ({"error":{"code","message","status"}}); rawPredict passes
  // Anthropic's through ({"type":"error","error":{"type","message"}}).
  Error parse_error(int status, std::string_view body) const override {
    auto j = json::parse(body, nullptr, false);
    if (j.is_object() && string_of(j, "type") == "error") return anthropic::instance().parse_error(status, body);
    return gemini::instance().parse_error(status, body);
  }
};

}  // namespace

Result<ServiceAccount> parse_service_account(std::string_view key_json) {
  auto j = json::parse(key_json, nullptr, false);
  if (!j.is_object())
    return bad_credentials("the channel key must be the service account's JSON key file (it is not a JSON object)");
  if (const std::string type = string_of(j, "type"); !type.empty() && type != "service_account")
    return bad_credentials("the JSON key's type is \"" + type + "\", not \"service_account\"");
  ServiceAccount a;
  a.client_email = string_of(j, "client_email");
  a.private_key = string_of(j, "private_key");
  a.private_key_id = string_of(j, "private_key_id");
  a.token_uri = string_of(j, "token_uri");
  a.project_id = string_of(j, "project_id");
  if (a.client_email.empty()) return bad_credentials("the JSON key has no client_email");
  if (a.private_key.empty()) return bad_credentials("the JSON key has no private_key");
  if (a.token_uri.empty()) a.token_uri = kDefaultTokenUri;
  if (a.token_uri.rfind("https://", 0) != 0 && a.token_uri.rfind("http://", 0) != 0)
    return bad_credentials("the JSON key's token_uri is not an http(s) URL");
  return a;
}

Result<ServiceAccount> channel_service_account(const store::Channel& channel) {
  if (const std::string_view key = trim(channel.key); !key.empty() && key.front() == '{')
    return parse_service_account(key);
  // One API keeps the key file in the config ("vertex_ai_adc"), as text or as an object.
  const json cfg = channel_config(channel);
  if (auto adc = cfg.find("vertex_ai_adc"); adc != cfg.end()) {
    if (adc->is_string() && !adc->get_ref<const std::string&>().empty())
      return parse_service_account(adc->get_ref<const std::string&>());
    if (adc->is_object()) return parse_service_account(adc->dump());
  }
  return bad_credentials("set the channel key to the service account's JSON key file");
}

Result<std::string> signed_assertion(const ServiceAccount& account, int64_t now) {
  json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!account.private_key_id.empty()) header["kid"] = account.private_key_id;
  const json claims = {
      {"iss", account.client_email}, {"scope", kScope}, {"aud", account.token_uri}, {"iat", now}, {"exp", now + 3600}};
  const std::string signing_input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  auto signature = rs256_sign(account.private_key, signing_input);
  if (!signature) return signature.error();
  return signing_input + "." + base64url_encode(*signature);
}

Result<Location> channel_location(const store::Channel& channel) {
  const json cfg = channel_config(channel);
  Location where{string_of(cfg, "vertex_ai_project_id"), to_lower_ascii(string_of(cfg, "region"))};
  if (where.project.empty()) {
    auto account = channel_service_account(channel);
    if (!account) return account.error();
    where.project = account->project_id;
  }
  if (where.project.empty())
    return bad_credentials("no project: the JSON key has no project_id and the config no vertex_ai_project_id");
  if (where.region.empty()) where.region = kDefaultRegion;
  if (!valid_region(where.region))
    return bad_credentials("config region \"" + where.region + "\" is not a Google Cloud region");
  return where;
}

bool is_claude(std::string_view model) { return model.rfind("claude", 0) == 0; }

std::string endpoint_url(const store::Channel& channel, const Location& where, std::string_view model, bool stream) {
  std::string base = channel.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  // The type's default base URL names the host pattern ("{region}"); "global" has no prefix.
  if (base.empty() || base.find("{region}") != std::string::npos)
    base = where.region == "global" ? "https://aiplatform.googleapis.com"
                                    : "https://" + where.region + "-aiplatform.googleapis.com";
  const bool claude = is_claude(model);
  const char* action = claude ? (stream ? "streamRawPredict" : "rawPredict")
                              : (stream ? "streamGenerateContent?alt=sse" : "generateContent");
  return base + "/v1/projects/" + where.project + "/locations/" + where.region + "/publishers/" +
         (claude ? "anthropic" : "google") + "/models/" + std::string(model) + ":" + action;
}

const Adaptor& instance() {
  static const VertexAdaptor adaptor;
  return adaptor;
}

}  // namespace oneapi::relay::adaptors::vertex
