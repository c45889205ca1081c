// SPDY/3.1-style flow-control bookkeeping: pure arithmetic, no I/O.
//
// A session keeps one send_window and one receive_window per stream, and
// one of each for the whole session (stream 0 in WINDOW_UPDATE). Windows are
// signed: lowering SETTINGS_INITIAL_WINDOW_SIZE can push an open stream's
// send window below zero, and it must then wait for WINDOW_UPDATEs.
#pragma once

#include <cstdint>
#include <optional>

#include "spdy/protocol.hpp"

namespace libchan::detail::spdy {

/// SPDY/3 2.6.8: every stream window, and the SPDY/3.1 session window, starts here.
inline constexpr std::int32_t default_initial_window_size = 64 * 1024;
/// No window may exceed 2^31-1.
inline constexpr std::int64_t max_window_size = 0x7FFFFFFF;

/// Checks a received SETTINGS_INITIAL_WINDOW_SIZE value (32 bits on the
/// wire). Nothing on success; a fatal protocol error above 2^31-1.
std::optional<failure> check_initial_window_setting(std::uint32_t value);

/// How much we may still send on a stream (or the session).
class send_window {
 public:
  explicit send_window(std::int32_t initial = default_initial_window_size) : size_(initial) {}

  /// The window; negative after a SETTINGS decrease that outran our sending.
  std::int64_t size() const noexcept { return size_; }
  /// Bytes that may be sent now: the window, or 0 when it is not positive.
  std::uint32_t available() const noexcept {
    return size_ > 0 ? static_cast<std::uint32_t>(size_) : 0u;
  }

  /// Records `n` bytes of DATA payload sent. Precondition: n <= available();
  /// throws libchan::Error(errc::invalid_argument) otherwise.
  void consume(std::uint32_t n);
  /// Records `n` bytes sent while the peer's flow control is unknown: the
  /// window may go negative, and then waits for the peer's updates.
  void consume_unchecked(std::uint32_t n) noexcept { size_ -= n; }

  /// Applies a received WINDOW_UPDATE. Returns false, leaving the window as
  /// it was, if the window would exceed 2^31-1: the peer's error
  /// (FLOW_CONTROL_ERROR on the stream, PROTOCOL_ERROR for the session).
  [[nodiscard]] bool grow(std::uint32_t delta) noexcept;

  /// Applies a change of SETTINGS_INITIAL_WINDOW_SIZE to an open stream:
  /// the window moves by (new - old) and may go negative. Returns false,
  /// leaving the window as it was, if it would exceed 2^31-1.
  [[nodiscard]] bool apply_initial_change(std::int32_t old_initial,
                                          std::int32_t new_initial) noexcept;

 private:
  std::int64_t size_;
};

/// How much the peer may still send us, and when to tell it to send more.
///
/// Update policy: bytes count toward a WINDOW_UPDATE once the application
/// has consumed them (not when they arrive, so a slow reader keeps the
/// window closed and our buffering bounded); an update is due once half
/// the window has been consumed, and then carries everything consumed.
class receive_window {
 public:
  explicit receive_window(std::int32_t size = default_initial_window_size)
      : size_(size), available_(size) {}

  /// The window size we announced (initial window or our own SETTINGS).
  std::int32_t size() const noexcept { return size_; }
  /// What the peer may send before it has to wait; negative after we lowered size.
  std::int64_t available() const noexcept { return available_; }
  /// Bytes received and not yet consumed by the application.
  std::uint64_t buffered() const noexcept { return buffered_; }
  /// Bytes consumed and not yet returned to the peer in a WINDOW_UPDATE.
  std::uint64_t unannounced() const noexcept { return unannounced_; }

  /// Records `n` bytes of DATA payload received. Returns false if that
  /// overruns the window (the peer's FLOW_CONTROL_ERROR); nothing changes
  /// then, unless `tolerate_overrun`: the bytes are counted anyway (the
  /// window goes negative) and given back as they are consumed, for a peer
  /// that could not know the window yet.
  [[nodiscard]] bool receive(std::uint32_t n, bool tolerate_overrun = false) noexcept;

  /// Records that the application consumed `n` received bytes.
  /// Precondition: n <= buffered(); throws libchan::Error(errc::invalid_argument).
  void consume(std::uint32_t n);

  /// The delta to send in a WINDOW_UPDATE now, or 0 when none is due. A
  /// nonzero result is considered sent: the window reopens by it.
  std::uint32_t take_update() noexcept;

  /// Our own SETTINGS_INITIAL_WINDOW_SIZE change: the window moves by
  /// (new - size()), possibly below zero. Precondition: 0 <= new_size.
  void resize(std::int32_t new_size);

 private:
  std::int32_t size_;
  std::int64_t available_;
  std::uint64_t buffered_ = 0;
  std::uint64_t unannounced_ = 0;
};

}  // namespace libchan::detail::spdy
