#include "relay/access_tokens.hpp"
#include "relay/steps.hpp"

namespace oneapi::relay {

namespace {
// Retry-After in seconds (the HTTP-date form is rare from APIs and ignored); capped at an hour.
int retry_after_seconds(std::string_view v) {
  int out = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;
    out = out * 10 + (c - '0');
    if (out > 3600) return 3600;
  }
  return out;
}
}  // namespace

boost::asio::awaitable<Result<std::unique_ptr<net::ClientResponse>>> send_upstream(RelayState& s,
                                                                                   const std::string& raw_body,
                                                                                   net::HttpClient& client) {
  const Adaptor* adaptor = adaptor_for(s.channel->channel.type);
  if (!adaptor)
    co_return Error::make(ErrorKind::internal,
                          "channel type " + std::to_string(s.channel->channel.type) + " is not supported yet",
                          "invalid_api_type");
  // A converted request that asks for what only the format's own API has: the client's error.
  if (s.bridge && s.adaptor_ctx.format == ClientFormat::openai && s.needs_native) co_return *s.needs_native;
  // Before anything is sent: a failed token request costs nothing and may be retried elsewhere.
  s.adaptor_ctx.access_token.clear();  // a retry's channel may need none
  if (needs_access_token(s.adaptor_ctx)) {
    auto token = co_await obtain_access_token(s.adaptor_ctx, client);
    if (!token) co_return token.error();
  }
  std::optional<nlohmann::json> prompted = apply_system_prompt(s);
  std::string prompted_raw = prompted ? prompted->dump() : std::string();
  // The client's own bytes when they go through unconverted; else the (converted) chat body.
  const bool pass_through = s.adaptor_ctx.format != ClientFormat::openai;
  const nlohmann::json& request_body = prompted ? *prompted : pass_through ? s.client_body : s.body;
  std::string_view raw = pass_through || !s.bridge ? std::string_view(raw_body) : std::string_view(s.chat_raw);
  if (prompted) raw = prompted_raw;
  auto upstream = adaptor->build_request(s.adaptor_ctx, request_body, raw);
  if (!upstream) co_return upstream.error();
  net::ClientRequest req;
  req.method = std::move(upstream->method);
  req.url = std::move(upstream->url);
  req.headers = std::move(upstream->headers);
  req.body = std::move(upstream->body);
  const auto sent = std::chrono::steady_clock::now();
  auto response = co_await client.send(std::move(req));
  const auto head_wait = std::chrono::steady_clock::now() - sent;
  s.upstream_wait += head_wait;
  metrics::global().upstream_latency(s.route).observe(head_wait);
  if (!response) {
    Error e = response.error();
    if (e.kind == ErrorKind::invalid_request)
      e.kind = ErrorKind::internal;  // a bad channel URL is not the client's fault
    if (e.code.empty()) e.code = "do_request_failed";
    co_return e;
  }
  const int status = (*response)->status();
  std::string_view content_type = (*response)->header("Content-Type");
  const bool json_answer_to_stream =
      s.stream && status == 200 && content_type.find("application/json") != std::string_view::npos;
  if ((status != 200 && status != 201) || json_answer_to_stream) {
    const int retry_after = retry_after_seconds((*response)->header("Retry-After"));
    const auto reading = std::chrono::steady_clock::now();
    auto body = co_await (*response)->read_all(1024 * 1024);
    s.upstream_wait += std::chrono::steady_clock::now() - reading;
    Error e = adaptor->parse_error(status == 200 ? 500 : status, body ? std::string_view(*body) : std::string_view());
    e.retry_after_seconds = retry_after;
    co_return e;
  }
  co_return std::move(*response);
}

}  // namespace oneapi::relay
