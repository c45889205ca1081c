// Joining a TCP connection and a libchan byte stream.
#pragma once

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "libchan/libchan.hpp"

namespace gateway {

/// Copies bytes both ways between `socket` and `stream` until both
/// directions have ended, with asynchronous operations only: no thread per
/// connection, one fixed buffer per direction. The end of one direction is
/// passed on as a half-close (shutdown of the socket's sending side, or
/// close_write on the stream); an error in either direction closes both
/// sides. `done` gets an empty string or the error in words.
///
/// The socket's executor must run on one thread: every handler, the
/// stream's included, runs there.
class Splice : public std::enable_shared_from_this<Splice> {
 public:
  static void start(boost::asio::ip::tcp::socket socket, libchan::ByteStream stream,
                    std::function<void(const std::string& error)> done = {});

 private:
  static constexpr std::size_t buffer_size = 32u << 10;

  Splice(boost::asio::ip::tcp::socket socket, libchan::ByteStream stream,
         std::function<void(const std::string&)> done);
  void socket_to_stream();
  void stream_to_socket();
  // One direction ended; `error` is empty at a clean end of file.
  void direction_ended(const std::string& error);

  boost::asio::ip::tcp::socket socket_;
  libchan::ByteStream stream_;
  std::function<void(const std::string&)> done_;
  int running_ = 2;
  bool failed_ = false;
  std::array<std::byte, buffer_size> upstream_;    // socket -> stream
  std::array<std::byte, buffer_size> downstream_;  // stream -> socket
};

}  // namespace gateway
