// The tcp transport with its connections' writes counted: how many times a
// session hands bytes to the socket is what coalescing output is about, and
// nothing else shows it. The connections are the real ones underneath.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "io/transport.hpp"

namespace net_test {

namespace io = libchan::detail::io;

class counting_connection final : public io::connection {
 public:
  counting_connection(std::unique_ptr<io::connection> inner, std::atomic<int>& writes)
      : inner_(std::move(inner)), writes_(writes) {}

  io::executor get_executor() override { return inner_->get_executor(); }
  void async_read_some(boost::asio::mutable_buffer buffer, io_handler done) override {
    inner_->async_read_some(buffer, std::move(done));
  }
  void async_write(std::span<const boost::asio::const_buffer> buffers, io_handler done) override {
    ++writes_;
    inner_->async_write(buffers, std::move(done));
  }
  void async_shutdown(std::function<void(std::error_code)> done) override {
    inner_->async_shutdown(std::move(done));
  }
  void close() noexcept override { inner_->close(); }
  std::string local_address() const override { return inner_->local_address(); }
  std::string peer_address() const override { return inner_->peer_address(); }
  std::string peer_identity() const override { return inner_->peer_identity(); }
  bool can_pass_descriptors() const override { return inner_->can_pass_descriptors(); }
  bool can_write_now() const override { return inner_->can_write_now(); }
  std::size_t write_now(std::span<const boost::asio::const_buffer> buffers,
                        std::span<const int> fds, std::error_code& ec) override {
    ++writes_;
    return inner_->write_now(buffers, fds, ec);
  }
  void async_write_with_descriptors(std::span<const boost::asio::const_buffer> buffers,
                                    std::span<const int> fds, io_handler done) override {
    ++writes_;
    inner_->async_write_with_descriptors(buffers, fds, std::move(done));
  }
  bool can_read_now() const override { return inner_->can_read_now(); }
  std::size_t read_now(boost::asio::mutable_buffer buffer, std::vector<libchan::Fd>& fds,
                       std::error_code& ec) override {
    return inner_->read_now(buffer, fds, ec);
  }
  void async_wait_readable(std::function<void(std::error_code)> done) override {
    inner_->async_wait_readable(std::move(done));
  }
  bool poll_readable(std::chrono::milliseconds timeout) override {
    return inner_->poll_readable(timeout);
  }
  void wake_pollers() noexcept override { inner_->wake_pollers(); }
  void async_handshake(io::steady_time deadline, handshake_handler done) override {
    inner_->async_handshake(deadline, std::move(done));
  }

 private:
  std::unique_ptr<io::connection> inner_;
  std::atomic<int>& writes_;
};

// Dials as tcp:// does; every connection it makes adds to `writes`.
class counting_tcp_transport final : public io::transport {
 public:
  explicit counting_tcp_transport(std::atomic<int>& writes) : writes_(writes) {}

  void async_dial(const io::executor& ex, const std::string& address,
                  const libchan::SessionOptions& options, io::steady_time deadline,
                  dial_handler done) override {
    tcp_->async_dial(
        ex, address, options, deadline,
        [this, done = std::move(done)](io::failure f, std::unique_ptr<io::connection> c) {
          if (c) c = std::make_unique<counting_connection>(std::move(c), writes_);
          done(std::move(f), std::move(c));
        });
  }
  std::unique_ptr<io::listener> listen(const io::executor& ex, const std::string& address,
                                       const libchan::SessionOptions& options,
                                       io::failure& err) override {
    return tcp_->listen(ex, address, options, err);  // accepted connections are not counted
  }

 private:
  std::shared_ptr<io::transport> tcp_ = io::make_tcp_transport();
  std::atomic<int>& writes_;
};

}  // namespace net_test
