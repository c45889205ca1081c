// Addresses, dialing and listening for the transports over TCP.
#include "transports/tcp_socket.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>

#include "io/errors.hpp"
#include "libchan/error.hpp"

namespace libchan::detail::io::tcp_socket {
namespace {

std::string needs_host_port(std::string_view scheme) {
  std::string s(scheme);
  return s + " URL needs host:port, e.g. " + s + "://127.0.0.1:9323";
}

// One dial: resolve (names only), connect, or give up at the deadline.
class connect_op : public std::enable_shared_from_this<connect_op> {
 public:
  connect_op(const executor& ex, std::string url, connect_handler done)
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
    if (ec)
      return done_({ec, "dial " + url_ + ": " + ec.message()}, tcp::socket(socket_.get_executor()));
    set_no_delay(socket_);
    done_({}, std::move(socket_));
  }

  tcp::resolver resolver_;
  tcp::socket socket_;
  boost::asio::steady_timer timer_;
  std::string url_;
  connect_handler done_;
  bool finished_ = false, timed_out_ = false;
};

class tcp_listener final : public listener {
 public:
  tcp_listener(tcp::acceptor acceptor, std::string_view scheme, socket_wrapper wrap)
      : acceptor_(std::move(acceptor)), wrap_(std::move(wrap)) {
    boost::system::error_code ec;
    local_ = url(scheme, acceptor_.local_endpoint(ec));
  }

  void async_accept(const executor& connection_executor, accept_handler done) override {
    acceptor_.async_accept(connection_executor, [wrap = wrap_, done = std::move(done)](
                                                    boost::system::error_code ec, tcp::socket s) {
      if (ec) return done(to_std(ec), nullptr);
      set_no_delay(s);
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
  socket_wrapper wrap_;
  std::string local_;
};

}  // namespace

bool parse(std::string_view scheme, const std::string& address, host_port& out, failure& err) {
  const std::string prefix = std::string(scheme) + "://";
  auto fail = [&](std::string what) {
    err = {make_error_code(errc::invalid_argument), std::move(what)};
    return false;
  };
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return fail(needs_host_port(scheme) + ", got " + prefix + address);
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos)
    return fail("IPv6 addresses in a " + std::string(scheme) + " URL need brackets, e.g. " +
                prefix + "[::1]:9323");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
    return fail(needs_host_port(scheme) + " with a port from 0 to 65535, got " + prefix + address);
  out = {std::move(host), static_cast<std::uint16_t>(value)};
  return true;
}

bool parse_dial_target(std::string_view scheme, const std::string& address, host_port& out,
                       failure& err) {
  if (!parse(scheme, address, out, err)) return false;
  if (out.host.empty() || out.port == 0) {
    err = {make_error_code(errc::invalid_argument),
           needs_host_port(scheme) + " to dial, got " + std::string(scheme) + "://" + address};
    return false;
  }
  return true;
}

std::string url(std::string_view scheme, const tcp::endpoint& ep) {
  auto addr = ep.address();
  auto host = addr.to_string();
  if (addr.is_v6()) host = "[" + host + "]";
  return std::string(scheme) + "://" + host + ":" + std::to_string(ep.port());
}

void set_no_delay(tcp::socket& socket) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
}

void async_connect(const executor& ex, const host_port& target, std::string url,
                   steady_time deadline, connect_handler done) {
  std::make_shared<connect_op>(ex, std::move(url), std::move(done))->start(target, deadline);
}

std::unique_ptr<listener> listen(const executor& ex, std::string_view scheme,
                                 const std::string& address, socket_wrapper wrap, failure& err) {
  host_port where;
  if (!parse(scheme, address, where, err)) return nullptr;
  const std::string where_url = std::string(scheme) + "://" + address;
  auto fail = [&](boost::system::error_code e) -> std::unique_ptr<listener> {
    err = {to_std(e), "listen " + where_url + ": " + e.message()};
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
  return std::make_unique<tcp_listener>(std::move(acceptor), scheme, std::move(wrap));
}

}  // namespace libchan::detail::io::tcp_socket
