// Sessions over real connections: dial(url) and listen(url) give a Session,
// whose open_sender() and accept_receiver() are Go libchan's NewSendChannel
// and WaitReceiveChannel. Every session runs on an io thread of its own
// io_context (an internal pool unless SessionOptions names one); sockets
// stay behind a pimpl, so this header pulls in no networking header.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "libchan/channel.hpp"
#include "libchan/codec.hpp"
#include "libchan/detail/adapt.hpp"
#include "libchan/detail/completion.hpp"
#include "libchan/error.hpp"
#include "libchan/value.hpp"

namespace boost::asio {
class io_context;
}

namespace libchan {

namespace detail::io {
class transport;
class session_handle;
class listener_core;
}  // namespace detail::io

/// The wire dialect of a session (see docs/protocol.md).
enum class Dialect {
  automatic,  ///< v0_2 when dialing, detect when listening
  v0_1,       ///< Go libchan v0.1.0 and jschan
  v0_2,       ///< Go libchan master
  detect,     ///< listeners only: follow the peer's first stream
};

/// Bounds on what a peer can make a session allocate. The defaults are the
/// protocol engine's; breaking a limit is an error naming it.
struct SessionLimits {
  /// Largest frame payload accepted.
  std::uint32_t max_frame_size = 0xFFFFFF;
  /// Largest DATA frame sent.
  std::uint32_t max_send_frame = 64u << 10;
  /// Compressed and decompressed size of one header block.
  std::size_t max_header_block = 16u << 10;
  std::size_t max_header_block_decompressed = 64u << 10;
  /// Streams (channels and byte streams) open at once, both directions.
  std::size_t max_concurrent_streams = 10000;
  /// Bytes received and not yet taken by the application, all streams
  /// together; past it the session stops reading from the connection.
  /// (The first message of a channel, while incomplete, hands its window
  /// back as it arrives, so that one larger than initial_window can finish;
  /// all channels may hold the larger of this and codec.max_message_size in
  /// such messages, past which the channel is reset.)
  std::size_t max_unconsumed = 8u << 20;
  /// Receive window per stream announced to the peer.
  std::uint32_t initial_window = 1u << 20;
  /// Bytes queued for the connection before senders wait.
  std::size_t max_output_queue = 4u << 20;
  /// Streams named by a message but not opened yet (and the reverse).
  std::size_t max_pending_refs = 1024;
  /// Channels opened by the peer and not yet taken by accept_receiver().
  std::size_t accept_backlog = 128;
  /// Descriptors (Fd values, ByteStreams over descriptors) one message may
  /// carry when they travel as descriptors; more fail the send, or the
  /// received message.
  std::size_t max_fds_per_message = 16;
  /// Descriptors received and not yet named by any message; past it the
  /// oldest are closed (such as those of messages still on their way to a
  /// channel closed here, which nobody decodes), and a message that names
  /// one later fails its channel.
  std::size_t max_unclaimed_fds = 256;
  /// Descriptors sent and not yet written to the connection; senders of
  /// more wait (each one stays open in this process until written).
  std::size_t max_queued_fds = 256;
  /// Descriptors in received messages that the application has not taken
  /// yet: at this many the session stops reading the connection until it
  /// takes some, so that a receiver that falls behind a fast sender does
  /// not run out of descriptors (the rest wait in the socket, outside this
  /// process).
  std::size_t max_buffered_fds = 512;
  /// Limits of the message decoder.
  CodecLimits codec;
};

/// TLS for tls:// and wss:// (OpenSSL). Verification is on by default: a
/// dialer checks the server's chain against the trusted CAs and its name
/// against the URL's host; a listener can require client certificates
/// (mutual auth). Every PEM item is a file path or the PEM text itself.
struct TlsOptions {
  enum class Version { tls1_2, tls1_3 };

  /// Our certificate chain and private key. Listeners need them; dialers
  /// present theirs when the server asks for one.
  std::string certificate_file, private_key_file;
  std::string certificate_pem, private_key_pem;
  /// Certificates trusted to sign the peer's; empty: the system's store.
  std::string ca_file, ca_pem;
  /// Dialers: verify the server's chain and name. Off is for tests only.
  bool verify_peer = true;
  /// Listeners: ask every client for a certificate signed by a trusted CA
  /// and refuse the handshake without one.
  bool require_client_certificate = false;
  /// Dialers: the name checked against the server's certificate and sent as
  /// SNI; empty: the URL's host.
  std::string server_name;
  /// The oldest protocol version accepted (1.3 is preferred when both can).
  Version min_version = Version::tls1_2;
};

struct SessionOptions {
  static constexpr std::chrono::milliseconds default_keepalive_interval{30000};
  static constexpr std::chrono::milliseconds default_keepalive_timeout{10000};
  static constexpr std::chrono::milliseconds default_connect_timeout{10000};
  static constexpr std::size_t default_listener_queue = 16;

  Dialect dialect = Dialect::automatic;
  /// PING the peer after this much silence; zero turns keepalive off. Go
  /// libchan (spdystream) and jschan answer PINGs.
  std::chrono::milliseconds keepalive_interval = default_keepalive_interval;
  /// The peer is declared lost if nothing arrives this long after a PING.
  std::chrono::milliseconds keepalive_timeout = default_keepalive_timeout;
  /// dial() gives up (errc::timed_out) after this long, handshakes (TLS,
  /// WebSocket) included; a listener drops a connection whose handshake
  /// takes longer.
  std::chrono::milliseconds connect_timeout = default_connect_timeout;
  SessionLimits limits;
  /// Over connections that can pass descriptors (unix://), send an Fd or a
  /// ByteStream over a descriptor as the descriptor itself (SCM_RIGHTS) when
  /// the peer can take it too; the receiver gets a working descriptor
  /// (ByteStream::from_fd for a stream). Otherwise, and with this off, they
  /// travel as byte streams. Either way sending gives the descriptor away.
  bool pass_descriptors = true;
  /// Sessions accepted by a Listener and not yet taken by accept(); past it
  /// the listener stops accepting connections.
  std::size_t listener_queue = default_listener_queue;
  /// Runs the sessions' io on this io_context instead of libchan's internal
  /// pool. Not owned: it must outlive every session and listener made with
  /// it, and be run by the application. The internal pool (one or two
  /// threads, started on first use) is stopped and joined at exit: sessions
  /// and listeners that use it must be gone by then (no static ones).
  boost::asio::io_context* io_context = nullptr;
  TlsOptions tls;
};

/// The transports a program can dial and listen with, by URL scheme. A
/// plain value: copy defaults(), add or replace schemes, and pass it to the
/// dial()/listen() overloads that take a registry.
class TransportRegistry {
 public:
  /// An empty registry.
  TransportRegistry() = default;
  /// A registry holding the built-in transports: tcp, unix, tls, ws, wss.
  static TransportRegistry defaults();

  /// Registers (or replaces) the transport for `scheme` (lower case letters,
  /// digits, '+', '-', '.'); throws Error(errc::invalid_argument) otherwise.
  /// Implementing a transport: see src/io/transport.hpp (not a stable API yet).
  void add(std::string scheme, std::shared_ptr<detail::io::transport> transport);
  /// Removes `scheme`; false if it was not registered.
  bool remove(std::string_view scheme);
  /// The transport for `scheme`, or null.
  std::shared_ptr<detail::io::transport> find(std::string_view scheme) const;
  /// Registered schemes, sorted.
  std::vector<std::string> schemes() const;

 private:
  std::map<std::string, std::shared_ptr<detail::io::transport>, std::less<>> transports_;
};

/// One libchan session over one connection.
///
/// Move-only. Destroying a Session closes it: keep it as long as you use the
/// channels it carries. Member functions are safe to call from any thread;
/// blocking ones (accept_receiver) fail with errc::invalid_argument when
/// called on one of the session's io threads, where they would deadlock.
class Session {
 public:
  Session() noexcept;
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;
  ~Session();

  /// Opens a new channel to the peer (Go's NewSendChannel); the peer gets
  /// its receiving end from accept_receiver(). Throws std::system_error
  /// (errc::disconnected once the session ended).
  template <class T = Value>
  Sender<T> open_sender() {
    return detail::restore_sender<T>(open_value_sender(nullptr));
  }
  template <class T = Value>
  Sender<T> open_sender(std::error_code& ec) {
    return detail::restore_sender<T>(open_value_sender(&ec));
  }

  /// Waits for the next channel the peer opened (Go's WaitReceiveChannel).
  /// At the end of the session returns an empty Receiver (operator bool
  /// false) without an error; error() tells why the session ended.
  template <class T = Value>
  Receiver<T> accept_receiver() {
    return detail::restore_receiver<T>(accept_value_receiver(std::nullopt, nullptr));
  }
  template <class T = Value>
  Receiver<T> accept_receiver(std::error_code& ec) {
    return detail::restore_receiver<T>(accept_value_receiver(std::nullopt, &ec));
  }
  /// As accept_receiver(ec), failing with errc::timed_out after `timeout`.
  template <class T = Value, class Rep, class Period>
  Receiver<T> accept_receiver_for(std::chrono::duration<Rep, Period> timeout, std::error_code& ec) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
    return detail::restore_receiver<T>(accept_value_receiver(deadline, &ec));
  }

  /// Starts an accept_receiver(); the handler gets
  /// `void(std::error_code, Receiver<T>)`, through its associated executor.
  template <class T = Value, class CompletionToken>
  auto async_accept_receiver(CompletionToken&& token) {
    return detail::initiate<Receiver<T>>(token, [this](auto handler) {
      auto shared =
          std::make_shared<detail::tracked_handler<decltype(handler)>>(std::move(handler));
      start_accept_receiver([shared](std::error_code ec, Receiver<Value> r) {
        shared->post(ec, detail::restore_receiver<T>(std::move(r)));
      });
    });
  }

  /// Ends the session gracefully: sends not yet accepted fail with
  /// errc::disconnected; messages already accepted are still written (also
  /// those waiting for the peer's window), the channels we send on get their
  /// clean end, then GOAWAY ends the rest and the connection closes. A peer
  /// that keeps its windows shut holds this up for keepalive_timeout at most;
  /// closed() turns true once done. Never blocks; idempotent.
  void close() noexcept;
  /// True once the session ended (closed here, by the peer, or lost).
  bool closed() const;
  /// Why the session ended: empty while it runs; errc::disconnected after a
  /// close by either side or a lost connection; the cause otherwise.
  std::error_code error() const;
  /// The same in words, e.g. "connection closed by peer".
  std::string error_message() const;
  /// Calls `fn(error())` once when the session ends (at once if it has).
  /// Runs on the session's io thread: it must not block.
  void on_close(std::function<void(std::error_code)> fn);

  /// The peer's address as a URL, e.g. "tcp://127.0.0.1:40000".
  std::string peer_address() const;
  std::string local_address() const;
  /// The peer's authenticated identity (TLS); empty for other transports.
  std::string peer_identity() const;
  /// The wire dialect in use; Dialect::detect until the peer's first stream.
  Dialect dialect() const;

  /// False if moved from or default-constructed.
  explicit operator bool() const noexcept { return impl_ != nullptr; }

  /// For the library: wraps a running session.
  explicit Session(std::shared_ptr<detail::io::session_handle> impl) noexcept;

 private:
  // A null `ec` throws, with the cause in what().
  Sender<Value> open_value_sender(std::error_code* ec);
  Receiver<Value> accept_value_receiver(
      std::optional<std::chrono::steady_clock::time_point> deadline, std::error_code* ec);
  void start_accept_receiver(std::function<void(std::error_code, Receiver<Value>)> done);

  std::shared_ptr<detail::io::session_handle> impl_;
};

/// Accepts sessions on a local address.
///
/// Move-only; destroying it closes it. Sessions already accepted and not
/// taken are closed with it. Safe to use from any thread.
class Listener {
 public:
  Listener() noexcept;
  Listener(Listener&&) noexcept;
  Listener& operator=(Listener&&) noexcept;
  ~Listener();

  /// Waits for the next session. After close() returns an empty Session
  /// (operator bool false) without an error. Throws std::system_error.
  Session accept();
  Session accept(std::error_code& ec);
  /// As accept(ec), failing with errc::timed_out after `timeout`.
  template <class Rep, class Period>
  Session accept_for(std::chrono::duration<Rep, Period> timeout, std::error_code& ec) {
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
    return accept_session(deadline, &ec);
  }
  /// Starts an accept(); the handler gets `void(std::error_code, Session)`.
  template <class CompletionToken>
  auto async_accept(CompletionToken&& token) {
    return detail::initiate<Session>(token, [this](auto handler) {
      auto shared =
          std::make_shared<detail::tracked_handler<decltype(handler)>>(std::move(handler));
      start_accept([shared](std::error_code ec, Session s) { shared->post(ec, std::move(s)); });
    });
  }

  /// Stops listening; pending accepts return the end. Idempotent.
  void close() noexcept;
  /// Calls `fn(ec, detail)` for each connection refused before it became a
  /// session: a TLS or WebSocket handshake that failed or timed out (a
  /// client without the required certificate, say). `detail` names the
  /// peer and the cause. Runs on an io thread: keep it short, and do not
  /// call on_refused() from it. Replaces an earlier `fn`; connections
  /// refused before it was set go unreported; no call runs once close()
  /// has returned.
  void on_refused(std::function<void(std::error_code, const std::string&)> fn);
  /// Where it listens, as a URL to dial: "tcp://127.0.0.1:43567" when
  /// listening on port 0, "unix:///run/app.sock", "unix://@name".
  std::string local_address() const;

  explicit operator bool() const noexcept { return impl_ != nullptr; }

  /// For the library.
  explicit Listener(std::shared_ptr<detail::io::listener_core> impl) noexcept;

 private:
  Session accept_session(std::optional<std::chrono::steady_clock::time_point> deadline,
                         std::error_code* ec);
  void start_accept(std::function<void(std::error_code, Session)> done);

  std::shared_ptr<detail::io::listener_core> impl_;
};

/// Connects to `url` ("tcp://host:port", "unix:///path", "unix://@name") and
/// starts a session as the dialing side. Blocks until connected; throws
/// Error/std::system_error with the URL and cause in what() (e.g.
/// std::errc::connection_refused, errc::timed_out, errc::invalid_argument for
/// a bad URL or when called on an io thread).
Session dial(std::string_view url, const SessionOptions& options = {});
Session dial(std::string_view url, const SessionOptions& options, std::error_code& ec);
Session dial(const TransportRegistry& registry, std::string_view url,
             const SessionOptions& options = {});
Session dial(const TransportRegistry& registry, std::string_view url, const SessionOptions& options,
             std::error_code& ec);

namespace detail::io {
/// The non-template part of async_dial; `done` runs on an io thread.
void start_dial(const TransportRegistry& registry, std::string_view url,
                const SessionOptions& options, std::function<void(std::error_code, Session)> done);
const TransportRegistry& default_registry();
}  // namespace detail::io

/// Starts a dial(); the handler gets `void(std::error_code, Session)`.
template <class CompletionToken>
auto async_dial(const TransportRegistry& registry, std::string_view url,
                const SessionOptions& options, CompletionToken&& token) {
  // Copies: the initiation may run after this call returns (deferred tokens).
  return detail::initiate<Session>(token, [registry, url = std::string(url),
                                           options](auto handler) {
    auto shared = std::make_shared<detail::tracked_handler<decltype(handler)>>(std::move(handler));
    detail::io::start_dial(registry, url, options, [shared](std::error_code ec, Session s) {
      shared->post(ec, std::move(s));
    });
  });
}
template <class CompletionToken>
auto async_dial(std::string_view url, const SessionOptions& options, CompletionToken&& token) {
  return async_dial(detail::io::default_registry(), url, options,
                    std::forward<CompletionToken>(token));
}

/// Listens on `url` (port 0 picks a free port: see Listener::local_address).
/// Throws like dial(), e.g. std::errc::address_in_use.
Listener listen(std::string_view url, const SessionOptions& options = {});
Listener listen(std::string_view url, const SessionOptions& options, std::error_code& ec);
Listener listen(const TransportRegistry& registry, std::string_view url,
                const SessionOptions& options = {});
Listener listen(const TransportRegistry& registry, std::string_view url,
                const SessionOptions& options, std::error_code& ec);

}  // namespace libchan
