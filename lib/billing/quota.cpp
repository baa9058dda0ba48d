#include "billing/quota.hpp"

#include <algorithm>
#include <cmath>

namespace oneapi::billing {

int64_t quota_for_usage(const Price& price, int64_t prompt_tokens, int64_t completion_tokens,
                        int64_t cached_prompt_tokens) {
  if (prompt_tokens + completion_tokens <= 0) return 0;
  const double ratio = price.ratio();
  const int64_t cached = std::clamp<int64_t>(cached_prompt_tokens, 0, prompt_tokens);
  const double input =
      static_cast<double>(prompt_tokens - cached) + static_cast<double>(cached) * price.cached_input_ratio;
  const double raw = (input + static_cast<double>(completion_tokens) * price.completion_ratio) * ratio;
  // Rounding guard: 0.075 × 4 × 1000 is 299.99999999999994 in binary floating point.
  // Held below int64's end, where the cast would be undefined: only absurd counts get there.
  auto quota = static_cast<int64_t>(std::min(std::ceil(raw - 1e-9), 9e18));
  if (ratio != 0 && quota <= 0) quota = 1;
  return quota;
}

int64_t pre_charge_amount(const Price& price, int64_t pre_consumed_quota, int64_t prompt_tokens, int64_t max_tokens) {
  const double tokens = static_cast<double>(pre_consumed_quota + prompt_tokens + (max_tokens > 0 ? max_tokens : 0));
  return static_cast<int64_t>(tokens * price.ratio());
}

double quota_to_usd(int64_t quota, int64_t quota_per_unit) {
  if (quota_per_unit <= 0) quota_per_unit = 500000;
  return static_cast<double>(quota) / static_cast<double>(quota_per_unit);
}

}  // namespace oneapi::billing
