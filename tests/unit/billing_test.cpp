#include <catch2/catch.hpp>

#include "billing/quota.hpp"
#include "billing/ratios.hpp"

using namespace oneapi::billing;

TEST_CASE("quota follows One API's formula", "[billing]") {
  Ratios r;
  Price p{r.model_ratio("gpt-4o-mini"), r.completion_ratio("gpt-4o-mini"), r.group_ratio("default")};
  CHECK(p.model_ratio == Approx(0.075));
  CHECK(p.completion_ratio == Approx(4));
  // ceil((1000 + 1000 × 4) × 0.075) = 375
  CHECK(quota_for_usage(p, 1000, 1000) == 375);
  // ceil((123 + 456 × 4) × 0.075) = ceil(146.025) = 147
  CHECK(quota_for_usage(p, 123, 456) == 147);
  // tiny requests cost at least 1, empty ones nothing
  CHECK(quota_for_usage(p, 1, 0) == 1);
  CHECK(quota_for_usage(p, 0, 0) == 0);
}

TEST_CASE("exact products are not rounded up by floating point error", "[billing]") {
  Price p{0.075, 4, 1};
  CHECK(quota_for_usage(p, 0, 1000) == 300);  // 1000 × 4 × 0.075 is 299.99999999999994 in binary
}

TEST_CASE("group ratio multiplies the price", "[billing]") {
  Ratios r;
  REQUIRE(r.set_group_ratios(R"({"default":1,"vip":0.5,"svip":2})"));
  Price vip{1, 1, r.group_ratio("vip")};
  Price svip{1, 1, r.group_ratio("svip")};
  CHECK(quota_for_usage(vip, 100, 100) == 100);
  CHECK(quota_for_usage(svip, 100, 100) == 400);
  CHECK(r.group_ratio("unknown") == 1);
}

TEST_CASE("unknown models cost ratio 30, options override defaults", "[billing]") {
  Ratios r;
  CHECK(r.model_ratio("some-new-model") == 30);
  REQUIRE(r.set_model_ratios(R"J({"some-new-model": 2, "gpt-4o-mini(36)": 0.5})J"));
  CHECK(r.model_ratio("some-new-model") == 2);
  CHECK(r.model_ratio("gpt-4o-mini") == Approx(0.075));  // defaults survive an overlay
  CHECK(r.model_ratio("gpt-4o-mini", 36) == 0.5);        // per channel type key first
  REQUIRE(r.set_completion_ratios(R"({"some-new-model": 3})"));
  CHECK(r.completion_ratio("some-new-model") == 3);
}

TEST_CASE("built-in completion ratios", "[billing]") {
  Ratios r;
  CHECK(r.completion_ratio("gpt-3.5-turbo") == 3);
  CHECK(r.completion_ratio("gpt-3.5-turbo-1106") == 2);
  CHECK(r.completion_ratio("gpt-4o") == 4);
  CHECK(r.completion_ratio("gpt-4o-2024-05-13") == 3);
  CHECK(r.completion_ratio("gpt-4-turbo") == 3);
  CHECK(r.completion_ratio("gpt-4") == 2);
  CHECK(r.completion_ratio("claude-3-5-sonnet-20241022") == 5);
  CHECK(r.completion_ratio("deepseek-chat") == 2);
  CHECK(r.completion_ratio("whisper-1") == 0);
  CHECK(r.completion_ratio("llama-3") == 1);
}

TEST_CASE("invalid ratio JSON is refused", "[billing]") {
  Ratios r;
  CHECK_FALSE(r.set_model_ratios("not json"));
  CHECK_FALSE(r.set_model_ratios("[1,2]"));
  CHECK_FALSE(r.set_model_ratios(R"({"a":"x"})"));
  CHECK_FALSE(r.set_model_ratios(R"({"a":-1})"));
  CHECK(r.model_ratio("gpt-4o-mini") == Approx(0.075));
}

TEST_CASE("pre-charge reserves (PreConsumedQuota + prompt + max_tokens) × ratio", "[billing]") {
  Price p{0.075, 4, 1};
  CHECK(pre_charge_amount(p, 500, 100, 0) == 45);      // 600 × 0.075
  CHECK(pre_charge_amount(p, 500, 100, 1000) == 120);  // 1600 × 0.075
  Price two{1, 1, 2};
  CHECK(pre_charge_amount(two, 500, 0, 0) == 1000);
  CHECK(quota_to_usd(500000) == 1.0);
  CHECK(quota_to_usd(375) == Approx(0.00075));
}
