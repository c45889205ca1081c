// SPDY/3 constants, status codes and the classified failure every decoder
// in this folder reports. Internal to the protocol engine.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

#include "libchan/error.hpp"

namespace libchan::detail::spdy {

using stream_id = std::uint32_t;
/// Borrowed bytes; frames returned by the unpacker point into the input.
using bytes_view = std::span<const std::uint8_t>;

inline constexpr std::uint16_t protocol_version = 3;
inline constexpr std::size_t frame_header_size = 8;
/// The length field of every frame is 24 bits.
inline constexpr std::uint32_t max_frame_length = 0xFFFFFF;
/// Stream ids, associated ids, last-good ids and window deltas are 31 bits.
inline constexpr std::uint32_t max_stream_id = 0x7FFFFFFF;

/// Control frame types (SPDY/3 section 2.6). DATA frames have no type field.
enum class frame_type : std::uint16_t {
  syn_stream = 1,
  syn_reply = 2,
  rst_stream = 3,
  settings = 4,
  ping = 6,
  goaway = 7,
  headers = 8,
  window_update = 9,
  credential = 10,
};

/// True for the types above. Type 5 (SPDY/2's NOOP) is unknown in SPDY/3.
constexpr bool is_known_control_type(std::uint16_t type) noexcept {
  return (type >= 1 && type <= 10) && type != 5;
}

/// Frame flag bits. Which ones apply depends on the frame type.
namespace flags {
inline constexpr std::uint8_t fin = 0x01;             ///< DATA, SYN_STREAM, SYN_REPLY, HEADERS
inline constexpr std::uint8_t unidirectional = 0x02;  ///< SYN_STREAM
/// DATA: SPDY/2's per-frame compression. SPDY/3 dropped it; named so that a
/// session can recognise (and refuse) a peer that still sets it.
inline constexpr std::uint8_t compress = 0x02;
inline constexpr std::uint8_t clear_settings = 0x01;  ///< SETTINGS frame
inline constexpr std::uint8_t persist_value = 0x01;   ///< one SETTINGS entry
inline constexpr std::uint8_t persisted = 0x02;       ///< one SETTINGS entry
}  // namespace flags

/// RST_STREAM status codes. Received values outside 1..11 are passed through.
enum class rst_status : std::uint32_t {
  protocol_error = 1,
  invalid_stream = 2,
  refused_stream = 3,
  unsupported_version = 4,
  cancel = 5,
  internal_error = 6,
  flow_control_error = 7,
  stream_in_use = 8,
  stream_already_closed = 9,
  invalid_credentials = 10,
  frame_too_large = 11,
};

/// GOAWAY status codes. Received unknown values are passed through.
enum class goaway_status : std::uint32_t {
  ok = 0,
  protocol_error = 1,
  internal_error = 2,
};

/// SETTINGS ids. Unknown ids are kept as received.
enum class setting_id : std::uint32_t {
  upload_bandwidth = 1,
  download_bandwidth = 2,
  round_trip_time = 3,
  max_concurrent_streams = 4,
  current_cwnd = 5,
  download_retrans_rate = 6,
  initial_window_size = 7,
  client_certificate_vector_size = 8,
};

/// "SYN_STREAM", "DATA", ... or "control type N" for unknown types.
std::string frame_type_name(std::uint16_t type);
/// "PROTOCOL_ERROR", ... or "status N".
std::string rst_status_name(rst_status status);
std::string goaway_status_name(goaway_status status);

/// Who has to pay for a failure: the whole session (answer GOAWAY and close)
/// or one stream (answer RST_STREAM on it, the session goes on).
enum class failure_scope : std::uint8_t { stream, session };

/// A classified decoding failure, in the way nghttp2 separates fatal errors
/// from stream errors. `message` is for people and names any limit involved.
struct failure {
  errc code = errc::protocol_error;  ///< protocol_error or limit_exceeded
  failure_scope scope = failure_scope::session;
  stream_id stream = 0;  ///< the stream to reset when scope == stream
  rst_status rst = rst_status::protocol_error;
  goaway_status goaway = goaway_status::protocol_error;
  std::string message;

  bool fatal() const noexcept { return scope == failure_scope::session; }
  std::error_code error_code() const noexcept { return make_error_code(code); }
};

/// A session-fatal failure (GOAWAY PROTOCOL_ERROR).
failure session_failure(errc code, std::string message);
/// A failure confined to `stream` (RST_STREAM with `status`).
failure stream_failure(errc code, stream_id stream, rst_status status, std::string message);

}  // namespace libchan::detail::spdy
