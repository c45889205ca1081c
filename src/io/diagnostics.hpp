// Counters for tests that check nothing leaks; no Asio here.
#pragma once

#include <cstddef>

namespace libchan::detail::io {

/// Session drivers alive in the process (each owns one connection).
std::size_t live_drivers() noexcept;
/// Bytes of the read buffers of those drivers, together.
std::size_t read_buffer_bytes() noexcept;

}  // namespace libchan::detail::io
