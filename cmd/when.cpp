#include "when.hpp"

#include <ctime>
#include <limits>

namespace oneapi::cli {

namespace {

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

std::optional<int64_t> to_int(std::string_view s) {
  if (!all_digits(s) || s.size() > 15) return std::nullopt;
  int64_t v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

// Reads exactly `n` digits at s[pos].
std::optional<int> digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  auto v = to_int(s.substr(pos, n));
  if (!v) return std::nullopt;
  return static_cast<int>(*v);
}

std::optional<int64_t> parse_date_time(std::string_view s) {
  if (!s.empty() && (s.back() == 'Z' || s.back() == 'z')) s.remove_suffix(1);
  // YYYY-MM-DD
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  auto year = digits(s, 0, 4), month = digits(s, 5, 2), day = digits(s, 8, 2);
  if (!year || !month || !day) return std::nullopt;
  int hour = 0, minute = 0, second = 0;
  if (s.size() > 10) {
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return std::nullopt;
    if (s.size() != 16 && s.size() != 19) return std::nullopt;
    auto h = digits(s, 11, 2), m = digits(s, 14, 2);
    if (!h || !m || s[13] != ':') return std::nullopt;
    hour = *h;
    minute = *m;
    if (s.size() == 19) {
      auto sec = digits(s, 17, 2);
      if (!sec || s[16] != ':') return std::nullopt;
      second = *sec;
    }
  }
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::time_t t = timegm(&tm);
  // timegm normalises 2024-02-31 into March; a round trip rejects such dates.
  std::tm back{};
  if (t == static_cast<std::time_t>(-1) || !gmtime_r(&t, &back) || back.tm_year != *year - 1900 ||
      back.tm_mon != *month - 1 || back.tm_mday != *day || back.tm_hour != hour || back.tm_min != minute ||
      back.tm_sec != second)
    return std::nullopt;
  return static_cast<int64_t>(t);
}

}  // namespace

std::optional<int64_t> parse_when(std::string_view s, int64_t now, bool future) {
  if (all_digits(s)) return to_int(s);
  if (s.size() >= 2 && all_digits(s.substr(0, s.size() - 1))) {
    int64_t unit = 0;
    switch (s.back()) {
      case 's':
        unit = 1;
        break;
      case 'm':
        unit = 60;
        break;
      case 'h':
        unit = 3600;
        break;
      case 'd':
        unit = 86400;
        break;
      case 'w':
        unit = 7 * 86400;
        break;
      default:
        return std::nullopt;
    }
    auto n = to_int(s.substr(0, s.size() - 1));
    if (!n || *n > std::numeric_limits<int64_t>::max() / unit / 2) return std::nullopt;
    return future ? now + *n * unit : now - *n * unit;
  }
  return parse_date_time(s);
}

}  // namespace oneapi::cli
