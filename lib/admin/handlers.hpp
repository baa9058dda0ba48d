#pragma once
// The admin API's handlers (routes and shapes in protocol.hpp). Mounted on the admin Unix socket
// and on the TCP port's /api routes.
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "relay/catalog.hpp"
#include "store/executor.hpp"

namespace oneapi::admin {

struct AdminDeps {
  store::StoreExecutor& store;
  relay::CatalogHolder& catalog;
  net::HttpClient& client;
  std::string test_prompt = "Output only your specific model name with no additional text.";
  int64_t start_time = 0;
};

class AdminApi {
 public:
  explicit AdminApi(AdminDeps deps) : d_(std::move(deps)) {}

  // Serves one /api request. Returns false when no route matches (the caller answers 404).
  boost::asio::awaitable<bool> handle(net::ServerRequest& req, net::ResponseWriter& writer);
  // Rebuilds the relay catalog from the database (after every change).
  boost::asio::awaitable<void> reload_catalog();

 private:
  boost::asio::awaitable<nlohmann::json> run_tests(std::vector<int64_t> ids, bool include_disabled, std::string model);
  boost::asio::awaitable<nlohmann::json> test_channel(const store::Channel& channel, const std::string& model);
  AdminDeps d_;
};

}  // namespace oneapi::admin
