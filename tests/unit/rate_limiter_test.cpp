// The sliding-window counter behind GLOBAL_API_RATE_LIMIT, GLOBAL_RELAY_RATE_LIMIT and per-channel
// limits, driven with explicit times.
#include "core/rate_limiter.hpp"

#include <catch2/catch.hpp>

#include "relay/success_window.hpp"

using namespace oneapi;
using namespace std::chrono_literals;

namespace {
RateLimiter::Clock::time_point at(std::chrono::milliseconds ms) {
  // Far from the clock's epoch so that window arithmetic is not special-cased near zero.
  return RateLimiter::Clock::time_point(std::chrono::hours(1000) + ms);
}
}  // namespace

TEST_CASE("rate limiter: N per window, then a wait, keys are separate", "[unit][ratelimit]") {
  RateLimiter limiter(3, 60s);
  for (int i = 0; i < 3; ++i) CHECK(limiter.acquire("a", 3, at(1000ms)) == 0);
  const int64_t wait = limiter.acquire("a", 3, at(1000ms));
  CHECK(wait >= 1);
  CHECK(wait <= 120);
  CHECK(limiter.acquire("b", 3, at(1000ms)) == 0);
  // Two windows later nothing of the burst counts any more.
  CHECK(limiter.acquire("a", 3, at(121'000ms)) == 0);
}

TEST_CASE("rate limiter: the previous window still counts, weighted by its overlap", "[unit][ratelimit]") {
  RateLimiter limiter(10, 60s);
  for (int i = 0; i < 10; ++i) REQUIRE(limiter.acquire("k", 10, at(0ms)) == 0);
  // 30 s into the next window half of the previous 10 still count: 5 more fit, not 10.
  int admitted = 0;
  for (int i = 0; i < 10; ++i) admitted += limiter.acquire("k", 10, at(90'000ms)) == 0;
  CHECK(admitted == 5);
  // The wait it announces is honest: at that time a request is admitted.
  const int64_t wait = limiter.acquire("k", 10, at(90'000ms));
  REQUIRE(wait > 0);
  CHECK(limiter.acquire("k", 10, at(std::chrono::milliseconds(90'000 + wait * 1000))) == 0);
}

TEST_CASE("rate limiter: limit 0 never limits", "[unit][ratelimit]") {
  RateLimiter off(0, 60s);
  CHECK_FALSE(off.enabled());
  for (int i = 0; i < 1000; ++i) REQUIRE(off.acquire("x") == 0);
  RateLimiter per_key(0, 60s);
  CHECK(per_key.acquire("channel", 1, at(0ms)) == 0);
  CHECK(per_key.acquire("channel", 1, at(0ms)) > 0);
  CHECK(per_key.acquire("channel", 0, at(0ms)) == 0);
}

TEST_CASE("success window: reports only a full window below the threshold, once", "[unit][health]") {
  relay::SuccessWindow w(4, 0.5);
  CHECK_FALSE(w.record(1, true));
  CHECK_FALSE(w.record(1, true));
  CHECK_FALSE(w.record(1, false));  // one error, window not full
  CHECK_FALSE(w.record(1, false));  // full: 2 of 4 = 0.5, not below
  CHECK(w.record(1, false));        // the oldest success slides out: 1 of 4
  // After a report the window starts over.
  CHECK_FALSE(w.record(1, false));
  CHECK_FALSE(w.record(2, false));  // channels are separate
}
