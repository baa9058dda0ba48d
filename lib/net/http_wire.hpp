#pragma once
// HTTP/1.1 message heads written straight into a string, sent with their body in one gathered
// write. Beast's serializer spent about 20k instructions on each message (a fifth of the I/O
// thread's work per relayed request); this is a few hundred.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/http_types.hpp"

namespace oneapi::net {

// How the body is framed. The writer owns these headers: a caller's Content-Length,
// Transfer-Encoding or Connection is dropped.
struct Framing {
  bool keep_alive = true;
  bool chunked = false;                    // Transfer-Encoding: chunked (responses only)
  std::optional<uint64_t> content_length;  // written when set (and not chunked)
};

// Whether a header may be written as given: a token for a name (RFC 9110), and a value with no
// CR, LF or NUL in it. Anything else could split the message, so it is left out.
bool writable_header(std::string_view name, std::string_view value);

// "HTTP/1.x <status> <reason>\r\n", the headers (of two with the same name, case-insensitive, the
// later one, as Beast's set() did), `extra` when not empty, the framing, and the blank line.
void append_response_head(std::string& out, int status, unsigned version, const Headers& headers, const Header* extra,
                          const Framing& framing);

// "<method> <target> HTTP/1.1\r\n", Host (unless the headers name one), the headers, the
// framing, and the blank line. False, and nothing appended, when the method, target or host has a
// space or a control character (a model name in a URL path could otherwise split the request).
bool append_request_head(std::string& out, std::string_view method, std::string_view target, std::string_view host,
                         const Headers& headers, const Framing& framing);

// The line before a chunk of `size` bytes: its size in hex and CRLF. Returns its length.
size_t chunk_size_line(char (&out)[20], size_t size);

// Whether a response with this status carries no body (1xx, 204, 304): no Content-Length either.
constexpr bool bodiless_status(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

}  // namespace oneapi::net
