// Sending an in-process byte stream over a session without a pump: the
// session redirects what the stream's writer writes straight into the
// network stream, so the bytes skip the in-process ring and a thread hop.
#pragma once

#include <memory>

#include "libchan/byte_stream.hpp"

namespace libchan::detail {

/// If `end` is a stream_pair end, every byte written to the other end goes
/// to `sink` from now on (what is buffered first), and the end of stream
/// is passed on with close_write(). A failing sink fails the writer's
/// writes with errc::closed. `end` is not read any more, and closing it no
/// longer closes the pipe's reading side. Returns false for any other kind
/// of stream, which the caller then pumps.
bool redirect_reads(const std::shared_ptr<stream_impl>& end, std::shared_ptr<stream_impl> sink);

}  // namespace libchan::detail
