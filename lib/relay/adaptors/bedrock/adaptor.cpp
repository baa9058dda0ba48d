#include "relay/adaptors/bedrock/adaptor.hpp"

#include <array>
#include <cctype>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>

#include "core/util.hpp"
#include "net/sse.hpp"
#include "relay/adaptors/anthropic/adaptor.hpp"
#include "relay/adaptors/bedrock/eventstream.hpp"
#include "relay/adaptors/bedrock/sigv4.hpp"
#include "relay/adaptors/common.hpp"

namespace oneapi::relay::adaptors::bedrock {

namespace {

using nlohmann::json;

std::string string_of(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Bedrock's exception names (the x-amzn-ErrorType header, the :exception-type of a stream frame,
// which starts lowercase there) and their HTTP statuses.
int status_for_exception(std::string_view type) {
  static const std::map<std::string, int, std::less<>> kStatus = {
      {"accessdeniedexception", 403},         {"unrecognizedclientexception", 403}, {"invalidsignatureexception", 403},
      {"expiredtokenexception", 403},         {"validationexception", 400},         {"resourcenotfoundexception", 404},
      {"modeltimeoutexception", 408},         {"modelnotreadyexception", 429},      {"throttlingexception", 429},
      {"servicequotaexceededexception", 429}, {"modelerrorexception", 424},         {"modelstreamerrorexception", 424},
      {"internalserverexception", 500},       {"serviceunavailableexception", 503}};
  auto it = kStatus.find(to_lower_ascii(type));
  return it == kStatus.end() ? 0 : it->second;
}

// The exception name a status stands for when the body does not say (the name travels in a
// header the relay does not pass to adaptors).
std::string exception_for(int status, std::string_view message) {
  const std::string m = to_lower_ascii(message);
  if (m.find("security token included in the request is invalid") != std::string::npos)
    return "UnrecognizedClientException";
  if (m.find("signature we calculated does not match") != std::string::npos) return "InvalidSignatureException";
  switch (status) {
    case 400:
      return "ValidationException";
    case 403:
      return "AccessDeniedException";
    case 404:
      return "ResourceNotFoundException";
    case 408:
      return "ModelTimeoutException";
    case 424:
      return "ModelErrorException";
    case 429:
      return "ThrottlingException";
    case 503:
      return "ServiceUnavailableException";
    default:
      return status >= 500 ? "InternalServerException" : "";
  }
}

Error bedrock_error(int status, std::string type, std::string message) {
  Error e;
  e.kind = ErrorKind::upstream_error;
  e.status = status;
  if (!type.empty()) {
    // "ThrottlingException:http://internal.amazon.com/coral/..." in the header's form
    if (const size_t colon = type.find(':'); colon != std::string::npos) type.resize(colon);
    type[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(type[0])));
  }
  e.type = type.empty() ? "upstream_error" : type;
  e.code = type.empty() ? "bad_response_status_code" : type;
  e.message = message.empty() ? "bad response status code " + std::to_string(status) : std::move(message);
  // A request Bedrock found invalid fails on every channel; anything else may pass on another.
  e.retryable = status != 400;
  return e;
}

Error parse_bedrock_error(int status, std::string_view body) {
  auto j = json::parse(body, nullptr, false);
  std::string message, type;
  if (j.is_object()) {
    for (const char* key : {"message", "Message"})
      if (message.empty()) message = string_of(j, key);
    type = string_of(j, "__type");  // some AWS front ends name the exception in the body
    if (message.empty() && j.contains("error") && j["error"].is_object()) message = string_of(j["error"], "message");
  }
  if (type.empty()) type = exception_for(status, message);
  if (const int s = status_for_exception(type); s != 0 && (status == 0 || status == 200)) status = s;
  return bedrock_error(status, std::move(type), std::move(message));
}

// One API's map (relay/adaptor/aws/claude): https://docs.aws.amazon.com/bedrock/latest/userguide/model-ids.html
const std::map<std::string, std::string>& model_ids() {
  static const std::map<std::string, std::string> kIds = {
      {"claude-instant-1.2", "anthropic.claude-instant-v1"},
      {"claude-2.0", "anthropic.claude-v2"},
      {"claude-2.1", "anthropic.claude-v2:1"},
      {"claude-3-haiku-20240307", "anthropic.claude-3-haiku-20240307-v1:0"},
      {"claude-3-sonnet-20240229", "anthropic.claude-3-sonnet-20240229-v1:0"},
      {"claude-3-opus-20240229", "anthropic.claude-3-opus-20240229-v1:0"},
      {"claude-3-5-sonnet-20240620", "anthropic.claude-3-5-sonnet-20240620-v1:0"},
      {"claude-3-5-sonnet-20241022", "anthropic.claude-3-5-sonnet-20241022-v2:0"},
      {"claude-3-5-sonnet-latest", "anthropic.claude-3-5-sonnet-20241022-v2:0"},
      {"claude-3-5-haiku-20241022", "anthropic.claude-3-5-haiku-20241022-v1:0"},
  };
  return kIds;
}

Error stream_error(int status, std::string type, std::string message) {
  Error e = bedrock_error(status, std::move(type), std::move(message));
  if (e.message.empty()) e.message = "the upstream reported an error mid-stream";
  return e;
}

// Unwraps Bedrock's event stream and hands each Anthropic event to the Anthropic decoder, so
// the client sees exactly what an Anthropic channel would send.
class BedrockStreamDecoder final : public StreamDecoder {
 public:
  BedrockStreamDecoder(bool client_wants_usage, int64_t created)
      : inner_(anthropic::make_stream_decoder(client_wants_usage, created)) {}

  void feed(std::string_view bytes, std::string& out) override {
    if (error_) return;
    messages_.clear();
    const bool ok = parser_.feed(bytes, messages_);
    for (const auto& m : messages_) {
      handle(m, out);
      if (error_) return;
    }
    if (!ok) error_ = corrupt(*parser_.error());
  }

  StreamSummary finish(std::string& out) override {
    if (!error_ && parser_.has_partial()) error_ = corrupt("the event stream ended inside a message");
    std::string ignored;  // nothing is buffered as SSE: every event went in whole
    StreamSummary s = inner_->finish(error_ ? ignored : out);
    if (error_) s.error = error_;
    return s;
  }

  StreamSummary snapshot() const override {
    StreamSummary s = inner_->snapshot();
    if (error_) s.error = error_;
    return s;
  }

 private:
  static Error corrupt(const std::string& why) {
    Error e =
        Error::make(ErrorKind::upstream_error, "the upstream sent a corrupt event stream: " + why, "bad_event_stream");
    e.status = 502;
    e.retryable = true;
    return e;
  }

  void handle(const EventStreamMessage& m, std::string& out) {
    const std::string_view message_type = m.header(":message-type");
    if (message_type == "exception") {
      const std::string type(m.header(":exception-type"));
      const auto payload = json::parse(m.payload, nullptr, false);
      const int status = status_for_exception(type);
      error_ = stream_error(status ? status : 500, type, string_of(payload, "message"));
      return;
    }
    if (message_type == "error") {
      const std::string code(m.header(":error-code"));
      const int status = status_for_exception(code);
      error_ = stream_error(status ? status : 500, code, std::string(m.header(":error-message")));
      return;
    }
    if (message_type != "event" || m.header(":event-type") != "chunk") return;  // e.g. initial-response
    const auto payload = json::parse(m.payload, nullptr, false);
    const std::optional<std::string> event_json = base64_decode(string_of(payload, "bytes"));
    const auto event = event_json ? json::parse(*event_json, nullptr, false) : json();
    if (!event.is_object()) {
      error_ = corrupt("a chunk does not hold a base64 JSON event");
      return;
    }
    // Re-serialized on one line: an SSE data line may not hold a newline.
    inner_->feed(net::sse_encode(event.dump()), out);
  }

  std::unique_ptr<StreamDecoder> inner_;
  EventStreamParser parser_;
  std::vector<EventStreamMessage> messages_;
  std::optional<Error> error_;
};

Error invalid_credentials(std::string why) {
  return Error::make(ErrorKind::internal, "the Bedrock channel's credentials are incomplete: " + why,
                     "invalid_channel_credentials");
}

// "https://host:port/prefix" -> {"host:port", "/prefix"}.
std::pair<std::string, std::string> authority_and_path(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  const size_t slash = url.find('/');
  if (slash == std::string_view::npos) return {std::string(url), ""};
  return {std::string(url.substr(0, slash)), std::string(url.substr(slash))};
}

class BedrockAdaptor final : public Adaptor {
 public:
  std::string_view name() const override { return "bedrock"; }

  Result<UpstreamRequest> build_request(const AdaptorContext& ctx, const json& body, std::string_view) const override {
    return build_request_at(ctx, body, std::chrono::system_clock::now());
  }

  Result<ParsedResponse> parse_response(const AdaptorContext& ctx, std::string body) const override {
    auto j = json::parse(body, nullptr, false);
    if (j.is_object() && !j.contains("content") && (j.contains("message") || j.contains("Message")))
      return parse_bedrock_error(502, body);
    return anthropic::instance().parse_response(ctx, std::move(body));
  }

  std::unique_ptr<StreamDecoder> new_stream_decoder(const AdaptorContext& ctx) const override {
    return make_stream_decoder(ctx.client_wants_usage, static_cast<int64_t>(std::time(nullptr)));
  }

  Error parse_error(int status, std::string_view body) const override { return parse_bedrock_error(status, body); }
};

}  // namespace

Result<Credentials> channel_credentials(const store::Channel& channel) {
  Credentials c;
  if (!channel.config.empty()) {
    auto cfg = json::parse(channel.config, nullptr, false);
    c.access_key_id = std::string(trim(string_of(cfg, "ak")));
    c.secret_access_key = std::string(trim(string_of(cfg, "sk")));
    c.region = std::string(trim(string_of(cfg, "region")));
  }
  std::string_view key = trim(channel.key);
  if (!key.empty()) {
    std::vector<std::string> parts;
    while (true) {
      const size_t bar = key.find('|');
      parts.emplace_back(trim(key.substr(0, bar)));
      if (bar == std::string_view::npos) break;
      key.remove_prefix(bar + 1);
    }
    if (parts.size() > 3) return invalid_credentials("the key must be \"AK|SK|REGION\"");
    if (parts.size() >= 2) {
      c.access_key_id = parts[0];
      c.secret_access_key = parts[1];
      if (parts.size() == 3 && !parts[2].empty()) c.region = parts[2];
    }
  }
  if (c.access_key_id.empty() || c.secret_access_key.empty())
    return invalid_credentials("set the key to \"AK|SK|REGION\" (or config ak and sk)");
  if (c.region.empty()) return invalid_credentials("no region (key \"AK|SK|REGION\" or config region)");
  return c;
}

std::string bedrock_model_id(const std::string& model) {
  auto it = model_ids().find(model);
  return it == model_ids().end() ? model : it->second;
}

Result<UpstreamRequest> build_request_at(const AdaptorContext& ctx, const json& body,
                                         std::chrono::system_clock::time_point now) {
  if (ctx.mode != RelayMode::chat_completions)
    return Error::make(ErrorKind::invalid_request,
                       std::string(ctx.mode == RelayMode::embeddings ? "/v1/embeddings" : "/v1/completions") +
                           " is not supported by Bedrock channels; use /v1/chat/completions",
                       "unsupported_api_for_channel");
  auto credentials = channel_credentials(*ctx.channel);
  if (!credentials) return credentials.error();
  const std::string model_id = bedrock_model_id(ctx.upstream_model);
  auto converted = anthropic::convert_request(body, model_id, false);
  if (!converted) return converted.error();
  // The model is in the path, and Bedrock rejects body fields it does not know (metadata).
  converted->erase("model");
  converted->erase("metadata");
  (*converted)["anthropic_version"] = kAnthropicVersion;

  std::string base = channel_base_url(*ctx.channel);
  if (const size_t at = base.find("{region}"); at != std::string::npos) base.replace(at, 8, credentials->region);
  auto [authority, prefix] = authority_and_path(base);
  const std::string path =
      prefix + "/model/" + uri_encode(model_id, false) + (ctx.stream ? "/invoke-with-response-stream" : "/invoke");

  UpstreamRequest r;
  r.url = base.substr(0, base.size() - prefix.size()) + path;
  r.body = converted->dump();
  const std::string date = amz_date(now);
  const std::string content_hash = sha256_hex(r.body);
  r.headers.push_back({"Content-Type", "application/json"});
  r.headers.push_back({"X-Amz-Date", date});
  r.headers.push_back({"X-Amz-Content-Sha256", content_hash});

  SignableRequest to_sign;
  to_sign.method = r.method;
  to_sign.path = path;
  to_sign.headers = r.headers;
  to_sign.headers.push_back({"Host", authority});
  to_sign.body = r.body;
  const SigV4Signature signature = sigv4_sign(to_sign, {credentials->access_key_id, credentials->secret_access_key},
                                              {credentials->region, kService}, date);
  r.headers.push_back({"Authorization", signature.authorization});
  r.headers.push_back({"Accept", ctx.stream ? "application/vnd.amazon.eventstream" : "application/json"});
  if (ctx.stream) r.headers.push_back({"X-Amzn-Bedrock-Accept", "application/json"});
  return r;
}

std::unique_ptr<StreamDecoder> make_stream_decoder(bool client_wants_usage, int64_t created) {
  return std::make_unique<BedrockStreamDecoder>(client_wants_usage, created);
}

const Adaptor& instance() {
  static const BedrockAdaptor adaptor;
  return adaptor;
}

}  // namespace oneapi::relay::adaptors::bedrock
