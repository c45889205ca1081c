// tls://host:port: TCP (see tcp_socket.hpp) with TLS on top. OpenSSL runs
// in memory (tls_engine.hpp) and this file moves its records to and from
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
#include <boost/asio/write.hpp>
#include <cstring>
#include <vector>

#include "io/errors.hpp"
#include "libchan/session.hpp"
#include "transports/socket_connection.hpp"
#include "transports/tcp_socket.hpp"
#include "transports/tls_context.hpp"
#include "transports/tls_engine.hpp"

namespace libchan::detail::io {
namespace {

using boost::system::error_code;
using tcp_socket::tcp;
constexpr std::string_view scheme = "tls";

// Gathered writes up to this size are copied into one buffer first, so
// that small pieces share a record instead of each making one.
constexpr std::size_t coalesce_limit = 64 * 1024;

// Socket reads start at this size and double, while they come back full,
// up to the largest: an idle connection keeps a small buffer.
constexpr std::size_t first_read = 32 * 1024, largest_read = 256 * 1024;

// A TLS 1.3 client learns that the server refused its certificate only
// after its own handshake is done (the alert comes instead of the session
// ticket, a round trip later). A server that sends no tickets leaves
// nothing to wait for: the dial goes on after twice the handshake's time,
// within these bounds. A later refusal still ends the session, on its first
// read.
constexpr std::chrono::milliseconds min_verdict_wait{200}, max_verdict_wait{1000};

using write_done = std::function<void(const error_code&)>;

// What runs once a write in flight is over; held by that write alone, so
// that an io_context destroyed with the write pending frees it (and what it
// holds) instead of keeping it in a cycle through the connection.
struct flight_end {
  write_done then;
};

// Everything the asynchronous operations touch; each holds a reference, so
// that destroying the connection (which closes the socket) never pulls
// state from under an operation that has yet to complete.
struct tls_state : std::enable_shared_from_this<tls_state> {
  tls_state(tls::context_ptr c, tcp::socket s)
      : ctx(std::move(c)),
        socket(std::move(s)),
        tls(ctx->native_handle()),
        timer(socket.get_executor()) {}

  tls::context_ptr ctx;
  tcp::socket socket;
  tls::engine tls;
  boost::asio::steady_timer timer;  // the handshake's deadline
  std::chrono::steady_clock::time_point started;
  bool handshaking = false, timed_out = false;
  std::string identity;
  std::size_t read_size = first_read;
  // Output: `flight` is being written; the engine's output() gathers what
  // goes after it. `flying` is set while a write is in flight.
  std::vector<char> flight;
  std::weak_ptr<flight_end> flying;
  error_code write_error;     // the socket refused a write: every later one fails
  std::vector<char> scratch;  // coalesced gathered writes
  // TLS 1.3 client with a certificate request: see min_verdict_wait.
  bool certificate_requested = false, ticket_seen = false;
  std::vector<char> early;  // application data read while waiting
  std::size_t early_pos = 0;
};

using state_ptr = std::shared_ptr<tls_state>;

int state_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

tls_state* state_of(SSL* ssl) {
  return static_cast<tls_state*>(SSL_get_ex_data(ssl, state_index()));
}

void close_socket(tls_state& st) {
  boost::system::error_code ignored;
  st.socket.close(ignored);
}

void start_flight(const state_ptr& st, write_done then) {
  std::swap(st->flight, st->tls.output());
  st->tls.output().clear();
  auto end = std::make_shared<flight_end>();
  end->then = std::move(then);
  st->flying = end;
  boost::asio::async_write(st->socket, boost::asio::buffer(st->flight),
                           whole_rest{st->flight.size()},
                           [st, end](const error_code& ec, std::size_t) {
                             st->flight.clear();
                             if (!ec && !st->tls.output().empty())
                               return start_flight(st, std::move(end->then));
                             st->flying.reset();
                             if (ec) st->write_error = ec;
                             if (end->then) end->then(ec);
                           });
}

// Writes the engine's output, behind any write in flight; then `then`
// (which may be empty) runs once every byte queued so far is written.
void send_output(const state_ptr& st, write_done then) {
  if (auto end = st->flying.lock()) {
    if (!then) return;  // the write in flight goes on with what was added
    if (!end->then) {
      end->then = std::move(then);
    } else {
      end->then = [first = std::move(end->then), second = std::move(then)](const error_code& ec) {
        first(ec);
        second(ec);
      };
    }
    return;
  }
  if (st->write_error || st->tls.output().empty()) {
    if (then)
      boost::asio::post(st->socket.get_executor(),
                        [then = std::move(then), ec = st->write_error] { then(ec); });
    return;
  }
  start_flight(st, std::move(then));
}

// Where a socket read goes, growing while reads come back full.
boost::asio::mutable_buffer read_space(tls_state& st) {
  auto space = st.tls.input_space(st.read_size);
  return boost::asio::buffer(space.data(), space.size());
}

void note_read(tls_state& st, std::size_t asked, std::size_t got) {
  st.tls.input_added(got);
  if (got == asked) st.read_size = std::min(2 * st.read_size, largest_read);
}

// Decrypts into `buffer` all that the input holds, reading the socket
// first when it holds no whole record. `done` runs at once `in_completion`
// (of a socket read), else it is posted (the call that started the read).
void read_records(const state_ptr& st, boost::asio::mutable_buffer buffer,
                  connection::io_handler done, bool in_completion) {
  auto o = st->tls.read({static_cast<char*>(buffer.data()), buffer.size()});
  if (!st->tls.output().empty()) send_output(st, {});  // e.g. an answer to a key update
  if (!o.want_input) {
    // The peer's close_notify is the end of the stream: zero bytes.
    std::error_code ec = o.ec == boost::asio::error::eof ? std::error_code() : tls::io_error(o.ec);
    if (in_completion) return done(ec, o.bytes);
    boost::asio::post(st->socket.get_executor(),
                      [done = std::move(done), ec, n = o.bytes] { done(ec, n); });
    return;
  }
  auto space = read_space(*st);
  st->socket.async_read_some(space, [st, buffer, done = std::move(done), asked = space.size()](
                                        const error_code& ec, std::size_t n) mutable {
    // A peer that closes without close_notify ends the stream all the same,
    // as over TCP.
    if (ec == boost::asio::error::eof) return done({}, 0);
    if (ec) return done(to_std(ec), 0);
    note_read(*st, asked, n);
    read_records(st, buffer, std::move(done), true);
  });
}

// On close, a close_notify if none went out yet (the peer ended first, or
// the session gave up): best effort, without waiting for room in the socket.
void say_goodbye(tls_state& st) {
  if (!st.socket.is_open() || !st.flying.expired() || st.write_error || !st.tls.handshake_done() ||
      (SSL_get_shutdown(st.tls.native()) & SSL_SENT_SHUTDOWN))
    return;
  st.tls.close_notify();
  auto& out = st.tls.output();
  boost::system::error_code ec;
  st.socket.non_blocking(true, ec);
  if (!ec && !out.empty()) st.socket.write_some(boost::asio::buffer(out), ec);
  out.clear();
}

class tls_connection final : public connection {
 public:
  tls_connection(tls::context_ptr ctx, tcp::socket socket)
      : st_(std::make_shared<tls_state>(std::move(ctx), std::move(socket))) {
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
    auto& st = *st_;
    const std::size_t total = boost::asio::buffer_size(buffers);
    tls::engine::outcome o;
    if (buffers.size() > 1 && total <= coalesce_limit) {
      st.scratch.resize(total);  // keeps its capacity from write to write
      boost::asio::buffer_copy(boost::asio::buffer(st.scratch), buffers);
      o = st.tls.write(st.scratch);
    } else {
      for (const auto& b : buffers) {
        o = st.tls.write({static_cast<const char*>(b.data()), b.size()});
        if (o.ec) break;
      }
    }
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
    st_->tls.close_notify();
    send_output(st_, [done = std::move(done)](const error_code& ec) { done(tls::io_error(ec)); });
  }

  void close() noexcept override {
    st_->timer.cancel();
    if (ssl()) say_goodbye(*st_);
    close_socket(*st_);
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
    st->socket.async_read_some(read_space(*st),
                               [st, role, peer = std::move(peer), done = std::move(done)](
                                   error_code ec, std::size_t n) mutable {
                                 if (ec == boost::asio::error::eof)
                                   ec = boost::asio::ssl::error::stream_truncated;
                                 if (ec) return done(finish_handshake(*st, ec, peer));
                                 st->tls.input_added(n);
                                 handshake_step(st, role, std::move(peer), std::move(done));
                               });
  }

  static failure finish_handshake(tls_state& st, const boost::system::error_code& ec,
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
    auto o = st->tls.read(st->early);
    if (!st->tls.output().empty()) send_output(st, {});
    if (o.bytes || o.ec || st->ticket_seen) {
      st->early.resize(o.bytes);
      return done(finish_handshake(*st, o.ec, peer));
    }
    st->socket.async_read_some(
        read_space(*st), [st, peer, done = std::move(done)](error_code ec, std::size_t n) mutable {
          if (ec == boost::asio::error::operation_aborted && !st->timed_out) {
            st->early.clear();
            return done(finish_handshake(*st, {}, peer));  // the grace period is over
          }
          if (ec == boost::asio::error::eof) ec = boost::asio::ssl::error::stream_truncated;
          if (ec) {
            st->early.clear();
            return done(finish_handshake(*st, ec, peer));
          }
          st->tls.input_added(n);
          verdict_step(st, peer, std::move(done));
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
