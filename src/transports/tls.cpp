// tls://host:port: TCP (see tcp_socket.hpp) with TLS on top. OpenSSL runs
// in memory (tls_engine.hpp); tls_socket.hpp moves its records to and from
// the socket: a read takes whatever the socket has, up to 256 KiB, and
// decrypts all of it for the session at once; a write encrypts all the
// session gives it and sends it in one system call. A dial completes after
// the handshake; a listener handshakes each accepted connection in
// async_handshake. Options come from SessionOptions::tls (tls_context.hpp).
#include <openssl/err.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

#include "io/errors.hpp"
#include "libchan/session.hpp"
#include "transports/tcp_socket.hpp"
#include "transports/tls_context.hpp"
#include "transports/tls_socket.hpp"

namespace libchan::detail::io {
namespace {

using boost::system::error_code;
using tcp_socket::tcp;
using tls::add_input;
using tls::close_socket;
using tls::encrypt;
using tls::read_records;
using tls::read_space;
using tls::say_goodbye;
using tls::send_output;
using tls::socket_state;
using tls::state_ptr;
constexpr std::string_view scheme = "tls";

// A TLS 1.3 client learns that the server refused its certificate only
// after its own handshake is done (the alert comes instead of the session
// ticket, a round trip later). A server that sends no tickets leaves
// nothing to wait for: the dial goes on after twice the handshake's time,
// within these bounds. A later refusal still ends the session, on its first
// read.
constexpr std::chrono::milliseconds min_verdict_wait{200}, max_verdict_wait{1000};

int state_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

socket_state* state_of(SSL* ssl) {
  return static_cast<socket_state*>(SSL_get_ex_data(ssl, state_index()));
}

class tls_connection final : public connection {
 public:
  tls_connection(tls::context_ptr ctx, tcp::socket socket)
      : st_(std::make_shared<socket_state>(std::move(ctx), std::move(socket))) {
    boost::system::error_code ec;
    local_ = tcp_socket::url(scheme, st_->socket.local_endpoint(ec));
    peer_ = tcp_socket::url(scheme, st_->socket.remote_endpoint(ec));
    if (SSL* native = ssl()) SSL_set_ex_data(native, state_index(), st_.get());
  }
  ~tls_connection() override { close(); }

  /// Null when OpenSSL could not make the connection (out of memory).
  SSL* ssl() { return st_->tls.native(); }

  executor get_executor() override { return st_->socket.get_executor(); }

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
    read_records(st_, buffer, std::move(done), false);
  }

  void async_write(std::span<const boost::asio::const_buffer> buffers, io_handler done) override {
    std::lock_guard lock(st_->lock);
    const std::size_t total = boost::asio::buffer_size(buffers);
    auto o = encrypt(*st_, buffers);
    if (o.ec) {
      boost::asio::post(get_executor(),
                        [done = std::move(done), ec = tls::io_error(o.ec)] { done(ec, 0); });
      return;
    }
    send_output(st_, [done = std::move(done), total](const error_code& ec) {
      done(tls::io_error(ec), ec ? 0 : total);
    });
  }

  // Sends close_notify without waiting for the peer's: reading goes on in
  // the session's read.
  void async_shutdown(std::function<void(std::error_code)> done) override {
    std::lock_guard lock(st_->lock);
    st_->tls.close_notify();
    send_output(st_, [done = std::move(done)](const error_code& ec) { done(tls::io_error(ec)); });
  }

  void close() noexcept override {
    st_->timer.cancel();
    if (ssl()) {
      std::lock_guard lock(st_->lock);
      say_goodbye(*st_);
    }
    close_socket(*st_);
  }

  // From a thread about to wait, while the io thread writes nothing: the
  // session's bytes are encrypted and sent at once if the socket has room.
  // All or nothing: what the socket does not take of the records, the io
  // thread sends, before anything written later.
  bool can_write_now() const override { return true; }

  std::size_t write_now(std::span<const boost::asio::const_buffer> buffers, std::span<const int>,
                        std::error_code& ec) override {
    auto& st = *st_;
    std::lock_guard lock(st.lock);
    auto& out = st.tls.output();
    if (!st.flying.expired() || !out.empty() || st.write_error || !st.tls.handshake_done())
      return 0;  // the io thread writes, in order
    if (auto o = encrypt(st, buffers); o.ec) {
      ec = tls::io_error(o.ec);
      return 0;
    }
    std::size_t sent = 0;
    while (sent < out.size()) {
      ssize_t n = ::send(st.socket.native_handle(), out.data() + sent, out.size() - sent,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) ec = {errno, std::system_category()};
      break;
    }
    out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(sent));
    if (ec) return 0;
    if (!out.empty())
      boost::asio::post(st.socket.get_executor(), [st = st_] {
        std::lock_guard relock(st->lock);
        send_output(st, {});
      });
    return boost::asio::buffer_size(buffers);
  }

  std::string local_address() const override { return local_; }
  std::string peer_address() const override { return peer_; }
  std::string peer_identity() const override { return st_->identity; }

  // The listening side's handshake.
  void async_handshake(steady_time deadline, handshake_handler done) override {
    if (!ssl()) return out_of_memory(std::move(done));
    start_deadline(deadline);
    handshake_step(st_, tls::engine::role::server, peer_, std::move(done));
  }

  // The dialing side's handshake, and the server's verdict on our
  // certificate where TLS 1.3 makes us wait for it. `url` is the one
  // dialed, for messages.
  void async_client_handshake(steady_time deadline, std::string url, handshake_handler done) {
    if (!ssl()) return out_of_memory(std::move(done));
    start_deadline(deadline);
    handshake_step(st_, tls::engine::role::client, std::move(url), std::move(done));
  }

 private:
  void out_of_memory(handshake_handler done) {
    failure f{make_error_code(std::errc::not_enough_memory),
              "tls with " + peer_ + ": OpenSSL cannot make a connection"};
    boost::asio::post(get_executor(), [done = std::move(done), f] { done(f); });
  }

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

  static void handshake_step(const state_ptr& st, tls::engine::role role, std::string peer,
                             handshake_handler done) {
    std::unique_lock lock(st->lock);
    auto o = st->tls.handshake(role);
    if (!o.want_input) {
      // Over or failed: what the engine still has to say (our Finished,
      // tickets, or the alert that tells the peer why) goes out first.
      send_output(st, [st, role, failed = o.ec, peer = std::move(peer),
                       done = std::move(done)](const error_code& ec) {
        if (!failed && !ec && role == tls::engine::role::client &&
            SSL_version(st->tls.native()) == TLS1_3_VERSION && st->certificate_requested)
          return await_verdict(st, peer, done);
        done(finish_handshake(*st, failed ? failed : ec, peer));
      });
      return;
    }
    send_output(st, {});
    auto space = read_space(*st);
    lock.unlock();
    st->socket.async_read_some(space, [st, role, peer = std::move(peer), done = std::move(done)](
                                          error_code ec, std::size_t n) mutable {
      if (ec == boost::asio::error::eof) ec = boost::asio::ssl::error::stream_truncated;
      if (ec) return done(finish_handshake(*st, ec, peer));
      add_input(*st, n);
      handshake_step(st, role, std::move(peer), std::move(done));
    });
  }

  static failure finish_handshake(socket_state& st, const boost::system::error_code& ec,
                                  const std::string& peer) {
    st.handshaking = false;
    st.timer.cancel();
    if (ec || st.timed_out) return tls::handshake_failure(ec, st.tls.native(), peer, st.timed_out);
    st.identity = tls::peer_identity(st.tls.native());
    return {};
  }

  // Reads until the server's first ticket (accepted), an alert (refused),
  // application data (accepted; kept for the first read) or the grace
  // period's end (accepted: no news is good news).
  static void await_verdict(const state_ptr& st, const std::string& peer, handshake_handler done) {
    auto now = std::chrono::steady_clock::now();
    auto grace = now + std::clamp<std::chrono::steady_clock::duration>(
                           2 * (now - st->started), min_verdict_wait, max_verdict_wait);
    if (grace < st->timer.expiry()) {
      st->timer.expires_at(grace);
      st->timer.async_wait([st](boost::system::error_code ec) {
        if (ec || !st->handshaking) return;
        boost::system::error_code ignored;
        st->socket.cancel(ignored);
      });
    }
    st->early.resize(16 * 1024);
    verdict_step(st, peer, std::move(done));
  }

  static void verdict_step(const state_ptr& st, const std::string& peer, handshake_handler done) {
    std::unique_lock lock(st->lock);
    auto o = st->tls.read(st->early);
    if (!st->tls.output().empty()) send_output(st, {});
    if (o.bytes || o.ec || st->ticket_seen) {
      lock.unlock();
      st->early.resize(o.bytes);
      return done(finish_handshake(*st, o.ec, peer));
    }
    auto space = read_space(*st);
    lock.unlock();
    st->socket.async_read_some(
        space, [st, peer, done = std::move(done)](error_code ec, std::size_t n) mutable {
          if (ec == boost::asio::error::operation_aborted && !st->timed_out) {
            st->early.clear();
            return done(finish_handshake(*st, {}, peer));  // the grace period is over
          }
          if (ec == boost::asio::error::eof) ec = boost::asio::ssl::error::stream_truncated;
          if (ec) {
            st->early.clear();
            return done(finish_handshake(*st, ec, peer));
          }
          add_input(*st, n);
          verdict_step(st, peer, std::move(done));
        });
  }

  std::shared_ptr<socket_state> st_;
  std::string local_, peer_;
};

// OpenSSL callbacks of client contexts, for the TLS 1.3 verdict.
int on_certificate_request(SSL* ssl, void*) {
  if (auto* st = state_of(ssl)) st->certificate_requested = true;
  return 1;
}

int on_session_ticket(SSL* ssl, SSL_SESSION*) {
  if (auto* st = state_of(ssl)) st->ticket_seen = true;  // see await_verdict
  return 0;                                              // the session is not kept
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
    if (!conn.ssl())
      return done({make_error_code(std::errc::not_enough_memory),
                   url + ": OpenSSL cannot make a connection"},
                  nullptr);
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
