#pragma once
// "N requests per D seconds" per key (an IP, a token, a channel), as One API's GLOBAL_*_RATE_LIMIT.
// A sliding-window counter: this window's count plus the previous window's, weighted by how much
// of it still overlaps the last D seconds. Constant memory and time per key, no allocation once a
// key is known; at a window's edge it is approximate (it assumes the previous window's requests
// were spread evenly).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <mutex>
#include <string>
#include <unordered_map>

namespace oneapi {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // limit 0 = no limit.
  RateLimiter(int64_t limit, std::chrono::seconds window) : limit_(limit), window_(window) {}

  bool enabled() const { return limit() > 0 && window().count() > 0; }
  int64_t limit() const { return limit_.load(std::memory_order_relaxed); }
  std::chrono::seconds window() const { return window_.load(std::memory_order_relaxed); }

  // A reload's new default limit and window. Counts so far stay; after a window change they are
  // read in the new window's terms until they age out.
  void reconfigure(int64_t limit, std::chrono::seconds window) {
    std::lock_guard lock(mu_);
    limit_ = limit;
    window_ = window;
  }

  // 0 when admitted (and counted); otherwise the seconds to wait, at least 1. `limit` overrides
  // the default for this key (per-channel limits); 0 = no limit.
  int64_t acquire(const std::string& key) { return acquire(key, limit(), Clock::now()); }
  int64_t acquire(const std::string& key, int64_t limit) { return acquire(key, limit, Clock::now()); }

  int64_t acquire(const std::string& key, int64_t limit, Clock::time_point now) {
    std::lock_guard lock(mu_);
    const std::chrono::seconds window = window_;
    if (limit <= 0 || window.count() <= 0) return 0;
    const int64_t window_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(window).count();
    const int64_t t = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    const int64_t index = t / window_ns;
    const double into = static_cast<double>(t - index * window_ns) / static_cast<double>(window_ns);
    if (counters_.size() > kMaxKeys) forget_idle(index);
    Counter& c = counters_[key];
    if (c.index != index) {
      c.previous = c.index == index - 1 ? c.current : 0;
      c.current = 0;
      c.index = index;
    }
    const double estimate = static_cast<double>(c.previous) * (1.0 - into) + static_cast<double>(c.current);
    if (estimate + 1 <= static_cast<double>(limit)) {
      ++c.current;
      return 0;
    }
    return wait_seconds(c, limit, into);
  }

 private:
  struct Counter {
    int64_t index = 0;  // which window `current` counts
    int64_t current = 0;
    int64_t previous = 0;
  };
  static constexpr size_t kMaxKeys = 100'000;  // bounds memory when keys are many (IPs)

  // When the estimate falls below the limit again, given no more requests meanwhile.
  int64_t wait_seconds(const Counter& c, int64_t limit, double into) const {
    const double n = static_cast<double>(limit) - 1, d = static_cast<double>(window().count());
    double wait;
    if (static_cast<double>(c.current) <= n && c.previous > 0)  // within this window
      wait = d * (1.0 - (n - static_cast<double>(c.current)) / static_cast<double>(c.previous)) - into * d;
    else  // only once this window's count is the weighted previous one
      wait = (1.0 - into) * d + d * (1.0 - n / static_cast<double>(c.current));
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait)));
  }

  void forget_idle(int64_t index) {
    for (auto it = counters_.begin(); it != counters_.end();)
      it = it->second.index < index - 1 ? counters_.erase(it) : std::next(it);
  }

  std::atomic<int64_t> limit_;
  std::atomic<std::chrono::seconds> window_;
  std::mutex mu_;
  std::unordered_map<std::string, Counter> counters_;
};

}  // namespace oneapi
