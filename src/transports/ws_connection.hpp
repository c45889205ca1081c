// WebSocket connections (RFC 6455) with Beast, for ws://, wss:// and
// WebSocketMount. The session's byte stream rides in binary messages, one
// per write; a read returns whatever part of a message has arrived, so
// message boundaries mean nothing to the reader. Compression stays off:
// frames are already compact and deflate would cost memory per connection.
//
// The Beast stream and everything its operations touch live in a shared
// core that each pending handler keeps alive: the connection may be
// destroyed (after close()) while a timer or a refused request is still
// winding down.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "io/transport.hpp"
#include "transports/tls_context.hpp"

namespace libchan {
struct SessionOptions;
}

namespace libchan::detail::io::ws {

using tcp = boost::asio::ip::tcp;
using tls_stream = boost::asio::ssl::stream<tcp::socket>;
using request = boost::beast::http::request<boost::beast::http::string_body>;

/// The largest message we read: what a peer that sends one SPDY frame per
/// message needs, and at least what batching peers send (ours send up to
/// 512 KiB). Reads go straight into the session's buffer, so this bounds
/// the peer's frames, not our memory.
std::uint64_t message_limit(const SessionOptions& options);

/// What a connection knows besides its socket.
struct settings {
  /// "ws" or "wss", for addresses and messages.
  std::string scheme;
  /// Listening: the only path served (other paths get 404); empty when the
  /// request was routed by the application (mounted). Dialing: the target.
  std::string path;
  std::uint64_t message_limit = 0;
};

template <class Stream>
class ws_core;

/// One WebSocket connection over `Stream` (a TCP socket, or TLS over one).
template <class Stream>
class ws_connection final : public connection {
 public:
  /// Listening side, from an accepted socket: async_handshake() runs the
  /// TLS handshake (wss), reads the HTTP request, answers 426 to a request
  /// that is not an upgrade and 404 to another path, then accepts.
  /// `tls` is the listener's context (wss) or null.
  ws_connection(Stream stream, settings s, tls::context_ptr tls);
  /// Listening side, from an application's HTTP server that has read
  /// `upgrade` (and done TLS): async_handshake() only answers it. The
  /// connection runs on `ex`, a strand the stream's operations may use.
  ws_connection(Stream stream, const executor& ex, settings s, request upgrade);
  ~ws_connection() override;

  /// Dialing side, on a connected socket: the TLS handshake (wss; SNI and
  /// name checks must be set on the stream already), then the upgrade
  /// request for `host` (the Host header) and settings.path. Failures say
  /// "dial <url>: ...", with the HTTP status when the server refused.
  void async_client_handshake(std::string host, std::string url, steady_time deadline,
                              handshake_handler done);
  /// The TLS stream, to prepare a client handshake (wss only).
  Stream& stream();

  executor get_executor() override;
  void async_read_some(boost::asio::mutable_buffer buffer, io_handler done) override;
  void async_write(std::span<const boost::asio::const_buffer> buffers, io_handler done) override;
  /// Sends a close frame; completes once the peer answered with its own
  /// and the socket is shut down. A read in flight then ends as end of stream.
  void async_shutdown(std::function<void(std::error_code)> done) override;
  void close() noexcept override;
  std::string local_address() const override;
  std::string peer_address() const override;
  std::string peer_identity() const override;
  void async_handshake(steady_time deadline, handshake_handler done) override;

 private:
  std::shared_ptr<ws_core<Stream>> core_;
};

// Instantiated once, in ws_connection.cpp: Beast's operations are costly to
// compile.
extern template class ws_connection<tcp::socket>;
extern template class ws_connection<tls_stream>;

}  // namespace libchan::detail::io::ws
