#include "tokenizer/tokenizer.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "tokenizer/estimate.hpp"

namespace oneapi::tokenizer {

namespace {

struct EncodingFile {
  EncodingName name;
  Pattern pattern;
  const char* file;
  const char* tiktoken_cache_name;  // SHA-1 of https://openaipublic.blob.core.windows.net/encodings/<file>
};

constexpr EncodingFile kFiles[] = {
    {EncodingName::cl100k_base, Pattern::cl100k, "cl100k_base.tiktoken", "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"},
    {EncodingName::o200k_base, Pattern::o200k, "o200k_base.tiktoken", "fb374d419588a4632f3f557e76b4b70aebbca790"},
};

// Written once at startup (or by tests), read by every I/O thread.
std::atomic<std::shared_ptr<const TokenizerSet>> g_installed;

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

Result<std::unique_ptr<const Bpe>> load_encoding(const std::string& dir, const EncodingFile& f) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string path = (fs::path(dir) / f.file).string();
  if (!fs::exists(path, ec)) {
    std::string cached = (fs::path(dir) / f.tiktoken_cache_name).string();
    if (!fs::exists(cached, ec)) return Error::make(ErrorKind::not_found, std::string(f.file) + " not found in " + dir);
    path = cached;
  }
  return Bpe::load_file(path, f.pattern);
}

bool starts_with_any(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  for (auto p : prefixes)
    if (s.substr(0, p.size()) == p) return true;
  return false;
}

// One counter for every mode: One API's approximation, exact with an encoding, else the estimate.
struct TextCounter {
  std::shared_ptr<const TokenizerSet> set;  // keeps bpe alive while it counts
  const Bpe* bpe;
  bool approximate;
  int64_t operator()(std::string_view text) const {
    if (approximate) return static_cast<int64_t>(static_cast<double>(text.size()) * 0.38);
    return bpe ? bpe->count(text) : estimate_text_tokens(text);
  }
};

TextCounter counter_for(std::string_view model, Counting how) {
  if (how == Counting::approximate) return TextCounter{nullptr, nullptr, true};
  auto set = installed_tokenizers();
  const Bpe* bpe = set ? set->get(encoding_for_model(model)) : nullptr;
  return TextCounter{std::move(set), bpe, false};
}

int64_t string_tokens(const TextCounter& count, const nlohmann::json& v) {
  return v.is_string() ? count(v.get_ref<const std::string&>()) : 0;
}

}  // namespace

std::string_view encoding_name(EncodingName e) { return e == EncodingName::o200k_base ? "o200k_base" : "cl100k_base"; }

EncodingName encoding_for_model(std::string_view model) {
  if (starts_with_any(model, {"gpt-4o", "chatgpt-4o", "o1", "o3", "o4", "gpt-4.1", "gpt-4.5", "gpt-5"}))
    return EncodingName::o200k_base;
  return EncodingName::cl100k_base;
}

std::string tiktoken_dir(const std::string& data_dir) {
  if (auto d = env("TIKTOKEN_CACHE_DIR"); !d.empty()) return d;
  if (auto d = env("DATA_GYM_CACHE_DIR"); !d.empty()) return d;
  return (std::filesystem::path(data_dir) / "tiktoken").string();
}

Result<std::shared_ptr<const TokenizerSet>> load_tokenizers(const std::string& dir) {
  auto set = std::make_shared<TokenizerSet>();
  for (const EncodingFile& f : kFiles) {
    auto bpe = load_encoding(dir, f);
    if (!bpe) return bpe.error();
    (f.name == EncodingName::o200k_base ? set->o200k : set->cl100k) = std::move(*bpe);
  }
  return std::shared_ptr<const TokenizerSet>(std::move(set));
}

LoadReport init_tokenizers(const std::string& data_dir) {
  LoadReport report;
  report.dir = tiktoken_dir(data_dir);
  const auto started = std::chrono::steady_clock::now();
  auto set = load_tokenizers(report.dir);
  report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (set) {
    report.exact = true;
    install_tokenizers(*set);
    spdlog::info("token counts: cl100k_base and o200k_base loaded from {} in {:.0f} ms", report.dir,
                 report.milliseconds);
  } else {
    report.problem = set.error().message;
    install_tokenizers(nullptr);
    spdlog::warn(
        "token counts are estimated (about 4 characters per token): {}; run scripts/fetch-tiktoken or set "
        "TIKTOKEN_CACHE_DIR to a directory with cl100k_base.tiktoken and o200k_base.tiktoken",
        report.problem);
  }
  return report;
}

void install_tokenizers(std::shared_ptr<const TokenizerSet> set) { g_installed.store(std::move(set)); }

std::shared_ptr<const TokenizerSet> installed_tokenizers() { return g_installed.load(); }

int64_t count_text_tokens(std::string_view model, std::string_view text, Counting how) {
  return counter_for(model, how)(text);
}

int64_t count_chat_prompt_tokens(std::string_view model, const nlohmann::json& messages, Counting how) {
  if (!messages.is_array()) return 0;
  const TextCounter count = counter_for(model, how);
  const bool gpt_0301 = model == "gpt-3.5-turbo-0301";
  const int64_t per_message = gpt_0301 ? 4 : 3;
  const int64_t per_name = gpt_0301 ? -1 : 1;  // 0301 drops the role when there is a name
  int64_t n = 0;
  for (const auto& m : messages) {
    if (!m.is_object()) continue;
    n += per_message;
    if (auto c = m.find("content"); c != m.end()) {
      if (c->is_string()) {
        n += count(c->get_ref<const std::string&>());
      } else if (c->is_array()) {
        for (const auto& part : *c) {
          if (!part.is_object()) continue;
          const auto type = part.find("type");
          if (type == part.end() || !type->is_string()) continue;
          if (*type == "text") {
            if (auto t = part.find("text"); t != part.end()) n += string_tokens(count, *t);
          } else if (*type == "image_url") {
            // One API charges 85 for detail "low" and sizes "high"/"auto" images by their 512-pixel
            // tiles, which needs the image. The gateway never downloads images, so every image is
            // counted as a low-detail one; the upstream's usage, when it reports one, replaces this.
            n += 85;
          }
        }
      }
    }
    if (auto r = m.find("role"); r != m.end()) n += string_tokens(count, *r);
    if (auto nm = m.find("name"); nm != m.end() && nm->is_string()) n += per_name + string_tokens(count, *nm);
  }
  return n + 3;  // every reply is primed with <|start|>assistant<|message|>
}

int64_t count_input_tokens(std::string_view model, const nlohmann::json& input, Counting how) {
  const TextCounter count = counter_for(model, how);
  if (input.is_string()) return count(input.get_ref<const std::string&>());
  if (!input.is_array()) return 0;
  int64_t n = 0;
  for (const auto& item : input) {
    if (item.is_string())
      n += count(item.get_ref<const std::string&>());
    else if (item.is_number_integer())
      n += 1;  // a token-id array: one token per id
    else if (item.is_array())
      n += static_cast<int64_t>(item.size());  // an array of token-id arrays
  }
  return n;
}

}  // namespace oneapi::tokenizer
