#include "billing/ratios.hpp"

#include <map>
#include <nlohmann/json.hpp>

namespace oneapi::billing {

namespace {

// One API's default model ratios (quota per token; ratio r = $2r per 1M input tokens).
const std::pair<const char*, double> kDefaultModelRatios[] = {
    // OpenAI
    {"gpt-4", 15},
    {"gpt-4-0314", 15},
    {"gpt-4-0613", 15},
    {"gpt-4-32k", 30},
    {"gpt-4-32k-0314", 30},
    {"gpt-4-32k-0613", 30},
    {"gpt-4-1106-preview", 5},
    {"gpt-4-0125-preview", 5},
    {"gpt-4-turbo-preview", 5},
    {"gpt-4-turbo", 5},
    {"gpt-4-turbo-2024-04-09", 5},
    {"gpt-4-vision-preview", 5},
    {"gpt-4o", 2.5},
    {"chatgpt-4o-latest", 2.5},
    {"gpt-4o-2024-05-13", 2.5},
    {"gpt-4o-2024-08-06", 1.25},
    {"gpt-4o-2024-11-20", 1.25},
    {"gpt-4o-mini", 0.075},
    {"gpt-4o-mini-2024-07-18", 0.075},
    {"gpt-3.5-turbo", 0.25},
    {"gpt-3.5-turbo-0301", 0.75},
    {"gpt-3.5-turbo-0613", 0.75},
    {"gpt-3.5-turbo-16k", 1.5},
    {"gpt-3.5-turbo-16k-0613", 1.5},
    {"gpt-3.5-turbo-instruct", 0.75},
    {"gpt-3.5-turbo-1106", 0.5},
    {"gpt-3.5-turbo-0125", 0.25},
    {"o1", 7.5},
    {"o1-2024-12-17", 7.5},
    {"o1-preview", 7.5},
    {"o1-preview-2024-09-12", 7.5},
    {"o1-mini", 1.5},
    {"o1-mini-2024-09-12", 1.5},
    {"o3-mini", 0.55},
    {"davinci-002", 1},
    {"babbage-002", 0.2},
    {"text-ada-001", 0.2},
    {"text-babbage-001", 0.25},
    {"text-curie-001", 1},
    {"text-davinci-002", 10},
    {"text-davinci-003", 10},
    {"text-davinci-edit-001", 10},
    {"code-davinci-edit-001", 10},
    {"whisper-1", 15},
    {"tts-1", 7.5},
    {"tts-1-1106", 7.5},
    {"tts-1-hd", 15},
    {"tts-1-hd-1106", 15},
    {"davinci", 10},
    {"curie", 10},
    {"babbage", 10},
    {"ada", 10},
    {"text-embedding-ada-002", 0.05},
    {"text-embedding-3-small", 0.01},
    {"text-embedding-3-large", 0.065},
    {"text-search-ada-doc-001", 10},
    {"text-moderation-stable", 0.1},
    {"text-moderation-latest", 0.1},
    {"dall-e-2", 10},
    {"dall-e-3", 20},
    // Anthropic
    {"claude-instant-1.2", 0.4},
    {"claude-2.0", 4},
    {"claude-2.1", 4},
    {"claude-3-haiku-20240307", 0.125},
    {"claude-3-5-haiku-20241022", 0.5},
    {"claude-3-5-haiku-latest", 0.5},
    {"claude-3-sonnet-20240229", 1.5},
    {"claude-3-5-sonnet-20240620", 1.5},
    {"claude-3-5-sonnet-20241022", 1.5},
    {"claude-3-5-sonnet-latest", 1.5},
    {"claude-3-opus-20240229", 7.5},
    // Google
    {"gemini-pro", 1},
    {"gemini-1.0-pro", 1},
    {"gemini-1.5-pro", 0.625},
    {"gemini-1.5-pro-001", 0.625},
    {"gemini-1.5-flash", 0.0375},
    {"gemini-1.5-flash-001", 0.0375},
    {"gemini-2.0-flash", 0.05},
    {"gemini-2.0-flash-exp", 0.05},
    {"text-embedding-004", 0.0001},
    // DeepSeek
    {"deepseek-chat", 0.07},
    {"deepseek-reasoner", 0.275},
    // Mistral
    {"open-mistral-7b", 0.125},
    {"open-mixtral-8x7b", 0.35},
    {"mistral-small-latest", 1},
    {"mistral-medium-latest", 1.35},
    {"mistral-large-latest", 4},
    {"mistral-embed", 0.05},
};

const std::pair<const char*, double> kDefaultGroupRatios[] = {{"default", 1}, {"vip", 1}, {"svip", 1}};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}
bool contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

std::string strip_internet_suffix(std::string_view model) {
  if ((starts_with(model, "qwen-") || starts_with(model, "command-")) && ends_with(model, "-internet"))
    return std::string(model.substr(0, model.size() - 9));
  return std::string(model);
}

// One API's built-in completion ratios, used when no option overrides the model.
double builtin_completion_ratio(std::string_view m) {
  if (m == "deepseek-chat") return 2;
  if (m == "deepseek-reasoner") return 3.98;
  if (starts_with(m, "gpt-3.5")) {
    if (m == "gpt-3.5-turbo" || ends_with(m, "0125")) return 3;
    if (ends_with(m, "1106")) return 2;
    return 4.0 / 3.0;
  }
  if (starts_with(m, "gpt-4o")) {
    if (m == "gpt-4o-2024-05-13") return 3;
    return 4;
  }
  if (m == "chatgpt-4o-latest") return 3;
  if (starts_with(m, "gpt-4")) {
    if (starts_with(m, "gpt-4-turbo") || ends_with(m, "preview")) return 3;
    return 2;
  }
  if (starts_with(m, "o1") || starts_with(m, "o3")) return 4;
  if (starts_with(m, "claude-3")) return 5;
  if (starts_with(m, "claude-")) return 3;
  if (starts_with(m, "mistral-")) return 3;
  if (starts_with(m, "gemini-")) return 3;
  if (starts_with(m, "deepseek-")) return 2;
  if (m == "whisper-1") return 0;
  if (contains(m, "command-r-plus")) return 5;
  if (contains(m, "command-r")) return 3;
  return 1;
}

// Cached input as a fraction of the input price (OpenAI, Anthropic and DeepSeek price lists).
double builtin_cached_input_ratio(std::string_view m) {
  if (starts_with(m, "gpt-5")) return 0.1;
  if (starts_with(m, "gpt-4.1") || starts_with(m, "o3") || starts_with(m, "o4-mini")) return 0.25;
  if (starts_with(m, "gpt-4o") || starts_with(m, "o1") || starts_with(m, "chatgpt-4o")) return 0.5;
  if (starts_with(m, "claude-")) return 0.1;  // cache reads
  if (starts_with(m, "deepseek-")) return 0.1;
  if (starts_with(m, "gemini-2.5")) return 0.25;
  return 1;
}

template <class Map>
std::string map_json(const Map& m) {
  std::map<std::string, double> sorted(m.begin(), m.end());
  return nlohmann::json(sorted).dump();
}

double lookup(const std::unordered_map<std::string, double>& map, std::string_view model, int channel_type,
              bool& found) {
  found = true;
  if (channel_type > 0) {
    auto it = map.find(std::string(model) + "(" + std::to_string(channel_type) + ")");
    if (it != map.end()) return it->second;
  }
  auto it = map.find(std::string(model));
  if (it != map.end()) return it->second;
  found = false;
  return 0;
}

}  // namespace

Result<std::unordered_map<std::string, double>> parse_ratio_map(std::string_view json) {
  auto parsed = nlohmann::json::parse(json, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object())
    return Error::make(ErrorKind::invalid_request, "ratio must be a JSON object like {\"model\": 1.5}");
  std::unordered_map<std::string, double> out;
  for (auto& [k, v] : parsed.items()) {
    if (!v.is_number() || v.get<double>() < 0)
      return Error::make(ErrorKind::invalid_request, "ratio of \"" + k + "\" must be a non-negative number");
    out[k] = v.get<double>();
  }
  return out;
}

Ratios::Ratios() {
  for (auto& [k, v] : kDefaultModelRatios) model_[k] = v;
  for (auto& [k, v] : kDefaultGroupRatios) group_[k] = v;
}

Result<void> Ratios::set_model_ratios(std::string_view json) {
  auto m = parse_ratio_map(json);
  if (!m) return m.error();
  for (auto& [k, v] : *m) model_[k] = v;
  return {};
}

Result<void> Ratios::set_completion_ratios(std::string_view json) {
  auto m = parse_ratio_map(json);
  if (!m) return m.error();
  for (auto& [k, v] : *m) completion_[k] = v;
  return {};
}

Result<void> Ratios::set_group_ratios(std::string_view json) {
  auto m = parse_ratio_map(json);
  if (!m) return m.error();
  group_ = std::move(*m);  // the option lists every group
  return {};
}

double Ratios::model_ratio(std::string_view model, int channel_type) const {
  const std::string name = strip_internet_suffix(model);
  bool found = false;
  double r = lookup(model_, name, channel_type, found);
  return found ? r : kUnknownModelRatio;
}

double Ratios::completion_ratio(std::string_view model, int channel_type) const {
  const std::string name = strip_internet_suffix(model);
  bool found = false;
  double r = lookup(completion_, name, channel_type, found);
  return found ? r : builtin_completion_ratio(name);
}

Result<void> Ratios::set_cached_input_ratios(std::string_view json) {
  auto m = parse_ratio_map(json);
  if (!m) return m.error();
  for (auto& [k, v] : *m) cached_input_[k] = v;
  return {};
}

double Ratios::cached_input_ratio(std::string_view model, int channel_type) const {
  const std::string name = strip_internet_suffix(model);
  bool found = false;
  double r = lookup(cached_input_, name, channel_type, found);
  return found ? r : builtin_cached_input_ratio(name);
}

double Ratios::group_ratio(std::string_view group) const {
  auto it = group_.find(std::string(group));
  return it == group_.end() ? 1 : it->second;
}

std::string Ratios::model_ratios_json() const { return map_json(model_); }
std::string Ratios::completion_ratios_json() const { return map_json(completion_); }
std::string Ratios::group_ratios_json() const { return map_json(group_); }
std::string Ratios::cached_input_ratios_json() const { return map_json(cached_input_); }

}  // namespace oneapi::billing
