#include "relay/e2e_support.hpp"

#include <catch2/catch.hpp>
#include <stdexcept>

#include "billing/quota.hpp"
#include "billing/ratios.hpp"

namespace oneapi::test {

std::string openai_chat_body(const std::string& content, int prompt_tokens, int completion_tokens) {
  nlohmann::json j = {
      {"id", "chatcmpl-mock"},
      {"object", "chat.completion"},
      {"created", 1700000000},
      {"model", "gpt-4o-mini"},
      {"choices",
       {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}}, {"finish_reason", "stop"}}}},
      {"usage",
       {{"prompt_tokens", prompt_tokens},
        {"completion_tokens", completion_tokens},
        {"total_tokens", prompt_tokens + completion_tokens}}}};
  return j.dump();
}

void reply_chat(MockReply& r, const std::string& content, int prompt_tokens, int completion_tokens) {
  r.status = 200;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = openai_chat_body(content, prompt_tokens, completion_tokens);
}

std::vector<std::string> openai_stream_events(const std::vector<std::string>& words, bool with_usage, int prompt_tokens,
                                              int completion_tokens) {
  std::vector<std::string> out;
  for (const auto& w : words) {
    nlohmann::json chunk = {{"id", "chatcmpl-mock"},
                            {"object", "chat.completion.chunk"},
                            {"model", "gpt-4o-mini"},
                            {"choices", {{{"index", 0}, {"delta", {{"content", w}}}, {"finish_reason", nullptr}}}}};
    if (with_usage) chunk["usage"] = nullptr;
    out.push_back("data: " + chunk.dump() + "\n\n");
  }
  if (with_usage) {
    nlohmann::json usage = {{"id", "chatcmpl-mock"},
                            {"object", "chat.completion.chunk"},
                            {"choices", nlohmann::json::array()},
                            {"usage",
                             {{"prompt_tokens", prompt_tokens},
                              {"completion_tokens", completion_tokens},
                              {"total_tokens", prompt_tokens + completion_tokens}}}};
    out.push_back("data: " + usage.dump() + "\n\n");
  }
  out.push_back("data: [DONE]\n\n");
  return out;
}

int64_t Gateway::add_channel(const std::string& base_url, const std::string& models,
                             const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--json",
                                   "channel",
                                   "add",
                                   "--type",
                                   "openai",
                                   "--name",
                                   "mock",
                                   "--base-url",
                                   base_url,
                                   "--key",
                                   "sk-upstream-secret",
                                   "--models",
                                   models};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = daemon.ctl(args);
  if (r.exit_code != 0) throw std::runtime_error("channel add failed: " + r.err + r.out);
  return nlohmann::json::parse(r.out).at("id").get<int64_t>();
}

int Gateway::channel_status(int64_t id) const {
  auto r = daemon.ctl({"--json", "channel", "get", std::to_string(id)});
  REQUIRE(r.exit_code == 0);
  return nlohmann::json::parse(r.out).at("status").get<int>();
}

std::string Gateway::add_token(int64_t quota, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--json", "token", "create", "--name", "test"};
  if (quota < 0) {
    args.push_back("--unlimited");
  } else {
    args.push_back("--quota");
    args.push_back(std::to_string(quota));
  }
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = daemon.ctl(args);
  if (r.exit_code != 0) throw std::runtime_error("token create failed: " + r.err + r.out);
  return nlohmann::json::parse(r.out).at("key").get<std::string>();
}

std::map<std::string, std::string> log_row(const Gateway& g, const std::string& request_id) {
  REQUIRE(!request_id.empty());
  auto rows = db_rows(g.db(), "SELECT * FROM logs WHERE request_id = '" + request_id + "'");
  REQUIRE(rows.size() == 1);
  return rows[0];
}

int64_t token_used(const Gateway& g) { return db_int(g.db(), "SELECT used_quota FROM tokens WHERE name = 'test'"); }

int64_t expected_quota(const std::string& model, int channel_type, int64_t prompt, int64_t completion, int64_t cached) {
  billing::Ratios ratios;
  billing::Price price;
  price.model_ratio = ratios.model_ratio(model, channel_type);
  price.completion_ratio = ratios.completion_ratio(model, channel_type);
  price.group_ratio = ratios.group_ratio("default");
  price.cached_input_ratio = ratios.cached_input_ratio(model, channel_type);
  return billing::quota_for_usage(price, prompt, completion, cached);
}

}  // namespace oneapi::test
