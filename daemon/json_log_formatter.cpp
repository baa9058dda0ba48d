#include "json_log_formatter.hpp"

#include <spdlog/details/log_msg.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace oneapi::daemon {

namespace {

bool is_key_char(char c) { return (c >= 'a' && c <= 'z') || c == '_'; }

// "request ID k=v k=\"quoted v\" …" -> {"request_id": ID, "k": "v", …}; numbers stay numbers.
void add_fields(std::string_view msg, nlohmann::json& out) {
  if (msg.rfind("request ", 0) == 0) {
    const size_t end = msg.find(' ', 8);
    out["request_id"] = std::string(msg.substr(8, end == std::string_view::npos ? end : end - 8));
  }
  size_t i = 0;
  while (i < msg.size()) {
    size_t k = i;
    while (k < msg.size() && is_key_char(msg[k])) ++k;
    if (k > i && k < msg.size() && msg[k] == '=' && (i == 0 || msg[i - 1] == ' ')) {
      const std::string key(msg.substr(i, k - i));
      size_t v = k + 1, v_end;
      std::string value;
      if (v < msg.size() && msg[v] == '"') {  // quoted: up to the closing quote at the end of a word
        v_end = msg.find("\" ", v + 1);
        if (v_end == std::string_view::npos) v_end = msg.size() - (msg.back() == '"' ? 1 : 0);
        value = std::string(msg.substr(v + 1, v_end - v - 1));
        i = v_end + 1;
      } else {
        v_end = msg.find(' ', v);
        if (v_end == std::string_view::npos) v_end = msg.size();
        value = std::string(msg.substr(v, v_end - v));
        i = v_end;
      }
      if (key == "msg" || key == "time" || key == "level") continue;  // never overwrite the envelope
      char* num_end = nullptr;
      const long long n = std::strtoll(value.c_str(), &num_end, 10);
      if (!value.empty() && num_end == value.c_str() + value.size())
        out[key] = n;
      else
        out[key] = value;
    } else {
      i = (k > i) ? k : i + 1;
    }
  }
}

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since_epoch = msg.time.time_since_epoch();
    const std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch).count() % 1000;
    std::tm utc{};
    gmtime_r(&secs, &utc);
    char time[96];  // room for any int the compiler imagines; real dates take 24 bytes
    std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                  utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms));
    const std::string_view text(msg.payload.data(), msg.payload.size());
    const auto level = spdlog::level::to_string_view(msg.level);
    nlohmann::json line = {{"time", time}, {"level", std::string(level.data(), level.size())}, {"msg", text}};
    add_fields(text, line);
    // Invalid UTF-8 in a message (an upstream's bytes) is replaced, never breaks the line.
    const std::string out = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_json_log_formatter() { return std::make_unique<JsonLogFormatter>(); }

}  // namespace oneapi::daemon
