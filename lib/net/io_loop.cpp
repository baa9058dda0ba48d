#include "net/io_loop.hpp"

#include <boost/asio/io_context.hpp>

namespace oneapi::net {

void run_io_context(boost::asio::io_context& ioc, std::chrono::microseconds busy_poll, BusyPollCounts& counts) {
  if (busy_poll.count() <= 0) {
    ioc.run();
    return;
  }
  using clock = std::chrono::steady_clock;
  while (!ioc.stopped()) {
    if (ioc.poll() > 0) continue;  // poll() also stops the context once it is out of work
    size_t ran = 0;
    for (const auto until = clock::now() + busy_poll; ran == 0 && !ioc.stopped() && clock::now() < until;)
      ran = ioc.poll();
    if (ran > 0) {
      counts.hits.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (ioc.stopped()) break;
    counts.sleeps.fetch_add(1, std::memory_order_relaxed);
    ioc.run_one();
  }
}

}  // namespace oneapi::net
