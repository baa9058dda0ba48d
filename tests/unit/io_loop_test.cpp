// run_io_context: io_context::run() with or without busy polling (BUSY_POLL_US).
#include "net/io_loop.hpp"

#include <time.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <thread>

using namespace std::chrono_literals;
namespace asio = boost::asio;
using oneapi::net::BusyPollCounts;
using oneapi::net::run_io_context;

namespace {

std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace

TEST_CASE("run_io_context without busy polling runs the handlers and returns once out of work", "[io_loop]") {
  asio::io_context ioc;
  BusyPollCounts counts;
  int ran = 0;
  for (int i = 0; i < 3; ++i) asio::post(ioc, [&] { ++ran; });
  run_io_context(ioc, 0us, counts);
  CHECK(ran == 3);
  CHECK(ioc.stopped());
  CHECK(counts.hits == 0);
  CHECK(counts.sleeps == 0);
}

TEST_CASE("run_io_context with busy polling picks up work that comes while it polls", "[io_loop]") {
  asio::io_context ioc;
  BusyPollCounts counts;
  auto guard = asio::make_work_guard(ioc);
  bool ran = false;
  std::atomic<bool> running{false};
  asio::post(ioc, [&] { running = true; });
  // Posted 20 ms into a 5 s budget: the loop is still polling, so it finds the handler without
  // sleeping. The handler drops the last work, so the loop returns.
  std::thread poster([&] {
    while (!running) std::this_thread::yield();
    std::this_thread::sleep_for(20ms);
    asio::post(ioc, [&] {
      ran = true;
      guard.reset();
    });
  });
  run_io_context(ioc, 5s, counts);
  poster.join();
  CHECK(ran);
  CHECK(ioc.stopped());
  CHECK(counts.hits == 1);
  CHECK(counts.sleeps == 0);
}

TEST_CASE("run_io_context with busy polling sleeps once its budget is spent", "[io_loop]") {
  asio::io_context ioc;
  BusyPollCounts counts;
  auto guard = asio::make_work_guard(ioc);
  bool ran = false;
  // Nothing comes for 300 ms against a budget of 1 ms: the loop must sleep, not spin the whole
  // time, and still wake for the handler.
  std::thread poster([&] {
    std::this_thread::sleep_for(300ms);
    asio::post(ioc, [&] { ran = true; });
    std::this_thread::sleep_for(20ms);
    asio::post(ioc, [&] { ioc.stop(); });  // a stop from a handler ends the loop too
  });
  const auto cpu_before = thread_cpu_time();
  run_io_context(ioc, 1ms, counts);
  const auto cpu = thread_cpu_time() - cpu_before;
  poster.join();
  CHECK(ran);
  CHECK(counts.sleeps >= 2);
  CHECK(cpu < 150ms);  // spinning throughout would have taken about 320 ms
}

TEST_CASE("run_io_context with busy polling returns when stopped from another thread while it sleeps", "[io_loop]") {
  asio::io_context ioc;
  BusyPollCounts counts;
  auto guard = asio::make_work_guard(ioc);
  std::thread stopper([&] {
    std::this_thread::sleep_for(50ms);
    ioc.stop();
  });
  run_io_context(ioc, 1us, counts);
  stopper.join();
  CHECK(ioc.stopped());
  CHECK(counts.sleeps == 1);
}
