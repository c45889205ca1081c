// The inside of spdy_session, shared by its .cpp files only:
// spdy_session.cpp (lifecycle, keepalive, the public surface),
// session_receive.cpp (input frames) and session_send.cpp (streams we
// open, data we send, flow control).
#pragma once

#include <algorithm>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/output_queue.hpp"
#include "engine/spdy_session.hpp"
#include "spdy/flow_control.hpp"
#include "spdy/frame.hpp"
#include "spdy/frame_unpack.hpp"
#include "spdy/header_block.hpp"

namespace libchan::detail::engine {

using spdy::bytes_view;

/// Where a stream is in its life. A stream that is fully closed is not
/// stored at all: it was reported and removed.
enum class stream_state : std::uint8_t {
  open,                ///< both sides may send
  half_closed_local,   ///< our FIN is queued or sent (or the peer opened it one-way)
  half_closed_remote,  ///< the peer sent FIN; we may still send
  closing,             ///< both FINs decided; ours still waits for the peer's window
};

/// Data that waits for the peer's window (only with peers that do flow
/// control; for the others everything goes straight to the output).
struct pending_data {
  std::vector<std::uint8_t> bytes;
  std::size_t offset = 0;
  bool fin = false;
  bool whole = false;      ///< exactly one DATA frame (a v0.1 message)
  std::uint64_t mark = 0;  ///< reported when the first byte goes out
};

struct stream {
  stream(const stream_info& i, std::int32_t send_initial, std::int32_t receive_initial)
      : info(i), send(send_initial), recv(receive_initial) {}

  stream_info info;
  stream_state state = stream_state::open;
  bool replied = false;  ///< our stream: the peer's SYN_REPLY arrived
  spdy::send_window send;
  spdy::receive_window recv;
  /// Received and not yet consumed; recv.buffered() is the part of it that
  /// was counted against our window (all of it, with flow-controlling peers).
  std::uint64_t unconsumed = 0;
  std::deque<pending_data> queue;
  std::size_t queued = 0;          ///< payload bytes in `queue`
  bool waits_for_session = false;  ///< listed in impl::session_waiters
  bool refused = false;            ///< listed in impl::refused

  bool we_can_send() const noexcept {
    return state == stream_state::open || state == stream_state::half_closed_remote;
  }
  bool peer_can_send() const noexcept {
    return state == stream_state::open || state == stream_state::half_closed_local;
  }
};

struct spdy_session::impl {
  impl(const options& o, handler& h);

  // --- configuration and codecs ---
  options opts;
  handler& events;
  dialect wire;
  std::string control_limit_name;  // before parser: its limits name it
  spdy::frame_parser parser;
  spdy::header_decoder decoder;
  spdy::header_encoder encoder;
  spdy::header_list headers;  // the last inflated block

  // --- streams ---
  std::map<stream_id, stream> streams;
  /// Unconsumed bytes of streams already closed and removed.
  std::unordered_map<stream_id, std::uint64_t> closed_unconsumed;
  std::uint64_t unconsumed = 0;  ///< all streams, open or closed
  stream_id next_id;
  stream_id last_peer_id = 0;       ///< highest id the peer used for a SYN_STREAM
  stream_id last_good_peer_id = 0;  ///< highest peer stream we accepted (GOAWAY)

  // --- output ---
  output_queue out;
  std::size_t pending = 0;  ///< payload bytes waiting in stream queues
  bool output_blocked = false;
  /// Streams refused for lack of room for waiting data, told
  /// on_stream_ready() when room or window may have opened.
  std::vector<stream_id> refused;
  bool refusal_waits = false;  ///< the last submit was refused for room
  /// Marked data that reached the output, in the order it did.
  std::vector<spdy_session::output_mark> marks;
  bool peer_flow_control = false;
  std::int32_t peer_initial_window = spdy::default_initial_window_size;
  std::uint32_t peer_max_streams = std::numeric_limits<std::uint32_t>::max();
  std::string error_text;

  // --- session flow control (SPDY/3.1: WINDOW_UPDATE on stream 0) ---
  /// The peer's session window as it counts it: 64 KiB, minus every DATA
  /// byte we ever sent, plus its updates. Counted from the start (it may go
  /// negative) but enforced only once the peer announced one: a SPDY/3
  /// peer (jschan) never does, and would otherwise stall us at 64 KiB.
  std::int64_t session_send = spdy::default_initial_window_size;
  spdy::receive_window session_recv;
  bool peer_session_flow_control = false;
  /// Streams whose queued data waits for the session window, in order.
  std::deque<stream_id> session_waiters;

  // --- lifecycle ---
  bool failed = false;        ///< fatal error: GOAWAY queued, streams failed
  bool eof = false;           ///< the connection ended
  bool goaway_sent = false;   ///< shutdown() or failure
  bool peer_goaway = false;   ///< the peer sent GOAWAY
  bool end_reported = false;  ///< on_session_end was called
  bool in_receive = false;

  // --- keepalive ---
  bool activity = false;           ///< input seen since the last tick
  std::size_t left_last_time = 0;  ///< bytes offered and not taken by the last receive()
  bool ticked = false;
  steady_time last_activity{};
  std::optional<steady_time> ping_sent;
  std::uint32_t next_ping_id;

  // --- start-up ---
  /// The PING sent right after our SETTINGS. The peer answers it after it
  /// has read our SETTINGS: from then on it knows our windows, and
  /// overrunning them is its error. Before, a peer that cannot tell whether
  /// we do flow control (as we cannot tell of it) may run past them.
  std::uint32_t settings_ping_id = 0;
  bool peer_knows_our_windows = false;
  bool held = false;  ///< see spdy_session::hold_input
  /// Enforce our receive windows (stream or session) on the peer.
  bool enforce_stream_windows() const noexcept {
    return peer_flow_control && peer_knows_our_windows;
  }

  // spdy_session.cpp
  bool session_open() const noexcept;
  bool paused() const noexcept;
  void queue_frame(const spdy::frame& f, bool reply);
  std::uint32_t take_ping_id() noexcept;
  void queue_rst(stream_id id, spdy::rst_status status);
  std::string rename_limits(std::string message) const;
  /// Removes a stream and reports it closed (clean when `ec` is empty).
  void close_stream(stream_id id, std::error_code ec, const std::string& reason);
  /// Closes a stream whose both FINs are out.
  void finish_if_done(stream_id id);
  /// Answers a peer's mistake on one stream with RST_STREAM.
  void stream_error(stream_id id, spdy::rst_status status, errc code, const std::string& reason);
  void fail(errc code, const std::string& reason, spdy::goaway_status status);
  void fail_streams(std::error_code ec, const std::string& reason,
                    const std::function<bool(const stream&)>& which);
  void check_drained();
  void keepalive(steady_time now);

  // session_receive.cpp
  std::size_t receive(bytes_view input);
  void dispatch(const spdy::frame& f);
  void on_failure(const spdy::failure& f);
  bool inflate(bytes_view block, std::optional<spdy::failure>& bad);
  bool peer_parity(stream_id id) const noexcept;
  void on_data(const spdy::data_frame& f);
  void on_syn_stream(const spdy::syn_stream_frame& f);
  void on_syn_reply(const spdy::syn_reply_frame& f);
  void on_rst_stream(const spdy::rst_stream_frame& f);
  void on_settings(const spdy::settings_frame& f);
  void on_ping(const spdy::ping_frame& f);
  void on_goaway(const spdy::goaway_frame& f);
  void on_headers(const spdy::headers_frame& f);
  void on_window_update(const spdy::window_update_frame& f);
  void start_flow_control();
  void on_session_window_update(std::uint32_t delta);
  void remote_fin(stream_id id);

  // session_send.cpp
  stream_id open_stream(std::uint64_t ref, std::optional<std::uint64_t> parent_ref,
                        stream_id associated, std::error_code& ec);
  /// Takes all of `data` or, with `partial` (not for whole frames), what
  /// fits the window now when the rest may not wait; returns bytes taken.
  std::size_t submit(stream_id id, bytes_view data, bool fin, bool whole, bool partial,
                     std::uint64_t mark, std::error_code& ec);
  /// Reports the marks of queued data that will never go out as due now.
  void drop_marks(const stream& s);
  /// Waiting data one stream may hold: a sixteenth of max_output_queue.
  std::size_t stream_queue_cap() const noexcept;
  /// Appends `rest` to the stream's last waiting item when it may share it.
  bool joins_last_pending(stream& s, bytes_view rest, bool fin, bool whole, std::uint64_t mark);
  /// Waiting items that small messages join grow to at most this size.
  static constexpr std::size_t max_joined_pending = 64u << 10;
  void wake_refused();
  /// Queues what the windows allow of `data` as DATA frames; returns how
  /// much. `mark`: the data starts a message that names descriptors.
  std::size_t emit(stream& s, bytes_view data, bool fin, bool whole, bool& fin_done,
                   std::uint64_t mark = 0);
  /// Queues a DATA frame; `joinable`: the payload may instead be added to
  /// the stream's frame queued last (see output_queue::extend_data).
  void write_data(stream& s, bytes_view payload, bool fin, bool joinable = false);
  /// Our DATA frames' largest payload (limits.max_send_frame, in range).
  std::size_t max_send_frame() const noexcept {
    return std::clamp<std::size_t>(opts.limits.max_send_frame, 1, spdy::max_frame_length);
  }
  void flush(stream_id id);
  void flush_all();
  void consume(stream_id id, std::size_t n);
  /// Bytes that may go out on `s` now, within its window and the session's.
  std::uint32_t send_allowance(const stream& s) const noexcept;
  void wait_for_session(stream& s);
  /// `n` received bytes counted against our session window were consumed
  /// (or dropped): return them with WINDOW_UPDATE on stream 0 when due.
  void release_session(std::uint64_t n);
  void reset(stream_id id, spdy::rst_status status);
  void refuse_call(std::error_code& ec, errc code, std::string why);
};

}  // namespace libchan::detail::engine
