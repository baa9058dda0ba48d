#pragma once
// The admin API's handlers (routes and shapes in protocol.hpp). Mounted on the admin Unix socket
// and on the TCP port's /api routes.
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "net/http_server.hpp"
#include "relay/catalog.hpp"
#include "relay/channel_balance.hpp"
#include "relay/channel_test.hpp"
#include "store/executor.hpp"
#include "store/models.hpp"

namespace oneapi::admin {

// Who is asking. The admin socket acts as the root user; the TCP port as the user whose access
// token came with the request.
struct Caller {
  int64_t user_id = 0;
  int role = 0;
  bool admin_socket = false;

  bool is_admin() const { return role >= static_cast<int>(store::Role::admin); }
  bool is_root() const { return role >= static_cast<int>(store::Role::root); }
};

struct AdminDeps {
  store::StoreExecutor& store;
  relay::CatalogHolder& catalog;
  relay::ChannelTester& tester;     // channel tests (TEST_PROMPT, POLLING_INTERVAL)
  relay::BalanceUpdater& balances;  // channel balances
  int64_t start_time = 0;
  bool generate_default_token = true;  // GENERATE_DEFAULT_TOKEN: new users get an unlimited "default" token
  // After a write reloaded the catalog: tells the other nodes (REDIS_CONN_STRING). Must not block.
  std::function<void()> on_catalog_changed = {};
};

class AdminApi {
 public:
  explicit AdminApi(AdminDeps deps) : d_(std::move(deps)) {}

  // Serves one /api request from the admin socket, as root. Returns false when no route matches
  // (the caller answers 404).
  boost::asio::awaitable<bool> handle_socket(net::ServerRequest& req, net::ResponseWriter& writer);
  // Serves one /api request from the TCP port: /api/status and /api/cost/request/{id} for anyone,
  // everything else for the user whose access token is in Authorization (401 without one).
  boost::asio::awaitable<bool> handle_tcp(net::ServerRequest& req, net::ResponseWriter& writer);
  // Rebuilds the relay catalog from the database (after every change).
  boost::asio::awaitable<void> reload_catalog();

 private:
  boost::asio::awaitable<bool> serve(net::ServerRequest& req, net::ResponseWriter& writer, Caller caller);
  // The envelope of a channel test or balance query (Matched::network).
  boost::asio::awaitable<nlohmann::json> run_tests(std::optional<int64_t> id, relay::TestScope scope,
                                                   std::string model);
  boost::asio::awaitable<nlohmann::json> run_balances(std::optional<int64_t> id);
  AdminDeps d_;
};

// One API's LogConsumeEnabled=false skips the log row of each request. Here that row is the bill:
// settle writes the charge into it (and finds it again when a lost connection makes it retry), and
// a request's cost is read from it. So the option cannot be turned off; this says why.
inline constexpr const char* kLogConsumeAlwaysOn =
    "LogConsumeEnabled cannot be false in oneapi: each request's log row is its bill (settle writes the charge "
    "into it, and a request's cost is read from it)";

}  // namespace oneapi::admin
