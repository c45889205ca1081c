// tcp://host:port: TCP with Nagle off (libchan messages are small and
// latency-bound). IPv6 literals go in brackets: tcp://[::1]:9323. An empty
// host listens on every interface.
#include <boost/asio/post.hpp>

#include "transports/socket_connection.hpp"
#include "transports/tcp_socket.hpp"

namespace libchan::detail::io {
namespace {

using tcp_socket::tcp;
constexpr std::string_view scheme = "tcp";

std::unique_ptr<connection> wrap(tcp::socket socket) {
  boost::system::error_code ec;
  auto local = socket.local_endpoint(ec);
  auto peer = socket.remote_endpoint(ec);
  return std::make_unique<socket_connection<tcp>>(std::move(socket), tcp_socket::url(scheme, local),
                                                  tcp_socket::url(scheme, peer));
}

class tcp_transport final : public transport {
 public:
  void async_dial(const executor& ex, const std::string& address, const SessionOptions&,
                  steady_time deadline, dial_handler done) override {
    tcp_socket::host_port target;
    failure err;
    if (!tcp_socket::parse_dial_target(scheme, address, target, err)) {
      boost::asio::post(ex, [done = std::move(done), err] { done(err, nullptr); });
      return;
    }
    tcp_socket::async_connect(ex, target, "tcp://" + address, deadline,
                              [done = std::move(done)](failure f, tcp::socket s) {
                                if (f) return done(std::move(f), nullptr);
                                done({}, wrap(std::move(s)));
                              });
  }

  std::unique_ptr<listener> listen(const executor& ex, const std::string& address,
                                   const SessionOptions&, failure& err) override {
    return tcp_socket::listen(ex, scheme, address, wrap, err);
  }
};

}  // namespace

std::shared_ptr<transport> make_tcp_transport() { return std::make_shared<tcp_transport>(); }

}  // namespace libchan::detail::io
