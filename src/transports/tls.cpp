// tls://host:port: TCP (see tcp_socket.hpp) with TLS on top, through Asio's
// ssl::stream. A dial completes after the handshake; a listener handshakes
// each accepted connection in async_handshake. Options come from
// SessionOptions::tls (see tls_context.hpp).
#include <openssl/err.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <vector>

#include "io/errors.hpp"
#include "libchan/session.hpp"
#include "transports/tcp_socket.hpp"
#include "transports/tls_context.hpp"

namespace libchan::detail::io {
namespace {

using tcp_socket::tcp;
using stream_type = boost::asio::ssl::stream<tcp::socket>;
constexpr std::string_view scheme = "tls";

// Gathered writes up to this size are copied into one buffer first: Asio's
// ssl::stream writes one buffer at a time, so small pieces would each
// become a record and a system call of their own.
constexpr std::size_t coalesce_limit = 64 * 1024;

// A TLS 1.3 client learns that the server refused its certificate only
// after its own handshake is done (the alert comes instead of the session
// ticket, a round trip later). A server that sends no tickets leaves
// nothing to wait for: the dial goes on after twice the handshake's time,
// within these bounds. A later refusal still ends the session, on its first
// read.
constexpr std::chrono::milliseconds min_verdict_wait{200}, max_verdict_wait{1000};

// Everything the asynchronous operations touch; each holds a reference, so
// that destroying the connection (which closes the socket) never pulls the
// stream from under an operation that has yet to complete.
struct tls_state : std::enable_shared_from_this<tls_state> {
  tls_state(tls::context_ptr c, tcp::socket s)
      : ctx(std::move(c)), stream(std::move(s), *ctx), timer(stream.get_executor()) {}

  tls::context_ptr ctx;  // before `stream`, which refers to it
  stream_type stream;
  boost::asio::steady_timer timer;  // the handshake's deadline
  std::chrono::steady_clock::time_point started;
  bool handshaking = false, timed_out = false;
  bool writing = false;  // a write or close_notify is on its way out
  std::string identity;
  // TLS 1.3 client with a certificate request: see min_verdict_wait.
  bool certificate_requested = false, awaiting_verdict = false, ticket_seen = false;
  std::vector<char> early;  // application data read while waiting
  std::size_t early_pos = 0;
  std::vector<char> scratch;  // coalesced gathered writes
  std::vector<boost::asio::const_buffer> gather;
};

int state_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

tls_state* state_of(SSL* ssl) {
  return static_cast<tls_state*>(SSL_get_ex_data(ssl, state_index()));
}

void close_socket(tls_state& st) {
  boost::system::error_code ignored;
  st.stream.lowest_layer().close(ignored);
}

// Marks the peer's close_notify as received for the length of `send`, so
// that OpenSSL's shutdown sends ours and returns at once instead of reading
// for the peer's; reading goes on afterwards.
template <class Send>
void send_close_notify(tls_state& st, Send&& send) {
  SSL* ssl = st.stream.native_handle();
  const int before = SSL_get_shutdown(ssl);
  SSL_set_shutdown(ssl, before | SSL_RECEIVED_SHUTDOWN);
  send();
  SSL_set_shutdown(ssl, SSL_get_shutdown(ssl) & ~(SSL_RECEIVED_SHUTDOWN & ~before));
}

// On close, a close_notify if none went out yet (the peer ended first, or
// the session gave up): best effort, without waiting for room in the socket.
void say_goodbye(tls_state& st) {
  SSL* ssl = st.stream.native_handle();
  auto& socket = st.stream.lowest_layer();
  if (!socket.is_open() || st.writing || !SSL_is_init_finished(ssl) ||
      (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
    return;
  boost::system::error_code ec;
  socket.non_blocking(true, ec);
  if (ec) return;
  send_close_notify(st, [&] { st.stream.shutdown(ec); });
  ERR_clear_error();
}

class tls_connection final : public connection {
 public:
  tls_connection(tls::context_ptr ctx, tcp::socket socket)
      : st_(std::make_shared<tls_state>(std::move(ctx), std::move(socket))) {
    boost::system::error_code ec;
    local_ = tcp_socket::url(scheme, st_->stream.lowest_layer().local_endpoint(ec));
    peer_ = tcp_socket::url(scheme, st_->stream.lowest_layer().remote_endpoint(ec));
    SSL* ssl = st_->stream.native_handle();
    SSL_set_ex_data(ssl, state_index(), st_.get());
    // Asio frees OpenSSL's buffers after every record; keeping them saves an
    // allocation per record on busy connections.
    SSL_clear_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  }
  ~tls_connection() override { close(); }

  SSL* ssl() { return st_->stream.native_handle(); }

  executor get_executor() override { return st_->stream.get_executor(); }

  void async_read_some(boost::asio::mutable_buffer buffer, io_handler done) override {
    auto& st = *st_;
    if (st.early_pos < st.early.size()) {
      std::size_t n = std::min(buffer.size(), st.early.size() - st.early_pos);
      std::memcpy(buffer.data(), st.early.data() + st.early_pos, n);
      st.early_pos += n;
      if (st.early_pos == st.early.size()) {
        st.early.clear();
        st.early.shrink_to_fit();
        st.early_pos = 0;
      }
      boost::asio::post(get_executor(), [done = std::move(done), n] { done({}, n); });
      return;
    }
    st.stream.async_read_some(buffer, [st = st_, done = std::move(done)](
                                          const boost::system::error_code& ec, std::size_t n) {
      // The interface reports end of stream as zero bytes without an error.
      if (ec == boost::asio::error::eof || ec == boost::asio::ssl::error::stream_truncated)
        return done({}, 0);
      done(tls::io_error(ec), n);
    });
  }

  void async_write(std::span<const boost::asio::const_buffer> buffers, io_handler done) override {
    auto& st = *st_;
    st.writing = true;
    auto finish = [st = st_, done = std::move(done)](const boost::system::error_code& ec,
                                                     std::size_t n) {
      st->writing = false;
      done(tls::io_error(ec), n);
    };
    if (buffers.size() == 1) {
      boost::asio::async_write(st.stream, boost::asio::buffer(buffers.front()), std::move(finish));
      return;
    }
    std::size_t total = boost::asio::buffer_size(buffers);
    if (total <= coalesce_limit) {
      st.scratch.resize(total);  // keeps its capacity from write to write
      boost::asio::buffer_copy(boost::asio::buffer(st.scratch), buffers);
      boost::asio::async_write(st.stream, boost::asio::buffer(st.scratch), std::move(finish));
      return;
    }
    st.gather.assign(buffers.begin(), buffers.end());
    boost::asio::async_write(st.stream, st.gather, std::move(finish));
  }

  // Sends close_notify without waiting for the peer's: Asio's shutdown
  // would read for it, beside the read the session keeps going. (The
  // operation runs OpenSSL before it returns: only the socket write is left.)
  void async_shutdown(std::function<void(std::error_code)> done) override {
    st_->writing = true;
    send_close_notify(*st_, [&] {
      st_->stream.async_shutdown(
          [st = st_, done = std::move(done)](const boost::system::error_code& ec) {
            st->writing = false;
            done(tls::io_error(ec));
          });
    });
  }

  void close() noexcept override {
    st_->timer.cancel();
    say_goodbye(*st_);
    close_socket(*st_);
  }

  std::string local_address() const override { return local_; }
  std::string peer_address() const override { return peer_; }
  std::string peer_identity() const override { return st_->identity; }

  // The listening side's handshake.
  void async_handshake(steady_time deadline, handshake_handler done) override {
    start_deadline(deadline);
    st_->stream.async_handshake(
        boost::asio::ssl::stream_base::server,
        [st = st_, peer = peer_, done = std::move(done)](const boost::system::error_code& ec) {
          done(finish_handshake(*st, ec, peer));
        });
  }

  // The dialing side's handshake, and the server's verdict on our
  // certificate where TLS 1.3 makes us wait for it. `url` is the one
  // dialed, for messages.
  void async_client_handshake(steady_time deadline, std::string url, handshake_handler done) {
    start_deadline(deadline);
    st_->stream.async_handshake(boost::asio::ssl::stream_base::client,
                                [st = st_, peer = std::move(url),
                                 done = std::move(done)](const boost::system::error_code& ec) {
                                  if (!ec &&
                                      SSL_version(st->stream.native_handle()) == TLS1_3_VERSION &&
                                      st->certificate_requested)
                                    return await_verdict(st, peer, std::move(done));
                                  done(finish_handshake(*st, ec, peer));
                                });
  }

 private:
  void start_deadline(steady_time deadline) {
    st_->handshaking = true;
    st_->started = std::chrono::steady_clock::now();
    st_->timer.expires_at(deadline);
    st_->timer.async_wait([st = st_](boost::system::error_code ec) {
      if (ec || !st->handshaking) return;
      st->timed_out = true;
      close_socket(*st);
    });
  }

  static failure finish_handshake(tls_state& st, const boost::system::error_code& ec,
                                  const std::string& peer) {
    st.handshaking = false;
    st.timer.cancel();
    if (ec || st.timed_out)
      return tls::handshake_failure(ec, st.stream.native_handle(), peer, st.timed_out);
    st.identity = tls::peer_identity(st.stream.native_handle());
    return {};
  }

  // Reads until the server's first ticket (accepted), an alert (refused), or
  // application data (accepted; kept for the first read).
  static void await_verdict(const std::shared_ptr<tls_state>& st, std::string peer,
                            handshake_handler done) {
    auto now = std::chrono::steady_clock::now();
    auto grace = now + std::clamp<std::chrono::steady_clock::duration>(
                           2 * (now - st->started), min_verdict_wait, max_verdict_wait);
    if (grace < st->timer.expiry()) {
      st->timer.expires_at(grace);
      st->timer.async_wait([st](boost::system::error_code ec) {
        if (ec || !st->awaiting_verdict) return;
        boost::system::error_code ignored;
        st->stream.lowest_layer().cancel(ignored);  // no news is good news
      });
    }
    st->awaiting_verdict = true;
    st->early.resize(16 * 1024);
    st->stream.async_read_some(
        boost::asio::buffer(st->early), [st, peer = std::move(peer), done = std::move(done)](
                                            const boost::system::error_code& ec, std::size_t n) {
          st->awaiting_verdict = false;
          st->early.resize(ec ? 0 : n);
          bool settled = !st->timed_out && ec == boost::asio::error::operation_aborted;
          done(finish_handshake(*st, settled ? boost::system::error_code() : ec, peer));
        });
  }

  std::shared_ptr<tls_state> st_;
  std::string local_, peer_;
};

// OpenSSL callbacks of client contexts, for the TLS 1.3 verdict.
int on_certificate_request(SSL* ssl, void*) {
  if (auto* st = state_of(ssl)) st->certificate_requested = true;
  return 1;
}

int on_session_ticket(SSL* ssl, SSL_SESSION*) {
  auto* st = state_of(ssl);
  if (st && st->awaiting_verdict && !st->ticket_seen) {
    st->ticket_seen = true;
    // The read under way goes on reading after the ticket: stop it once
    // this step of it is over.
    boost::asio::post(st->stream.get_executor(), [weak = st->weak_from_this()] {
      auto alive = weak.lock();
      boost::system::error_code ignored;
      if (alive && alive->awaiting_verdict) alive->stream.lowest_layer().cancel(ignored);
    });
  }
  return 0;  // the session is not kept
}

class tls_transport final : public transport {
 public:
  void async_dial(const executor& ex, const std::string& address, const SessionOptions& options,
                  steady_time deadline, dial_handler done) override {
    tcp_socket::host_port target;
    failure err;
    tls::context_ptr ctx;
    if (tcp_socket::parse_dial_target(scheme, address, target, err))
      ctx = tls::make_context(options.tls, tls::side::client, err);
    if (!ctx) {
      boost::asio::post(ex, [done = std::move(done), err] { done(err, nullptr); });
      return;
    }
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_cert_cb(native, on_certificate_request, nullptr);
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL);
    SSL_CTX_sess_set_new_cb(native, on_session_ticket);

    TlsOptions names;  // what prepare_client reads, without the PEM texts
    names.verify_peer = options.tls.verify_peer;
    names.server_name = options.tls.server_name;
    auto url = std::string(scheme) + "://" + address;
    tcp_socket::async_connect(ex, target, url, deadline,
                              [ctx, names, host = target.host, url, deadline,
                               done = std::move(done)](failure f, tcp::socket socket) mutable {
                                if (f) return done(std::move(f), nullptr);
                                handshake(std::move(ctx), std::move(socket), names, host,
                                          std::move(url), deadline, std::move(done));
                              });
  }

  static void handshake(tls::context_ptr ctx, tcp::socket socket, const TlsOptions& names,
                        const std::string& host, std::string url, steady_time deadline,
                        dial_handler done) {
    // Shared: std::function needs a copyable handler.
    auto held = std::make_shared<std::unique_ptr<tls_connection>>(
        std::make_unique<tls_connection>(std::move(ctx), std::move(socket)));
    auto& conn = **held;
    if (auto err = tls::prepare_client(conn.ssl(), names, host)) return done(err, nullptr);
    conn.async_client_handshake(deadline, std::move(url), [held, done](failure f) {
      if (f) return done(std::move(f), nullptr);
      done({}, std::move(*held));
    });
  }

  std::unique_ptr<listener> listen(const executor& ex, const std::string& address,
                                   const SessionOptions& options, failure& err) override {
    auto ctx = tls::make_context(options.tls, tls::side::server, err);
    if (!ctx) return nullptr;
    // One ticket is enough: it tells a TLS 1.3 client that its certificate
    // was accepted (see verdict_grace).
    SSL_CTX_set_num_tickets(ctx->native_handle(), 1);
    return tcp_socket::listen(
        ex, scheme, address,
        [ctx](tcp::socket s) { return std::make_unique<tls_connection>(ctx, std::move(s)); }, err);
  }
};

}  // namespace

std::shared_ptr<transport> make_tls_transport() { return std::make_shared<tls_transport>(); }

}  // namespace libchan::detail::io
