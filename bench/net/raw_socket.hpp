// Plain blocking sockets for the raw bound: listen, accept, connect, and
// loops that read or write everything.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "harness.hpp"

namespace netbench::raw {

/// An owned descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(o.release()) {}
  Socket& operator=(Socket&& o) noexcept;
  ~Socket();
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

/// Listens on `transport` ("tcp": 127.0.0.1, a free port; "unix": the
/// path in o.address) and prints the ready line. Exits through fail().
Socket listen_and_announce(const Options& o, std::string_view transport);
/// Accepts one connection; TCP_NODELAY on TCP.
Socket accept_one(const Options& o, const Socket& listener, std::string_view transport);
/// Connects to o.address ("host:port" for tcp, a path for unix).
Socket connect_to(const Options& o, std::string_view transport);

/// Blocking loops; false on end of stream or an error (errno set).
bool read_full(int fd, std::span<std::uint8_t> buf);
bool write_full(int fd, std::span<const std::uint8_t> buf);
/// Writes every byte the vectors describe, advancing through short writes.
bool writev_full(int fd, std::vector<iovec>& iov);

/// Reads one length-prefixed frame (4-byte host-order length, payload)
/// into `buf`, which grows as needed; returns the payload size.
bool read_frame(int fd, std::vector<std::uint8_t>& buf, std::size_t& payload);

/// The one-byte acknowledgement that ends a timed run: the server sends it
/// once all data arrived, the client waits for it before it closes.
void send_ack(const Options& o, int fd);
void wait_ack(const Options& o, int fd);

/// The errno text, for failure messages.
std::string last_error(std::string_view what);

}  // namespace netbench::raw
