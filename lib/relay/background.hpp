#pragma once
// The daemon's channel schedules (One API's CHANNEL_TEST_FREQUENCY and CHANNEL_UPDATE_FREQUENCY)
// and the pause they share with batch jobs (POLLING_INTERVAL). Each runs as a coroutine on the
// daemon's io_context and ends within about 100 ms once `stopping` is set, so SIGTERM never waits
// for it; a request to an upstream already under way is cut when the io_context stops.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>

namespace oneapi::relay {

class ChannelTester;
class BalanceUpdater;

// Waits `duration` unless `stopping` (may be null) gets set; false when it did.
boost::asio::awaitable<bool> pause_unless_stopped(std::chrono::milliseconds duration,
                                                  const std::atomic<bool>* stopping);

// Every `period` (first after one period, as One API): test every channel.
boost::asio::awaitable<void> test_channels_every(ChannelTester& tester, std::chrono::milliseconds period,
                                                 const std::atomic<bool>& stopping);
// Every `period`: refresh the balance of every channel whose upstream reports one.
boost::asio::awaitable<void> update_balances_every(BalanceUpdater& balances, std::chrono::milliseconds period,
                                                   const std::atomic<bool>& stopping);

}  // namespace oneapi::relay
