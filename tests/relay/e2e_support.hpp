#pragma once
// Shared setup for the end-to-end tests: a daemon, a mock OpenAI upstream, a channel and a token.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/daemon_fixture.hpp"
#include "support/http_call.hpp"
#include "support/mock_upstream.hpp"

namespace oneapi::test {

// An OpenAI chat.completion answer with usage.
std::string openai_chat_body(const std::string& content, int prompt_tokens, int completion_tokens);
// Makes `r` a 200 chat.completion answer with usage (what most mocks reply).
void reply_chat(MockReply& r, const std::string& content = "Hello!", int prompt_tokens = 12, int completion_tokens = 3);
// chat.completion.chunk events, one per word, optionally followed by a usage chunk, then [DONE].
std::vector<std::string> openai_stream_events(const std::vector<std::string>& words, bool with_usage,
                                              int prompt_tokens = 0, int completion_tokens = 0);

using Env = std::map<std::string, std::string>;

struct Gateway {
  Daemon daemon;
  explicit Gateway(std::map<std::string, std::string> env = {}) : daemon(std::move(env)) { daemon.start(); }

  // Adds an OpenAI channel for `models` pointing at base_url; returns its id.
  int64_t add_channel(const std::string& base_url, const std::string& models = "gpt-4o-mini",
                      const std::vector<std::string>& extra = {});
  // Creates a token; quota < 0 means unlimited. Returns the full "sk-…" key.
  std::string add_token(int64_t quota = -1, const std::vector<std::string>& extra = {});
  // The channel's status as `oneapictl channel get` reports it (1 enabled, 2 by hand, 3 automatically).
  int channel_status(int64_t id) const;
  int port() const { return daemon.port(); }
  std::string db() const { return daemon.db_path(); }
};

// The one log row of a request id, as column -> text.
std::map<std::string, std::string> log_row(const Gateway& g, const std::string& request_id);
inline int64_t as_int(const std::map<std::string, std::string>& row, const char* key) {
  return std::stoll(row.at(key));
}
// used_quota of the token add_token made.
int64_t token_used(const Gateway& g);
// The bill lib/billing computes for these counts at the gateway's default ratios, for a
// default-group user on a channel of `channel_type`.
int64_t expected_quota(const std::string& model, int channel_type, int64_t prompt, int64_t completion, int64_t cached);

inline std::string chat_body(bool stream = false, const std::string& model = "gpt-4o-mini",
                             const std::string& extra = "") {
  std::string b = R"({"model":")" + model + R"(","messages":[{"role":"user","content":"Say hello"}])";
  if (stream) b += R"(,"stream":true)";
  b += extra + "}";
  return b;
}

}  // namespace oneapi::test
