// Incremental SPDY/3 frame unpacking: pure, no I/O, no copies of payloads.
//
// unpack_frame() looks at the start of a byte span and answers "need more
// bytes", "here is a frame (a view into the span) and how many bytes it
// used", or a classified failure. frame_parser wraps it with the little state
// a byte stream needs: it discards the payloads of frames that are skipped
// unread (unknown control types, DATA beyond the limit) as they arrive, and
// stays failed after a fatal error.
#pragma once

#include <cstddef>
#include <cstdint>

#include "spdy/frame.hpp"

namespace libchan::detail::spdy {

/// What the unpacker accepts. Every limit has a named default; input beyond
/// one fails with errc::limit_exceeded and a message naming the limit.
struct frame_limits {
  /// The largest DATA payload accepted. Default: what the 24-bit length field
  /// can hold, because libchan v0.1 peers send each message, up to the
  /// codec's 16 MiB, as one DATA frame. Larger frames fail their stream
  /// (RST_STREAM FRAME_TOO_LARGE) and are skipped, not buffered.
  static constexpr std::uint32_t default_max_data_payload = max_frame_length;
  /// The largest control frame payload accepted: bounds the buffering of
  /// SYN_STREAM/SYN_REPLY/HEADERS header blocks and SETTINGS entries. A
  /// larger one is fatal, since skipping a header block would leave the
  /// session's zlib context out of step.
  static constexpr std::uint32_t default_max_control_payload = 64 * 1024;

  std::uint32_t max_data_payload = default_max_data_payload;
  std::uint32_t max_control_payload = default_max_control_payload;
  /// SPDY/3 leaves reserved bits (the top bit of 31-bit ids and deltas, the
  /// unused bits after SYN_STREAM's priority) undefined; by default they are
  /// ignored on receipt. When set, a reserved bit that is 1 is fatal.
  bool reject_reserved_bits = false;
};

enum class unpack_status : std::uint8_t {
  need_more,    ///< the span holds no complete frame yet
  frame_ready,  ///< `value` holds a frame
  error,        ///< `error` says what and how bad
};

struct unpack_result {
  unpack_status status = unpack_status::need_more;
  /// Bytes of the input used by this result; never more than its size.
  std::size_t consumed = 0;
  /// unpack_frame() only: bytes following `consumed` to discard unread (the
  /// payload of a skipped frame; they may not have arrived yet).
  /// frame_parser does this itself and always reports 0.
  std::size_t skip = 0;
  /// need_more: how many bytes the next call's input should hold to make
  /// progress (the frame header, then the whole frame); while frame_parser is
  /// skipping, the bytes still to discard.
  std::size_t wanted = 0;
  frame value;    ///< status == frame_ready
  failure error;  ///< status == error
};

/// Unpacks the frame at the start of `in`. Spans in the result point into `in`.
/// Stream-scoped failures consume their frame (or its header plus `skip`), so
/// the caller resets the stream and goes on; session failures consume nothing.
unpack_result unpack_frame(bytes_view in, const frame_limits& limits = {});

/// The stateful wrapper a session uses on its input byte stream.
/// Single-threaded; holds no buffer and no pointer into the input.
class frame_parser {
 public:
  enum class state : std::uint8_t {
    frame_start,  ///< the next byte is the start of a frame
    skipping,     ///< discarding the rest of a skipped frame's payload
    failed,       ///< a fatal error was reported; it is reported again
  };

  explicit frame_parser(frame_limits limits = {}) : limits_(limits) {}

  /// The next frame, need_more, or failure from `in`. `consumed` includes
  /// discarded bytes and is never more than in.size(); drop that many bytes
  /// from the input before the next call. After a fatal failure, every call
  /// returns it again and consumes nothing.
  unpack_result parse(bytes_view in);

  state current_state() const noexcept { return state_; }
  /// Bytes still to discard while skipping.
  std::size_t skip_remaining() const noexcept { return skip_left_; }
  const frame_limits& limits() const noexcept { return limits_; }
  void set_limits(const frame_limits& limits) noexcept { limits_ = limits; }

 private:
  frame_limits limits_;
  state state_ = state::frame_start;
  std::size_t skip_left_ = 0;
  failure failure_;
};

}  // namespace libchan::detail::spdy
