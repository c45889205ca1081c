// Descriptors passed over a Unix stream socket (SCM_RIGHTS): the two system
// calls, non-blocking, for the io layer to drive from its event loop.
#pragma once

#include <cstddef>
#include <span>
#include <system_error>
#include <vector>

#include "libchan/fd.hpp"

namespace libchan::detail::platform {

/// Linux passes at most 253 descriptors (SCM_MAX_FD) with one sendmsg.
inline constexpr std::size_t max_descriptors_per_call = 253;

/// One piece of a gathered write.
struct send_piece {
  const void* data;
  std::size_t size;
};

/// Sends as much of `pieces` as the socket takes now, with `fds` attached to
/// the first byte (the caller keeps them open; the peer gets copies). At
/// most max_descriptors_per_call descriptors; at least one byte. Returns the
/// bytes sent; std::errc::operation_would_block when nothing could be sent
/// (then no descriptor went either). Never raises SIGPIPE.
std::size_t send_with_descriptors(int socket, std::span<const send_piece> pieces,
                                  std::span<const int> fds, std::error_code& ec);

/// True for the failure of a send whose descriptors would take the user
/// past the descriptors it may have in flight in sockets (its RLIMIT_NOFILE,
/// unless privileged): they leave as the peers read, so trying again later
/// may work. No readiness event says when.
bool too_many_in_flight(const std::error_code& ec) noexcept;

/// Receives what the socket has now into `buffer`, appending descriptors
/// that came with the bytes to `fds` (close-on-exec; the caller owns them).
/// Returns the bytes read, 0 at end of stream; std::errc::operation_would_block
/// when nothing is there yet. Descriptors the kernel had to drop for lack of
/// room in this process fail the call with std::errc::too_many_files_open
/// (the bytes were read).
std::size_t receive_with_descriptors(int socket, std::span<std::byte> buffer, std::vector<Fd>& fds,
                                     std::error_code& ec);

}  // namespace libchan::detail::platform
