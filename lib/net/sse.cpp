#include "net/sse.hpp"

namespace oneapi::net {

void SseDecoder::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  buffer_.append(bytes);
  size_t start = 0;
  for (;;) {
    size_t eol = buffer_.find_first_of("\r\n", start);
    if (eol == std::string::npos) break;
    // "\r" at the very end may be the first half of "\r\n": wait for the next byte.
    if (buffer_[eol] == '\r' && eol + 1 == buffer_.size()) break;
    take_line(std::string_view(buffer_).substr(start, eol - start), out);
    start = eol + ((buffer_[eol] == '\r' && buffer_[eol + 1] == '\n') ? 2 : 1);
  }
  buffer_.erase(0, start);
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
  if (!event.empty()) {
    out += "event: ";
    out += event;
    out += '\n';
  }
  out += "data: ";
  out += data;
  out += "\n\n";
  return out;
}

}  // namespace oneapi::net
