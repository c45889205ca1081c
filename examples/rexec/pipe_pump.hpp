// Moving bytes between a command's pipes and the byte streams of its
// request, on an io_context: no thread per stream, one bounded buffer each.
#pragma once

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstddef>
#include <functional>
#include <memory>

#include "libchan/libchan.hpp"

namespace remote_exec {

/// Copies what the command writes to a pipe into a byte stream; at the
/// pipe's end of file closes the stream's write side, then calls `done`
/// (also when the stream fails: the pipe is closed and the command gets
/// EPIPE on its next write).
class PipeToStream : public std::enable_shared_from_this<PipeToStream> {
 public:
  static void start(boost::asio::io_context& io, libchan::Fd pipe, libchan::ByteStream stream,
                    std::function<void()> done);

 private:
  PipeToStream(boost::asio::io_context& io, libchan::Fd pipe, libchan::ByteStream stream,
               std::function<void()> done);
  void read();
  void finish();

  boost::asio::posix::stream_descriptor pipe_;
  libchan::ByteStream stream_;
  std::function<void()> done_;
  std::array<std::byte, 16384> buffer_;
};

/// Copies a byte stream into the pipe the command reads as its stdin, and
/// closes the pipe at the stream's end. Ends quietly when the command stops
/// reading.
class StreamToPipe : public std::enable_shared_from_this<StreamToPipe> {
 public:
  static std::shared_ptr<StreamToPipe> start(boost::asio::io_context& io,
                                             libchan::ByteStream stream, libchan::Fd pipe);
  /// Closes both ends; safe from any thread.
  void stop();

 private:
  StreamToPipe(boost::asio::io_context& io, libchan::ByteStream stream, libchan::Fd pipe);
  void read();
  void write(std::size_t n);

  boost::asio::posix::stream_descriptor pipe_;
  libchan::ByteStream stream_;
  bool stopped_ = false;
  std::array<std::byte, 16384> buffer_;
};

}  // namespace remote_exec
