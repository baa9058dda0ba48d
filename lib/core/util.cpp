#include "core/util.hpp"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <chrono>
#include <cstring>
#include <ctime>
#include <memory>
#include <stdexcept>

namespace oneapi {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
void random_bytes(unsigned char* out, size_t n) {
  if (RAND_bytes(out, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
}
}  // namespace

std::string random_alnum(size_t n) {
  static constexpr char kChars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string out;
  out.reserve(n);
  unsigned char buf[64];
  while (out.size() < n) {
    random_bytes(buf, sizeof buf);
    for (unsigned char b : buf) {
      if (b >= 248) continue;  // 248 = 62*4: reject to keep the distribution uniform
      out.push_back(kChars[b % 62]);
      if (out.size() == n) break;
    }
  }
  return out;
}

std::string random_hex32() {
  unsigned char buf[16];
  random_bytes(buf, sizeof buf);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (size_t i = 0; i < 16; ++i) {
    out[2 * i] = kHex[buf[i] >> 4];
    out[2 * i + 1] = kHex[buf[i] & 15];
  }
  return out;
}

std::string new_token_key() {
  std::string hex = random_hex32();
  for (size_t i = 0; i < hex.size(); i += 2) hex[i] = static_cast<char>(std::toupper(hex[i]));
  return random_alnum(16) + hex;
}

std::string new_request_id() {
  // This runs on every request, so each thread formats the time once a second and draws its
  // random digits from the CSPRNG 64 ids at a time.
  thread_local std::time_t formatted_second = -1;
  thread_local char second[16];
  thread_local unsigned char pool[512];
  thread_local size_t pool_used = sizeof pool;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  if (t != formatted_second) {
    std::tm tm{};
    localtime_r(&t, &tm);
    std::strftime(second, sizeof second, "%Y%m%d%H%M%S", &tm);
    formatted_second = t;
  }
  if (pool_used == sizeof pool) {
    random_bytes(pool, sizeof pool);
    pool_used = 0;
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::string out(second);
  out.push_back(static_cast<char>('0' + ms / 100));
  out.push_back(static_cast<char>('0' + ms / 10 % 10));
  out.push_back(static_cast<char>('0' + ms % 10));
  for (size_t i = 0; i < 8; ++i) out.push_back(static_cast<char>('0' + pool[pool_used + i] % 10));
  pool_used += 8;
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

uint64_t key_fingerprint(std::string_view key) {
  // Every request looks its key up by this. SHA256() fetches the algorithm on each call; fetched
  // once, with a context per thread, the digest costs about half.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  thread_local const std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!sha256 || !ctx || EVP_DigestInit_ex(ctx.get(), sha256, nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), key.data(), key.size()) != 1 || EVP_DigestFinal_ex(ctx.get(), digest, &length) != 1)
    throw std::runtime_error("SHA-256 failed");
  uint64_t v = 0;
  std::memcpy(&v, digest, sizeof v);
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split_csv(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto pos = s.find(',');
    auto item = trim(s.substr(0, pos));
    if (!item.empty()) out.emplace_back(item);
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return out;
}

std::string join_csv(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) {
    if (!out.empty()) out += ',';
    out += i;
  }
  return out;
}

std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

namespace {
struct ParsedIp {
  int family = 0;  // AF_INET or AF_INET6
  std::array<unsigned char, 16> bytes{};
};

bool parse_ip(std::string_view text, ParsedIp& out) {
  std::string s(text);
  if (s.rfind("::ffff:", 0) == 0 && s.find('.') != std::string::npos) s = s.substr(7);  // v4-mapped
  if (inet_pton(AF_INET, s.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET;
    return true;
  }
  if (inet_pton(AF_INET6, s.c_str(), out.bytes.data()) == 1) {
    out.family = AF_INET6;
    return true;
  }
  return false;
}

bool parse_cidr(std::string_view item, ParsedIp& net, int& prefix) {
  auto slash = item.find('/');
  if (!parse_ip(item.substr(0, slash), net)) return false;
  int max = net.family == AF_INET ? 32 : 128;
  if (slash == std::string_view::npos) {
    prefix = max;
    return true;
  }
  std::string p(item.substr(slash + 1));
  if (p.empty() || p.size() > 3 || p.find_first_not_of("0123456789") != std::string::npos) return false;
  prefix = std::stoi(p);
  return prefix <= max;
}

bool prefix_match(const ParsedIp& a, const ParsedIp& b, int prefix) {
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.bytes.data(), b.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (a.bytes[static_cast<size_t>(full)] & mask) == (b.bytes[static_cast<size_t>(full)] & mask);
}
}  // namespace

bool ip_in_subnets(std::string_view ip, std::string_view subnets) {
  ParsedIp addr;
  if (!parse_ip(ip, addr)) return false;
  for (const auto& item : split_csv(subnets)) {
    ParsedIp net;
    int prefix = 0;
    if (!parse_cidr(item, net, prefix)) continue;
    if (net.family == addr.family && prefix_match(addr, net, prefix)) return true;
  }
  return false;
}

std::string client_ip(std::string_view peer_ip, std::string_view forwarded_for, std::string_view trusted_proxies) {
  if (trusted_proxies.empty() || forwarded_for.empty() || !ip_in_subnets(peer_ip, trusted_proxies))
    return std::string(peer_ip);
  // Right to left: each hop appends the address it saw; the first untrusted one is the client.
  auto hops = split_csv(forwarded_for);
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    ParsedIp addr;
    if (!parse_ip(*it, addr)) break;  // garbage: trust nothing further left
    if (!ip_in_subnets(*it, trusted_proxies)) return *it;
  }
  return std::string(peer_ip);
}

std::string invalid_subnet_item(std::string_view subnets) {
  for (const auto& item : split_csv(subnets)) {
    ParsedIp net;
    int prefix = 0;
    if (!parse_cidr(item, net, prefix)) return item;
  }
  return {};
}

std::string redact_secret(std::string_view secret) {
  if (secret.size() <= 8) return std::string(secret.size(), '*');
  return std::string(secret.substr(0, 4)) + "…" + std::string(secret.substr(secret.size() - 4));
}

std::string to_hex(const unsigned char* data, size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out = base64_encode(bytes);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  static const auto kValues = [] {
    std::array<int, 256> v{};
    v.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) v[static_cast<unsigned char>(alphabet[i])] = i;
    return v;
  }();
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : text) {
    if (c == '=') break;
    const int v = kValues[c];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

}  // namespace oneapi
