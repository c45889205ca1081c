// The io layer's view of a network, NNG-style: a connection is a connected
// byte stream, a listener produces connections, and a transport makes both
// for one URL scheme. Everything a session needs goes through this
// interface.
//
// Threads and ownership, for every implementation:
// - A connection, listener or dial is bound to the executor it was made with
//   (a strand of the session or listener). Its functions are called only
//   from that executor (but for write_now, read_now and poll_readable, which
//   any thread may call as they say), one read and one write at a time at
//   most, and its completion handlers run through that executor, never
//   inside the call that started the operation.
// - Buffers passed to an operation belong to the caller and must stay valid
//   until its handler runs. Handlers are moved in and called exactly once,
//   also after close() (with an error such as operation_aborted).
// - Whoever holds the unique_ptr owns the connection; destroying it closes
//   the socket.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "libchan/error.hpp"
#include "libchan/fd.hpp"

namespace libchan {
struct SessionOptions;
}

namespace libchan::detail::io {

using executor = boost::asio::any_io_executor;
using steady_time = std::chrono::steady_clock::time_point;

/// A failure with words for a person: `ec` says what kind, `what` says
/// where and why, e.g. "dial tcp://127.0.0.1:1: Connection refused".
struct failure {
  std::error_code ec;
  std::string what;
  explicit operator bool() const noexcept { return static_cast<bool>(ec); }
};

/// A connected byte stream.
class connection {
 public:
  using io_handler = std::function<void(std::error_code, std::size_t)>;

  virtual ~connection() = default;

  /// The executor the connection was made with; handlers run through it.
  virtual executor get_executor() = 0;
  /// Reads at least one byte. End of stream is boost::asio::error::eof.
  virtual void async_read_some(boost::asio::mutable_buffer buffer, io_handler done) = 0;
  /// Writes all of `buffers` (gathered); the span and what it points to
  /// belong to the caller until `done`.
  virtual void async_write(std::span<const boost::asio::const_buffer> buffers, io_handler done) = 0;
  /// Ends our direction (TCP FIN; TLS close_notify): the peer reads end of
  /// stream after everything written before. Reading goes on.
  virtual void async_shutdown(std::function<void(std::error_code)> done) = 0;
  /// Closes both directions at once; pending operations complete with an
  /// error. Idempotent.
  virtual void close() noexcept = 0;

  /// Addresses as URLs ("tcp://[::1]:9323", "unix:///run/x.sock"), fixed when
  /// the connection was made: still valid after close().
  virtual std::string local_address() const = 0;
  virtual std::string peer_address() const = 0;
  /// The authenticated identity of the peer (TLS certificate subject);
  /// empty for transports that do not authenticate.
  virtual std::string peer_identity() const { return {}; }

  /// Descriptor passing (SCM_RIGHTS), for connections that can: Unix
  /// sockets. The others keep these defaults.
  virtual bool can_pass_descriptors() const { return false; }

  /// Writing from any thread, at once, without waiting: for plain sockets,
  /// and TLS (which encrypts under a lock of its own and sends what the
  /// socket had no room for from its executor). The caller makes sure that
  /// no async_write is in flight and that close() does not run meanwhile.
  /// `fds` go with the first byte, when any byte goes (connections that
  /// pass descriptors). Returns the bytes taken (maybe none, when there is
  /// no room); `ec` is set on a failure.
  virtual bool can_write_now() const { return false; }
  virtual std::size_t write_now(std::span<const boost::asio::const_buffer> /*buffers*/,
                                std::span<const int> /*fds*/, std::error_code& ec) {
    ec = make_error_code(errc::not_supported);
    return 0;
  }
  /// As async_write, with `fds` attached to the first byte written. The
  /// caller keeps them open until `done`; the peer gets copies of its own.
  virtual void async_write_with_descriptors(std::span<const boost::asio::const_buffer> buffers,
                                            std::span<const int> fds, io_handler done) {
    if (fds.empty()) return async_write(buffers, std::move(done));
    boost::asio::post(get_executor(),
                      [done = std::move(done)] { done(make_error_code(errc::not_supported), 0); });
  }

  /// Reading from any thread, for plain sockets (tcp, unix). read_now takes
  /// what the socket holds without waiting, appending descriptors that came
  /// with it to `fds`: the bytes read, 0 with no error at end of stream,
  /// operation_would_block when nothing is there. The caller keeps reads
  /// one at a time and in order, and close() away from them. The io thread
  /// waits with async_wait_readable (completes once the socket is readable
  /// or failed; reads nothing), any other thread with poll_readable (blocks
  /// up to `timeout`; false on time-out). wake_pollers ends every
  /// poll_readable at once; close() should follow.
  virtual bool can_read_now() const { return false; }
  virtual std::size_t read_now(boost::asio::mutable_buffer /*buffer*/, std::vector<Fd>& /*fds*/,
                               std::error_code& ec) {
    ec = make_error_code(errc::not_supported);
    return 0;
  }
  virtual void async_wait_readable(std::function<void(std::error_code)> done) {
    boost::asio::post(get_executor(),
                      [done = std::move(done)] { done(make_error_code(errc::not_supported)); });
  }
  virtual bool poll_readable(std::chrono::milliseconds /*timeout*/) { return true; }
  virtual void wake_pollers() noexcept {}

  /// Listening side only: completes what the protocol needs before session
  /// bytes flow (a TLS or WebSocket handshake), by `deadline` at the latest.
  /// The listener runs one per accepted connection, concurrently, so a slow
  /// client holds up nobody else. Dialed connections come back from
  /// transport::async_dial ready. The default has nothing to do.
  using handshake_handler = std::function<void(failure)>;
  virtual void async_handshake(steady_time deadline, handshake_handler done);
};

/// A bound, listening endpoint.
class listener {
 public:
  using accept_handler = std::function<void(std::error_code, std::unique_ptr<connection>)>;

  virtual ~listener() = default;

  /// Waits for one connection, one accept at a time. The new connection is
  /// bound to `connection_executor`; `done` runs through the listener's.
  virtual void async_accept(const executor& connection_executor, accept_handler done) = 0;
  /// Stops listening (a pending accept completes with operation_aborted)
  /// and removes what listen() created, e.g. a socket file. Idempotent.
  virtual void close() noexcept = 0;
  /// As a URL to dial, with the port the system chose for port 0.
  virtual std::string local_address() const = 0;
};

/// Dialing and listening for one URL scheme. Stateless and shared: any
/// thread may call it.
class transport {
 public:
  using dial_handler = std::function<void(failure, std::unique_ptr<connection>)>;

  virtual ~transport() = default;

  /// Connects to `address` (the URL after "scheme://"), handshakes
  /// included. The connection is bound to `ex`, and `done` runs through
  /// `ex` by `deadline` at the latest (then with errc::timed_out). `options`
  /// is only valid during the call: copy what is needed (e.g. tls).
  virtual void async_dial(const executor& ex, const std::string& address,
                          const SessionOptions& options, steady_time deadline,
                          dial_handler done) = 0;
  /// Binds and listens on `address`; nothing here waits. The listener is
  /// bound to `ex`. Returns null and sets `err` on failure. `options` is
  /// only valid during the call.
  virtual std::unique_ptr<listener> listen(const executor& ex, const std::string& address,
                                           const SessionOptions& options, failure& err) = 0;
};

/// The built-in transports.
std::shared_ptr<transport> make_tcp_transport();
std::shared_ptr<transport> make_unix_transport();
std::shared_ptr<transport> make_ws_transport();
std::shared_ptr<transport> make_wss_transport();
std::shared_ptr<transport> make_tls_transport();

}  // namespace libchan::detail::io
