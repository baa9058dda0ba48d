#pragma once
// Server-sent events: an incremental decoder (bytes may be split anywhere) and an encoder.
#include <string>
#include <string_view>
#include <vector>

namespace oneapi::net {

struct SseEvent {
  std::string event;  // "event:" field, empty when absent
  std::string data;   // "data:" lines joined with '\n'
};

class SseDecoder {
 public:
  // Appends complete events found so far to `out`; keeps partial input for the next call.
  void feed(std::string_view bytes, std::vector<SseEvent>& out);
  // Flushes an event not terminated by a blank line (a stream cut without the final "\n\n").
  bool finish(SseEvent& out);

 private:
  void take_line(std::string_view line, std::vector<SseEvent>& out);
  std::string buffer_;
  SseEvent current_;
  bool has_data_ = false;
};

// "data: <payload>\n\n" (with an "event:" line when event is non-empty).
std::string sse_encode(std::string_view data, std::string_view event = {});
// The same, appended to `out`.
void sse_append(std::string& out, std::string_view data, std::string_view event = {});

}  // namespace oneapi::net
