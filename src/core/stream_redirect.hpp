// Sending an in-process byte stream over a session without a pump: the
// session redirects what the stream's writer writes straight into the
// network stream, and lets the stream's reader read the network stream
// itself, so the bytes skip the in-process ring and a thread hop.
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

/// If `end` is a stream_pair end, what would be written to it comes from
/// `source` instead: once the bytes already written to `end` are read, the
/// other end's reads read `source` directly, its end of stream and errors
/// included. `end`'s own writes fail with errc::closed, and its
/// close_write() does nothing. When the other end closes, `source` is told
/// that nobody reads it any more (stream_impl::abandon_reads). Returns
/// false for any other kind of stream, or for a pipe that ended or has
/// writes waiting, which the caller then pumps.
bool redirect_writes(const std::shared_ptr<stream_impl>& end, std::shared_ptr<stream_impl> source);

}  // namespace libchan::detail
