#include <spdlog/spdlog.h>

#include "net/sse.hpp"
#include "relay/steps.hpp"

namespace oneapi::relay {

net::Headers base_headers(const RelayState& s, std::string_view content_type) {
  return {{"Content-Type", std::string(content_type)}, {"X-Oneapi-Request-Id", s.request_id}};
}

boost::asio::awaitable<void> respond_error(RelayState& s, net::ResponseWriter& writer, const Error& e) {
  record(s, error_status(e), nullptr, &e);
  net::Headers headers = base_headers(s, "application/json");
  if (error_status(e) == 429 && e.retry_after_seconds > 0)
    headers.push_back(net::Header{"Retry-After", std::to_string(e.retry_after_seconds)});
  std::string body = s.bridge ? s.bridge->error_body(e, s.request_id) : to_openai_error_json(e, s.request_id);
  co_await writer.send(error_status(e), std::move(headers), std::move(body));
}

namespace {
// A stream's closing error event, in the client's format.
std::string stream_error_event(const RelayState& s, const Error& e) {
  return s.bridge ? s.bridge->stream_error_event(e, s.request_id)
                  : net::sse_encode(to_openai_error_json(e, s.request_id));
}

// A converted answer: the adaptor's chat completion in the client's format.
Result<std::string> client_answer(const RelayState& s, const std::string& chat_body, const Usage& usage) {
  auto chat = nlohmann::json::parse(chat_body, nullptr, false);
  if (chat.is_discarded())
    return Error::make(ErrorKind::upstream_error, "the upstream answer could not be converted", "bad_response_body");
  return s.bridge->from_chat_response(s.client_body, chat, usage);
}
}  // namespace

boost::asio::awaitable<void> respond_whole(RelayState& s, std::unique_ptr<net::ClientResponse> upstream,
                                           net::ResponseWriter& writer, store::StoreExecutor& store) {
  const Adaptor& adaptor = *adaptor_for(s.channel->channel.type);
  const auto reading = std::chrono::steady_clock::now();
  auto body = co_await upstream->read_all();
  s.upstream_wait += std::chrono::steady_clock::now() - reading;
  if (!body) {
    co_await refund(s, store, body.error());
    co_await respond_error(s, writer, body.error());
    co_return;
  }
  const int status = upstream->status();
  upstream.reset();  // the connection goes back to the pool
  auto parsed = adaptor.parse_response(s.adaptor_ctx, std::move(*body));
  if (!parsed) {
    co_await refund(s, store, parsed.error());
    co_await respond_error(s, writer, parsed.error());
    co_return;
  }
  Usage usage = usage_or_estimate(s, parsed->usage, parsed->completion_text);
  // The bill is committed before the answer leaves, so an answer the client got is always logged.
  auto settled = co_await settle(s, store, usage);
  if (!settled) {
    co_await respond_error(s, writer, settle_failed(settled.error()));
    co_return;
  }
  std::string answer = std::move(parsed->body);
  if (s.bridge && s.adaptor_ctx.format == ClientFormat::openai) {
    auto converted = client_answer(s, answer, usage);
    // Settled already: the usage stands, and the client hears why it got no answer.
    if (!converted) co_return co_await respond_error(s, writer, converted.error());
    answer = std::move(*converted);
  }
  record(s, status, &usage, nullptr);
  co_await writer.send(status, base_headers(s, "application/json"), std::move(answer));
}

boost::asio::awaitable<void> respond_stream(RelayState& s, std::unique_ptr<net::ClientResponse> upstream,
                                            net::ResponseWriter& writer, store::StoreExecutor& store,
                                            const RelayConfig&) {
  const Adaptor& adaptor = *adaptor_for(s.channel->channel.type);
  metrics::StreamGauge in_flight(metrics::global().streams_in_flight());
  bool first_token_sent = false;
  auto decoder = adaptor.new_stream_decoder(s.adaptor_ctx);
  // A converted stream: the decoder's chat chunks re-encoded in the client's format.
  std::unique_ptr<ClientStreamEncoder> encoder;
  if (s.bridge && s.adaptor_ctx.format == ClientFormat::openai)
    encoder = s.bridge->new_stream_encoder(s.client_body, s.model);
  s.client_body = nlohmann::json();  // the encoder took what it needs; see Relay::handle
  std::string converted;
  auto headers = base_headers(s, "text/event-stream");
  headers.push_back({"Cache-Control", "no-cache"});
  bool client_gone = !co_await writer.begin_stream(200, std::move(headers));
  std::optional<Error> upstream_failure;
  std::string out;
  while (!client_gone) {
    const auto reading = std::chrono::steady_clock::now();
    auto piece = co_await upstream->read_some();
    s.upstream_wait += std::chrono::steady_clock::now() - reading;
    if (!piece) {
      upstream_failure = piece.error();
      break;
    }
    if (piece->empty()) break;  // end of the upstream body
    out.clear();
    decoder->feed(*piece, out);
    if (encoder && !out.empty()) {
      converted.clear();
      encoder->feed(out, converted);
      out.swap(converted);
    }
    if (out.empty()) continue;
    if (!first_token_sent) {
      first_token_sent = true;
      metrics::global().time_to_first_token(s.route).observe(std::chrono::steady_clock::now() - s.started);
    }
    if (!co_await writer.write_chunk(out)) client_gone = true;
  }
  StreamSummary summary;
  if (client_gone) {
    upstream.reset();  // closes the upstream connection: cancels the generation
    summary = decoder->snapshot();
  } else {
    out.clear();
    summary = decoder->finish(out);
    if (encoder && !out.empty()) {
      converted.clear();
      encoder->feed(out, converted);
      out.swap(converted);
    }
    if (!out.empty() && !co_await writer.write_chunk(out)) client_gone = true;
    upstream.reset();
    if (!upstream_failure && summary.error) upstream_failure = summary.error;
  }
  // A body that ended without the provider's end marker (and without a finish reason) was cut
  // short, however cleanly the connection closed: never pass it off as a complete answer.
  if (!client_gone && !upstream_failure && !summary.done_seen) {
    Error cut =
        Error::make(ErrorKind::upstream_error, "the upstream ended the stream before it was complete (no end marker)",
                    "stream_incomplete");
    cut.status = 502;
    upstream_failure = std::move(cut);
  }
  // An upstream that failed before delivering anything costs nothing (the client is not at fault).
  const bool nothing_delivered = summary.completion_text.empty() && !summary.usage;
  if (upstream_failure && !client_gone && nothing_delivered) {
    co_await refund(s, store, *upstream_failure);
    record(s, error_status(*upstream_failure), nullptr, &*upstream_failure);
    co_await writer.write_chunk(stream_error_event(s, *upstream_failure));
    co_await writer.end_stream();
    co_return;
  }
  // Bill what was delivered: the upstream's usage when it sent one, else a local count.
  Usage usage = usage_or_estimate(s, summary.usage, summary.completion_text);
  auto settled = co_await settle(s, store, usage);
  if (client_gone) {
    record(s, 499, &usage, nullptr);
    co_return;
  }
  if (upstream_failure || !settled) {
    // Never end a broken stream like a complete answer: close it with an error event.
    Error e = upstream_failure ? *upstream_failure : settle_failed(settled.error());
    record(s, error_status(e), &usage, &e);
    co_await writer.write_chunk(stream_error_event(s, e));
    co_await writer.end_stream();
    co_return;
  }
  record(s, 200, &usage, nullptr);
  // The end: OpenAI's [DONE]; a converted stream's closing events (they carry the billed usage);
  // nothing for a pass-through stream, whose upstream already sent its own end.
  std::string end = "data: [DONE]\n\n";
  if (encoder) {
    end.clear();
    encoder->finish(usage, end);
  } else if (s.adaptor_ctx.format != ClientFormat::openai) {
    end.clear();
  }
  if (end.empty() || co_await writer.write_chunk(end)) co_await writer.end_stream();
}

}  // namespace oneapi::relay
