// TLS records between the engine (tls_engine.hpp) and a TCP socket, for
// tls:// connections (tls.cpp): the state the asynchronous operations of a
// connection share, writes in flight, and reads that decrypt everything a
// socket read brought. Functions that touch the engine expect st.lock held,
// except where they say otherwise.
#pragma once

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "io/transport.hpp"
#include "transports/tls_context.hpp"
#include "transports/tls_engine.hpp"

namespace libchan::detail::io::tls {

using tcp = boost::asio::ip::tcp;
using boost::system::error_code;

// Socket reads start at this size and double, while they come back full,
// up to the largest: an idle connection keeps a small buffer.
inline constexpr std::size_t first_read = 32 * 1024, largest_read = 256 * 1024;

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
struct socket_state : std::enable_shared_from_this<socket_state> {
  socket_state(tls::context_ptr c, tcp::socket s)
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
  // The engine and the output, shared by the io thread and a thread that
  // writes at once (write_now). Never held while a completion runs.
  std::mutex lock;
  std::size_t read_size = first_read;
  // Output: `flight` is being written; the engine's output() gathers what
  // goes after it. `flying` is set while a write is in flight.
  std::vector<char> flight;
  std::weak_ptr<flight_end> flying;
  error_code write_error;     // the socket refused a write: every later one fails
  std::vector<char> scratch;  // coalesced gathered writes
  // TLS 1.3 client with a certificate request: see min_verdict_wait (tls.cpp).
  bool certificate_requested = false, ticket_seen = false;
  std::vector<char> early;  // application data read while waiting
  std::size_t early_pos = 0;
};

using state_ptr = std::shared_ptr<socket_state>;

/// Closes the socket; pending operations complete with an error. Any lock.
void close_socket(socket_state& st);

/// Writes the engine's output behind any write in flight; `then` (may be
/// empty) runs once every byte queued so far is written, never inside
/// this call.
void send_output(const state_ptr& st, write_done then);

/// Where the next socket read goes.
boost::asio::mutable_buffer read_space(socket_state& st);

/// Records what a socket read brought (`asked`: its size). Takes the lock.
void add_input(socket_state& st, std::size_t got, std::size_t asked = 0);

/// Decrypts into `buffer` all that the input holds, reading the socket
/// first when it holds no whole record. `done` runs at once `in_completion`
/// (of a socket read), else it is posted. Takes the lock.
void read_records(const state_ptr& st, boost::asio::mutable_buffer buffer,
                  connection::io_handler done, bool in_completion);

/// On close, a close_notify if none went out yet (the peer ended first, or
/// the session gave up): best effort, without waiting for room.
void say_goodbye(socket_state& st);

/// Encrypts a gathered write into the engine's output.
engine::outcome encrypt(socket_state& st, std::span<const boost::asio::const_buffer> buffers);

}  // namespace libchan::detail::io::tls
