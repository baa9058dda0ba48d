#pragma once
// HTTP/1.1 message heads and bodies read straight from the bytes received, for both sides of the
// relay: the requests oneapid serves and the answers its upstreams send. Beast's parsers spent
// about 13k instructions and a dozen allocations on each relayed request (its field nodes, then
// our copy of them); these parse into our Headers once.
//
// Strict where a lenient reader could be made to see a different message than a proxy in front
// of it: CRLF line ends, no space before a header's colon, no folded lines, one Content-Length,
// and a request with both Transfer-Encoding and Content-Length is refused (RFC 9112 6.3).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "net/http_types.hpp"

namespace oneapi::net {

// The most a message head (start line and fields) may take, for requests and answers alike.
inline constexpr size_t kHeadLimit = 64 * 1024;

// A hex digit's value, -1 for any other character (chunk sizes, %XX escapes).
constexpr int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// How a message's body is delimited.
struct BodyFraming {
  enum class Kind { none, length, chunked, until_close };
  Kind kind = Kind::none;
  uint64_t length = 0;  // Kind::length
};

struct RequestHead {
  std::string method;
  std::string target;
  unsigned version = 11;  // 10 or 11 (HTTP/1.0, HTTP/1.1)
  Headers headers;
  bool keep_alive = true;
  bool expect_continue = false;  // "Expect: 100-continue"
  BodyFraming body;
};

struct ResponseHead {
  int status = 0;
  unsigned version = 11;
  Headers headers;
  bool keep_alive = true;
  BodyFraming body;
};

enum class ParseStatus { incomplete, complete, bad, too_large };

struct HeadParse {
  ParseStatus status = ParseStatus::incomplete;
  size_t consumed = 0;      // bytes of the head, blank line included, when complete
  std::string_view reason;  // what was wrong, when bad
};

// Parses a request head at the start of `data` (empty lines before it are skipped, as RFC 9112
// 2.2 allows). too_large when no complete head fits in `limit` bytes.
HeadParse parse_request_head(std::string_view data, size_t limit, RequestHead& out);

// Parses a response head at the start of `data`. `head_request`: the answer to a HEAD, which has
// no body whatever its headers say.
HeadParse parse_response_head(std::string_view data, size_t limit, bool head_request, ResponseHead& out);

// Decodes a chunked body a piece at a time: chunk sizes, extensions and trailers are dropped.
class ChunkedDecoder {
 public:
  // Consumes what it can of `in`, appending the body's bytes to `out`. Returns the bytes consumed;
  // a partial chunk-size line is left unconsumed until more arrives.
  size_t feed(std::string_view in, std::string& out);
  bool done() const { return state_ == State::done; }
  // Set when the framing was malformed: the connection cannot be read any further.
  std::string_view error() const { return error_; }

 private:
  enum class State { size_line, data, data_end, trailer, done };
  State state_ = State::size_line;
  uint64_t remaining_ = 0;
  std::string_view error_;
};

// Bytes read from a connection and not yet consumed. It starts small and grows only when a read
// fills it, so a connection waiting on a slow stream holds little.
class ReadBuffer {
 public:
  std::string_view data() const { return {bytes_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void consume(size_t n);
  // Room for the next read: at least `min_room` bytes, at most `max_read`.
  std::pair<char*, size_t> prepare(size_t min_room = 512, size_t max_read = 64 * 1024);
  void commit(size_t n) { end_ += n; }
  // Frees the memory when nothing is pending and it holds more than `keep` bytes.
  void release_if_empty(size_t keep = 0);

 private:
  std::unique_ptr<char[]> bytes_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace oneapi::net
