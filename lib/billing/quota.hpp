#pragma once
#include <cstdint>

namespace oneapi::billing {

struct Price {
  double model_ratio = 1;
  double completion_ratio = 1;
  double group_ratio = 1;
  double cached_input_ratio = 1;  // a cached prompt token costs this fraction of an uncached one
  double ratio() const { return model_ratio * group_ratio; }
};

// One API's formula: ceil((prompt + completion × completion_ratio) × model_ratio × group_ratio);
// at least 1 when the ratio is non-zero and tokens were used; 0 when no tokens were used.
// `cached_prompt_tokens` (part of prompt_tokens) are billed at price.cached_input_ratio.
int64_t quota_for_usage(const Price& price, int64_t prompt_tokens, int64_t completion_tokens,
                        int64_t cached_prompt_tokens = 0);

// Reserved before relaying: (PreConsumedQuota + prompt + max_tokens) × ratio.
int64_t pre_charge_amount(const Price& price, int64_t pre_consumed_quota, int64_t prompt_tokens, int64_t max_tokens);

double quota_to_usd(int64_t quota, int64_t quota_per_unit = 500000);

}  // namespace oneapi::billing
