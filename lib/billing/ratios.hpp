#pragma once
// Model, completion and group ratios with One API's defaults, overridable by the options
// ModelRatio, CompletionRatio and GroupRatio (JSON objects).
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.hpp"

namespace oneapi::billing {

inline constexpr double kUnknownModelRatio = 30;         // One API charges unknown models at ratio 30
inline constexpr int64_t kDefaultQuotaPerUnit = 500000;  // quota per $1

class Ratios {
 public:
  Ratios();  // One API's defaults

  // Overlays a JSON object {"model": ratio, ...} on the defaults. Error on invalid JSON.
  Result<void> set_model_ratios(std::string_view json);
  Result<void> set_completion_ratios(std::string_view json);
  Result<void> set_group_ratios(std::string_view json);
  // Option CachedInputRatio: price of a cached prompt token as a fraction of an uncached one.
  Result<void> set_cached_input_ratios(std::string_view json);

  // Lookup order as One API: "model(channel_type)" key, then the model, after stripping
  // -internet suffixes; unknown models cost kUnknownModelRatio.
  double model_ratio(std::string_view model, int channel_type = 0) const;
  double completion_ratio(std::string_view model, int channel_type = 0) const;
  double group_ratio(std::string_view group) const;  // unknown group -> 1
  // Built-in defaults follow the providers' published cache discounts; unknown models pay the
  // full input price for cached tokens (1), so the gateway never under-bills.
  double cached_input_ratio(std::string_view model, int channel_type = 0) const;

  std::string model_ratios_json() const;
  std::string completion_ratios_json() const;
  std::string group_ratios_json() const;
  std::string cached_input_ratios_json() const;

 private:
  std::unordered_map<std::string, double> model_;
  std::unordered_map<std::string, double> completion_;
  std::unordered_map<std::string, double> group_;
  std::unordered_map<std::string, double> cached_input_;
};

// Parses a JSON object of numbers; used to validate options before they are stored.
Result<std::unordered_map<std::string, double>> parse_ratio_map(std::string_view json);

}  // namespace oneapi::billing
