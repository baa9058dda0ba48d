#pragma once
// A tiny encoder of AWS's binary event stream framing for tests (the mocks speak Bedrock with
// it). Its CRC-32 is computed bit by bit, independently of the table-driven one in lib/.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace oneapi::test {

inline uint32_t bitwise_crc32(const std::string& data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char c : data) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

struct EventStreamHeader {
  std::string name;
  uint8_t type = 7;   // 7 = string
  std::string value;  // the raw value bytes (for type 7: the string, length prefix added here)
};

inline std::string encode_event_stream_message(const std::vector<EventStreamHeader>& headers,
                                               const std::string& payload) {
  std::string h;
  for (const auto& header : headers) {
    h += static_cast<char>(header.name.size());
    h += header.name;
    h += static_cast<char>(header.type);
    if (header.type == 6 || header.type == 7) {
      h += static_cast<char>((header.value.size() >> 8) & 0xff);
      h += static_cast<char>(header.value.size() & 0xff);
    }
    h += header.value;
  }
  std::string out;
  put_u32(out, static_cast<uint32_t>(12 + h.size() + payload.size() + 4));
  put_u32(out, static_cast<uint32_t>(h.size()));
  put_u32(out, bitwise_crc32(out));
  out += h;
  out += payload;
  put_u32(out, bitwise_crc32(out));
  return out;
}

inline std::string base64_encode(const std::string& in) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Bedrock's frame around one Anthropic stream event: {"bytes": base64(event JSON)}.
inline std::string bedrock_chunk(const std::string& event_json) {
  return encode_event_stream_message(
      {{":event-type", 7, "chunk"}, {":content-type", 7, "application/json"}, {":message-type", 7, "event"}},
      "{\"bytes\":\"" + base64_encode(event_json) + "\",\"p\":\"abcdefgh\"}");
}

inline std::string bedrock_exception(const std::string& type, const std::string& message_json) {
  return encode_event_stream_message(
      {{":exception-type", 7, type}, {":content-type", 7, "application/json"}, {":message-type", 7, "exception"}},
      message_json);
}

}  // namespace oneapi::test
