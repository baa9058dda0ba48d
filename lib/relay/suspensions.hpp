#pragma once
// Channels resting after a 429 or a 5xx (Laisky fork's suspension, instead of disabling them):
// selection skips them until their time is up, unless nothing else serves the request.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace oneapi::relay {

class ChannelSuspensions {
 public:
  using Clock = std::chrono::steady_clock;

  void suspend(int64_t channel_id, std::chrono::seconds for_how_long) {
    if (for_how_long.count() <= 0) return;
    std::lock_guard lock(mu_);
    until_[channel_id] = std::max(until_[channel_id], Clock::now() + for_how_long);
  }
  bool suspended(int64_t channel_id) const {
    std::lock_guard lock(mu_);
    if (until_.empty()) return false;
    auto it = until_.find(channel_id);
    return it != until_.end() && it->second > Clock::now();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<int64_t, Clock::time_point> until_;
};

}  // namespace oneapi::relay
