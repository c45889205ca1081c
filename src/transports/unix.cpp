// unix:///path and unix://@name (Linux abstract namespace): stream sockets
// on the local machine. A listener removes its socket file when it closes.
// Connections pass descriptors (unix_connection.hpp).
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <optional>

#include "libchan/error.hpp"
#include "transports/unix_connection.hpp"

namespace libchan::detail::io {
namespace {

using unix_socket = boost::asio::local::stream_protocol;

// sun_path holds 108 bytes; a path needs its terminating NUL.
constexpr std::size_t max_path = 107;

std::string format(const unix_socket::endpoint& ep) {
  auto path = ep.path();
  if (!path.empty() && path.front() == '\0') path.front() = '@';
  return "unix://" + path;
}

// "/path" or "@name" into a socket path (abstract names start with NUL).
bool parse(const std::string& address, std::string& path, failure& err) {
  auto fail = [&](std::string what) {
    err = {make_error_code(errc::invalid_argument), std::move(what)};
    return false;
  };
  if (address.size() < 2 || (address.front() != '/' && address.front() != '@'))
    return fail(
        "unix URL needs an absolute path (unix:///run/app.sock) or an abstract name "
        "(unix://@name), got unix://" +
        address);
  if (address.size() > max_path)
    return fail("unix socket path too long (" + std::to_string(address.size()) +
                " bytes, at most " + std::to_string(max_path) + "): unix://" + address);
  path = address;
  if (path.front() == '@') path.front() = '\0';
  return true;
}

// A dialing socket is usually unnamed: its address is then "unix://".
std::unique_ptr<connection> wrap(unix_socket::socket socket) {
  boost::system::error_code ec;
  auto local = format(socket.local_endpoint(ec));
  auto peer = format(socket.remote_endpoint(ec));
  return std::make_unique<unix_connection>(std::move(socket), std::move(local), std::move(peer));
}

class dial_op : public std::enable_shared_from_this<dial_op> {
 public:
  dial_op(const executor& ex, std::string url, transport::dial_handler done)
      : socket_(ex), timer_(ex), url_(std::move(url)), done_(std::move(done)) {}

  void start(const std::string& path, steady_time deadline) {
    timer_.expires_at(deadline);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->finished_) return;
      self->timed_out_ = true;
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    });
    socket_.async_connect(
        unix_socket::endpoint(path),
        [self = shared_from_this()](boost::system::error_code e) { self->finish(e); });
  }

 private:
  void finish(boost::system::error_code e) {
    finished_ = true;
    timer_.cancel();
    std::error_code ec = timed_out_ ? make_error_code(errc::timed_out) : to_std(e);
    if (ec) return done_({ec, "dial " + url_ + ": " + ec.message()}, nullptr);
    done_({}, wrap(std::move(socket_)));
  }

  unix_socket::socket socket_;
  boost::asio::steady_timer timer_;
  std::string url_;
  transport::dial_handler done_;
  bool finished_ = false, timed_out_ = false;
};

class unix_listener final : public listener {
 public:
  unix_listener(unix_socket::acceptor acceptor, std::string path)
      : acceptor_(std::move(acceptor)), path_(std::move(path)) {
    boost::system::error_code ec;
    local_ = format(acceptor_.local_endpoint(ec));
    struct stat st {};
    if (path_.front() == '/' && ::stat(path_.c_str(), &st) == 0) file_ = {st.st_dev, st.st_ino};
  }
  ~unix_listener() override { close(); }

  void async_accept(const executor& connection_executor, accept_handler done) override {
    acceptor_.async_accept(
        connection_executor,
        [done = std::move(done)](boost::system::error_code ec, unix_socket::socket s) {
          if (ec) return done(to_std(ec), nullptr);
          done({}, wrap(std::move(s)));
        });
  }

  void close() noexcept override {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    // Remove the socket file if it is still ours (not replaced meanwhile).
    struct stat st {};
    if (file_ && ::stat(path_.c_str(), &st) == 0 && st.st_dev == file_->first &&
        st.st_ino == file_->second)
      ::unlink(path_.c_str());
    file_.reset();
  }

  std::string local_address() const override { return local_; }

 private:
  unix_socket::acceptor acceptor_;
  std::string path_, local_;
  std::optional<std::pair<dev_t, ino_t>> file_;
};

class unix_transport final : public transport {
 public:
  void async_dial(const executor& ex, const std::string& address, const SessionOptions&,
                  steady_time deadline, dial_handler done) override {
    std::string path;
    failure err;
    if (!parse(address, path, err)) {
      boost::asio::post(ex, [done = std::move(done), err] { done(err, nullptr); });
      return;
    }
    std::make_shared<dial_op>(ex, "unix://" + address, std::move(done))->start(path, deadline);
  }

  std::unique_ptr<listener> listen(const executor& ex, const std::string& address,
                                   const SessionOptions&, failure& err) override {
    std::string path;
    if (!parse(address, path, err)) return nullptr;
    boost::system::error_code ec;
    unix_socket::acceptor acceptor(ex);
    acceptor.open(unix_socket(), ec);
    if (!ec) acceptor.bind(unix_socket::endpoint(path), ec);
    if (!ec) acceptor.listen(unix_socket::acceptor::max_listen_connections, ec);
    if (ec) {
      err = {to_std(ec), "listen unix://" + address + ": " + ec.message()};
      return nullptr;
    }
    return std::make_unique<unix_listener>(std::move(acceptor), path);
  }
};

}  // namespace

std::shared_ptr<transport> make_unix_transport() { return std::make_shared<unix_transport>(); }

}  // namespace libchan::detail::io
