#pragma once
// The I/O threads' loop: io_context::run(), or run() with busy polling (BUSY_POLL_US).
#include <atomic>
#include <chrono>
#include <cstdint>

namespace boost::asio {
class io_context;
}

namespace oneapi::net {

struct BusyPollCounts {
  std::atomic<uint64_t> hits{0};    // work turned up while polling: a sleep and a wake-up saved
  std::atomic<uint64_t> sleeps{0};  // polled for the whole budget, found nothing, slept
};

// Runs `ioc` until it is stopped or out of work, like io_context::run(). With a budget above zero,
// a thread that runs out of ready handlers keeps polling the sockets (epoll calls that do not wait)
// for that long before it sleeps. On a VM, waking a sleeping thread costs tens of microseconds, several
// times per relayed request; polling saves them at the price of CPU while traffic flows (up to a
// core per I/O thread), and none when idle.
void run_io_context(boost::asio::io_context& ioc, std::chrono::microseconds busy_poll, BusyPollCounts& counts);

}  // namespace oneapi::net
