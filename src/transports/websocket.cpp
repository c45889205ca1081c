// ws://host:port/path and wss://host:port/path: a libchan session inside a
// WebSocket connection, so that it passes HTTP proxies and load balancers.
// The path defaults to "/"; a listener serves only its own path. wss is
// the same over TLS, configured by SessionOptions::tls.
#include <boost/asio/post.hpp>

#include "libchan/session.hpp"
#include "transports/tcp_socket.hpp"
#include "transports/ws_connection.hpp"

namespace libchan::detail::io {
namespace {

using ws::tls_stream;
using tcp = boost::asio::ip::tcp;

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

// "host:port/path" into "host:port" and "/path".
std::pair<std::string, std::string> split_path(const std::string& address) {
  auto slash = address.find('/');
  if (slash == std::string::npos) return {address, "/"};
  return {address.substr(0, slash), address.substr(slash)};
}

// The Host header: the port always, IPv6 literals in brackets.
std::string host_header(const tcp_socket::host_port& target) {
  bool v6 = target.host.find(':') != std::string::npos;
  auto host = v6 ? "[" + target.host + "]" : target.host;
  return host + ":" + std::to_string(target.port);
}

// A TCP listener whose address names the path served.
class ws_listener final : public listener {
 public:
  ws_listener(std::unique_ptr<listener> inner, const std::string& path)
      : tcp_(std::move(inner)), local_(tcp_->local_address() + path) {}

  void async_accept(const executor& connection_executor, accept_handler done) override {
    tcp_->async_accept(connection_executor, std::move(done));
  }
  void close() noexcept override { tcp_->close(); }
  std::string local_address() const override { return local_; }

 private:
  std::unique_ptr<listener> tcp_;
  std::string local_;
};

template <class Stream>
class ws_transport final : public transport {
 public:
  static constexpr const char* scheme = is_tls<Stream> ? "wss" : "ws";
  using connection_type = ws::ws_connection<Stream>;

  void async_dial(const executor& ex, const std::string& address, const SessionOptions& options,
                  steady_time deadline, dial_handler done) override {
    auto [host_port, path] = split_path(address);
    const std::string url = std::string(scheme) + "://" + address;
    tcp_socket::host_port target;
    failure err;
    tls::context_ptr tls;
    if (tcp_socket::parse_dial_target(scheme, host_port, target, err) && is_tls<Stream>)
      tls = tls::make_context(options.tls, tls::side::client, err);
    if (err) {
      boost::asio::post(ex, [done = std::move(done), err] { done(err, nullptr); });
      return;
    }
    ws::settings s{scheme, path, ws::message_limit(options)};
    auto connected = [s = std::move(s), tls, tls_options = options.tls, target, url, deadline,
                      done = std::move(done)](failure f, tcp::socket socket) mutable {
      if (f) return done(std::move(f), nullptr);
      // Shared: std::function needs a copyable handler.
      auto conn =
          std::make_shared<std::unique_ptr<connection_type>>(make(std::move(socket), s, tls));
      if constexpr (is_tls<Stream>) {
        auto* ssl = (*conn)->stream().native_handle();
        if (auto bad = tls::prepare_client(ssl, tls_options, target.host))
          return done({bad.ec, "dial " + url + ": " + bad.what}, nullptr);
      }
      (*conn)->async_client_handshake(host_header(target), url, deadline,
                                      [conn, done = std::move(done)](failure hf) {
                                        if (hf) return done(std::move(hf), nullptr);
                                        done({}, std::move(*conn));
                                      });
    };
    tcp_socket::async_connect(ex, target, url, deadline, std::move(connected));
  }

  std::unique_ptr<listener> listen(const executor& ex, const std::string& address,
                                   const SessionOptions& options, failure& err) override {
    auto [host_port, path] = split_path(address);
    tls::context_ptr tls;
    if constexpr (is_tls<Stream>) {
      tls = tls::make_context(options.tls, tls::side::server, err);
      if (!tls) return nullptr;
    }
    ws::settings s{scheme, path, ws::message_limit(options)};
    auto wrap = [s, tls](tcp::socket socket) -> std::unique_ptr<connection> {
      return make(std::move(socket), s, tls);
    };
    auto inner = tcp_socket::listen(ex, scheme, host_port, std::move(wrap), err);
    if (!inner) return nullptr;
    return std::make_unique<ws_listener>(std::move(inner), path);
  }

 private:
  static std::unique_ptr<connection_type> make(tcp::socket socket, const ws::settings& s,
                                               const tls::context_ptr& tls) {
    if constexpr (is_tls<Stream>)
      return std::make_unique<connection_type>(tls_stream(std::move(socket), *tls), s, tls);
    else
      return std::make_unique<connection_type>(std::move(socket), s, nullptr);
  }
};

}  // namespace

std::shared_ptr<transport> make_ws_transport() {
  return std::make_shared<ws_transport<tcp::socket>>();
}
std::shared_ptr<transport> make_wss_transport() {
  return std::make_shared<ws_transport<tls_stream>>();
}

}  // namespace libchan::detail::io
