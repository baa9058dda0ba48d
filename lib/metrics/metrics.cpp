#include "metrics/metrics.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>
#include <tuple>

namespace oneapi::metrics {

std::string_view route_name(Route r) {
  switch (r) {
    case Route::chat_completions:
      return "/v1/chat/completions";
    case Route::completions:
      return "/v1/completions";
    case Route::embeddings:
      return "/v1/embeddings";
    case Route::messages:
      return "/v1/messages";
    case Route::messages_count_tokens:
      return "/v1/messages/count_tokens";
    case Route::responses:
      return "/v1/responses";
    case Route::models:
      return "/v1/models";
    case Route::billing:
      return "/v1/dashboard/billing";
    case Route::consume:
      return "/api/token/consume";
    case Route::count:
      break;
  }
  return "other";
}

void Histogram::observe(std::chrono::nanoseconds d) {
  const int64_t ns = std::max<int64_t>(0, d.count());
  const double seconds = static_cast<double>(ns) / 1e9;
  size_t i = 0;
  while (i < kBuckets.size() && seconds > kBuckets[i]) ++i;  // le: the bound itself belongs to the bucket
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(ns), std::memory_order_relaxed);
}

void Histogram::observe_seconds(double seconds) {
  observe(std::chrono::nanoseconds(static_cast<int64_t>(seconds * 1e9)));
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    s.count += s.buckets[i];
  }
  s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
  return s;
}

// One series. The key is written once by the thread that claims the slot (state 0 -> 1), then
// published (state 2, release); readers only trust keys of published slots.
struct Registry::Slot {
  std::atomic<uint32_t> state{0};
  uint64_t hash = 0;
  Route route = Route::chat_completions;
  int status = 0;
  int64_t channel = 0;
  uint8_t model_len = 0;
  char model[kMaxModel] = {};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> prompt_tokens{0};
  std::atomic<uint64_t> completion_tokens{0};
  std::atomic<uint64_t> quota{0};

  std::string_view model_name() const { return {model, model_len}; }
};

namespace {
constexpr uint32_t kEmpty = 0, kWriting = 1, kReady = 2;

uint64_t series_hash(Route route, std::string_view model, int64_t channel, int status) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  auto mix = [&h](uint64_t byte) { h = (h ^ byte) * 1099511628211ull; };
  for (unsigned char c : model) mix(c);
  mix(static_cast<uint64_t>(route));
  for (int i = 0; i < 8; ++i) mix((static_cast<uint64_t>(channel) >> (8 * i)) & 0xff);
  mix(static_cast<uint64_t>(status) & 0xff);
  mix((static_cast<uint64_t>(status) >> 8) & 0xff);
  return h ^ (h >> 29);
}

size_t power_of_two_at_least(size_t n) {
  size_t p = 64;
  while (p < n) p <<= 1;
  return p;
}
}  // namespace

Registry::Registry(size_t max_series)
    : max_series_(std::max<size_t>(max_series, 1)),
      capacity_(power_of_two_at_least(max_series_ + max_series_ / 2)),
      slots_(new Slot[capacity_]) {}

Registry::~Registry() = default;

Registry::Slot* Registry::find_or_claim(Route route, std::string_view model, int64_t channel, int status,
                                        bool is_other) {
  const uint64_t h = series_hash(route, model, channel, status);
  // Past max_series only the "other" series may still claim slots, up to 7/8 of the table, so
  // probing always ends at an empty slot.
  const size_t limit = is_other ? capacity_ - capacity_ / 8 : max_series_;
  const size_t mask = capacity_ - 1;
  for (size_t probe = 0, i = h & mask; probe < capacity_; ++probe, i = (i + 1) & mask) {
    Slot& slot = slots_[i];
    uint32_t state = slot.state.load(std::memory_order_acquire);
    if (state == kEmpty) {
      if (used_.load(std::memory_order_relaxed) >= limit) return nullptr;
      uint32_t expected = kEmpty;
      if (slot.state.compare_exchange_strong(expected, kWriting, std::memory_order_acq_rel)) {
        slot.hash = h;
        slot.route = route;
        slot.status = status;
        slot.channel = channel;
        slot.model_len = static_cast<uint8_t>(model.size());
        std::memcpy(slot.model, model.data(), model.size());
        used_.fetch_add(1, std::memory_order_relaxed);
        slot.state.store(kReady, std::memory_order_release);
        return &slot;
      }
      state = expected;  // another thread claimed it first: maybe for the same key
    }
    while (state == kWriting) {  // a few stores away from being published
      std::this_thread::yield();
      state = slot.state.load(std::memory_order_acquire);
    }
    if (slot.hash == h && slot.route == route && slot.status == status && slot.channel == channel &&
        slot.model_name() == model)
      return &slot;
  }
  return nullptr;
}

void Registry::count_request(const RequestSample& s) {
  constexpr std::string_view other = "other";
  const bool model_fits = s.model.size() <= kMaxModel;
  Slot* slot = model_fits ? find_or_claim(s.route, s.model, s.channel, s.status, false) : nullptr;
  if (!slot) slot = find_or_claim(s.route, other, s.channel, s.status, true);
  if (!slot) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  slot->requests.fetch_add(1, std::memory_order_relaxed);
  if (s.prompt_tokens > 0)
    slot->prompt_tokens.fetch_add(static_cast<uint64_t>(s.prompt_tokens), std::memory_order_relaxed);
  if (s.completion_tokens > 0)
    slot->completion_tokens.fetch_add(static_cast<uint64_t>(s.completion_tokens), std::memory_order_relaxed);
  if (s.quota > 0) slot->quota.fetch_add(static_cast<uint64_t>(s.quota), std::memory_order_relaxed);
}

std::string escape_label(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// A metric without labels: its HELP and TYPE lines and its one sample.
void single(std::string& out, std::string_view name, std::string_view type, std::string_view help, int64_t value) {
  header(out, name, type, help);
  out.append(name).append(" ").append(std::to_string(value)).append("\n");
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string channel_label(int64_t id) { return id == 0 ? std::string() : std::to_string(id); }

// `labels` is either empty or `name="value",...` without braces.
void histogram(std::string& out, std::string_view name, const std::string& labels, const Histogram::Snapshot& h) {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.buckets.size(); ++i) {
    cumulative += h.buckets[i];
    const std::string le = i < kBuckets.size() ? number(kBuckets[i]) : "+Inf";
    out.append(name).append("_bucket{").append(labels).append(sep).append("le=\"").append(le).append("\"} ");
    out.append(std::to_string(cumulative)).append("\n");
  }
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out.append(name).append("_sum").append(braces).append(" ").append(number(static_cast<double>(h.sum_ns) / 1e9));
  out.append("\n");
  out.append(name).append("_count").append(braces).append(" ").append(std::to_string(h.count)).append("\n");
}

void route_histograms(std::string& out, std::string_view name, std::string_view help,
                      const std::array<Histogram, kRouteCount>& by_route) {
  header(out, name, "histogram", help);
  for (size_t r = 0; r < kRouteCount; ++r) {
    auto snap = by_route[r].snapshot();
    if (snap.count == 0) continue;
    histogram(out, name, "route=\"" + escape_label(route_name(static_cast<Route>(r))) + "\"", snap);
  }
}

}  // namespace

std::string Registry::render(const std::vector<ChannelGauge>& channels) const {
  std::string out;
  out.reserve(16 * 1024);

  struct Totals {
    uint64_t prompt = 0, completion = 0, quota = 0;
  };
  std::map<std::pair<std::string, int64_t>, Totals> by_model_channel;
  header(out, "oneapi_requests_total", "counter",
         "Relayed requests by route, model, channel and the HTTP status the client got (499: client went away).");
  for (size_t i = 0; i < capacity_; ++i) {
    const Slot& slot = slots_[i];
    if (slot.state.load(std::memory_order_acquire) != kReady) continue;
    const std::string model = escape_label(slot.model_name());
    out.append("oneapi_requests_total{route=\"").append(route_name(slot.route));
    out.append("\",model=\"").append(model).append("\",channel=\"").append(channel_label(slot.channel));
    out.append("\",status=\"").append(std::to_string(slot.status)).append("\"} ");
    out.append(std::to_string(slot.requests.load(std::memory_order_relaxed))).append("\n");
    Totals& t = by_model_channel[{model, slot.channel}];
    t.prompt += slot.prompt_tokens.load(std::memory_order_relaxed);
    t.completion += slot.completion_tokens.load(std::memory_order_relaxed);
    t.quota += slot.quota.load(std::memory_order_relaxed);
  }

  header(out, "oneapi_tokens_total", "counter", "Tokens billed, by model, channel and type (prompt or completion).");
  for (const auto& [key, t] : by_model_channel) {
    if (t.prompt == 0 && t.completion == 0) continue;
    const std::string labels = "model=\"" + key.first + "\",channel=\"" + channel_label(key.second) + "\"";
    out.append("oneapi_tokens_total{").append(labels).append(",type=\"prompt\"} ");
    out.append(std::to_string(t.prompt)).append("\n");
    out.append("oneapi_tokens_total{").append(labels).append(",type=\"completion\"} ");
    out.append(std::to_string(t.completion)).append("\n");
  }
  header(out, "oneapi_quota_total", "counter", "Quota charged (settled), by model and channel.");
  for (const auto& [key, t] : by_model_channel) {
    if (t.quota == 0) continue;
    out.append("oneapi_quota_total{model=\"").append(key.first).append("\",channel=\"");
    out.append(channel_label(key.second)).append("\"} ").append(std::to_string(t.quota)).append("\n");
  }

  route_histograms(out, "oneapi_request_duration_seconds", "Time from the request's arrival to its last byte.",
                   duration_);
  route_histograms(out, "oneapi_upstream_latency_seconds",
                   "Time from sending to the upstream until its response head arrived, per attempt.",
                   upstream_latency_);
  route_histograms(out, "oneapi_time_to_first_token_seconds",
                   "Streams: time from the request's arrival to the first content sent to the client.", first_token_);
  route_histograms(out, "oneapi_gateway_overhead_seconds",
                   "Time spent in oneapid itself: request duration minus waiting on the upstream (head and body).",
                   overhead_);
  header(out, "oneapi_db_job_seconds", "histogram", "Time one database job takes on the store thread.");
  histogram(out, "oneapi_db_job_seconds", "", db_job_.snapshot());
  header(out, "oneapi_db_wait_seconds", "histogram",
         "Time a request waits for one database job, queueing on the store thread included.");
  histogram(out, "oneapi_db_wait_seconds", "", db_wait_.snapshot());

  single(out, "oneapi_streams_in_flight", "gauge", "Streamed answers being relayed now.",
         streams_in_flight_.load(std::memory_order_relaxed));
  single(out, "oneapi_busy_poll_hits_total", "counter",
         "Times an I/O thread found work while busy polling (BUSY_POLL_US), so did not sleep.",
         static_cast<int64_t>(busy_poll_.hits.load(std::memory_order_relaxed)));
  single(out, "oneapi_busy_poll_sleeps_total", "counter",
         "Times an I/O thread busy polled for all of BUSY_POLL_US, found nothing and slept.",
         static_cast<int64_t>(busy_poll_.sleeps.load(std::memory_order_relaxed)));

  header(out, "oneapi_channel_status", "gauge",
         "Channel status: 1 enabled, 2 disabled by hand, 3 disabled automatically.");
  for (const auto& c : channels) {
    out.append("oneapi_channel_status{channel=\"").append(std::to_string(c.id)).append("\",name=\"");
    out.append(escape_label(c.name)).append("\"} ").append(std::to_string(c.status)).append("\n");
  }
  header(out, "oneapi_channel_suspended", "gauge", "1 while a channel rests after a 429 or a 5xx, else 0.");
  for (const auto& c : channels) {
    out.append("oneapi_channel_suspended{channel=\"").append(std::to_string(c.id)).append("\",name=\"");
    out.append(escape_label(c.name)).append("\"} ").append(c.suspended ? "1" : "0").append("\n");
  }

  single(out, "oneapi_metrics_series", "gauge",
         "Request series held (capped; past the cap, new models count as \"other\").",
         static_cast<int64_t>(series_count()));
  single(out, "oneapi_metrics_dropped_total", "counter", "Requests not counted because the series table was full.",
         static_cast<int64_t>(dropped_.load(std::memory_order_relaxed)));
  return out;
}

Registry& global() {
  static Registry registry;
  return registry;
}

}  // namespace oneapi::metrics
