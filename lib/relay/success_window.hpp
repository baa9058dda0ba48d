#pragma once
// ENABLE_METRIC (One API's metric mode): each channel's last N outcomes; a full window whose
// success rate is below the threshold asks for the channel to be disabled. One error alone never
// does: transient failures only rest a channel (suspensions.hpp).
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace oneapi::relay {

class SuccessWindow {
 public:
  SuccessWindow(size_t size, double threshold) : size_(size == 0 ? 1 : size), threshold_(threshold) {}

  // Records one outcome; true when the window is full and its success rate fell below the
  // threshold (the window then starts over, so the channel is reported once).
  bool record(int64_t channel_id, bool success) {
    std::lock_guard lock(mu_);
    Ring& r = rings_[channel_id];
    if (r.outcomes.size() < size_) {
      r.outcomes.push_back(success);
    } else {
      r.successes -= r.outcomes[r.next] ? 1 : 0;
      r.outcomes[r.next] = success;
      r.next = (r.next + 1) % size_;
    }
    r.successes += success ? 1 : 0;
    if (r.outcomes.size() < size_) return false;
    const double rate = static_cast<double>(r.successes) / static_cast<double>(size_);
    if (rate >= threshold_) return false;
    rings_.erase(channel_id);
    return true;
  }

  size_t size() const { return size_; }
  double threshold() const { return threshold_; }

 private:
  struct Ring {
    std::vector<bool> outcomes;
    size_t next = 0;  // oldest entry once full
    size_t successes = 0;
  };
  const size_t size_;
  const double threshold_;
  std::mutex mu_;
  std::unordered_map<int64_t, Ring> rings_;
};

}  // namespace oneapi::relay
