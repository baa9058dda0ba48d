#pragma once
// Every database call runs on one dedicated thread (SQLite has one writer anyway), so the I/O
// threads never block on the disk. Coroutines hop there and back with `co_await run(...)`.
#include <atomic>
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
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

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

  // Like run, for the hot path's writes (pre-charge, settle, refund), which return a Result:
  // jobs that queue up while the store thread is busy share one transaction and one commit
  // (group commit; each job's own transaction is a savepoint in it). Every result is handed
  // back only after that commit. If the commit fails, every job of the batch fails with its
  // error and `undo` reverts what a succeeded job did outside the database (on the store thread).
  template <class F, class Undo>
  auto run_batched(F f, Undo undo) {
    using R = std::invoke_result_t<F, Store&>;
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(R)>(
        [this](auto handler, F fn, Undo un) {
          auto work = boost::asio::make_work_guard(handler);
          using Job = BatchJobImpl<R, F, Undo, decltype(handler), decltype(work)>;
          auto job = std::make_unique<Job>(std::move(fn), std::move(un), std::move(handler), std::move(work));
          bool first = false;
          {
            std::lock_guard lock(batch_mutex_);
            first = batch_.empty();
            batch_.push_back(std::move(job));
          }
          if (first) boost::asio::post(ioc_, [this] { drain_batch(); });
        },
        boost::asio::use_awaitable, std::move(f), std::move(undo));
  }

  // The most jobs one commit has carried so far.
  size_t largest_batch() const { return largest_batch_.load(std::memory_order_relaxed); }

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
  struct BatchJob {
    virtual ~BatchJob() = default;
    virtual void run(Store& store) = 0;
    virtual void fail(const Error& why) = 0;  // the batch's commit failed
    virtual void deliver() = 0;
  };

  template <class R, class F, class Undo, class Handler, class Work>
  struct BatchJobImpl final : BatchJob {
    BatchJobImpl(F f, Undo u, Handler h, Work w)
        : fn(std::move(f)), undo(std::move(u)), handler(std::move(h)), work(std::move(w)) {}
    void run(Store& store) override {
      started = std::chrono::steady_clock::now();
      result.emplace(fn(store));
      metrics::global().db_job().observe(std::chrono::steady_clock::now() - started);
    }
    void fail(const Error& why) override {
      if (result && *result) undo();
      result.emplace(why);
    }
    void deliver() override {
      metrics::global().db_wait().observe(std::chrono::steady_clock::now() - queued);
      auto ex = work.get_executor();
      boost::asio::dispatch(ex,
                            [h = std::move(handler), r = std::move(*result)]() mutable { std::move(h)(std::move(r)); });
    }
    F fn;
    Undo undo;
    Handler handler;
    Work work;
    std::optional<R> result;
    std::chrono::steady_clock::time_point queued = std::chrono::steady_clock::now(), started;
  };

  // On the store thread: everything queued so far, in one transaction when there is more than one.
  void drain_batch() {
    std::vector<std::unique_ptr<BatchJob>> jobs;
    {
      std::lock_guard lock(batch_mutex_);
      jobs.swap(batch_);
    }
    if (jobs.size() > largest_batch_.load(std::memory_order_relaxed))
      largest_batch_.store(jobs.size(), std::memory_order_relaxed);
    size_t next = 0;
    if (jobs.size() > 1 && store_->begin_batch()) {
      size_t done = 0;
      for (; done < jobs.size(); ++done) {
        jobs[done]->run(*store_);
        if (!store_->batch_alive()) {  // SQLite dropped the whole transaction (e.g. a full disk)
          ++done;
          break;
        }
      }
      auto committed = store_->commit_batch();
      if (!committed)
        for (size_t i = 0; i < done; ++i) jobs[i]->fail(committed.error());
      for (size_t i = 0; i < done; ++i) jobs[i]->deliver();
      next = done;
    }
    for (; next < jobs.size(); ++next) {  // alone, each in its own transaction
      jobs[next]->run(*store_);
      jobs[next]->deliver();
    }
  }

  std::mutex batch_mutex_;
  std::atomic<size_t> largest_batch_{0};
  std::vector<std::unique_ptr<BatchJob>> batch_;
  std::unique_ptr<Store> store_;
  boost::asio::io_context ioc_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace oneapi::store
