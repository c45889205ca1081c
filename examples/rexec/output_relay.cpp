#include "output_relay.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace remote_exec {

OutputRelay::OutputRelay(int target) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    throw std::system_error(errno, std::system_category(), "cannot create a pipe");
  auto copy = std::make_shared<Copy>();
  copy->target = target;
  copy->read_end.reset(fds[0]);
  write_end_.reset(fds[1]);
  finished_ = copy->done.get_future();
  thread_ = std::thread([copy] { run(copy); });
}

OutputRelay::~OutputRelay() {
  write_end_.reset();
  if (wait_for(std::chrono::milliseconds(0)))
    thread_.join();
  else
    thread_.detach();  // blocked in read(); the process is about to exit
}

libchan::ByteStream OutputRelay::take_stream() {
  return libchan::ByteStream::from_fd(std::move(write_end_));
}

bool OutputRelay::wait_for(std::chrono::milliseconds timeout) {
  return finished_.wait_for(timeout) == std::future_status::ready;
}

void OutputRelay::run(const std::shared_ptr<Copy>& copy) {
  char buffer[16384];
  bool target_ok = true;
  for (;;) {
    ssize_t n = ::read(copy->read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    // After the target fails keep draining, so that the sender never blocks.
    for (ssize_t off = 0; target_ok && off < n;) {
      ssize_t w = ::write(copy->target, buffer + off, static_cast<std::size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) target_ok = false;
      if (w > 0) off += w;
    }
  }
  copy->done.set_value();
}

}  // namespace remote_exec
