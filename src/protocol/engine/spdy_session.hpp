// The SPDY/3 session engine: streams, ids, headers, half-close, resets,
// GOAWAY, PING and flow control. Sans-IO, nghttp2-shaped: bytes go in
// through receive(), bytes come out through pending_output() and
// consume_output(), events come up through a handler, time comes from the
// driver through tick(). No sockets, no clock, no threads; not thread-safe.
//
// It knows libchan only as far as the stream headers go (libchan-ref,
// libchan-parent-ref and their dialect forms); what a stream *means* (a
// channel, a byte stream, which direction) is the libchan layer's business.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "spdy/frame.hpp"
#include "spdy/protocol.hpp"

namespace libchan::detail::engine {

using spdy::stream_id;
using steady_time = std::chrono::steady_clock::time_point;

/// Which end of the connection we are: the dialer is the SPDY client (odd
/// stream ids), the acceptor the server (even ids).
enum class role { dialer, acceptor };

/// The two wire dialects of libchan (see docs/protocol.md).
enum class dialect {
  v0_1,    ///< Go libchan v0.1.0 and jschan
  v0_2,    ///< Go libchan master
  detect,  ///< acceptor only: decided by the peer's first SYN_STREAM
};

/// Every limit has a named default; breaking one is an error naming it.
struct limits {
  /// Largest frame payload accepted (SPDY's 24-bit length allows 16 MiB - 1).
  std::uint32_t max_frame_size = 0xFFFFFF;
  /// Largest DATA frame we send.
  std::uint32_t max_send_frame = 64u << 10;
  /// Compressed and decompressed size of one header block.
  std::size_t max_header_block = 16u << 10;
  std::size_t max_header_block_decompressed = 64u << 10;
  /// Streams open at once, each direction counted together.
  std::size_t max_concurrent_streams = 10000;
  /// Bytes received but not yet consumed (consume()) across all streams;
  /// past it receive() stops taking input (connection-level backpressure).
  std::size_t max_unconsumed = 8u << 20;
  /// Our receive window per stream, announced in SETTINGS.
  std::uint32_t initial_window = 1u << 20;
  /// Our SPDY/3.1 session receive window (all streams together), announced
  /// with WINDOW_UPDATE on stream 0 once the peer does flow control. Never
  /// below SPDY/3.1's initial 64 KiB: a window cannot be shrunk by update.
  std::uint32_t session_window = 8u << 20;
  /// Bytes queued for output before submit_data() refuses more. Data that
  /// waits for the peer's window (peers that do flow control) has a budget
  /// of its own: this much for all streams together, and a sixteenth of it
  /// per stream, so that a stalled stream does not hold up the others.
  std::size_t max_output_queue = 4u << 20;
};

struct options {
  role side = role::dialer;
  dialect wire = dialect::v0_2;
  struct limits limits;
  /// PING after this much silence from the peer; zero disables keepalive.
  std::chrono::milliseconds keepalive_interval{0};
  /// Declare the peer dead if nothing arrives this long after our PING.
  std::chrono::milliseconds keepalive_timeout{10000};
  /// More entries for the SETTINGS frame sent first thing, e.g. private ids
  /// announcing an extension (peers ignore ids they do not know).
  std::vector<spdy::settings_entry> extra_settings;
};

/// The libchan identity of a stream, read from or written to its headers.
struct stream_info {
  stream_id id = 0;
  std::uint64_t ref = 0;
  /// Absent: a top-level channel (v0.2), or a byte stream (v0.1).
  /// In v0.1, top-level channels carry parent 0: parent_ref == 0.
  std::optional<std::uint64_t> parent_ref;
  stream_id associated = 0;
  bool remote = false;  ///< opened by the peer
  /// Opened by the peer with FLAG_UNIDIRECTIONAL (jschan's server push): we
  /// may not send on it, and no SYN_REPLY is sent.
  bool unidirectional = false;
};

/// Events, called from inside receive(), tick() and the submit functions.
/// A handler may call back into the engine (submit, consume, reset), but
/// must not destroy it.
class handler {
 public:
  virtual ~handler() = default;
  /// The peer opened a stream (SYN_STREAM accepted, SYN_REPLY queued).
  virtual void on_stream_open(const stream_info& info) = 0;
  /// Payload of a DATA frame. The bytes count as unconsumed until consume().
  virtual void on_data(stream_id id, std::span<const std::uint8_t> data) = 0;
  /// The peer will send no more on this stream (FIN).
  virtual void on_remote_close(stream_id id) = 0;
  /// The stream is gone: reset by the peer or by us (locally true), or both
  /// sides closed. `ec` is empty for a clean close.
  virtual void on_stream_closed(stream_id id, std::error_code ec, const std::string& reason) = 0;
  /// Queued output fell below half of max_output_queue after being full.
  virtual void on_output_drained() {}
  /// A stream whose data was refused (or partly taken) because the data
  /// waiting for the peer's window had no room may take more now: its
  /// window grew, or waiting data went out. May be called spuriously.
  virtual void on_stream_ready(stream_id /*id*/) {}
  /// The peer's SETTINGS, every entry as received (unknown ids included),
  /// after the engine applied the ones it knows.
  virtual void on_settings(const spdy::settings_frame& /*settings*/) {}
  /// The peer broke the protocol on a stream the handler does not know (or
  /// no longer knows), or a stream it opened was refused; the engine answered
  /// with RST_STREAM (or v0.1's "status: 400") and the session goes on. For
  /// logging; `reason` names the rule or limit.
  virtual void on_peer_error(stream_id /*id*/, std::error_code /*ec*/,
                             const std::string& /*reason*/) {}
  /// The session failed (protocol error, dead peer) or the peer sent GOAWAY.
  /// After this, want_read() and want_write() tell when the driver is done.
  virtual void on_session_end(std::error_code ec, const std::string& reason) = 0;
};

class spdy_session {
 public:
  spdy_session(const options& opts, handler& events);
  ~spdy_session();
  spdy_session(const spdy_session&) = delete;
  spdy_session& operator=(const spdy_session&) = delete;

  /// Feeds bytes from the connection. Returns how many were taken; fewer
  /// than offered when unconsumed data reached max_unconsumed (offer the
  /// rest again after consume()) or after a fatal error.
  std::size_t receive(std::span<const std::uint8_t> input);
  /// The connection reached end of file.
  void receive_eof();

  /// True while unconsumed data, or hold_input(), holds receive() back:
  /// offer the rest of the input again after consume() or hold_input(false).
  bool receive_paused() const noexcept;
  /// Stops receive() after the frame it is in (the upper layer holds too
  /// much of what frames brought), or lets it go on.
  void hold_input(bool on) noexcept;

  /// Bytes to write next (a prefix of all queued output); stays valid until
  /// consume_output(), whatever else is called meanwhile.
  std::span<const std::uint8_t> pending_output() const noexcept;
  void consume_output(std::size_t n);
  /// Takes the bytes of pending_output() into `out` and consumes them,
  /// without copying where it can (`out`'s old storage is reused). Returns
  /// how many; 0 when nothing is pending.
  std::size_t take_output(std::vector<std::uint8_t>& out);

  /// False once the session ended and no more input matters.
  bool want_read() const noexcept;
  /// True while output is pending, or the session is open.
  bool want_write() const noexcept;

  /// Opens a stream with the given libchan identity (headers written in the
  /// session's dialect). Returns the new stream id, or an error
  /// (limit_exceeded: max_concurrent_streams; closed: the session ended).
  stream_id open_stream(std::uint64_t ref, std::optional<std::uint64_t> parent_ref,
                        stream_id associated, std::error_code& ec);
  /// Queues data on a stream, split into DATA frames of at most
  /// max_send_frame bytes, honouring the peer's window when the peer does
  /// flow control (and its session window, once it announced one). `fin`
  /// half-closes our side after the data.
  /// Fails with limit_exceeded when there is no room: the output queue is
  /// full (retry after on_output_drained()), or the data would wait for the
  /// peer's window and the stream, or all streams together, hold their
  /// share of waiting data already (retry after on_stream_ready()).
  /// last_refusal_waits() tells these from a call that can never succeed.
  ///
  /// A non-zero `mark` (in every submit call) tags the first byte of
  /// `data`: take_marks() tells where in the output it went.
  void submit_data(stream_id id, std::span<const std::uint8_t> data, bool fin, std::error_code& ec,
                   std::uint64_t mark = 0);
  /// As submit_data(), but when the data would have to wait and may not,
  /// takes what fits the peer's window now. Returns the bytes taken: all of
  /// them (and the FIN) without an error, fewer with limit_exceeded.
  std::size_t submit_some(stream_id id, std::span<const std::uint8_t> data, bool fin,
                          std::error_code& ec, std::uint64_t mark = 0);
  /// Queues one whole DATA frame (v0.1 messages must be a single frame).
  void submit_frame(stream_id id, std::span<const std::uint8_t> data, bool fin, std::error_code& ec,
                    std::uint64_t mark = 0);
  /// Where marked data went: the offset, in all the output the session
  /// ever produced, of the DATA frame carrying its first byte. Data that
  /// was dropped (its stream closed first) is reported at offset 0.
  struct output_mark {
    std::uint64_t mark = 0;
    std::uint64_t offset = 0;
  };
  /// Appends the marks reported since the last call to `out`.
  void take_marks(std::vector<output_mark>& out);
  /// The offset of pending_output()'s first byte in all the output.
  std::uint64_t output_offset() const noexcept;
  /// The offset just past all queued output: it moves whenever output is
  /// queued.
  std::uint64_t output_end() const noexcept;
  /// The upper layer has taken `n` bytes of this stream's data: frees
  /// receive budget and, for peers that do flow control, the window.
  /// Also valid after on_stream_closed(): bytes still held (or dropped) by
  /// the upper layer count toward max_unconsumed until consumed.
  void consume(stream_id id, std::size_t n);
  /// True when the last submit_* call was refused, or took less, for lack
  /// of room: it may succeed later.
  bool last_refusal_waits() const noexcept;
  /// True while data (or a FIN) that submit_* accepted waits in a stream
  /// queue for the peer's window.
  bool data_waiting() const noexcept;
  /// Resets a stream with a reason (sent as RST_STREAM status).
  void reset_stream(stream_id id, spdy::rst_status status);
  /// Sends GOAWAY and stops opening streams; the session ends when the
  /// output is written.
  void shutdown();

  /// Drives keepalive. Call with the current time whenever convenient and
  /// at least at next_deadline().
  void tick(steady_time now);
  std::optional<steady_time> next_deadline() const noexcept;

  /// The dialect in use; dialect::detect until the peer's first stream.
  dialect wire_dialect() const noexcept;
  /// True once the peer sent SETTINGS or WINDOW_UPDATE.
  bool peer_does_flow_control() const noexcept;
  /// True once the peer sent WINDOW_UPDATE on stream 0 (SPDY/3.1): from
  /// then on both session windows are enforced.
  bool peer_does_session_flow_control() const noexcept;
  /// For tests and diagnostics: bytes received and not yet consumed, all
  /// streams together (max_unconsumed bounds it), and streams open now.
  std::uint64_t unconsumed_bytes() const noexcept;
  std::size_t open_streams() const noexcept;
  /// Why the last failing call (open_stream, submit_*) failed, naming the
  /// limit involved, e.g. "output queue full (max_output_queue = N bytes)".
  const std::string& last_error() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace libchan::detail::engine
