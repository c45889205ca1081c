#include "transports/tls_socket.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "io/errors.hpp"
#include "transports/socket_connection.hpp"

namespace libchan::detail::io::tls {

// Gathered writes up to this size are copied into one buffer first, so
// that small pieces share a record instead of each making one.
constexpr std::size_t coalesce_limit = 64 * 1024;

void close_socket(socket_state& st) {
  boost::system::error_code ignored;
  st.socket.close(ignored);
}

namespace {

// Under st.lock.
void start_flight(const state_ptr& st, write_done then) {
  std::swap(st->flight, st->tls.output());
  st->tls.output().clear();
  auto end = std::make_shared<flight_end>();
  end->then = std::move(then);
  st->flying = end;
  boost::asio::async_write(st->socket, boost::asio::buffer(st->flight),
                           whole_rest{st->flight.size()},
                           [st, end](const error_code& ec, std::size_t) {
                             write_done next;
                             {
                               std::lock_guard lock(st->lock);
                               st->flight.clear();
                               if (!ec && !st->tls.output().empty())
                                 return start_flight(st, std::move(end->then));
                               st->flying.reset();
                               if (ec) st->write_error = ec;
                               next = std::move(end->then);
                             }
                             if (next) next(ec);
                           });
}

}  // namespace

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
boost::asio::mutable_buffer read_space(socket_state& st) {
  auto space = st.tls.input_space(st.read_size);
  return boost::asio::buffer(space.data(), space.size());
}

// What a socket read brought; takes the lock.
void add_input(socket_state& st, std::size_t got, std::size_t asked) {
  std::lock_guard lock(st.lock);
  st.tls.input_added(got);
  if (got == asked) st.read_size = std::min(2 * st.read_size, largest_read);
}

// Decrypts into `buffer` all that the input holds, reading the socket
// first when it holds no whole record. `done` runs at once `in_completion`
// (of a socket read), else it is posted (the call that started the read).
void read_records(const state_ptr& st, boost::asio::mutable_buffer buffer,
                  connection::io_handler done, bool in_completion) {
  std::unique_lock lock(st->lock);
  auto o = st->tls.read({static_cast<char*>(buffer.data()), buffer.size()});
  if (!st->tls.output().empty()) send_output(st, {});  // e.g. an answer to a key update
  if (!o.want_input) {
    lock.unlock();
    // The peer's close_notify is the end of the stream: zero bytes.
    std::error_code ec = o.ec == boost::asio::error::eof ? std::error_code() : tls::io_error(o.ec);
    if (in_completion) return done(ec, o.bytes);
    boost::asio::post(st->socket.get_executor(),
                      [done = std::move(done), ec, n = o.bytes] { done(ec, n); });
    return;
  }
  auto space = read_space(*st);
  lock.unlock();
  st->socket.async_read_some(space, [st, buffer, done = std::move(done), asked = space.size()](
                                        const error_code& ec, std::size_t n) mutable {
    // A peer that closes without close_notify ends the stream all the same,
    // as over TCP.
    if (ec == boost::asio::error::eof) return done({}, 0);
    if (ec) return done(to_std(ec), 0);
    add_input(*st, n, asked);
    read_records(st, buffer, std::move(done), true);
  });
}

// On close, a close_notify if none went out yet (the peer ended first, or
// the session gave up): best effort, without waiting for room in the socket.
void say_goodbye(socket_state& st) {
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

// Encrypts a gathered write into the engine's output. Small pieces are
// copied together first, so that they share a record.
tls::engine::outcome encrypt(socket_state& st, std::span<const boost::asio::const_buffer> buffers) {
  const std::size_t total = boost::asio::buffer_size(buffers);
  if (buffers.size() > 1 && total <= coalesce_limit) {
    st.scratch.resize(total);  // keeps its capacity from write to write
    boost::asio::buffer_copy(boost::asio::buffer(st.scratch), buffers);
    return st.tls.write(st.scratch);
  }
  tls::engine::outcome o;
  for (const auto& b : buffers) {
    o = st.tls.write({static_cast<const char*>(b.data()), b.size()});
    if (o.ec) break;
  }
  return o;
}

}  // namespace libchan::detail::io::tls
