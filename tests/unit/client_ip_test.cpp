// Whose address a token's subnet is checked against.
#include <catch2/catch.hpp>

#include "core/util.hpp"

using oneapi::client_ip;

TEST_CASE("X-Forwarded-For counts only when the peer is a trusted proxy", "[unit][ip]") {
  CHECK(client_ip("203.0.113.9", "10.1.2.3", "") == "203.0.113.9");              // no proxies trusted
  CHECK(client_ip("203.0.113.9", "10.1.2.3", "127.0.0.1/32") == "203.0.113.9");  // peer is not a proxy
  CHECK(client_ip("127.0.0.1", "10.1.2.3", "127.0.0.1/32") == "10.1.2.3");       // one trusted hop
  CHECK(client_ip("127.0.0.1", "", "127.0.0.1/32") == "127.0.0.1");              // no header
  // A client cannot forge its way in: the right-most untrusted entry is the one the proxy saw.
  CHECK(client_ip("127.0.0.1", "10.1.2.3, 198.51.100.7", "127.0.0.1/32") == "198.51.100.7");
  // Chains of trusted proxies are walked.
  CHECK(client_ip("127.0.0.1", "198.51.100.7, 10.0.0.5", "127.0.0.1/32,10.0.0.0/8") == "198.51.100.7");
  CHECK(client_ip("::1", "2001:db8::5", "::1/128") == "2001:db8::5");
  // Garbage stops the walk.
  CHECK(client_ip("127.0.0.1", "10.1.2.3, not-an-ip", "127.0.0.1/32") == "127.0.0.1");
}
