#include "socket_wait.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace libchan::detail::platform {

bool wait_readable(int socket, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pollfd p{socket, POLLIN, 0};
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    const int n = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 0)));
    if (n > 0) return true;  // readable, hung up, failed or closed: reading tells which
    if (n == 0) return false;
    if (errno != EINTR) return true;  // let the read report it
  }
}

void shut_down(int socket) noexcept { ::shutdown(socket, SHUT_RDWR); }

}  // namespace libchan::detail::platform
