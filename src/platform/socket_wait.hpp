// Waiting on a socket from a thread that is not an event loop's: an
// application thread that reads its session's connection itself while it
// waits for an answer (io::session_driver::read_while_waiting).
#pragma once

#include <chrono>

namespace libchan::detail::platform {

/// Blocks until `socket` has bytes to read, has reached its end or failed,
/// or until `timeout` passed. False on time-out.
bool wait_readable(int socket, std::chrono::milliseconds timeout);

/// Shuts both directions of `socket` down, which ends every wait_readable()
/// on it at once; the caller closes it next. Errors are ignored.
void shut_down(int socket) noexcept;

}  // namespace libchan::detail::platform
