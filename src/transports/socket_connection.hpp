// A connection over an Asio stream socket (TCP or Unix), shared by the
// tcp and unix transports.
#pragma once

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <vector>

#include "io/errors.hpp"
#include "io/transport.hpp"
#include "platform/fd_passing.hpp"
#include "platform/socket_wait.hpp"

namespace libchan::detail::io {

// A completion condition that offers every byte still to write to each
// system call. Asio's default (transfer_all) offers at most 64 KiB a call,
// which cut writes of up to 512 KiB into 64 KiB system calls and wake-ups.
struct whole_rest {
  std::size_t total;
  std::size_t operator()(const boost::system::error_code& ec, std::size_t written) const {
    return ec ? 0 : total - written;
  }
};

template <class Protocol>
class socket_connection : public connection {
 public:
  using socket_type = boost::asio::basic_stream_socket<Protocol, executor>;

  socket_connection(socket_type socket, std::string local, std::string peer)
      : socket_(std::move(socket)), local_(std::move(local)), peer_(std::move(peer)) {}

  executor get_executor() override { return socket_.get_executor(); }

  void async_read_some(boost::asio::mutable_buffer buffer, io_handler done) override {
    socket_.async_read_some(
        buffer, [done = std::move(done)](const boost::system::error_code& ec, std::size_t n) {
          // The interface reports end of stream as zero bytes without an error.
          if (ec == boost::asio::error::eof) return done({}, 0);
          done(to_std(ec), n);
        });
  }

  void async_write(std::span<const boost::asio::const_buffer> buffers, io_handler done) override {
    gather_.assign(buffers.begin(), buffers.end());
    boost::asio::async_write(socket_, gather_, whole_rest{boost::asio::buffer_size(gather_)},
                             [done = std::move(done)](const boost::system::error_code& ec,
                                                      std::size_t n) { done(to_std(ec), n); });
  }

  bool can_write_now() const override { return true; }

  std::size_t write_now(std::span<const boost::asio::const_buffer> buffers,
                        std::span<const int> fds, std::error_code& ec) override {
    pieces_.clear();
    for (const auto& b : buffers) pieces_.push_back({b.data(), b.size()});
    std::size_t n = platform::send_with_descriptors(socket_.native_handle(), pieces_, fds, ec);
    // No room, or too many descriptors in flight: nothing taken, and the io
    // thread tries again (see unix_connection).
    if (ec == std::errc::operation_would_block || platform::too_many_in_flight(ec)) ec.clear();
    return n;
  }

  bool can_read_now() const override { return true; }

  std::size_t read_now(boost::asio::mutable_buffer buffer, std::vector<Fd>& fds,
                       std::error_code& ec) override {
    std::span<std::byte> bytes(static_cast<std::byte*>(buffer.data()), buffer.size());
    return platform::receive_with_descriptors(socket_.native_handle(), bytes, fds, ec);
  }

  void async_wait_readable(std::function<void(std::error_code)> done) override {
    socket_.async_wait(
        socket_type::wait_read,
        [done = std::move(done)](const boost::system::error_code& ec) { done(to_std(ec)); });
  }

  bool poll_readable(std::chrono::milliseconds timeout) override {
    return platform::wait_readable(socket_.native_handle(), timeout);
  }

  void wake_pollers() noexcept override { platform::shut_down(socket_.native_handle()); }

  void async_shutdown(std::function<void(std::error_code)> done) override {
    boost::system::error_code ec;
    socket_.shutdown(socket_type::shutdown_send, ec);
    boost::asio::post(socket_.get_executor(), [done = std::move(done), ec] { done(to_std(ec)); });
  }

  void close() noexcept override {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

  std::string local_address() const override { return local_; }
  std::string peer_address() const override { return peer_; }

 protected:
  socket_type& socket() noexcept { return socket_; }

 private:
  socket_type socket_;
  std::string local_, peer_;
  std::vector<boost::asio::const_buffer> gather_;  // the sequence of the write in flight
  std::vector<platform::send_piece> pieces_;       // write_now's, under the driver's lock
};

}  // namespace libchan::detail::io
