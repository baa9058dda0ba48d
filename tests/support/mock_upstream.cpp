#include "support/mock_upstream.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <thread>

namespace oneapi::test {

namespace asio = boost::asio;

struct MockUpstream::State {
  asio::io_context ioc{1};
  std::unique_ptr<net::HttpServer> server;
  Script script;
  mutable std::mutex mu;  // guards `seen`
  std::vector<net::ServerRequest> seen;
  std::atomic<int> aborted{0};
  std::thread thread;
};

namespace {
asio::awaitable<void> sleep_ms(int ms) {
  if (ms <= 0) co_return;
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(asio::use_awaitable);
}
}  // namespace

MockUpstream::MockUpstream(Script script) : state_(std::make_shared<State>()), aborted_(state_->aborted) {
  state_->script = std::move(script);
  State* st = state_.get();
  auto handler = [st](net::ServerRequest& req, net::ResponseWriter& w) -> asio::awaitable<void> {
    {
      std::lock_guard lock(st->mu);
      st->seen.push_back(req);
    }
    MockReply reply;
    st->script(req, reply);
    co_await sleep_ms(reply.delay_before_headers_ms);
    if (reply.chunks.empty()) {
      co_await w.send(reply.status, reply.headers, reply.body);
      co_return;
    }
    if (!co_await w.begin_stream(reply.status, reply.headers)) {
      ++st->aborted;
      co_return;
    }
    for (const auto& c : reply.chunks) {
      co_await sleep_ms(c.delay_ms);
      if (!co_await w.write_chunk(c.data)) {
        ++st->aborted;
        co_return;
      }
    }
    if (!reply.cut_after_chunks) co_await w.end_stream();
  };
  net::ServerLimits limits;
  limits.write_timeout = std::chrono::milliseconds(5000);
  state_->server = std::make_unique<net::HttpServer>(state_->ioc, handler, limits);
  port_ = state_->server->listen_tcp("127.0.0.1", 0);
  state_->thread = std::thread([st] { st->ioc.run(); });
}

MockUpstream::~MockUpstream() {
  state_->ioc.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

std::vector<net::ServerRequest> MockUpstream::requests() const {
  std::lock_guard lock(state_->mu);
  return state_->seen;
}

size_t MockUpstream::request_count() const {
  std::lock_guard lock(state_->mu);
  return state_->seen.size();
}

}  // namespace oneapi::test
