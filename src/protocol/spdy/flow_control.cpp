#include "spdy/flow_control.hpp"

#include <algorithm>
#include <string>

namespace libchan::detail::spdy {

std::optional<failure> check_initial_window_setting(std::uint32_t value) {
  if (value > max_window_size) {
    return session_failure(errc::protocol_error, "spdy: SETTINGS_INITIAL_WINDOW_SIZE " +
                                                     std::to_string(value) + " is above 2^31-1");
  }
  return std::nullopt;
}

void send_window::consume(std::uint32_t n) {
  if (n > available()) {
    throw Error(errc::invalid_argument, "spdy: sending " + std::to_string(n) +
                                            " bytes with a send window of " +
                                            std::to_string(size_));
  }
  size_ -= n;
}

bool send_window::grow(std::uint32_t delta) noexcept {
  if (size_ + delta > max_window_size) return false;
  size_ += delta;
  return true;
}

bool send_window::apply_initial_change(std::int32_t old_initial,
                                       std::int32_t new_initial) noexcept {
  const std::int64_t next = size_ + (std::int64_t{new_initial} - old_initial);
  if (next > max_window_size) return false;
  size_ = next;
  return true;
}

bool receive_window::receive(std::uint32_t n, bool tolerate_overrun) noexcept {
  if (n > available_ && !tolerate_overrun) return false;
  available_ -= n;
  buffered_ += n;
  return true;
}

void receive_window::consume(std::uint32_t n) {
  if (n > buffered_) {
    throw Error(errc::invalid_argument, "spdy: consuming " + std::to_string(n) + " bytes of " +
                                            std::to_string(buffered_) + " received");
  }
  buffered_ -= n;
  unannounced_ += n;
}

std::uint32_t receive_window::take_update() noexcept {
  // Half the window, and at least one byte so that a tiny window still moves.
  const std::uint64_t threshold = std::max<std::int64_t>(1, size_ / 2);
  if (unannounced_ < threshold) return 0;
  // Never announce past 2^31-1 (possible only after resize() shrank size_).
  const std::int64_t room = max_window_size - available_;
  if (room <= 0) return 0;
  const auto delta = static_cast<std::uint32_t>(
      std::min<std::uint64_t>(unannounced_, static_cast<std::uint64_t>(room)));
  unannounced_ -= delta;
  available_ += delta;
  return delta;
}

void receive_window::resize(std::int32_t new_size) {
  if (new_size < 0) {
    throw Error(errc::invalid_argument,
                "spdy: negative receive window " + std::to_string(new_size));
  }
  available_ += std::int64_t{new_size} - size_;
  size_ = new_size;
}

}  // namespace libchan::detail::spdy
