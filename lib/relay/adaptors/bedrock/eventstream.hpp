#pragma once
// AWS's binary event stream framing (application/vnd.amazon.eventstream), as Bedrock's
// InvokeModelWithResponseStream sends it. Each message:
//   total length u32 BE | headers length u32 BE | prelude CRC32 | headers | payload | message CRC32
// A header is: name length u8, name, value type u8, value (7 = string: u16 BE length + bytes).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oneapi::relay::adaptors::bedrock {

struct EventStreamMessage {
  // String-valued headers (":message-type", ":event-type", ...); headers of other types are
  // skipped.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string payload;

  std::string_view header(std::string_view name) const;
};

// CRC-32 (IEEE 802.3, as zlib's crc32), continuing from `crc`.
uint32_t crc32(std::string_view data, uint32_t crc = 0);

class EventStreamParser {
 public:
  // Appends the messages `bytes` complete (split anywhere) to `out`. After a bad frame (a CRC
  // mismatch, an impossible length, a malformed header) it returns false, sets error(), and
  // ignores everything that follows: nothing after a corruption can be trusted.
  bool feed(std::string_view bytes, std::vector<EventStreamMessage>& out);
  const std::optional<std::string>& error() const { return error_; }
  // Bytes of an incomplete message are waiting (at the end of the body: a truncated stream).
  bool has_partial() const { return !buffer_.empty(); }

  static constexpr uint32_t kMaxMessageBytes = 24 * 1024 * 1024;  // AWS caps messages at 16 MiB + headers

 private:
  bool fail(std::string why);
  bool parse_message(std::string_view frame, EventStreamMessage& out);

  std::string buffer_;
  std::optional<std::string> error_;
};

}  // namespace oneapi::relay::adaptors::bedrock
