#include "pipe_pump.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <span>

namespace remote_exec {

// Every handler runs on the io_context's thread, so the pumps need no lock;
// bind_executor brings the byte streams' completions there too.

void PipeToStream::start(boost::asio::io_context& io, libchan::Fd pipe, libchan::ByteStream stream,
                         std::function<void()> done) {
  std::shared_ptr<PipeToStream> self(
      new PipeToStream(io, std::move(pipe), std::move(stream), std::move(done)));
  boost::asio::post(io, [self] { self->read(); });
}

PipeToStream::PipeToStream(boost::asio::io_context& io, libchan::Fd pipe,
                           libchan::ByteStream stream, std::function<void()> done)
    : pipe_(io, pipe.release()), stream_(std::move(stream)), done_(std::move(done)) {}

void PipeToStream::read() {
  pipe_.async_read_some(
      boost::asio::buffer(buffer_),
      [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (ec) return self->finish();  // end of file, or the pipe failed
        self->stream_.async_write(
            std::span<const std::byte>(self->buffer_.data(), n),
            boost::asio::bind_executor(self->pipe_.get_executor(),
                                       [self](std::error_code write_ec, std::size_t) {
                                         if (write_ec) return self->finish();
                                         self->read();
                                       }));
      });
}

void PipeToStream::finish() {
  pipe_.close();
  stream_.close_write();
  if (done_) std::exchange(done_, nullptr)();
}

std::shared_ptr<StreamToPipe> StreamToPipe::start(boost::asio::io_context& io,
                                                  libchan::ByteStream stream, libchan::Fd pipe) {
  std::shared_ptr<StreamToPipe> self(new StreamToPipe(io, std::move(stream), std::move(pipe)));
  boost::asio::post(io, [self] { self->read(); });
  return self;
}

StreamToPipe::StreamToPipe(boost::asio::io_context& io, libchan::ByteStream stream,
                           libchan::Fd pipe)
    : pipe_(io, pipe.release()), stream_(std::move(stream)) {}

void StreamToPipe::stop() {
  boost::asio::post(pipe_.get_executor(), [self = shared_from_this()] {
    self->stopped_ = true;
    self->pipe_.close();
    self->stream_.close();
  });
}

void StreamToPipe::read() {
  if (stopped_) return;
  stream_.async_read_some(
      buffer_,
      boost::asio::bind_executor(pipe_.get_executor(),
                                 [self = shared_from_this()](std::error_code ec, std::size_t n) {
                                   if (self->stopped_) return;
                                   if (ec || n == 0)
                                     return self->pipe_.close();  // the command sees end of file
                                   self->write(n);
                                 }));
}

void StreamToPipe::write(std::size_t n) {
  boost::asio::async_write(pipe_, boost::asio::buffer(buffer_.data(), n),
                           [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                             if (ec) return self->pipe_.close();  // the command stopped reading
                             self->read();
                           });
}

}  // namespace remote_exec
