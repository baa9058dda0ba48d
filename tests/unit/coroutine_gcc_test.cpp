// Guards the workaround documented in lib/store/executor.hpp: the store hop must keep a captured
// object intact (g++ 12 double-destroys capturing-lambda temporaries inside co_await).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "store/executor.hpp"

TEST_CASE("store hop moves a capturing lambda once and returns its result", "[unit][executor]") {
  boost::asio::io_context ioc;
  oneapi::store::StoreExecutor ex(oneapi::store::open_sqlite_store({":memory:", 1000, {}}));
  size_t total = 0;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        for (int i = 0; i < 50; ++i) {
          std::string long_text(200, 'x');  // heap-allocated: a double free would crash here
          auto job = [long_text](oneapi::store::Store&) { return long_text.size(); };
          total += co_await ex.run(std::move(job));
        }
      },
      boost::asio::detached);
  ioc.run();
  CHECK(total == 50 * 200);
}
