// WebSocket connections: the handshakes of both sides and the byte stream
// over binary messages. See ws_connection.hpp.
#include "transports/ws_connection.hpp"

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <optional>
#include <type_traits>

#include "io/errors.hpp"
#include "libchan/error.hpp"
#include "libchan/session.hpp"
#include "transports/tcp_socket.hpp"

namespace libchan::detail::io::ws {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using boost::system::error_code;

namespace {

// An upgrade request is a few hundred bytes; browsers send a few KiB of
// cookies at most.
constexpr std::uint32_t max_request_header = 16u << 10;
// Client frames are masked through a buffer of this size; larger means
// fewer writes to the socket for a big message.
constexpr std::size_t mask_buffer = 64u << 10;
// What our own driver sends in one message at most, plus room.
constexpr std::uint64_t min_message_limit = 1u << 20;
constexpr std::uint64_t spdy_frame_header = 8;

// The path of a request target, without the query.
std::string path_of(boost::beast::string_view target) {
  return std::string(target.substr(0, std::min(target.find('?'), target.size())));
}

}  // namespace

std::uint64_t message_limit(const SessionOptions& options) {
  return std::max(min_message_limit, options.limits.max_frame_size + spdy_frame_header);
}

template <class Stream>
class ws_core : public std::enable_shared_from_this<ws_core<Stream>> {
 public:
  static constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

  ws_core(Stream stream, const executor& ex, settings s, tls::context_ptr tls)
      : tls_(std::move(tls)), ex_(ex), ws_(std::move(stream)), timer_(ex), settings_(std::move(s)) {
    ws_.read_message_max(settings_.message_limit);
    ws_.auto_fragment(false);  // one frame per message: no extra headers, no copies
    ws_.write_buffer_bytes(mask_buffer);
    ws_.binary(true);
    error_code ec;
    auto& socket = beast::get_lowest_layer(ws_);
    local_ = tcp_socket::url(settings_.scheme, socket.local_endpoint(ec));
    peer_ = tcp_socket::url(settings_.scheme, socket.remote_endpoint(ec));
    if constexpr (is_tls) tls_pending_ = tls_ != nullptr;
  }

  // ---- handshakes ----

  void set_request(request upgrade) {
    request_ = std::move(upgrade);
    have_request_ = true;
    local_ += path_of(request_.target());
    if constexpr (is_tls) identity_ = tls::peer_identity(ws_.next_layer().native_handle());
  }

  void server_handshake(steady_time deadline, connection::handshake_handler done) {
    if (!have_request_) local_ += settings_.path;
    start(deadline, std::move(done), "WebSocket handshake with " + peer_);
    if constexpr (is_tls) {
      if (tls_pending_) {
        ws_.next_layer().async_handshake(
            boost::asio::ssl::stream_base::server,
            bind([self = this->shared_from_this()](error_code ec) {
              if (ec) return self->finish(tls_failure(*self, ec));
              self->identity_ = tls::peer_identity(self->ws_.next_layer().native_handle());
              self->read_request();
            }));
        return;
      }
    }
    read_request();
  }

  void client_handshake(std::string host, std::string url, steady_time deadline,
                        connection::handshake_handler done) {
    peer_ += settings_.path;
    host_ = std::move(host);
    start(deadline, std::move(done), "dial " + url);
    if constexpr (is_tls) {
      ws_.next_layer().async_handshake(
          boost::asio::ssl::stream_base::client,
          bind([self = this->shared_from_this(), url](error_code ec) {
            if (ec) {
              auto f = tls::handshake_failure(ec, self->ws_.next_layer().native_handle(), url,
                                              self->timed_out_);
              return self->finish(std::move(f));
            }
            self->identity_ = tls::peer_identity(self->ws_.next_layer().native_handle());
            self->upgrade();
          }));
      return;
    }
    upgrade();
  }

  // ---- the byte stream ----

  void read_some(boost::asio::mutable_buffer buffer, connection::io_handler done) {
    ws_.async_read_some(buffer,
                        bind([self = this->shared_from_this(), buffer, done = std::move(done)](
                                 error_code ec, std::size_t n) mutable {
                          // An empty frame or message: nothing for the reader yet.
                          if (!ec && n == 0 && buffer.size() > 0)
                            return self->read_some(buffer, std::move(done));
                          if (self->is_end_of_stream(ec)) {
                            self->peer_closed_ = true;
                            return done({}, 0);
                          }
                          done(stream_error(ec), n);
                        }));
  }

  void write(std::span<const boost::asio::const_buffer> buffers, connection::io_handler done) {
    // One binary message straight from the caller's buffers.
    ws_.async_write(buffers, bind([done = std::move(done)](error_code ec, std::size_t n) {
                      done(stream_error(ec), n);
                    }));
  }

  void shutdown(std::function<void(std::error_code)> done) {
    if (peer_closed_ || closed_ || !ws_.is_open()) {
      // The peer's close frame was answered already (or the socket is gone).
      boost::asio::post(ex_, [done = std::move(done)] { done({}); });
      return;
    }
    shutting_down_ = true;
    ws_.async_close(websocket::close_code::normal,
                    bind([self = this->shared_from_this(), done = std::move(done)](error_code ec) {
                      // Aborted: the peer's close frame crossed ours.
                      if (ec == boost::asio::error::operation_aborted && !self->closed_) ec = {};
                      done(stream_error(ec));
                    }));
  }

  void close() noexcept {
    closed_ = true;
    error_code ignored;
    timer_.cancel(ignored);
    beast::get_lowest_layer(ws_).close(ignored);
  }

  const executor& get_executor() const noexcept { return ex_; }
  Stream& stream() noexcept { return ws_.next_layer(); }
  const std::string& local() const noexcept { return local_; }
  const std::string& peer() const noexcept { return peer_; }
  const std::string& identity() const noexcept { return identity_; }

 private:
  template <class Handler>
  auto bind(Handler&& h) {
    return boost::asio::bind_executor(ex_, std::forward<Handler>(h));
  }

  static std::error_code stream_error(const error_code& ec) {
    if constexpr (is_tls) return tls::io_error(ec);
    return to_std(ec);
  }

  bool is_end_of_stream(const error_code& ec) const {
    if (ec == websocket::error::closed) return true;  // the peer's close frame
    // Our close frame was answered: the read waited for that and aborted.
    if (ec == boost::asio::error::operation_aborted) return shutting_down_ && !closed_;
    // The socket closed without a close frame: end of stream as over TCP.
    if (ec == boost::asio::error::eof) return true;
    if constexpr (is_tls) return ec == boost::asio::ssl::error::stream_truncated;
    return false;
  }

  static failure tls_failure(ws_core& self, const error_code& ec) {
    return tls::handshake_failure(ec, self.ws_.next_layer().native_handle(), self.peer_,
                                  self.timed_out_);
  }

  // Arms the deadline: past it the socket is closed, which ends whatever
  // step of the handshake is running.
  void start(steady_time deadline, connection::handshake_handler done, std::string what) {
    handshake_done_ = std::move(done);
    what_ = std::move(what);
    timer_.expires_at(deadline);
    timer_.async_wait(bind([self = this->shared_from_this()](error_code ec) {
      if (ec || !self->handshake_done_) return;
      self->timed_out_ = true;
      error_code ignored;
      beast::get_lowest_layer(self->ws_).close(ignored);
    }));
  }

  void finish(failure f) {
    error_code ignored;
    timer_.cancel(ignored);
    if (f && timed_out_) f = {make_error_code(errc::timed_out), what_ + ": timed out"};
    if (auto done = std::exchange(handshake_done_, nullptr)) done(std::move(f));
  }

  void fail(std::error_code ec, const std::string& why) { finish({ec, what_ + ": " + why}); }

  // Server: the HTTP request, unless the application read it.
  void read_request() {
    if (have_request_) return accept();
    parser_.emplace();
    parser_->header_limit(max_request_header);
    parser_->body_limit(0);  // an upgrade request has no body
    http::async_read(ws_.next_layer(), buffer_, *parser_,
                     bind([self = this->shared_from_this()](error_code ec, std::size_t) {
                       if (ec)
                         return self->fail(to_std(ec), "reading the HTTP request: " + ec.message());
                       self->request_ = self->parser_->release();
                       self->parser_.reset();
                       self->check_request();
                     }));
  }

  void check_request() {
    if (!websocket::is_upgrade(request_))
      return refuse(http::status::upgrade_required,
                    "This address serves libchan over WebSocket: connect with a WebSocket "
                    "client.\n");
    if (path_of(request_.target()) != settings_.path)
      return refuse(http::status::not_found,
                    "No libchan endpoint here: the WebSocket path is " + settings_.path + "\n");
    accept();
  }

  void accept() {
    ws_.async_accept(request_, bind([self = this->shared_from_this()](error_code ec) {
                       if (ec) return self->fail(to_std(ec), ec.message());
                       self->finish({});
                     }));
  }

  // Answers a request we do not serve with a short text; the connection
  // ends after it.
  void refuse(http::status status, std::string text) {
    response_.result(status);
    response_.version(request_.version());
    response_.set(http::field::content_type, "text/plain");
    response_.keep_alive(false);
    if (status == http::status::upgrade_required) {
      response_.set(http::field::upgrade, "websocket");
      response_.set(http::field::sec_websocket_version, "13");
    }
    response_.body() = std::move(text);
    response_.prepare_payload();
    auto why = "refused " + std::string(request_.method_string()) + " " +
               std::string(request_.target()) + " with HTTP " +
               std::to_string(response_.result_int());
    http::async_write(ws_.next_layer(), response_,
                      bind([self = this->shared_from_this(), why](error_code, std::size_t) {
                        self->fail(make_error_code(errc::protocol_error), why);
                      }));
  }

  // Client: the upgrade request.
  void upgrade() {
    ws_.async_handshake(response_, host_, settings_.path,
                        bind([self = this->shared_from_this()](error_code ec) {
                          if (!ec) return self->finish({});
                          if (ec == websocket::error::upgrade_declined) return self->declined();
                          self->fail(stream_error(ec), "WebSocket handshake: " + ec.message());
                        }));
  }

  void declined() {
    auto code = response_.result_int();
    auto ec = code == 401 || code == 403 ? errc::auth_failed : errc::protocol_error;
    fail(make_error_code(ec), "the server answered HTTP " + std::to_string(code) + " " +
                                  std::string(response_.reason()) + " to the WebSocket upgrade " +
                                  "of " + settings_.path + " (is the path right?)");
  }

  tls::context_ptr tls_;  // outlives the stream that refers to it
  executor ex_;
  websocket::stream<Stream, false> ws_;  // false: no permessage-deflate code at all
  boost::asio::steady_timer timer_;
  settings settings_;
  std::string local_, peer_, identity_, host_, what_;
  connection::handshake_handler handshake_done_;
  beast::flat_buffer buffer_{max_request_header};
  std::optional<http::request_parser<http::string_body>> parser_;
  request request_;
  http::response<http::string_body> response_;
  bool have_request_ = false, tls_pending_ = false, timed_out_ = false;
  bool peer_closed_ = false, shutting_down_ = false, closed_ = false;
};

template <class Stream>
ws_connection<Stream>::ws_connection(Stream stream, settings s, tls::context_ptr tls) {
  auto ex = stream.get_executor();
  core_ = std::make_shared<ws_core<Stream>>(std::move(stream), ex, std::move(s), std::move(tls));
}

template <class Stream>
ws_connection<Stream>::ws_connection(Stream stream, const executor& ex, settings s, request upgrade)
    : core_(std::make_shared<ws_core<Stream>>(std::move(stream), ex, std::move(s), nullptr)) {
  core_->set_request(std::move(upgrade));
}

template <class Stream>
ws_connection<Stream>::~ws_connection() {
  close();
}

template <class Stream>
void ws_connection<Stream>::async_client_handshake(std::string host, std::string url,
                                                   steady_time deadline, handshake_handler done) {
  core_->client_handshake(std::move(host), std::move(url), deadline, std::move(done));
}

template <class Stream>
Stream& ws_connection<Stream>::stream() {
  return core_->stream();
}

template <class Stream>
executor ws_connection<Stream>::get_executor() {
  return core_->get_executor();
}

template <class Stream>
void ws_connection<Stream>::async_read_some(boost::asio::mutable_buffer buffer, io_handler done) {
  core_->read_some(buffer, std::move(done));
}

template <class Stream>
void ws_connection<Stream>::async_write(std::span<const boost::asio::const_buffer> buffers,
                                        io_handler done) {
  core_->write(buffers, std::move(done));
}

template <class Stream>
void ws_connection<Stream>::async_shutdown(std::function<void(std::error_code)> done) {
  core_->shutdown(std::move(done));
}

template <class Stream>
void ws_connection<Stream>::close() noexcept {
  core_->close();
}

template <class Stream>
std::string ws_connection<Stream>::local_address() const {
  return core_->local();
}

template <class Stream>
std::string ws_connection<Stream>::peer_address() const {
  return core_->peer();
}

template <class Stream>
std::string ws_connection<Stream>::peer_identity() const {
  return core_->identity();
}

template <class Stream>
void ws_connection<Stream>::async_handshake(steady_time deadline, handshake_handler done) {
  // The listener calls from its own strand: start on ours.
  boost::asio::post(core_->get_executor(),
                    [core = core_, deadline, done = std::move(done)]() mutable {
                      core->server_handshake(deadline, std::move(done));
                    });
}

template class ws_connection<tcp::socket>;
template class ws_connection<tls_stream>;

}  // namespace libchan::detail::io::ws
