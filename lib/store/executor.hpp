#pragma once
// Every database call runs on one dedicated thread (SQLite has one writer anyway), so the I/O
// threads never block on the disk. Coroutines hop there and back with `co_await run(...)`.
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>

#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace oneapi::store {

class StoreExecutor {
 public:
  explicit StoreExecutor(std::unique_ptr<Store> store)
      : store_(std::move(store)), work_(ioc_.get_executor()), thread_([this] { ioc_.run(); }) {}
  ~StoreExecutor() { stop(); }
  StoreExecutor(const StoreExecutor&) = delete;
  StoreExecutor& operator=(const StoreExecutor&) = delete;

  // Runs f(Store&) on the store thread; the caller resumes on its own executor:
  //   auto job = [id](Store& db) { return db.get_token(id); };
  //   auto r = co_await store.run(std::move(job));
  // Name the lambda first: g++ 12 destroys a capturing-lambda temporary that appears inside a
  // co_await expression twice (a double free; reproduced in tests/unit/coroutine_gcc_test.cpp).
  template <class F>
  auto run(F f) {
    using R = std::invoke_result_t<F, Store&>;
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(R)>(
        [this](auto handler, F fn) {
          auto work = boost::asio::make_work_guard(handler);
          const auto queued = std::chrono::steady_clock::now();
          boost::asio::post(
              ioc_, [this, handler = std::move(handler), fn = std::move(fn), work = std::move(work), queued]() mutable {
                const auto started = std::chrono::steady_clock::now();
                R result = fn(*store_);
                const auto done = std::chrono::steady_clock::now();
                metrics::global().db_job().observe(done - started);
                metrics::global().db_wait().observe(done - queued);
                auto ex = work.get_executor();
                boost::asio::dispatch(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
                  std::move(handler)(std::move(result));
                });
              });
        },
        boost::asio::use_awaitable, std::move(f));
  }

  // For startup, shutdown and tests: blocks the calling thread (never an I/O thread).
  template <class F>
  std::invoke_result_t<F, Store&> run_blocking(F f) {
    using R = std::invoke_result_t<F, Store&>;
    auto task = std::make_shared<std::packaged_task<R()>>([this, f = std::move(f)]() mutable { return f(*store_); });
    auto fut = task->get_future();
    boost::asio::post(ioc_, [task] { (*task)(); });
    return fut.get();
  }

  // Finishes queued work, then joins the thread.
  void stop() {
    if (!thread_.joinable()) return;
    work_.reset();
    thread_.join();
  }

 private:
  std::unique_ptr<Store> store_;
  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace oneapi::store
