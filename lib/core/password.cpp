#include "core/password.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>
#include <vector>

#include "core/util.hpp"

namespace oneapi {

namespace {

constexpr int kIterations = 60000;

std::string derive(std::string_view password, std::string_view salt_hex, int iterations) {
  unsigned char out[32];
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt_hex.data()), static_cast<int>(salt_hex.size()),
                        iterations, EVP_sha256(), sizeof out, out) != 1)
    throw std::runtime_error("PBKDF2 failed");
  return to_hex(out, sizeof out);
}

}  // namespace

std::string hash_password(std::string_view password) {
  unsigned char salt[16];
  if (RAND_bytes(salt, sizeof salt) != 1) throw std::runtime_error("RAND_bytes failed");
  const std::string salt_hex = to_hex(salt, sizeof salt);
  return "pbkdf2_sha256$" + std::to_string(kIterations) + "$" + salt_hex + "$" +
         derive(password, salt_hex, kIterations);
}

bool verify_password(std::string_view password, std::string_view stored) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    size_t end = stored.find('$', start);
    parts.push_back(stored.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  if (parts.size() != 4 || parts[0] != "pbkdf2_sha256") return false;
  int iterations = 0;
  auto [p, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (ec != std::errc() || iterations <= 0 || iterations > 10'000'000) return false;
  return constant_time_equal(derive(password, parts[2], iterations), parts[3]);
}

}  // namespace oneapi
