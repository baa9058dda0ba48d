#pragma once
// Human output (aligned tables, "key: value" lines) and --json output.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace oneapi::cli {

// Pretty JSON on stdout; invalid UTF-8 is replaced rather than thrown on.
void print_json(const nlohmann::json& j);
// "oneapictl: <message>" on stderr, on one line.
void print_error(std::string_view message);

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  bool empty() const { return rows_.empty(); }
  // Prints the header and the rows, or `when_empty` alone when there are no rows.
  void print(std::string_view when_empty) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

using Fields = std::vector<std::pair<std::string, std::string>>;
void print_fields(const Fields& fields);  // "key:  value", keys aligned

// Lenient readers for the daemon's objects: a missing or mistyped member gives the fallback.
std::string text(const nlohmann::json& obj, const char* key);  // strings as-is, numbers printed, null empty
int64_t integer(const nlohmann::json& obj, const char* key, int64_t fallback = 0);
double number(const nlohmann::json& obj, const char* key, double fallback = 0);
bool boolean(const nlohmann::json& obj, const char* key, bool fallback = false);

std::string format_time(int64_t unix_seconds);  // "2024-05-01 12:00:00" (UTC); 0 -> "-"
std::string format_duration(int64_t seconds);   // "3d 4h 5m 6s"
std::string format_usd(double usd);             // "$0.001234"
std::string format_seconds(double seconds);     // "1.23s"
std::string truncate(std::string_view s, size_t max_columns);
size_t display_width(std::string_view s);
// Control characters (newlines, escapes) become spaces, so a name cannot break a table or the terminal.
std::string sanitize(std::string_view s);

}  // namespace oneapi::cli
