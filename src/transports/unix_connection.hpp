// A Unix stream socket connection that also passes descriptors (SCM_RIGHTS).
// Asio has no sendmsg/recvmsg with ancillary data: the system calls are the
// platform layer's, run non-blocking when Asio's reactor says the socket is
// ready. Reads, descriptors included, are socket_connection's read_now.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <vector>

#include "platform/fd_passing.hpp"
#include "transports/socket_connection.hpp"

namespace libchan::detail::io {

class unix_connection final : public socket_connection<boost::asio::local::stream_protocol> {
 public:
  unix_connection(socket_type socket, std::string local, std::string peer)
      : socket_connection(std::move(socket), std::move(local), std::move(peer)),
        retry_(get_executor()) {}

  bool can_pass_descriptors() const override { return true; }

  void close() noexcept override {
    retry_.cancel();
    socket_connection::close();
  }

  void async_write_with_descriptors(std::span<const boost::asio::const_buffer> buffers,
                                    std::span<const int> fds, io_handler done) override {
    if (fds.empty()) return async_write(buffers, std::move(done));
    out_.assign(buffers.begin(), buffers.end());
    out_fds_.assign(fds.begin(), fds.end());
    write_done_ = std::move(done);
    send_first(true);
  }

 private:
  // The descriptors go with the first bytes the socket takes; the rest of
  // the bytes follow as a plain write.
  void send_first(bool initiating) {
    std::vector<platform::send_piece> pieces;
    pieces.reserve(out_.size());
    for (const auto& b : out_) pieces.push_back({b.data(), b.size()});
    std::error_code ec;
    std::size_t n = platform::send_with_descriptors(socket().native_handle(), pieces, out_fds_, ec);
    if (ec == std::errc::operation_would_block) {
      // The waiting operation holds the handler: destroyed unrun (its
      // io_context gone), it must not leave the handler, and whatever the
      // handler holds, to this connection.
      socket().async_wait(socket_type::wait_write, [this, done = std::move(write_done_)](
                                                       const boost::system::error_code& e) mutable {
        write_done_ = std::move(done);
        if (e) return complete_write(to_std(e), 0, false);
        send_first(false);
      });
      return;
    }
    if (platform::too_many_in_flight(ec)) {
      // Our user has as many descriptors in flight as it may: wait for the
      // peers to read some, checking back ever less often.
      retry_.expires_after(retry_delay_);
      retry_delay_ = std::min(2 * retry_delay_, max_retry_delay);
      retry_.async_wait(
          [this, done = std::move(write_done_)](const boost::system::error_code& e) mutable {
            write_done_ = std::move(done);
            if (e) return complete_write(to_std(e), 0, false);
            send_first(false);
          });
      return;
    }
    if (ec) return complete_write(ec, 0, initiating);
    retry_delay_ = min_retry_delay;
    sent_ = n;
    skip(out_, n);
    if (out_.empty()) return complete_write({}, sent_, initiating);
    async_write(out_,
                [this, done = std::move(write_done_)](std::error_code e, std::size_t m) mutable {
                  write_done_ = std::move(done);
                  complete_write(e, sent_ + m, false);
                });
  }

  void complete_write(std::error_code ec, std::size_t n, bool initiating) {
    auto done = std::move(write_done_);
    // Never inside the call that started the operation.
    if (initiating)
      boost::asio::post(get_executor(), [done = std::move(done), ec, n] { done(ec, n); });
    else
      done(ec, n);
  }

  // Drops the first `n` bytes of a gathered buffer sequence.
  static void skip(std::vector<boost::asio::const_buffer>& buffers, std::size_t n) {
    std::size_t whole = 0;
    while (whole < buffers.size() && n >= buffers[whole].size()) n -= buffers[whole++].size();
    buffers.erase(buffers.begin(), buffers.begin() + static_cast<std::ptrdiff_t>(whole));
    if (!buffers.empty()) buffers.front() += n;
  }

  static constexpr std::chrono::milliseconds min_retry_delay{1}, max_retry_delay{64};

  std::vector<boost::asio::const_buffer> out_;
  std::vector<int> out_fds_;
  boost::asio::basic_waitable_timer<std::chrono::steady_clock,
                                    boost::asio::wait_traits<std::chrono::steady_clock>, executor>
      retry_;
  std::chrono::milliseconds retry_delay_ = min_retry_delay;
  std::size_t sent_ = 0;
  io_handler write_done_;
};

}  // namespace libchan::detail::io
