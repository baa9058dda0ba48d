#include "core/util.hpp"

#include <catch2/catch.hpp>
#include <set>
#include <thread>

using namespace oneapi;

TEST_CASE("key fingerprint: the first 8 bytes of SHA-256, on any thread", "[util]") {
  // SHA-256("abc") = ba7816bf 8f01cfea ..., read as a little-endian integer.
  CHECK(key_fingerprint("abc") == 0xeacf018fbf1678baULL);
  CHECK(key_fingerprint("abc") == key_fingerprint("abc"));
  CHECK(key_fingerprint("abd") != key_fingerprint("abc"));
  uint64_t other_thread = 0;
  std::thread([&] { other_thread = key_fingerprint("abc"); }).join();
  CHECK(other_thread == 0xeacf018fbf1678baULL);
}

TEST_CASE("request ids: time to the millisecond, then 8 random digits, unique", "[util]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {  // past the 64 ids one draw of randomness serves
    std::string id = new_request_id();
    REQUIRE(id.size() == 25);  // YYYYMMDDhhmmss + ms + 8 digits
    REQUIRE(id.find_first_not_of("0123456789") == std::string::npos);
    seen.insert(id);
  }
  CHECK(seen.size() == 1000);
}
