// TCP pieces shared by the transports that run over TCP (tcp://, tls://):
// "host:port" addresses, dialing by a deadline, and listening. `scheme`
// only names the URL in messages ("tls URL needs host:port, ...").
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "io/transport.hpp"

namespace libchan::detail::io::tcp_socket {

using tcp = boost::asio::ip::tcp;

struct host_port {
  std::string host;  // without brackets; empty: every interface
  std::uint16_t port = 0;
};

/// Splits "host:port" or "[v6]:port"; the host may be empty (listening).
/// Sets `err` (errc::invalid_argument) and returns false when malformed.
bool parse(std::string_view scheme, const std::string& address, host_port& out, failure& err);

/// As parse(), and a host and a non-zero port are required (dialing).
bool parse_dial_target(std::string_view scheme, const std::string& address, host_port& out,
                       failure& err);

/// "scheme://127.0.0.1:80", "scheme://[::1]:80".
std::string url(std::string_view scheme, const tcp::endpoint& ep);

/// Nagle off: libchan messages are small and latency-bound.
void set_no_delay(tcp::socket& socket);

/// Resolves (names only) and connects to `target`, by `deadline` at the
/// latest (then errc::timed_out). `done` runs through `ex` with the
/// connected socket, or a failure saying "dial <url>: <why>".
using connect_handler = std::function<void(failure, tcp::socket)>;
void async_connect(const executor& ex, const host_port& target, std::string url,
                   steady_time deadline, connect_handler done);

/// Makes a connection of an accepted socket (Nagle is already off).
using socket_wrapper = std::function<std::unique_ptr<connection>(tcp::socket)>;

/// Binds and listens on `address` (an empty host: every interface, IPv6
/// and IPv4); accepted sockets become connections through `wrap`. Returns
/// null and sets `err` on failure.
std::unique_ptr<listener> listen(const executor& ex, std::string_view scheme,
                                 const std::string& address, socket_wrapper wrap, failure& err);

}  // namespace libchan::detail::io::tcp_socket
