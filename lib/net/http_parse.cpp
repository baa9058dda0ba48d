#include "net/http_parse.hpp"

#include <algorithm>
#include <cstring>

namespace oneapi::net {

namespace {

constexpr size_t kMaxLineForChunks = 4096;  // a chunk-size line or a trailer line

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A field value's bytes: HTAB, SP, visible ASCII and obs-text; never another control character.
bool value_char(unsigned char c) { return c == '\t' || (c >= 0x20 && c != 0x7f); }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f(token) for each comma-separated, trimmed, non-empty token of a list-valued header.
template <class F>
void for_each_token(std::string_view list, F&& f) {
  while (!list.empty()) {
    const size_t comma = list.find(',');
    std::string_view token = trim_ows(list.substr(0, comma));
    if (!token.empty()) f(token);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

// Where the head ends: the index just past its blank line, 0 while incomplete. Every line must end
// in CRLF; a bare LF sets `bad`.
size_t head_end(std::string_view data, bool& bad) {
  size_t line_start = 0;
  for (;;) {
    if (line_start >= data.size()) return 0;  // also keeps memchr off an empty buffer's null pointer
    const void* found = std::memchr(data.data() + line_start, '\n', data.size() - line_start);
    if (!found) return 0;
    const size_t nl = static_cast<size_t>(static_cast<const char*>(found) - data.data());
    if (nl == 0 || data[nl - 1] != '\r') {
      bad = true;
      return 0;
    }
    if (nl == line_start + 1) return nl + 1;  // "\r\n" alone: the blank line
    line_start = nl + 1;
  }
}

// The "HTTP/d.d" of a start line, as 10 * major + minor; 0 when malformed.
unsigned parse_version(std::string_view v) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !is_digit(v[5]) || v[6] != '.' || !is_digit(v[7])) return 0;
  return static_cast<unsigned>((v[5] - '0') * 10 + (v[7] - '0'));
}

bool parse_length(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 18) return false;  // 18 digits cannot overflow
  uint64_t n = 0;
  for (char c : s) {
    if (!is_digit(c)) return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  out = n;
  return true;
}

// What the fields say about framing and the connection, gathered while they are parsed.
struct FieldFacts {
  bool has_length = false;
  uint64_t length = 0;
  bool has_transfer_encoding = false;
  bool chunked_last = false;  // the last transfer coding is "chunked"
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool expect_continue = false;
};

// Parses the header lines of [fields, end) (each ending in CRLF, the blank line excluded).
std::string_view parse_fields(std::string_view fields, Headers& out, FieldFacts& facts) {
  out.reserve(static_cast<size_t>(std::count(fields.begin(), fields.end(), '\n')));
  while (!fields.empty()) {
    // head_end() checked that each line ends in CRLF; a CR anywhere else fails the checks below.
    const size_t nl = fields.find('\n');
    std::string_view line = fields.substr(0, nl - 1);
    fields.remove_prefix(nl + 1);
    if (line.empty()) return "empty header line";
    if (line.front() == ' ' || line.front() == '\t') return "folded header line";
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return "header line without a name";
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!is_token_char(static_cast<unsigned char>(c))) return "bad header name";
    std::string_view value = trim_ows(line.substr(colon + 1));
    for (char c : value)
      if (!value_char(static_cast<unsigned char>(c))) return "bad character in a header value";
    // Only these four change how the message is read; the length picks the candidate.
    switch (name.size()) {
      case 14:
        if (same_header_name(name, "Content-Length")) {
          uint64_t n = 0;
          if (!parse_length(value, n)) return "bad Content-Length";
          if (facts.has_length && n != facts.length) return "conflicting Content-Length headers";
          facts.has_length = true;
          facts.length = n;
        }
        break;
      case 17:
        if (same_header_name(name, "Transfer-Encoding")) {
          facts.has_transfer_encoding = true;
          for_each_token(value,
                         [&](std::string_view coding) { facts.chunked_last = same_header_name(coding, "chunked"); });
        }
        break;
      case 10:
        if (same_header_name(name, "Connection")) {
          for_each_token(value, [&](std::string_view option) {
            if (same_header_name(option, "close")) facts.connection_close = true;
            if (same_header_name(option, "keep-alive")) facts.connection_keep_alive = true;
          });
        }
        break;
      case 6:
        if (same_header_name(name, "Expect")) facts.expect_continue = same_header_name(value, "100-continue");
        break;
      default:
        break;
    }
    out.push_back(Header{std::string(name), std::string(value)});
  }
  return {};
}

bool keep_alive(unsigned version, const FieldFacts& facts) {
  if (facts.connection_close) return false;
  return version >= 11 || facts.connection_keep_alive;
}

// Splits off the first line (without its CRLF) of a complete head.
std::string_view take_line(std::string_view& head) {
  const size_t nl = head.find('\n');
  std::string_view line = head.substr(0, nl - 1);
  head.remove_prefix(nl + 1);
  return line;
}

HeadParse bad(std::string_view why) { return HeadParse{ParseStatus::bad, 0, why}; }

// The head's extent, or the status to report while it has none.
HeadParse find_head(std::string_view data, size_t skip, size_t limit) {
  bool bare_lf = false;
  const size_t end = head_end(data.substr(skip), bare_lf);
  if (bare_lf) return bad("line ends in LF without CR");
  if (end == 0) return HeadParse{data.size() > limit ? ParseStatus::too_large : ParseStatus::incomplete, 0, {}};
  if (skip + end > limit) return HeadParse{ParseStatus::too_large, 0, {}};
  return HeadParse{ParseStatus::complete, skip + end, {}};
}

}  // namespace

HeadParse parse_request_head(std::string_view data, size_t limit, RequestHead& out) {
  size_t skip = 0;  // empty lines a client left after a previous body
  while (skip + 1 < data.size() && data[skip] == '\r' && data[skip + 1] == '\n') skip += 2;
  HeadParse found = find_head(data, skip, limit);
  if (found.status != ParseStatus::complete) return found;
  // The head without its final blank line: start line, then fields, each ending in CRLF.
  std::string_view head = data.substr(skip, found.consumed - skip - 2);
  std::string_view line = take_line(head);

  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return bad("bad request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (method.empty() || target.empty()) return bad("bad request line");
  for (char c : method)
    if (!is_token_char(static_cast<unsigned char>(c))) return bad("bad method");
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return bad("bad request target");
  const unsigned version = parse_version(line.substr(sp2 + 1));
  if (version != 10 && version != 11) return bad("unsupported HTTP version");

  out.method.assign(method);
  out.target.assign(target);
  out.version = version;
  out.headers.clear();
  FieldFacts facts;
  if (auto why = parse_fields(head, out.headers, facts); !why.empty()) return bad(why);
  out.keep_alive = keep_alive(version, facts);
  out.expect_continue = version >= 11 && facts.expect_continue;
  if (facts.has_transfer_encoding) {
    // A proxy in front might frame such a request by the other header: refuse, never guess.
    if (facts.has_length) return bad("both Transfer-Encoding and Content-Length");
    if (!facts.chunked_last) return bad("unsupported Transfer-Encoding");
    out.body = BodyFraming{BodyFraming::Kind::chunked, 0};
  } else if (facts.has_length && facts.length > 0) {
    out.body = BodyFraming{BodyFraming::Kind::length, facts.length};
  } else {
    out.body = BodyFraming{};
  }
  return found;
}

HeadParse parse_response_head(std::string_view data, size_t limit, bool head_request, ResponseHead& out) {
  HeadParse found = find_head(data, 0, limit);
  if (found.status != ParseStatus::complete) return found;
  std::string_view head = data.substr(0, found.consumed - 2);
  std::string_view line = take_line(head);

  // "HTTP/1.1 200 OK": the reason phrase may be empty, or missing with its space.
  const unsigned version = parse_version(line.substr(0, 8));
  if (version < 10 || version >= 20 || line.size() < 12 || line[8] != ' ') return bad("bad status line");
  std::string_view code = line.substr(9, 3);
  if (!is_digit(code[0]) || !is_digit(code[1]) || !is_digit(code[2]) || (line.size() > 12 && line[12] != ' '))
    return bad("bad status code");
  const int status = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  if (status < 100) return bad("bad status code");

  out.status = status;
  out.version = version;
  out.headers.clear();
  FieldFacts facts;
  if (auto why = parse_fields(head, out.headers, facts); !why.empty()) return bad(why);
  out.keep_alive = keep_alive(version, facts);
  if (head_request || (status >= 100 && status < 200) || status == 204 || status == 304) {
    out.body = BodyFraming{};
  } else if (facts.has_transfer_encoding) {
    // Not chunked last: the body runs to the close (RFC 9112 6.3). With a Content-Length beside
    // it, the connection cannot be trusted for another answer either.
    out.body = BodyFraming{facts.chunked_last ? BodyFraming::Kind::chunked : BodyFraming::Kind::until_close, 0};
    if (!facts.chunked_last || facts.has_length) out.keep_alive = false;
  } else if (facts.has_length) {
    out.body = facts.length > 0 ? BodyFraming{BodyFraming::Kind::length, facts.length} : BodyFraming{};
  } else {
    out.body = BodyFraming{BodyFraming::Kind::until_close, 0};
    out.keep_alive = false;
  }
  return found;
}

size_t ChunkedDecoder::feed(std::string_view in, std::string& out) {
  size_t pos = 0;
  while (pos < in.size() && state_ != State::done && error_.empty()) {
    switch (state_) {
      case State::size_line:
      case State::trailer: {
        const size_t nl = in.find('\n', pos);
        // The same limit whether the line came in one read or trickled in: no framing decision
        // may depend on how the bytes were split.
        if ((nl == std::string_view::npos ? in.size() : nl) - pos > kMaxLineForChunks) {
          error_ = "chunk line too long";
          return pos;
        }
        if (nl == std::string_view::npos) return pos;
        if (nl == pos || in[nl - 1] != '\r') {
          error_ = "chunk line ends in LF without CR";
          return pos;
        }
        std::string_view line = in.substr(pos, nl - 1 - pos);
        pos = nl + 1;
        if (state_ == State::trailer) {
          if (line.empty()) state_ = State::done;  // trailer fields are dropped
          break;
        }
        uint64_t size = 0;
        size_t digits = 0;
        for (; digits < line.size(); ++digits) {
          const int v = hex_digit_value(line[digits]);
          if (v < 0) break;
          if (digits == 15) {  // a chunk of 2^60 bytes or more is no chunk
            error_ = "chunk size too large";
            return pos;
          }
          size = size * 16 + static_cast<uint64_t>(v);
        }
        std::string_view rest = line.substr(digits);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
        if (digits == 0 || (!rest.empty() && rest.front() != ';')) {
          error_ = "bad chunk size";
          return pos;
        }
        remaining_ = size;
        state_ = size == 0 ? State::trailer : State::data;
        break;
      }
      case State::data: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(remaining_, in.size() - pos));
        out.append(in.data() + pos, take);
        pos += take;
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::data_end;
        break;
      }
      case State::data_end:
        if (in.size() - pos < 2) return pos;
        if (in[pos] != '\r' || in[pos + 1] != '\n') {
          error_ = "chunk data not followed by CRLF";
          return pos;
        }
        pos += 2;
        state_ = State::size_line;
        break;
      case State::done:
        break;
    }
  }
  return pos;
}

void ReadBuffer::consume(size_t n) {
  begin_ += std::min(n, size());
  if (begin_ == end_) begin_ = end_ = 0;
}

std::pair<char*, size_t> ReadBuffer::prepare(size_t min_room, size_t max_read) {
  if (capacity_ - end_ < min_room) {
    const size_t pending = size();
    if (capacity_ - pending >= min_room && capacity_ >= 2 * pending) {
      std::memmove(bytes_.get(), bytes_.get() + begin_, pending);  // room enough once compacted
    } else {
      const size_t grown = std::max({capacity_ * 2, pending + min_room, size_t{512}});
      auto bigger = std::make_unique_for_overwrite<char[]>(grown);
      if (pending) std::memcpy(bigger.get(), bytes_.get() + begin_, pending);
      bytes_ = std::move(bigger);
      capacity_ = grown;
    }
    begin_ = 0;
    end_ = pending;
  }
  return {bytes_.get() + end_, std::min(capacity_ - end_, max_read)};
}

void ReadBuffer::release_if_empty(size_t keep) {
  if (!empty() || capacity_ <= keep) return;
  bytes_.reset();
  capacity_ = begin_ = end_ = 0;
}

}  // namespace oneapi::net
