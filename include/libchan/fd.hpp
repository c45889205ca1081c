// Fd: an owned file descriptor that can travel inside a message.
#pragma once

#include <utility>

namespace libchan {

/// Owns one open file descriptor and closes it on destruction. Over a Unix
/// socket session it travels as a real descriptor (SCM_RIGHTS); in process it
/// is simply moved.
class Fd {
 public:
  Fd() noexcept = default;
  explicit Fd(int fd) noexcept : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }

  int get() const noexcept { return fd_; }
  /// Gives up ownership; the caller must close the result.
  int release() noexcept { return std::exchange(fd_, -1); }
  /// Closes the held descriptor (if any) and takes `fd`.
  void reset(int fd = -1) noexcept;
  explicit operator bool() const noexcept { return fd_ >= 0; }

  /// A new descriptor for the same open file (dup with close-on-exec).
  /// Throws std::system_error on failure.
  Fd duplicate() const;

 private:
  int fd_ = -1;
};

}  // namespace libchan
