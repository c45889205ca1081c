// Counters for tests that check nothing leaks; no Asio here.
#pragma once

#include <cstddef>

namespace libchan::detail::io {

/// Session drivers alive in the process (each owns one connection).
std::size_t live_drivers() noexcept;

}  // namespace libchan::detail::io
