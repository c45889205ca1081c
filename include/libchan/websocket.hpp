// libchan sessions on a path of your own Boost.Beast HTTP server: the REST
// API and the libchan endpoint share one port. Opt-in: this header brings
// in Asio's TCP and SSL streams and Beast's HTTP messages.
//
//   libchan::WebSocketMount mount;  // sessions run as with listen()
//   // in the request handler, once the request is read:
//   if (boost::beast::websocket::is_upgrade(req) && req.target() == "/chan")
//     return mount.upgrade(std::move(socket), std::move(req));
//   // elsewhere, as with a Listener:
//   libchan::Session session = mount.accept();
//
// Clients dial "ws://host:port/chan" (or wss:// when the server speaks TLS).
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>

#include "libchan/session.hpp"

namespace libchan {

/// Accepts sessions from WebSocket upgrades that an application's HTTP
/// server hands over; a Listener without a socket of its own. Sessions
/// behave exactly as those of listen("ws://..."): same options, handshake
/// deadline (connect_timeout), queue (listener_queue) and io threads.
///
/// Move-only; destroying it closes it. Safe to use from any thread.
class WebSocketMount {
 public:
  using request = boost::beast::http::request<boost::beast::http::string_body>;

  /// Throws Error(errc::invalid_argument) for bad options.
  explicit WebSocketMount(const SessionOptions& options = {});
  WebSocketMount(WebSocketMount&&) noexcept;
  WebSocketMount& operator=(WebSocketMount&&) noexcept;
  ~WebSocketMount();

  /// Takes over `socket` and the upgrade request read from it, answers the
  /// request (101, or 400 if it is not a valid WebSocket upgrade) and queues
  /// the session for accept(). Never blocks: the handshake runs on an io
  /// thread. The socket moves to the mount's io_context, so it may come
  /// from any. The client must not send before the answer (as WebSocket
  /// clients do), since bytes the server has read past the request are lost.
  /// A closed or full mount (listener_queue sessions waiting, plus 64
  /// handshakes) closes the socket instead.
  void upgrade(boost::asio::ip::tcp::socket socket, request req);
  /// The same over TLS whose handshake the server has done (peer_identity()
  /// is the client certificate's subject). A TLS stream cannot change its
  /// io_context: make the mount with SessionOptions::io_context set to the
  /// server's, whose executor (or a strand of it) the stream must use;
  /// otherwise throws Error(errc::invalid_argument), the stream closed.
  void upgrade(boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream, request req);

  /// As Listener::accept: waits for the next session; after close() returns
  /// an empty Session without an error. Throws std::system_error.
  Session accept() { return listener_.accept(); }
  Session accept(std::error_code& ec) { return listener_.accept(ec); }
  /// As accept(ec), failing with errc::timed_out after `timeout`.
  template <class Rep, class Period>
  Session accept_for(std::chrono::duration<Rep, Period> timeout, std::error_code& ec) {
    return listener_.accept_for(timeout, ec);
  }
  /// Starts an accept(); the handler gets `void(std::error_code, Session)`.
  template <class CompletionToken>
  auto async_accept(CompletionToken&& token) {
    return listener_.async_accept(std::forward<CompletionToken>(token));
  }

  /// Stops taking upgrades (later ones close their socket); pending
  /// accepts return the end, sessions not taken are closed. Idempotent.
  void close() noexcept { listener_.close(); }

  explicit operator bool() const noexcept { return static_cast<bool>(listener_); }

 private:
  std::shared_ptr<detail::io::listener_core> core_;
  boost::asio::io_context* context_ = nullptr;  // where upgraded sessions run
  std::uint64_t message_limit_ = 0;
  Listener listener_;
};

}  // namespace libchan
