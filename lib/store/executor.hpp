#pragma once
// Database calls run on store threads, never on the I/O threads. Coroutines hop there and back
// with `co_await run(...)`.
//
// SQLite: one thread and one connection (SQLite has one writer anyway). A database server: a pool
// of up to SQL_MAX_OPEN_CONNS connections, one thread each, opened when jobs run side by side.
//
// The hot path's writes go through group commit (run_batched) on both: jobs that queue up share
// one transaction. On a pool several batches run at once, on different connections (and other
// nodes run theirs): a batch runs its jobs sorted by (user, token), and every job locks its user
// before its token, and channels only at the commit, in id order (Store::commit_batch), so all
// transactions take row locks in one global order and never deadlock.
#include <algorithm>
#include <atomic>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace oneapi::store {

// SQL_MAX_OPEN_CONNS, SQL_MAX_IDLE_CONNS, SQL_MAX_LIFETIME, with their defaults (daemon/config.hpp).
struct PoolOptions {
  int max_open = 16;                      // connections, each with its own thread
  int max_idle = 16;                      // idle connections kept open; more are closed when idle
  std::chrono::seconds max_lifetime{60};  // a connection this old is replaced before its next job; 0: never
};

class StoreExecutor {
 public:
  // One connection (SQLite).
  explicit StoreExecutor(std::unique_ptr<Store> store) {
    pool_.max_open = 1;
    pool_.max_idle = 1;
    pool_.max_lifetime = std::chrono::seconds(0);
    spare_ = std::move(store);
    lanes_.resize(1);
  }
  // A pool: `first` is connected (it migrated or checked the schema); `more` makes the store of
  // each further connection, which connects at its first statement.
  StoreExecutor(std::unique_ptr<Store> first, std::function<std::unique_ptr<Store>()> more, PoolOptions pool)
      : pool_(pool), more_(std::move(more)) {
    if (pool_.max_open < 1) pool_.max_open = 1;
    if (pool_.max_idle < 0) pool_.max_idle = 0;
    spare_ = std::move(first);
    lanes_.resize(static_cast<size_t>(pool_.max_open));
  }
  ~StoreExecutor() { stop(); }
  StoreExecutor(const StoreExecutor&) = delete;
  StoreExecutor& operator=(const StoreExecutor&) = delete;

  // Runs f(Store&) on a store thread; the caller resumes on its own executor:
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
          submit([this, handler = std::move(handler), fn = std::move(fn), work = std::move(work),
                  queued](Store& store) mutable {
            const auto started = std::chrono::steady_clock::now();
            R result = fn(store);
            const auto done = std::chrono::steady_clock::now();
            metrics::global().db_job().observe(done - started);
            metrics::global().db_wait().observe(done - queued);
            finishing();
            auto ex = work.get_executor();
            boost::asio::dispatch(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
              std::move(handler)(std::move(result));
            });
          });
        },
        boost::asio::use_awaitable, std::move(f));
  }

  // The rows a hot-path job locks: its user, then its token. A batch runs its jobs in this order.
  struct LockOrder {
    int64_t user_id = 0;
    int64_t token_id = 0;
    bool operator<(const LockOrder& o) const {
      return user_id != o.user_id ? user_id < o.user_id : token_id < o.token_id;
    }
  };

  // Like run, for the hot path's writes (pre-charge, settle, refund), which return a Result:
  // jobs that queue up while the store threads are busy share one transaction and one commit
  // (group commit; see run_together). Every result is handed back only after that commit. If the
  // commit fails, every job of the batch fails with its error and `undo` reverts what a succeeded
  // job did outside the database (on the store thread). A job can run twice: when another job of
  // its batch rolls back, the batch starts over, after `undo` for each job that had succeeded.
  // What `f` does outside the database must be undone by `undo` or happen once.
  template <class F, class Undo>
  auto run_batched(LockOrder order, F f, Undo undo) {
    using R = std::invoke_result_t<F, Store&>;
    return boost::asio::async_initiate<const boost::asio::use_awaitable_t<>&, void(R)>(
        [this, order](auto handler, F fn, Undo un) {
          auto work = boost::asio::make_work_guard(handler);
          using Job = BatchJobImpl<R, F, Undo, decltype(handler), decltype(work)>;
          auto job = std::make_unique<Job>(std::move(fn), std::move(un), std::move(handler), std::move(work));
          job->order = order;
          const size_t lane = static_cast<uint64_t>(order.user_id) % lanes_.size();
          bool schedule = false;
          {
            std::lock_guard lock(batch_mutex_);
            lanes_[lane].jobs.push_back(std::move(job));
            schedule = !std::exchange(lanes_[lane].scheduled, true);
          }
          if (schedule) submit([this, lane](Store& store) { drain_lane(store, lane); });
        },
        boost::asio::use_awaitable, std::move(f), std::move(undo));
  }

  // The most jobs one commit has carried so far.
  size_t largest_batch() const { return largest_batch_.load(std::memory_order_relaxed); }
  // Connections open between jobs, how many were opened so far, and the most jobs that ran at
  // once (each on a connection of its own).
  int open_connections() const { return open_connections_.load(std::memory_order_relaxed); }
  int connections_opened() const { return connections_opened_.load(std::memory_order_relaxed); }
  int most_busy() const { return most_busy_.load(std::memory_order_relaxed); }

  // For startup, shutdown and tests: blocks the calling thread (never an I/O thread).
  template <class F>
  std::invoke_result_t<F, Store&> run_blocking(F f) {
    using R = std::invoke_result_t<F, Store&>;
    std::promise<R> promise;
    auto fut = promise.get_future();
    submit([this, &promise, &f](Store& store) {
      R result = f(store);
      finishing();
      promise.set_value(std::move(result));
    });
    return fut.get();
  }

  // Finishes queued work, then joins the threads.
  void stop() {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      stopping_ = true;
      for (auto& w : workers_) w->wake.notify_one();
    }
    for (auto& w : workers_) w->thread.join();
    workers_.clear();
  }

 private:
  // A job for whichever store thread is free: type-erased, move-only (it holds a handler).
  struct Task {
    virtual ~Task() = default;
    virtual void operator()(Store& store) = 0;
  };
  template <class F>
  struct TaskImpl final : Task {
    explicit TaskImpl(F f) : fn(std::move(f)) {}
    void operator()(Store& store) override { fn(store); }
    F fn;
  };

  struct Worker {
    std::unique_ptr<Store> store;
    std::unique_ptr<Task> task;  // handed over by submit while idle or finishing
    bool finishing = false;      // its job is done but for handing back the result
    std::condition_variable wake;
    std::thread thread;
    bool counted_open = false;  // counted in open_connections_
  };

  // An idle thread takes the job (see hand_over_or_queue); a new thread starts while there are
  // fewer than max_open; otherwise the job queues.
  template <class F>
  void submit(F f) {
    std::unique_ptr<Task> task = std::make_unique<TaskImpl<F>>(std::move(f));
    std::unique_lock lock(mutex_);
    if (!idle_.empty()) {
      hand_over_or_queue(std::move(task));
      return;
    }
    // The caller often resumes, and asks again, before the thread that answered it is idle:
    // that thread's warm connection takes the job rather than a new connection.
    for (auto& w : workers_)
      if (w->finishing && !w->task) {
        w->task = std::move(task);
        return;
      }
    if (static_cast<int>(workers_.size()) + starting_ < pool_.max_open && !stopping_) {
      std::unique_ptr<Store> store = spare_ ? std::move(spare_) : nullptr;
      if (!store) {
        ++starting_;
        lock.unlock();  // making a store allocates but does no I/O
        try {
          store = more_();
        } catch (const std::exception&) {
          store = nullptr;  // the threads there are take the job
        }
        lock.lock();
        --starting_;
        if (!store) {
          hand_over_or_queue(std::move(task));
          return;
        }
      }
      auto w = std::make_unique<Worker>();
      w->store = std::move(store);
      w->task = std::move(task);
      Worker* raw = w.get();
      workers_.push_back(std::move(w));
      raw->thread = std::thread([this, raw] { work(*raw); });
      return;
    }
    queue_.push_back(std::move(task));
  }

  // On a store thread, once its job's result is ready and just before it is handed back.
  void finishing() {
    if (!current_worker_) return;
    std::lock_guard lock(mutex_);
    current_worker_->finishing = true;
  }

  // Under mutex_.
  void hand_over_or_queue(std::unique_ptr<Task> task) {
    if (idle_.empty()) {
      queue_.push_back(std::move(task));
      return;
    }
    // The most recently idle thread whose connection is still open, else the most recent.
    auto it = idle_.end() - 1;
    for (auto i = idle_.rbegin(); i != idle_.rend(); ++i)
      if ((*i)->counted_open) {
        it = std::next(i).base();
        break;
      }
    Worker* w = *it;
    idle_.erase(it);
    w->task = std::move(task);
    w->wake.notify_one();
  }

  void work(Worker& w) {
    current_worker_ = &w;
    std::unique_lock lock(mutex_);
    for (;;) {
      if (!w.task && !queue_.empty()) {
        w.task = std::move(queue_.front());
        queue_.pop_front();
      }
      if (w.task) {
        auto task = std::move(w.task);
        if (pool_.max_lifetime.count() > 0 && w.store->connection_age() > pool_.max_lifetime) {
          lock.unlock();
          w.store->close_connection();  // the task's first statement opens a new one
          const bool open = w.store->connection_open();
          lock.lock();
          count_open(w, open);
        }
        if (++busy_ > most_busy_.load(std::memory_order_relaxed)) most_busy_.store(busy_, std::memory_order_relaxed);
        lock.unlock();
        (*task)(*w.store);
        task.reset();
        w.store->after_job();
        const bool open = w.store->connection_open();
        lock.lock();
        --busy_;
        w.finishing = false;
        count_open(w, open);
        continue;
      }
      if (stopping_) return;
      // Going idle: beyond max_idle idle connections, this one closes.
      if (w.counted_open && idle_open() >= pool_.max_idle) {
        lock.unlock();
        w.store->close_connection();
        const bool open = w.store->connection_open();
        lock.lock();
        count_open(w, open);
        continue;  // a job may have queued meanwhile
      }
      idle_.push_back(&w);
      w.wake.wait(lock, [&] { return w.task || stopping_; });
      if (!w.task) std::erase(idle_, &w);
    }
  }

  // Under mutex_.
  int idle_open() const {
    int n = 0;
    for (const Worker* w : idle_) n += w->counted_open ? 1 : 0;
    return n;
  }
  void count_open(Worker& w, bool open) {
    if (open == w.counted_open) return;
    w.counted_open = open;
    if (open) connections_opened_.fetch_add(1, std::memory_order_relaxed);
    open_connections_.fetch_add(open ? 1 : -1, std::memory_order_relaxed);
  }

  struct BatchJob {
    virtual ~BatchJob() = default;
    LockOrder order;
    virtual void run(Store& store) = 0;
    virtual void fail(const Error& why) = 0;  // the batch's commit failed
    virtual void retract() = 0;               // the batch is rolled back to run again
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
      retract();
      result.emplace(why);
    }
    void retract() override {
      if (result && *result) undo();
      result.reset();
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

  // On a store thread: everything queued in the lane so far, in one transaction when there is
  // more than one; what queued meanwhile is another batch, behind the jobs already waiting.
  void drain_lane(Store& store, size_t lane) {
    std::vector<std::unique_ptr<BatchJob>> jobs;
    {
      std::lock_guard lock(batch_mutex_);
      jobs.swap(lanes_[lane].jobs);
    }
    run_batch(store, jobs);
    bool again = false;
    {
      std::lock_guard lock(batch_mutex_);
      again = !lanes_[lane].jobs.empty();
      lanes_[lane].scheduled = again;
    }
    if (again) submit([this, lane](Store& s) { drain_lane(s, lane); });
  }

  void run_batch(Store& store, std::vector<std::unique_ptr<BatchJob>>& jobs) {
    if (jobs.size() > largest_batch_.load(std::memory_order_relaxed))
      largest_batch_.store(jobs.size(), std::memory_order_relaxed);
    std::stable_sort(jobs.begin(), jobs.end(), [](const auto& a, const auto& b) { return a->order < b->order; });
    size_t next = jobs.size() > 1 ? run_together(store, jobs, false) : 0;
    for (; next < jobs.size(); ++next) {  // alone, each in its own transaction
      jobs[next]->run(store);
      jobs[next]->deliver();
    }
  }

  // Runs the jobs in one transaction and delivers their results after its commit; returns how
  // many it ran (0 when the transaction did not begin; the rest run alone). Without savepoints at
  // first: should a job roll back what it changed, the batch is rolled back, what its jobs did
  // outside the database undone, and all of them run again with savepoints.
  size_t run_together(Store& store, std::vector<std::unique_ptr<BatchJob>>& jobs, bool savepoints) {
    if (!store.begin_batch(savepoints)) return 0;
    size_t done = 0;
    for (; done < jobs.size(); ++done) {
      jobs[done]->run(store);
      if (!savepoints && store.batch_needs_savepoints()) {
        auto rolled_back = store.rollback_batch();
        for (size_t i = 0; i <= done; ++i) jobs[i]->retract();
        if (rolled_back) return run_together(store, jobs, true);
        for (size_t i = 0; i <= done; ++i) jobs[i]->fail(rolled_back.error());
        for (size_t i = 0; i <= done; ++i) jobs[i]->deliver();
        return done + 1;
      }
      if (!store.batch_alive()) {  // SQLite dropped the whole transaction (e.g. a full disk)
        ++done;
        break;
      }
    }
    auto committed = store.commit_batch();
    if (!committed)
      for (size_t i = 0; i < done; ++i) jobs[i]->fail(committed.error());
    for (size_t i = 0; i < done; ++i) jobs[i]->deliver();
    return done;
  }

  PoolOptions pool_;
  std::function<std::unique_ptr<Store>()> more_;

  // Batched jobs queue by user, one lane per connection, and one batch of a lane runs at a time:
  // a busy user's jobs share transactions on one connection instead of queueing for its row
  // lock on all of them, while other users' lanes run beside it.
  struct Lane {
    std::vector<std::unique_ptr<BatchJob>> jobs;
    bool scheduled = false;  // a drain_lane is queued or running
  };
  std::mutex batch_mutex_;
  std::atomic<size_t> largest_batch_{0};
  std::vector<Lane> lanes_;

  std::mutex mutex_;              // guards the rest
  std::unique_ptr<Store> spare_;  // the first store, until its thread starts
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<Worker*> idle_;  // most recently idle last
  std::deque<std::unique_ptr<Task>> queue_;
  int starting_ = 0;  // threads whose store is being made
  bool stopping_ = false;
  std::atomic<int> open_connections_{0};
  static inline thread_local Worker* current_worker_ = nullptr;
  int busy_ = 0;  // threads running a job
  std::atomic<int> most_busy_{0};
  std::atomic<int> connections_opened_{0};
};

}  // namespace oneapi::store
