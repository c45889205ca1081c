// tcp://host:port: TCP with Nagle off (libchan messages are small and
// latency-bound). IPv6 literals go in brackets: tcp://[::1]:9323. An empty
// host listens on every interface.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>

#include "libchan/error.hpp"
#include "transports/socket_connection.hpp"

namespace libchan::detail::io {
namespace {

using tcp = boost::asio::ip::tcp;

constexpr const char* needs_host_port = "tcp URL needs host:port, e.g. tcp://127.0.0.1:9323";

std::string format(const tcp::endpoint& ep) {
  auto addr = ep.address();
  auto host = addr.to_string();
  if (addr.is_v6()) host = "[" + host + "]";
  return "tcp://" + host + ":" + std::to_string(ep.port());
}

struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

// Splits "host:port" or "[v6]:port"; the host may be empty.
bool parse(const std::string& address, host_port& out, failure& err) {
  auto fail = [&](std::string what) {
    err = {make_error_code(errc::invalid_argument), std::move(what)};
    return false;
  };
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return fail(std::string(needs_host_port) + ", got tcp://" + address);
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return fail("IPv6 addresses in a tcp URL need brackets, e.g. tcp://[::1]:9323");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return fail(std::string(needs_host_port) + " with a port from 0 to 65535, got tcp://" +
                address);
  out = {std::move(host), static_cast<std::uint16_t>(value)};
  return true;
}

std::unique_ptr<connection> wrap(tcp::socket socket) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  auto local = socket.local_endpoint(ec);
  auto peer = socket.remote_endpoint(ec);
  return std::make_unique<socket_connection<tcp>>(std::move(socket), format(local), format(peer));
}

// One dial: resolve (names only), connect, or give up at the deadline.
class dial_op : public std::enable_shared_from_this<dial_op> {
 public:
  dial_op(const executor& ex, std::string url, transport::dial_handler done)
      : resolver_(ex), socket_(ex), timer_(ex), url_(std::move(url)), done_(std::move(done)) {}

  void start(const host_port& target, steady_time deadline) {
    timer_.expires_at(deadline);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->finished_) return;
      self->timed_out_ = true;
      self->resolver_.cancel();
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    });
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(target.host, ec);
    if (!ec) {
      socket_.async_connect(
          {addr, target.port},
          [self = shared_from_this()](boost::system::error_code e) { self->finish(e); });
      return;
    }
    resolver_.async_resolve(
        target.host, std::to_string(target.port),
        [self = shared_from_this()](boost::system::error_code e, tcp::resolver::results_type r) {
          if (e) return self->finish(e);
          boost::asio::async_connect(
              self->socket_, r,
              [self](boost::system::error_code e2, const tcp::endpoint&) { self->finish(e2); });
        });
  }

 private:
  void finish(boost::system::error_code e) {
    finished_ = true;
    timer_.cancel();
    std::error_code ec = timed_out_ ? make_error_code(errc::timed_out) : to_std(e);
    if (ec) return done_({ec, "dial " + url_ + ": " + ec.message()}, nullptr);
    done_({}, wrap(std::move(socket_)));
  }

  tcp::resolver resolver_;
  tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::string url_;
  transport::dial_handler done_;
  bool finished_ = false, timed_out_ = false;
};

class tcp_listener final : public listener {
 public:
  explicit tcp_listener(tcp::acceptor acceptor) : acceptor_(std::move(acceptor)) {
    boost::system::error_code ec;
    local_ = format(acceptor_.local_endpoint(ec));
  }

  void async_accept(const executor& connection_executor, accept_handler done) override {
    acceptor_.async_accept(connection_executor,
                           [done = std::move(done)](boost::system::error_code ec, tcp::socket s) {
                             if (ec) return done(to_std(ec), nullptr);
                             done({}, wrap(std::move(s)));
                           });
  }

  void close() noexcept override {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
  }

  std::string local_address() const override { return local_; }

 private:
  tcp::acceptor acceptor_;
  std::string local_;
};

class tcp_transport final : public transport {
 public:
  void async_dial(const executor& ex, const std::string& address, const SessionOptions&,
                  steady_time deadline, dial_handler done) override {
    host_port target;
    failure err;
    if (!parse(address, target, err) || target.host.empty() || target.port == 0) {
      if (!err)
        err = {make_error_code(errc::invalid_argument),
               std::string(needs_host_port) + " to dial, got tcp://" + address};
      boost::asio::post(ex, [done = std::move(done), err] { done(err, nullptr); });
      return;
    }
    std::make_shared<dial_op>(ex, "tcp://" + address, std::move(done))->start(target, deadline);
  }

  std::unique_ptr<listener> listen(const executor& ex, const std::string& address,
                                   const SessionOptions&, failure& err) override {
    host_port where;
    if (!parse(address, where, err)) return nullptr;
    const std::string url = "tcp://" + address;
    auto fail = [&](boost::system::error_code e) -> std::unique_ptr<listener> {
      err = {to_std(e), "listen " + url + ": " + e.message()};
      return nullptr;
    };
    boost::system::error_code ec;
    tcp::endpoint ep;
    bool any = where.host.empty();
    if (any) {
      ep = {tcp::v6(), where.port};
    } else if (auto addr = boost::asio::ip::make_address(where.host, ec); !ec) {
      ep = {addr, where.port};
    } else {
      // A name: resolved here, once (listen does not wait on the network).
      tcp::resolver resolver(ex);
      auto results = resolver.resolve(where.host, std::to_string(where.port), ec);
      if (ec) return fail(ec);
      ep = results.begin()->endpoint();
    }
    tcp::acceptor acceptor(ex);
    acceptor.open(ep.protocol(), ec);
    if (ec && any) {  // no IPv6 here: every IPv4 interface then
      ep = {tcp::v4(), where.port};
      acceptor.open(ep.protocol(), ec);
    }
    if (ec) return fail(ec);
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (any && ep.protocol() == tcp::v6()) acceptor.set_option(boost::asio::ip::v6_only(false), ec);
    acceptor.bind(ep, ec);
    if (ec) return fail(ec);
    acceptor.listen(tcp::acceptor::max_listen_connections, ec);
    if (ec) return fail(ec);
    return std::make_unique<tcp_listener>(std::move(acceptor));
  }
};

}  // namespace

std::shared_ptr<transport> make_tcp_transport() { return std::make_shared<tcp_transport>(); }

}  // namespace libchan::detail::io
