#include "raw_socket.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

namespace netbench::raw {
namespace {

sockaddr_un unix_address(const Options& o) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (o.address.empty() || o.address.size() >= sizeof a.sun_path)
    fail(o, "server",
         "unix needs --address PATH shorter than " + std::to_string(sizeof a.sun_path) + " bytes");
  std::memcpy(a.sun_path, o.address.data(), o.address.size());
  return a;
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.release();
  }
  return *this;
}

Socket::~Socket() {
  if (fd_ >= 0) close(fd_);
}

std::string last_error(std::string_view what) {
  return std::string(what) + ": " + std::strerror(errno);
}

Socket listen_and_announce(const Options& o, std::string_view transport) {
  if (transport == "unix") {
    Socket s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a = unix_address(o);
    unlink(a.sun_path);
    if (bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s.get(), 4) != 0)
      fail(o, "server", last_error("listen on " + o.address));
    print_ready(o, o.address);
    return s;
  }
  Socket s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s.get(), 4) != 0 ||
      getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0)
    fail(o, "server", last_error("listen on 127.0.0.1"));
  print_ready(o, "127.0.0.1:" + std::to_string(ntohs(a.sin_port)));
  return s;
}

Socket accept_one(const Options& o, const Socket& listener, std::string_view transport) {
  Socket c(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (c.get() < 0) fail(o, "server", last_error("accept"));
  if (transport != "unix") set_nodelay(c.get());
  return c;
}

Socket connect_to(const Options& o, std::string_view transport) {
  if (transport == "unix") {
    Socket s(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un a = unix_address(o);
    if (connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      fail(o, "client", last_error("connect to " + o.address));
    return s;
  }
  auto colon = o.address.rfind(':');
  if (colon == std::string::npos) fail(o, "client", "tcp needs --address HOST:PORT");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(o.address.substr(colon + 1))));
  if (inet_pton(AF_INET, o.address.substr(0, colon).c_str(), &a.sin_addr) != 1)
    fail(o, "client", "bad IPv4 address in " + o.address);
  Socket s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    fail(o, "client", last_error("connect to " + o.address));
  set_nodelay(s.get());
  return s;
}

bool read_full(int fd, std::span<std::uint8_t> buf) {
  while (!buf.empty()) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf = buf.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

bool write_full(int fd, std::span<const std::uint8_t> buf) {
  while (!buf.empty()) {
    ssize_t n = write(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf = buf.subspan(static_cast<std::size_t>(n));
  }
  return true;
}

bool writev_full(int fd, std::vector<iovec>& iov) {
  std::size_t first = 0;
  while (first < iov.size()) {
    int batch = static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = writev(fd, iov.data() + first, batch);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    auto left = static_cast<std::size_t>(n);
    while (left > 0 && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}

bool read_frame(int fd, std::vector<std::uint8_t>& buf, std::size_t& payload) {
  std::size_t have = 0, need = 4;
  if (buf.size() < 4) buf.resize(4096);
  while (have < need) {
    ssize_t n = read(fd, buf.data() + have, buf.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    have += static_cast<std::size_t>(n);
    if (need == 4 && have >= 4) {
      std::uint32_t len;
      std::memcpy(&len, buf.data(), 4);
      need = 4 + std::size_t{len};
      if (buf.size() < need) buf.resize(need);
    }
  }
  payload = need - 4;
  return true;
}

void send_ack(const Options& o, int fd) {
  std::uint8_t ack = 1;
  if (!write_full(fd, {&ack, 1})) fail(o, "server", last_error("write ack"));
}

void wait_ack(const Options& o, int fd) {
  std::uint8_t ack = 0;
  if (!read_full(fd, {&ack, 1})) fail(o, "client", last_error("read ack"));
}

}  // namespace netbench::raw
