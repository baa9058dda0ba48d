#pragma once
// Small helpers shared by the command groups.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace oneapi::cli {

// Integer checks with readable messages (CLI11's PositiveNumber prints a huge double range).
inline const CLI::Validator kPositiveInt(
    [](std::string& s) -> std::string {
      bool ok = !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos &&
                s.find_first_not_of('0') != std::string::npos;
      return ok ? std::string() : "'" + s + "' is not a positive integer";
    },
    "POSITIVE");
inline const CLI::Validator kNonNegativeInt(
    [](std::string& s) -> std::string {
      bool ok = !s.empty() && s.size() <= 18 && s.find_first_not_of("0123456789") == std::string::npos;
      return ok ? std::string() : "'" + s + "' is not a non-negative integer";
    },
    "NON-NEGATIVE");

// The required positional ID (a positive integer) of get/update/delete-style commands.
inline CLI::Option* add_id(CLI::App* sub, int64_t& id, const std::string& what) {
  return sub->add_option("ID", id, "Id of the " + what)->required()->check(kPositiveInt);
}

inline bool given(const CLI::Option* opt) { return opt != nullptr && opt->count() > 0; }

// "-" reads the value from the first line of standard input, so secrets stay out of `ps` and
// shell history. Returns false when stdin has nothing.
bool resolve_stdin_value(std::string& value);
// The same, reading every non-blank line of standard input, joined with '\n' (several keys).
bool resolve_stdin_lines(std::string& value);

}  // namespace oneapi::cli
