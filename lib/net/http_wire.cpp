#include "net/http_wire.hpp"

#include <boost/beast/http/status.hpp>
#include <charconv>

namespace oneapi::net {

namespace {

// A request line's method, target or Host value: visible ASCII, no space (it would split the line).
bool line_safe(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return false;
  return true;
}

bool framing_header(std::string_view name) {
  return same_header_name(name, "Content-Length") || same_header_name(name, "Transfer-Encoding") ||
         same_header_name(name, "Connection");
}

void append_number(std::string& out, uint64_t n) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n);
  (void)ec;
  out.append(digits, end);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out.append(name);
  out.append(": ");
  out.append(value);
  out.append("\r\n");
}

// The headers a message writes: each writable, not framing, and not named again later.
void append_fields(std::string& out, const Headers& headers, const Header* extra) {
  for (size_t i = 0; i < headers.size(); ++i) {
    const Header& h = headers[i];
    if (!writable_header(h.name, h.value) || framing_header(h.name)) continue;
    bool replaced = extra && same_header_name(extra->name, h.name);
    for (size_t j = i + 1; j < headers.size() && !replaced; ++j) replaced = same_header_name(headers[j].name, h.name);
    if (!replaced) append_field(out, h.name, h.value);
  }
  if (extra && writable_header(extra->name, extra->value) && !framing_header(extra->name))
    append_field(out, extra->name, extra->value);
}

void append_framing(std::string& out, unsigned version, const Framing& f) {
  if (f.chunked)
    out.append("Transfer-Encoding: chunked\r\n");
  else if (f.content_length) {
    out.append("Content-Length: ");
    append_number(out, *f.content_length);
    out.append("\r\n");
  }
  // HTTP/1.1 keeps a connection open unless told; HTTP/1.0 closes it unless told.
  if (version >= 11 && !f.keep_alive) out.append("Connection: close\r\n");
  if (version < 11 && f.keep_alive) out.append("Connection: keep-alive\r\n");
  out.append("\r\n");
}

}  // namespace

bool writable_header(std::string_view name, std::string_view value) {
  if (name.empty()) return false;
  for (char c : name)
    if (!is_token_char(static_cast<unsigned char>(c))) return false;
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return false;
  return true;
}

void append_response_head(std::string& out, int status, unsigned version, const Headers& headers, const Header* extra,
                          const Framing& framing) {
  out.append(version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
  append_number(out, static_cast<uint64_t>(status < 0 ? 0 : status));
  out.push_back(' ');
  const auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  if (!reason.empty() && reason.front() != '<') out.append(reason.data(), reason.size());  // "<unknown-status>"
  out.append("\r\n");
  append_fields(out, headers, extra);
  append_framing(out, version, framing);
}

bool append_request_head(std::string& out, std::string_view method, std::string_view target, std::string_view host,
                         const Headers& headers, const Framing& framing) {
  if (!line_safe(method) || !line_safe(target) || !line_safe(host)) return false;
  out.append(method);
  out.push_back(' ');
  out.append(target);
  out.append(" HTTP/1.1\r\n");
  bool named_host = false;
  for (const Header& h : headers)
    named_host = named_host || (same_header_name(h.name, "Host") && writable_header(h.name, h.value));
  if (!named_host) append_field(out, "Host", host);
  append_fields(out, headers, nullptr);
  append_framing(out, 11, framing);
  return true;
}

size_t chunk_size_line(char (&out)[20], size_t size) {
  auto [end, ec] = std::to_chars(out, out + 16, size, 16);
  (void)ec;
  end[0] = '\r';
  end[1] = '\n';
  return static_cast<size_t>(end + 2 - out);
}

}  // namespace oneapi::net
