#pragma once
// One API's channel test: a small real chat request through a channel, its response time
// recorded on the channel, and AutomaticDisableChannelEnabled / AutomaticEnableChannelEnabled
// applied to the outcome. Used by the admin API (`oneapictl channel test`) and by the
// CHANNEL_TEST_FREQUENCY schedule.
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "net/http_client.hpp"
#include "relay/catalog.hpp"
#include "store/executor.hpp"
#include "store/models.hpp"

namespace oneapi::relay {

struct ChannelTestResult {
  bool success = false;
  int64_t response_time_ms = 0;
  std::string model;
  std::string message;            // the upstream's answer on success, the error otherwise
  bool upstream_refused = false;  // the upstream answered with an error status
  Error upstream_error;           // that error (for auto-disable)
};

// Sends the test request only; records nothing.
boost::asio::awaitable<ChannelTestResult> test_channel(const store::Channel& channel, const std::string& model,
                                                       const std::string& prompt, net::HttpClient& client);

// One API's test model rule: the requested model (gpt-3.5-turbo when none) if the channel serves
// it, else the channel's first model. (One API matches by substring; this matches whole names.)
std::string test_model_for(const store::Channel& channel, const std::string& requested);

// Which channels a batch test covers.
enum class TestScope {
  all,            // every channel, whatever its status (One API's scope "all", and the schedule)
  auto_disabled,  // channels the gateway disabled (status 3): the ones a passing test re-enables
};

// One tested channel, after the health rules ran.
struct ChannelCheck {
  int64_t id = 0;
  std::string name;
  bool ok = false;
  int64_t response_time_ms = 0;
  std::string model;
  std::string answer;  // the model's reply when ok
  std::string error;   // why not, when not ok
  int status = 0;      // the channel's status after the test
};

struct ChannelTesterOptions {
  std::string prompt = "Output only your specific model name with no additional text.";  // TEST_PROMPT
  std::chrono::milliseconds pause{0};  // POLLING_INTERVAL: between two channels of a batch
};

class ChannelTester {
 public:
  // `stopping` (may be null) ends batches early at shutdown.
  ChannelTester(store::StoreExecutor& store, CatalogHolder& catalog, net::HttpClient& client,
                ChannelTesterOptions options, const std::atomic<bool>* stopping = nullptr)
      : store_(store), catalog_(catalog), client_(client), options_(std::move(options)), stopping_(stopping) {}

  // Tests one channel; records test_time and response_time (0 when the test failed, as One
  // API); a dead-key error or an answer slower than ChannelDisableThreshold seconds disables an
  // enabled channel (AutomaticDisableChannelEnabled); a passing test enables an auto-disabled
  // one again (AutomaticEnableChannelEnabled). A channel disabled by hand stays disabled.
  boost::asio::awaitable<ChannelCheck> check(const store::Channel& channel, const std::string& requested_model);
  boost::asio::awaitable<Result<ChannelCheck>> check_id(int64_t id, std::string requested_model);
  // The channels of `scope` one after another, POLLING_INTERVAL apart.
  boost::asio::awaitable<Result<std::vector<ChannelCheck>>> check_all(TestScope scope, std::string requested_model);

 private:
  store::StoreExecutor& store_;
  CatalogHolder& catalog_;
  net::HttpClient& client_;
  ChannelTesterOptions options_;
  const std::atomic<bool>* stopping_;
};

}  // namespace oneapi::relay
