#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace oneapi {

int64_t unix_now();     // seconds
int64_t unix_now_ms();  // milliseconds

// Cryptographically random characters from [0-9a-zA-Z].
std::string random_alnum(size_t n);
// 32 lowercase hex chars (a uuid without dashes, One API's redemption/access-token shape).
std::string random_hex32();
// One API's token key: 48 chars (16 alnum + 32 hex with every even position upper-cased).
std::string new_token_key();
// One API's request id: yyyyMMddHHmmssSSS + 8 random digits.
std::string new_request_id();

bool constant_time_equal(std::string_view a, std::string_view b);
uint64_t key_fingerprint(std::string_view key);  // first 8 bytes of SHA-256

std::vector<std::string> split_csv(std::string_view s);  // trims, skips empty items
std::string join_csv(const std::vector<std::string>& items);
std::string_view trim(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
std::string to_lower_ascii(std::string_view s);

// True when ip (textual IPv4 or IPv6) lies inside any CIDR of a comma-separated list.
bool ip_in_subnets(std::string_view ip, std::string_view subnets);
// The client's address: the peer, or, when the peer is a trusted proxy (comma-separated CIDRs),
// the right-most X-Forwarded-For entry that is not itself a trusted proxy.
std::string client_ip(std::string_view peer_ip, std::string_view forwarded_for, std::string_view trusted_proxies);
// Validates a comma-separated CIDR list; returns the offending item or empty.
std::string invalid_subnet_item(std::string_view subnets);

// Lowercase hex of raw bytes (digests, salts, signatures).
std::string to_hex(const unsigned char* data, size_t n);
std::string base64_encode(std::string_view bytes);
// RFC 4648 §5 (URL and file-name safe alphabet) without '=' padding, as JWTs use it.
std::string base64url_encode(std::string_view bytes);
// Standard alphabet; stops at '='; nullopt on any other character outside the alphabet.
std::optional<std::string> base64_decode(std::string_view text);

// "sk-abcd…wxyz" style, for logs and tables: never the whole secret.
std::string redact_secret(std::string_view secret);

}  // namespace oneapi
