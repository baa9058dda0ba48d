#include "relay/background.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "relay/channel_balance.hpp"
#include "relay/channel_test.hpp"

namespace oneapi::relay {

namespace asio = boost::asio;

boost::asio::awaitable<bool> pause_unless_stopped(std::chrono::milliseconds duration,
                                                  const std::atomic<bool>* stopping) {
  // Slices instead of a cancellable timer: the flag is set from another coroutine, possibly on
  // another I/O thread, where touching this timer would race.
  constexpr std::chrono::milliseconds kSlice{100};
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + duration;
  for (;;) {
    if (stopping && stopping->load()) co_return false;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) co_return true;
    timer.expires_after(std::min<std::chrono::steady_clock::duration>(deadline - now, kSlice));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return false;
  }
}

boost::asio::awaitable<void> test_channels_every(ChannelTester& tester, std::chrono::milliseconds period,
                                                 const std::atomic<bool>& stopping) {
  while (co_await pause_unless_stopped(period, &stopping)) {
    spdlog::info("testing all channels (CHANNEL_TEST_FREQUENCY)");
    auto results = co_await tester.check_all(TestScope::all, "");
    if (!results) {
      spdlog::error("scheduled channel test failed: {}", results.error().message);
      continue;
    }
    size_t failed = 0;
    for (const auto& r : *results) {
      if (r.ok) continue;
      ++failed;
      spdlog::warn("channel #{} ({}) failed its test: {}", r.id, r.name, r.error);
    }
    spdlog::info("channel test finished: {} tested, {} failed", results->size(), failed);
  }
}

boost::asio::awaitable<void> update_balances_every(BalanceUpdater& balances, std::chrono::milliseconds period,
                                                   const std::atomic<bool>& stopping) {
  while (co_await pause_unless_stopped(period, &stopping)) {
    spdlog::info("updating channel balances (CHANNEL_UPDATE_FREQUENCY)");
    auto results = co_await balances.update_all();
    if (!results) {
      spdlog::error("scheduled balance update failed: {}", results.error().message);
      continue;
    }
    size_t updated = 0;
    for (const auto& r : *results) {
      if (r.ok) ++updated;
      if (r.supported && !r.ok) spdlog::warn("channel #{} ({}): balance query failed: {}", r.id, r.name, r.error);
    }
    spdlog::info("channel balances updated: {} of {} channels", updated, results->size());
  }
}

}  // namespace oneapi::relay
