// A TCP relay for the lossy-link test, a mode of netns_peer: it accepts
// connections on one address, dials another for each, and forwards the bytes
// both ways late and unevenly. Every chunk read waits a random 5-20 ms
// before it is written, and every 2-4 s all forwarding stops for 200-500 ms.
// The first stall comes once 64 KiB have been forwarded, so even a short
// transfer meets one. Order is kept: chunks of one direction leave in the
// order they came. One thread, Asio.
#pragma once

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace netns_relay {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

/// What every link of one relay shares: the random source and the stall.
struct shared_state {
  std::mt19937 rng{std::random_device{}()};
  clock::time_point stall_until{};
  std::uint64_t forwarded = 0;
  /// Called once, when `forwarded` first reaches `first_stall_after`.
  std::uint64_t first_stall_after = 64u << 10;
  std::function<void()> begin_stalls;
  bool stalls_begun = false;

  ms between(ms lo, ms hi) {
    return ms(std::uniform_int_distribution<std::int64_t>(lo.count(), hi.count())(rng));
  }
};

/// One relayed connection: sockets_[0] the client that connected to us,
/// sockets_[1] the target we dialed. Half i carries bytes read from
/// sockets_[i] to sockets_[1 - i].
class link : public std::enable_shared_from_this<link> {
 public:
  link(tcp::socket client, tcp::socket target, shared_state& state)
      : sockets_{std::move(client), std::move(target)},
        halves_{half(sockets_[0].get_executor()), half(sockets_[0].get_executor())},
        state_(state) {}

  void start() {
    read(0);
    read(1);
  }

 private:
  // Reading pauses while this much waits in one direction, so a slow
  // reader on one side holds the writer on the other back, as TCP would.
  static constexpr std::size_t max_queued = 1u << 20;

  struct chunk {
    std::vector<char> data;
    clock::time_point due;
  };
  struct half {
    explicit half(const asio::any_io_executor& ex) : timer(ex) {}
    std::deque<chunk> queue;
    std::size_t queued = 0;
    bool reading = false, writing = false, eof = false, shut = false;
    asio::steady_timer timer;
    std::array<char, 16384> buf{};
  };

  void read(int i) {
    auto& h = halves_[i];
    if (failed_ || h.reading || h.eof || h.queued >= max_queued) return;
    h.reading = true;
    sockets_[i].async_read_some(
        asio::buffer(h.buf),
        [self = shared_from_this(), i](boost::system::error_code ec, std::size_t n) {
          self->on_read(i, ec, n);
        });
  }

  void on_read(int i, boost::system::error_code ec, std::size_t n) {
    auto& h = halves_[i];
    h.reading = false;
    if (ec == asio::error::eof) {
      h.eof = true;
    } else if (ec) {
      return fail();
    } else {
      h.queue.push_back({std::vector<char>(h.buf.data(), h.buf.data() + n),
                         clock::now() + state_.between(ms(5), ms(20))});
      h.queued += n;
      read(i);
    }
    write(i);
  }

  void write(int i) {
    auto& h = halves_[i];
    if (failed_ || h.writing) return;
    if (h.queue.empty()) {
      if (h.eof && !h.shut) {  // pass the end on once everything before it left
        h.shut = true;
        boost::system::error_code ignored;
        sockets_[1 - i].shutdown(tcp::socket::shutdown_send, ignored);
      }
      return;
    }
    h.writing = true;
    wait_until(i, h.queue.front().due);
  }

  void wait_until(int i, clock::time_point at) {
    auto& h = halves_[i];
    h.timer.expires_at(at);
    h.timer.async_wait([self = shared_from_this(), i](boost::system::error_code ec) {
      if (!ec) self->on_due(i);
    });
  }

  void on_due(int i) {
    if (failed_) return;
    // A stall that began while this chunk waited holds it too.
    if (clock::now() < state_.stall_until) return wait_until(i, state_.stall_until);
    auto& h = halves_[i];
    asio::async_write(sockets_[1 - i], asio::buffer(h.queue.front().data),
                      [self = shared_from_this(), i](boost::system::error_code ec, std::size_t n) {
                        self->on_written(i, ec, n);
                      });
  }

  void on_written(int i, boost::system::error_code ec, std::size_t n) {
    auto& h = halves_[i];
    h.writing = false;
    if (ec) return fail();
    h.queued -= n;
    state_.forwarded += n;
    if (!state_.stalls_begun && state_.forwarded >= state_.first_stall_after) {
      state_.stalls_begun = true;
      state_.begin_stalls();
    }
    h.queue.pop_front();
    write(i);
    read(i);
  }

  // Either side failing ends the link: both sockets closed, which the
  // other ends see as a reset or an end.
  void fail() {
    failed_ = true;
    for (auto& s : sockets_) {
      boost::system::error_code ignored;
      s.close(ignored);
    }
    for (auto& h : halves_) h.timer.cancel();
  }

  std::array<tcp::socket, 2> sockets_;
  std::array<half, 2> halves_;
  shared_state& state_;
  bool failed_ = false;
};

/// Listens on `listen_host:listen_port` and relays every connection to
/// `target_host:target_port`. Calls `ready` once listening and `stalled`
/// at each stall. Runs until the process ends.
inline int run(const std::string& listen_host, std::uint16_t listen_port,
               const std::string& target_host, std::uint16_t target_port,
               const std::function<void(const std::string&)>& ready,
               const std::function<void(ms)>& stalled) {
  asio::io_context io;
  shared_state state;
  tcp::acceptor acceptor(io, {asio::ip::make_address(listen_host), listen_port});
  const tcp::endpoint target(asio::ip::make_address(target_host), target_port);

  asio::steady_timer stall_timer(io);
  std::function<void()> stall = [&] {
    const ms length = state.between(ms(200), ms(500));
    state.stall_until = clock::now() + length;
    stalled(length);
    stall_timer.expires_after(length + state.between(ms(2000), ms(4000)));
    stall_timer.async_wait([&](boost::system::error_code ec) {
      if (!ec) stall();
    });
  };
  state.begin_stalls = stall;

  std::function<void()> accept_next = [&] {
    acceptor.async_accept([&](boost::system::error_code ec, tcp::socket client) {
      if (ec) return;
      auto dialing = std::make_shared<tcp::socket>(io);
      auto held = std::make_shared<tcp::socket>(std::move(client));
      dialing->async_connect(target, [&, dialing, held](boost::system::error_code e) {
        if (e) return;  // dropping `held` closes the client: it sees the refusal
        std::make_shared<link>(std::move(*held), std::move(*dialing), state)->start();
      });
      accept_next();
    });
  };
  accept_next();
  ready(acceptor.local_endpoint().address().to_string() + ":" +
        std::to_string(acceptor.local_endpoint().port()));
  io.run();
  return 0;
}

}  // namespace netns_relay
