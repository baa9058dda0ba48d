#pragma once
// Asio/Beast aliases and completion tokens, for the few TUs that do socket I/O.
// Boost 1.81 has no default completion token: every async call passes one explicitly.
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace oneapi::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using unix_socket = asio::local::stream_protocol;

// Expected failures arrive as values: auto [ec, n] = co_await op(..., kTok);
inline constexpr auto kTok = asio::as_tuple(asio::use_awaitable);

}  // namespace oneapi::net
