#include "fd_passing.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace libchan::detail::platform {
namespace {

// Room for the most descriptors one message can carry.
constexpr std::size_t control_size = CMSG_SPACE(max_descriptors_per_call * sizeof(int));

union control_buffer {
  cmsghdr align;
  char bytes[control_size];
};

constexpr std::size_t max_pieces = 64;

}  // namespace

std::size_t send_with_descriptors(int socket, std::span<const send_piece> pieces,
                                  std::span<const int> fds, std::error_code& ec) {
  ec.clear();
  if (fds.size() > max_descriptors_per_call) {
    ec = std::make_error_code(std::errc::argument_list_too_long);
    return 0;
  }
  iovec iov[max_pieces];
  std::size_t count = 0;
  for (const auto& p : pieces) {
    if (count == max_pieces) break;  // the rest goes with the next call
    if (p.size == 0) continue;
    iov[count++] = {const_cast<void*>(p.data), p.size};
  }
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = count;
  control_buffer control{};
  if (!fds.empty()) {
    msg.msg_control = control.bytes;
    msg.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  }
  for (;;) {
    ssize_t n = ::sendmsg(socket, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    int e = errno == EWOULDBLOCK ? EAGAIN : errno;
    ec = {e, std::system_category()};
    return 0;
  }
}

bool too_many_in_flight(const std::error_code& ec) noexcept {
  return ec.value() == ETOOMANYREFS && ec.category() == std::system_category();
}

std::size_t receive_with_descriptors(int socket, std::span<std::byte> buffer, std::vector<Fd>& fds,
                                     std::error_code& ec) {
  ec.clear();
  iovec iov{buffer.data(), buffer.size()};
  control_buffer control{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control.bytes;
  msg.msg_controllen = sizeof control.bytes;
  ssize_t n;
  do {
    n = ::recvmsg(socket, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno == EWOULDBLOCK ? EAGAIN : errno;
    ec = {e, std::system_category()};
    return 0;
  }
  // Take ownership of every descriptor first, so that none leaks whatever
  // else went wrong.
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    const unsigned char* data = CMSG_DATA(c);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, data + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }
  // The control buffer holds as many as one message can carry, so the
  // kernel cut descriptors off because this process has no room for them
  // (RLIMIT_NOFILE): say so, rather than "message too long".
  if (msg.msg_flags & MSG_CTRUNC) ec = std::make_error_code(std::errc::too_many_files_open);
  return static_cast<std::size_t>(n);
}

}  // namespace libchan::detail::platform
