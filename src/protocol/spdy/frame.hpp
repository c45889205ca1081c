// SPDY/3 frames as values, and pure functions that pack them.
//
// Frames produced by the unpacker (frame_unpack.hpp) are views: their spans
// point into the caller's input buffer and are valid only as long as it is.
// Header blocks are carried compressed; header_block.hpp inflates them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "spdy/protocol.hpp"

namespace libchan::detail::spdy {

struct data_frame {
  stream_id stream = 0;
  std::uint8_t flags = 0;  ///< flags::fin
  bytes_view payload;

  bool fin() const noexcept { return (flags & flags::fin) != 0; }
};

struct syn_stream_frame {
  stream_id stream = 0;
  stream_id associated = 0;   ///< 0: none
  std::uint8_t priority = 0;  ///< 0 (highest) .. 7
  std::uint8_t slot = 0;      ///< CREDENTIAL slot, 0: none
  std::uint8_t flags = 0;     ///< flags::fin, flags::unidirectional
  bytes_view header_block;    ///< compressed

  bool fin() const noexcept { return (flags & flags::fin) != 0; }
  bool unidirectional() const noexcept { return (flags & flags::unidirectional) != 0; }
};

struct syn_reply_frame {
  stream_id stream = 0;
  std::uint8_t flags = 0;  ///< flags::fin
  bytes_view header_block;

  bool fin() const noexcept { return (flags & flags::fin) != 0; }
};

struct rst_stream_frame {
  stream_id stream = 0;
  rst_status status = rst_status::protocol_error;
};

struct settings_entry {
  std::uint32_t id = 0;    ///< a setting_id, 24 bits on the wire
  std::uint8_t flags = 0;  ///< flags::persist_value, flags::persisted
  std::uint32_t value = 0;

  friend bool operator==(const settings_entry&, const settings_entry&) = default;
};

struct settings_frame {
  std::uint8_t flags = 0;  ///< flags::clear_settings
  std::vector<settings_entry> entries;

  /// The value of `id`, or nullptr. With duplicates, the first wins.
  const settings_entry* find(setting_id id) const noexcept;
};

struct ping_frame {
  std::uint32_t id = 0;
};

struct goaway_frame {
  stream_id last_good = 0;
  goaway_status status = goaway_status::ok;
};

struct headers_frame {
  stream_id stream = 0;
  std::uint8_t flags = 0;  ///< flags::fin
  bytes_view header_block;

  bool fin() const noexcept { return (flags & flags::fin) != 0; }
};

/// stream 0 addresses the session window (SPDY/3.1).
struct window_update_frame {
  stream_id stream = 0;
  std::uint32_t delta = 0;  ///< 1 .. 2^31-1
};

/// Client certificates for a slot. libchan ignores them; parsed so that a
/// malformed one is noticed. One larger than max_control_payload is skipped
/// unread instead: then only `length` is set. Packing ignores `length`.
struct credential_frame {
  std::uint16_t slot = 0;
  bytes_view proof;
  bytes_view certificates;   ///< the rest: (32-bit length, certificate)*
  std::uint32_t length = 0;  ///< the payload length received
};

/// A control frame of a type SPDY/3 does not define. The spec says to ignore
/// it; the unpacker skips its payload without buffering it, so `payload` is
/// empty there and `length` says how much was skipped. When packing, the
/// payload is written and `length` is ignored.
struct unknown_control_frame {
  std::uint16_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t length = 0;
  bytes_view payload;
};

using frame = std::variant<data_frame, syn_stream_frame, syn_reply_frame, rst_stream_frame,
                           settings_frame, ping_frame, goaway_frame, headers_frame,
                           window_update_frame, credential_frame, unknown_control_frame>;

/// "DATA", "SYN_STREAM", ... for a frame value.
std::string frame_name(const frame& f);

// Packing: each function appends one complete frame to `out`. Values that
// do not fit their wire field (ids above 2^31-1, payloads above 2^24-1, a
// priority above 7, a WINDOW_UPDATE delta of 0) are programming errors and
// throw libchan::Error(errc::invalid_argument). Reserved bits go out as 0.

/// The 8-byte DATA header alone, for writers that send the payload from
/// their own buffer (scatter-gather, no copy).
void pack_data_header(std::vector<std::uint8_t>& out, stream_id stream, std::uint8_t flags,
                      std::uint32_t length);
void pack(std::vector<std::uint8_t>& out, const data_frame& f);
void pack(std::vector<std::uint8_t>& out, const syn_stream_frame& f);
void pack(std::vector<std::uint8_t>& out, const syn_reply_frame& f);
void pack(std::vector<std::uint8_t>& out, const rst_stream_frame& f);
void pack(std::vector<std::uint8_t>& out, const settings_frame& f);
void pack(std::vector<std::uint8_t>& out, const ping_frame& f);
void pack(std::vector<std::uint8_t>& out, const goaway_frame& f);
void pack(std::vector<std::uint8_t>& out, const headers_frame& f);
void pack(std::vector<std::uint8_t>& out, const window_update_frame& f);
void pack(std::vector<std::uint8_t>& out, const credential_frame& f);
void pack(std::vector<std::uint8_t>& out, const unknown_control_frame& f);
/// Any frame.
void pack_frame(std::vector<std::uint8_t>& out, const frame& f);

}  // namespace libchan::detail::spdy
