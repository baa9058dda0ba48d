#include "net/sse.hpp"

#include <cstring>

namespace oneapi::net {

namespace {

// The first '\r' or '\n' at or after `from`, or npos: two memchr calls (vectorised), where a loop
// testing both per byte cost about eight instructions a byte.
size_t find_eol(std::string_view s, size_t from) {
  if (from >= s.size()) return std::string_view::npos;
  const char* begin = s.data() + from;
  const char* end = s.data() + s.size();
  const auto* nl = static_cast<const char*>(std::memchr(begin, '\n', static_cast<size_t>(end - begin)));
  const char* until = nl ? nl : end;
  const auto* cr = static_cast<const char*>(std::memchr(begin, '\r', static_cast<size_t>(until - begin)));
  const char* eol = cr ? cr : nl;
  return eol ? static_cast<size_t>(eol - s.data()) : std::string_view::npos;
}

}  // namespace

void SseDecoder::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  // Lines are read straight from `bytes`; only a line split across reads is copied and kept.
  const bool carried = !buffer_.empty();
  if (carried) buffer_.append(bytes);
  const std::string_view input = carried ? std::string_view(buffer_) : bytes;
  size_t start = 0;
  for (;;) {
    size_t eol = find_eol(input, start);
    if (eol == std::string_view::npos) break;
    // "\r" at the very end may be the first half of "\r\n": wait for the next byte.
    if (input[eol] == '\r' && eol + 1 == input.size()) break;
    take_line(input.substr(start, eol - start), out);
    start = eol + ((input[eol] == '\r' && input[eol + 1] == '\n') ? 2 : 1);
  }
  if (carried)
    buffer_.erase(0, start);
  else
    buffer_.assign(input.substr(start));
}

void SseDecoder::take_line(std::string_view line, std::vector<SseEvent>& out) {
  if (line.empty()) {
    if (has_data_ || !current_.event.empty()) out.push_back(std::move(current_));
    current_ = SseEvent{};
    has_data_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment / keep-alive
  size_t colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) current_.data += '\n';
    current_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    current_.event.assign(value);
  }
}

bool SseDecoder::finish(SseEvent& out) {
  if (!buffer_.empty()) {
    std::vector<SseEvent> ignored;
    std::string rest = std::move(buffer_);
    buffer_.clear();
    if (rest.back() == '\r') rest.pop_back();
    take_line(rest, ignored);
  }
  if (!has_data_ && current_.event.empty()) return false;
  out = std::move(current_);
  current_ = SseEvent{};
  has_data_ = false;
  return true;
}

std::string sse_encode(std::string_view data, std::string_view event) {
  std::string out;
  out.reserve(data.size() + 16 + event.size());
  sse_append(out, data, event);
  return out;
}

void sse_append(std::string& out, std::string_view data, std::string_view event) {
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  out += "data: ";
  out += data;
  out += "\n\n";
}

}  // namespace oneapi::net
