// A fast OpenAI-shaped upstream for scripts/bench: answers every POST at once with a fixed
// chat.completion (or, for "stream":true, N chunks + a usage chunk + [DONE]).
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>

#include "net/http_server.hpp"

int main(int argc, char** argv) {
  int port = 0, chunks = 20;
  CLI::App app{"oneapi_bench_upstream: a fast mock OpenAI upstream for benchmarks"};
  app.add_option("--port", port, "TCP port on 127.0.0.1 (0 = any)");
  app.add_option("--chunks", chunks, "stream chunks per answer");
  CLI11_PARSE(app, argc, argv);

  const std::string body =
      R"({"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",)"
      R"("choices":[{"index":0,"message":{"role":"assistant","content":"Hello from the bench upstream."},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":12,"completion_tokens":7,"total_tokens":19}})";
  std::string stream;
  for (int i = 0; i < chunks; ++i)
    stream +=
        R"(data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"word )" +
        std::to_string(i) + R"( "},"finish_reason":null}],"usage":null})" + "\n\n";
  stream +=
      R"(data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":)" +
      std::to_string(chunks) + R"(,"total_tokens":)" + std::to_string(12 + chunks) + "}}\n\ndata: [DONE]\n\n";

  boost::asio::io_context ioc(1);
  auto handler = [&](oneapi::net::ServerRequest& req, oneapi::net::ResponseWriter& w) -> boost::asio::awaitable<void> {
    const bool is_stream = req.body.find("\"stream\":true") != std::string::npos;
    if (!is_stream) {
      co_await w.send(200, oneapi::net::json_headers(), body);
      co_return;
    }
    oneapi::net::Headers headers{oneapi::net::Header{"Content-Type", "text/event-stream"}};
    if (co_await w.begin_stream(200, std::move(headers))) {
      // One write per SSE event, as a real upstream would send them.
      size_t pos = 0;
      while (pos < stream.size()) {
        size_t end = stream.find("\n\n", pos) + 2;
        if (!co_await w.write_chunk(std::string_view(stream).substr(pos, end - pos))) co_return;
        pos = end;
      }
      co_await w.end_stream();
    }
  };
  oneapi::net::HttpServer server(ioc, handler, {});
  const auto bound = server.listen_tcp("127.0.0.1", static_cast<uint16_t>(port));
  std::cout << bound << std::endl;
  boost::asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](auto, int) { ioc.stop(); });
  ioc.run();
}
