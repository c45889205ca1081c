// A ByteStream backed by an open file descriptor.
#pragma once

#include <memory>

#include "libchan/byte_stream.hpp"

namespace libchan::detail {

/// Takes ownership of `fd`. Reads and writes block the calling thread.
std::shared_ptr<stream_impl> make_fd_stream(Fd fd);

}  // namespace libchan::detail
