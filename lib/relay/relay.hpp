#pragma once
#include <boost/asio/awaitable.hpp>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "relay/adaptor.hpp"
#include "relay/catalog.hpp"
#include "relay/steps.hpp"
#include "store/executor.hpp"

namespace oneapi::relay {

class Relay {
 public:
  Relay(CatalogHolder& catalog, store::StoreExecutor& store, net::HttpClient& client, RelayConfig config)
      : catalog_(catalog), store_(store), client_(client), config_(config) {}

  // POST /v1/chat/completions, /v1/completions, /v1/embeddings
  boost::asio::awaitable<void> handle(RelayMode mode, net::ServerRequest& req, net::ResponseWriter& writer);
  // GET /v1/models and /v1/models/{id}
  boost::asio::awaitable<void> list_models(net::ServerRequest& req, net::ResponseWriter& writer);
  boost::asio::awaitable<void> get_model(const std::string& id, net::ServerRequest& req, net::ResponseWriter& writer);

 private:
  CatalogHolder& catalog_;
  store::StoreExecutor& store_;
  net::HttpClient& client_;
  RelayConfig config_;
  TokenFlights flights_;  // owned here, used on the store thread only
};

}  // namespace oneapi::relay
