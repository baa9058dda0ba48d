// A fast OpenAI-shaped upstream for scripts/bench: answers every POST at once with a fixed
// chat.completion (or, for "stream":true, N chunks + a usage chunk + [DONE]).
// --chunk-interval-ms paces the stream chunks (long-lived streams for the hold test);
// --stamp puts the send time (CLOCK_MONOTONIC ns, shared by all processes on the machine) into
// each chunk's content as "t=<ns> " so a client can compute per-chunk delay = arrival - stamp.
#include <time.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "net/http_server.hpp"

namespace {

int64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string content_chunk(const std::string& content) {
  return R"(data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":")" +
         content + R"("},"finish_reason":null}],"usage":null})" + "\n\n";
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0, chunks = 20, chunk_interval_ms = 0;
  bool stamp = false;
  CLI::App app{"oneapi_bench_upstream: a fast mock OpenAI upstream for benchmarks"};
  app.add_option("--port", port, "TCP port on 127.0.0.1 (0 = any)");
  app.add_option("--chunks", chunks, "stream chunks per answer");
  app.add_option("--chunk-interval-ms", chunk_interval_ms, "pause between stream chunks (0 = back to back)")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--stamp", stamp, "each stream chunk's content carries its send time: \"t=<CLOCK_MONOTONIC ns> \"");
  CLI11_PARSE(app, argc, argv);

  const std::string body =
      R"({"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",)"
      R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the bench upstream."},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}})";
  // The fast path: every event prepared once, sent back to back.
  std::vector<std::string> events;
  for (int i = 0; i < chunks; ++i) events.push_back(content_chunk("word " + std::to_string(i) + " "));
  const std::string usage_event =
      R"(data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":)" +
      std::to_string(chunks) + R"(,"total_tokens":)" + std::to_string(12 + chunks) + "}}\n\n";
  const std::string done_event = "data: [DONE]\n\n";
  const auto interval = std::chrono::milliseconds(chunk_interval_ms);

  boost::asio::io_context ioc(1);
  auto handler = [&](oneapi::net::ServerRequest& req, oneapi::net::ResponseWriter& w) -> boost::asio::awaitable<void> {
    const bool is_stream = req.body.find("\"stream\":true") != std::string::npos;
    if (!is_stream) {
      co_await w.send(200, oneapi::net::json_headers(), body);
      co_return;
    }
    oneapi::net::Headers headers{oneapi::net::Header{"Content-Type", "text/event-stream"}};
    if (!co_await w.begin_stream(200, std::move(headers))) co_return;
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::steady_timer timer(executor);
    // One write per SSE event, as a real upstream would send them.
    for (int i = 0; i < chunks; ++i) {
      if (i > 0 && interval.count() > 0) {
        timer.expires_after(interval);
        co_await timer.async_wait(boost::asio::use_awaitable);
      }
      if (stamp) {
        const std::string event = content_chunk("t=" + std::to_string(monotonic_ns()) + " ");
        if (!co_await w.write_chunk(event)) co_return;
      } else if (!co_await w.write_chunk(events[static_cast<size_t>(i)])) {
        co_return;
      }
    }
    if (!co_await w.write_chunk(usage_event)) co_return;
    if (!co_await w.write_chunk(done_event)) co_return;
    co_await w.end_stream();
  };
  oneapi::net::HttpServer server(ioc, handler, {});
  const auto bound = server.listen_tcp("127.0.0.1", static_cast<uint16_t>(port));
  std::cout << bound << std::endl;
  boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](auto, int) { ioc.stop(); });
  ioc.run();
}
