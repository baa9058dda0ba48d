#include "commands/common.hpp"

#include <iostream>

namespace oneapi::cli {

bool resolve_stdin_value(std::string& value) {
  if (value != "-") return true;
  std::string line;
  if (!std::getline(std::cin, line)) return false;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  value = line;
  return !value.empty();
}

bool resolve_stdin_lines(std::string& value) {
  if (value != "-") return true;
  std::string all, line;
  while (std::getline(std::cin, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty()) continue;
    if (!all.empty()) all += '\n';
    all += line;
  }
  value = all;
  return !value.empty();
}

}  // namespace oneapi::cli
