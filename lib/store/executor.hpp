#pragma once
// Every database call runs on one dedicated thread (SQLite has one writer anyway), so the I/O
// threads never block on the disk. Coroutines hop there and back with `co_await run(...)`.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <type_traits>

#include "store/store.hpp"

namespace oneapi::store {

class StoreExecutor {
 public:
  explicit StoreExecutor(std::unique_ptr<Store> store)
      : store_(std::move(store)), work_(ioc_.get_executor()), thread_([this] { ioc_.run(); }) {}
  ~StoreExecutor() { stop(); }
  StoreExecutor(const StoreExecutor&) = delete;
  StoreExecutor& operator=(const StoreExecutor&) = delete;

  // Runs f(Store&) on the store thread; the caller resumes on its own executor.
  template <class F>
  boost::asio::awaitable<std::invoke_result_t<F, Store&>> run(F f) {
    using R = std::invoke_result_t<F, Store&>;
    // co_spawn needs a default-constructible result; Result<T> is not, so it travels in an optional.
    auto out = co_await boost::asio::co_spawn(
        ioc_.get_executor(),
        [this, f = std::move(f)]() mutable -> boost::asio::awaitable<std::optional<R>> { co_return f(*store_); },
        boost::asio::use_awaitable);
    co_return std::move(*out);
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
