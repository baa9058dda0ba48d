#pragma once
// Prometheus metrics. The hot path only does relaxed atomic increments: fixed-bucket histograms,
// and a pre-sized open-addressing table of request series whose slots are claimed once (lock-free)
// and never freed. Everything else (label aggregation, text) happens at scrape time.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/io_loop.hpp"

namespace oneapi::metrics {

// Fixed label values of the `route` label, known up front.
enum class Route : uint8_t {
  chat_completions,
  completions,
  embeddings,
  messages,
  messages_count_tokens,
  responses,
  models,
  billing,
  consume,
  count
};
std::string_view route_name(Route r);
constexpr size_t kRouteCount = static_cast<size_t>(Route::count);

// Upper bounds in seconds, 0.5 ms … 60 s; the +Inf bucket is implicit.
inline constexpr std::array<double, 16> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                    0.25,   0.5,   1,      2.5,   5,    10,    30,   60};

class Histogram {
 public:
  void observe(std::chrono::nanoseconds d);
  void observe_seconds(double seconds);
  // Non-cumulative counts per bucket (the last one is +Inf), the sum in nanoseconds and the count.
  struct Snapshot {
    std::array<uint64_t, kBuckets.size() + 1> buckets{};
    uint64_t sum_ns = 0;
    uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::array<std::atomic<uint64_t>, kBuckets.size() + 1> buckets_{};
  std::atomic<uint64_t> sum_ns_{0};
};

// What one request adds to its series.
struct RequestSample {
  Route route = Route::chat_completions;
  std::string_view model;  // empty when the request failed before naming one
  int64_t channel = 0;     // 0 when no channel was chosen
  int status = 0;          // the HTTP status the client got (499: the client went away)
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t quota = 0;  // charged (settled); 0 when refunded or never charged
};

class Registry {
 public:
  // At most max_series distinct (route, model, channel, status); past that, new ones count under
  // model="other". Longer model names than kMaxModel also count as "other".
  static constexpr size_t kMaxModel = 64;
  explicit Registry(size_t max_series = 10000);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  void count_request(const RequestSample& sample);

  Histogram& upstream_latency(Route r) { return upstream_latency_[index(r)]; }
  Histogram& time_to_first_token(Route r) { return first_token_[index(r)]; }
  Histogram& gateway_overhead(Route r) { return overhead_[index(r)]; }
  Histogram& request_duration(Route r) { return duration_[index(r)]; }
  Histogram& db_job() { return db_job_; }
  Histogram& db_wait() { return db_wait_; }
  std::atomic<int64_t>& streams_in_flight() { return streams_in_flight_; }
  net::BusyPollCounts& busy_poll() { return busy_poll_; }
  size_t series_count() const { return used_.load(std::memory_order_relaxed); }

  // Gauges read at scrape time from outside (the catalog, the suspensions).
  struct ChannelGauge {
    int64_t id = 0;
    std::string name;
    int status = 0;  // 1 enabled, 2 disabled by hand, 3 disabled automatically
    bool suspended = false;
  };
  // The whole exposition (text format 0.0.4).
  std::string render(const std::vector<ChannelGauge>& channels) const;

 private:
  struct Slot;
  static size_t index(Route r) { return static_cast<size_t>(r); }
  Slot* find_or_claim(Route route, std::string_view model, int64_t channel, int status, bool is_other);

  size_t max_series_;
  size_t capacity_;  // a power of two, with room for the "other" series past max_series
  std::unique_ptr<Slot[]> slots_;
  std::atomic<size_t> used_{0};
  std::atomic<uint64_t> dropped_{0};  // only if even the spare room filled up

  std::array<Histogram, kRouteCount> upstream_latency_;
  std::array<Histogram, kRouteCount> first_token_;
  std::array<Histogram, kRouteCount> overhead_;
  std::array<Histogram, kRouteCount> duration_;
  Histogram db_job_;
  Histogram db_wait_;
  std::atomic<int64_t> streams_in_flight_{0};
  net::BusyPollCounts busy_poll_;
};

// The daemon's registry (one per process).
Registry& global();

// Label value escaping of the text format: backslash, double quote and newline.
std::string escape_label(std::string_view v);

// Counts a stream as in flight for its lifetime.
class StreamGauge {
 public:
  explicit StreamGauge(std::atomic<int64_t>& g) : g_(g) { g_.fetch_add(1, std::memory_order_relaxed); }
  ~StreamGauge() { g_.fetch_sub(1, std::memory_order_relaxed); }
  StreamGauge(const StreamGauge&) = delete;
  StreamGauge& operator=(const StreamGauge&) = delete;

 private:
  std::atomic<int64_t>& g_;
};

}  // namespace oneapi::metrics
