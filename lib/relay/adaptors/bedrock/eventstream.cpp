#include "relay/adaptors/bedrock/eventstream.hpp"

#include <array>

namespace oneapi::relay::adaptors::bedrock {

namespace {

constexpr size_t kPreludeBytes = 12;  // total length, headers length, prelude CRC
constexpr size_t kMinMessageBytes = kPreludeBytes + 4;

std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

uint32_t read_u32(std::string_view s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

uint16_t read_u16(std::string_view s, size_t at) {
  return static_cast<uint16_t>((uint8_t(s[at]) << 8) | uint8_t(s[at + 1]));
}

// Bytes a header value of `type` takes after its type byte, or -1 for an unknown type; for the
// variable-length types (6 bytes, 7 string) the 2-byte length prefix is read from `rest`.
long value_size(uint8_t type, std::string_view rest) {
  switch (type) {
    case 0:  // true
    case 1:  // false
      return 0;
    case 2:  // byte
      return 1;
    case 3:  // short
      return 2;
    case 4:  // integer
      return 4;
    case 5:  // long
    case 8:  // timestamp (ms since the epoch)
      return 8;
    case 6:  // byte array
    case 7:  // string
      return rest.size() < 2 ? -1 : 2 + long(read_u16(rest, 0));
    case 9:  // uuid
      return 16;
    default:
      return -1;
  }
}

}  // namespace

std::string_view EventStreamMessage::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

uint32_t crc32(std::string_view data, uint32_t crc) {
  static const std::array<uint32_t, 256> kTable = make_crc_table();
  crc = ~crc;
  for (unsigned char c : data) crc = kTable[(crc ^ c) & 0xff] ^ (crc >> 8);
  return ~crc;
}

bool EventStreamParser::fail(std::string why) {
  error_ = std::move(why);
  buffer_.clear();
  return false;
}

bool EventStreamParser::feed(std::string_view bytes, std::vector<EventStreamMessage>& out) {
  if (error_) return false;
  buffer_.append(bytes);
  size_t at = 0;
  while (buffer_.size() - at >= kPreludeBytes) {
    std::string_view rest = std::string_view(buffer_).substr(at);
    if (crc32(rest.substr(0, 8)) != read_u32(rest, 8)) return fail("event stream prelude CRC mismatch");
    const uint32_t total = read_u32(rest, 0);
    const uint32_t headers_length = read_u32(rest, 4);
    if (total < kMinMessageBytes || total > kMaxMessageBytes || headers_length > total - kMinMessageBytes)
      return fail("event stream message has an impossible length");
    if (rest.size() < total) break;
    EventStreamMessage message;
    if (!parse_message(rest.substr(0, total), message)) return false;
    out.push_back(std::move(message));
    at += total;
  }
  buffer_.erase(0, at);
  return true;
}

bool EventStreamParser::parse_message(std::string_view frame, EventStreamMessage& out) {
  const size_t total = frame.size();
  if (crc32(frame.substr(0, total - 4)) != read_u32(frame, total - 4)) return fail("event stream message CRC mismatch");
  const uint32_t headers_length = read_u32(frame, 4);
  std::string_view headers = frame.substr(kPreludeBytes, headers_length);
  while (!headers.empty()) {
    const size_t name_length = uint8_t(headers[0]);
    if (name_length == 0 || headers.size() < 1 + name_length + 1) return fail("malformed event stream header");
    std::string name(headers.substr(1, name_length));
    const uint8_t type = uint8_t(headers[1 + name_length]);
    headers.remove_prefix(2 + name_length);
    const long size = value_size(type, headers);
    if (size < 0 || size_t(size) > headers.size()) return fail("malformed event stream header");
    if (type == 7) out.headers.emplace_back(std::move(name), std::string(headers.substr(2, size_t(size) - 2)));
    headers.remove_prefix(size_t(size));
  }
  out.payload = std::string(frame.substr(kPreludeBytes + headers_length, total - kMinMessageBytes - headers_length));
  return true;
}

}  // namespace oneapi::relay::adaptors::bedrock
