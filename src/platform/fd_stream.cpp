#include "fd_stream.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

namespace libchan::detail {
namespace {

std::error_code last_error() { return {errno, std::system_category()}; }

class fd_stream final : public stream_impl {
 public:
  explicit fd_stream(Fd fd) : fd_(fd.release()) {
    struct stat st {};
    is_socket_ = ::fstat(fd_, &st) == 0 && S_ISSOCK(st.st_mode);
    int flags = ::fcntl(fd_, F_GETFL);
    write_only_ = flags >= 0 && (flags & O_ACCMODE) == O_WRONLY;
  }
  ~fd_stream() override { close_fd(); }

  std::size_t read_some(std::span<std::byte> buffer, std::error_code& ec) override {
    ec.clear();
    if (buffer.empty()) return 0;
    // What read(2) would say, without touching a descriptor that
    // close_write() may be closing on another thread.
    if (write_only_) {
      ec = {EBADF, std::system_category()};
      return 0;
    }
    for (;;) {
      ssize_t n = ::read(fd_, buffer.data(), buffer.size());
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno == EINTR) continue;
      ec = last_error();
      return 0;
    }
  }

  void write(std::span<const std::byte> data, std::error_code& ec) override {
    ec.clear();
    if (write_closed_) {
      ec = errc::closed;
      return;
    }
    while (!data.empty()) {
      // MSG_NOSIGNAL: a peer that went away is an error, not a SIGPIPE.
      ssize_t n = is_socket_ ? ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL)
                             : ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        ec = errno == EPIPE ? std::error_code(errc::closed) : last_error();
        return;
      }
      data = data.subspan(static_cast<std::size_t>(n));
    }
  }

  void close_write() noexcept override {
    if (write_closed_.exchange(true)) return;
    if (is_socket_)
      ::shutdown(fd_, SHUT_WR);
    else if (write_only_)
      close_fd();  // the reader of a pipe sees EOF once the last writer closes
  }

  void close() noexcept override {
    write_closed_ = true;
    close_fd();
  }

  int native_handle() const noexcept override { return fd_; }

 private:
  void close_fd() noexcept {
    const int fd = fd_.exchange(-1);
    if (fd >= 0) ::close(fd);
  }

  // Atomic: an operation running on another thread may read it while
  // close() ends the stream (it then fails with EBADF).
  std::atomic<int> fd_;
  bool is_socket_ = false;
  bool write_only_ = false;
  std::atomic<bool> write_closed_{false};
};

}  // namespace

std::shared_ptr<stream_impl> make_fd_stream(Fd fd) {
  return std::make_shared<fd_stream>(std::move(fd));
}

// Streams without an event loop of their own (descriptor streams) run each
// async operation on a thread of its own: the descriptor may be a regular
// file, which no reactor can wait on, and its file status flags may be
// shared with other processes (a terminal's stdin), so it is never switched
// to non-blocking mode.
void stream_impl::async_read_some(std::span<std::byte> buffer, io_handler done) {
  std::thread([self = shared_from_this(), buffer, done = std::move(done)] {
    std::error_code ec;
    std::size_t n = self->read_some(buffer, ec);
    done(ec, n);
  }).detach();
}

void stream_impl::async_write(std::span<const std::byte> data, io_handler done) {
  std::thread([self = shared_from_this(), data, done = std::move(done)] {
    std::error_code ec;
    self->write(data, ec);
    done(ec, ec ? 0 : data.size());
  }).detach();
}

}  // namespace libchan::detail
