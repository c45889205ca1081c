// A pipe as two owned descriptors, for tests that pass descriptors around.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "libchan/fd.hpp"

namespace test_fds {

struct pipe_ends {
  libchan::Fd read, write;
};

/// A close-on-exec pipe; `flags` adds e.g. O_NONBLOCK.
inline pipe_ends make_pipe(int flags = 0) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | flags) != 0)
    throw std::system_error(errno, std::system_category(), "pipe");
  return {libchan::Fd(p[0]), libchan::Fd(p[1])};
}

}  // namespace test_fds
