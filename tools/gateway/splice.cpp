#include "splice.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <span>

namespace gateway {

void Splice::start(boost::asio::ip::tcp::socket socket, libchan::ByteStream stream,
                   std::function<void(const std::string&)> done) {
  std::shared_ptr<Splice> self(new Splice(std::move(socket), std::move(stream), std::move(done)));
  boost::asio::post(self->socket_.get_executor(), [self] {
    self->socket_to_stream();
    self->stream_to_socket();
  });
}

Splice::Splice(boost::asio::ip::tcp::socket socket, libchan::ByteStream stream,
               std::function<void(const std::string&)> done)
    : socket_(std::move(socket)), stream_(std::move(stream)), done_(std::move(done)) {}

void Splice::socket_to_stream() {
  socket_.async_read_some(
      boost::asio::buffer(upstream_),
      [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
        if (self->failed_) return;
        if (ec == boost::asio::error::eof) {
          self->stream_.close_write();
          return self->direction_ended("");
        }
        if (ec) return self->direction_ended("connection: " + ec.message());
        self->stream_.async_write(
            std::span<const std::byte>(self->upstream_.data(), n),
            boost::asio::bind_executor(
                self->socket_.get_executor(), [self](std::error_code write_ec, std::size_t) {
                  if (self->failed_) return;
                  if (write_ec) return self->direction_ended("stream: " + write_ec.message());
                  self->socket_to_stream();
                }));
      });
}

void Splice::stream_to_socket() {
  stream_.async_read_some(
      downstream_,
      boost::asio::bind_executor(
          socket_.get_executor(), [self = shared_from_this()](std::error_code ec, std::size_t n) {
            if (self->failed_) return;
            if (ec) return self->direction_ended("stream: " + ec.message());
            if (n == 0) {
              boost::system::error_code ignored;
              self->socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ignored);
              return self->direction_ended("");
            }
            boost::asio::async_write(
                self->socket_, boost::asio::buffer(self->downstream_.data(), n),
                [self](boost::system::error_code write_ec, std::size_t) {
                  if (self->failed_) return;
                  if (write_ec) return self->direction_ended("connection: " + write_ec.message());
                  self->stream_to_socket();
                });
          }));
}

void Splice::direction_ended(const std::string& error) {
  if (!error.empty()) failed_ = true;
  if (--running_ > 0 && !failed_) return;
  // Both ends are done, or one failed: release both (pending operations
  // complete with errors and find failed_ set).
  failed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  stream_.close();
  if (done_) std::exchange(done_, nullptr)(error);
}

}  // namespace gateway
