#include "output.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>

namespace oneapi::cli {

using nlohmann::json;

void print_json(const json& j) { std::cout << j.dump(2, ' ', false, json::error_handler_t::replace) << '\n'; }

void print_error(std::string_view message) {
  std::string line = sanitize(message);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  std::cerr << "oneapictl: " << line << '\n';
}

namespace {

// Decodes one UTF-8 sequence at s[i]; malformed bytes count as one column each.
char32_t next_code_point(std::string_view s, size_t& i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  char32_t cp = len == 1 ? c : c & (0x7F >> len);
  for (size_t k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += len;
  return cp;
}

size_t code_point_width(char32_t cp) {
  // East Asian wide and fullwidth ranges take two terminal columns.
  if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) || (cp >= 0xAC00 && cp <= 0xD7A3) ||
      (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
      (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1FAFF) || (cp >= 0x20000 && cp <= 0x3FFFD))
    return 2;
  return 1;
}

}  // namespace

size_t display_width(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size();) width += code_point_width(next_code_point(s, i));
  return width;
}

std::string truncate(std::string_view s, size_t max_columns) {
  if (display_width(s) <= max_columns) return std::string(s);
  std::string out;
  size_t width = 0;
  for (size_t i = 0; i < s.size();) {
    size_t start = i;
    size_t w = code_point_width(next_code_point(s, i));
    if (width + w + 1 > max_columns) break;  // room for the ellipsis
    out.append(s.substr(start, i - start));
    width += w;
  }
  return out + "…";
}

std::string sanitize(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  return out;
}

void Table::print(std::string_view when_empty) const {
  if (rows_.empty()) {
    std::cout << when_empty << '\n';
    return;
  }
  std::vector<size_t> widths(headers_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
  };
  measure(headers_);
  for (const auto& r : rows_) measure(r);
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < widths.size(); ++i) {
      std::string cell = i < row.size() ? sanitize(row[i]) : std::string();
      line += cell;
      if (i + 1 < widths.size()) line += std::string(widths[i] - display_width(cell) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << '\n';
  };
  emit(headers_);
  for (const auto& r : rows_) emit(r);
}

void print_fields(const Fields& fields) {
  size_t width = 0;
  for (const auto& [k, v] : fields) width = std::max(width, display_width(k) + 1);
  for (const auto& [k, v] : fields) {
    std::string key = k + ":";
    std::cout << key << std::string(width - display_width(key) + 1, ' ') << sanitize(v) << '\n';
  }
}

std::string text(const json& obj, const char* key) {
  if (!obj.is_object()) return {};
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump(-1, ' ', false, json::error_handler_t::replace);
}

int64_t integer(const json& obj, const char* key, int64_t fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number()) return static_cast<int64_t>(it->get<double>());
  if (it->is_boolean()) return it->get<bool>() ? 1 : 0;
  return fallback;
}

double number(const json& obj, const char* key, double fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  return it != obj.end() && it->is_number() ? it->get<double>() : fallback;
}

bool boolean(const json& obj, const char* key, bool fallback) {
  if (!obj.is_object()) return fallback;
  auto it = obj.find(key);
  if (it == obj.end()) return fallback;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_number()) return it->get<double>() != 0;
  return fallback;
}

std::string format_time(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  if (!gmtime_r(&t, &tm)) return std::to_string(unix_seconds);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string format_duration(int64_t seconds) {
  if (seconds < 0) seconds = 0;
  const int64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
  std::string out;
  if (d) out += std::to_string(d) + "d ";
  if (d || h) out += std::to_string(h) + "h ";
  if (d || h || m) out += std::to_string(m) + "m ";
  return out + std::to_string(s) + "s";
}

std::string format_usd(double usd) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "$%.6f", usd);
  return buf;
}

std::string format_seconds(double seconds) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.2fs", seconds);
  return buf;
}

}  // namespace oneapi::cli
