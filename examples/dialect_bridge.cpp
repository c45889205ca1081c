// dialect_bridge: joins peers that speak different libchan wire dialects.
//
//   dialect_bridge [--listen-dialect v0.1|v0.2] [--dial-dialect v0.1|v0.2] LISTEN_URL DIAL_URL
//
// Listens on LISTEN_URL for peers of the listen dialect (default v0.1:
// jschan, Go libchan v0.1.0). For every session it accepts, it dials
// DIAL_URL in the dial dialect (default v0.2: Go libchan master, libchan for
// C++) and forwards every channel either peer opens to the other one. The
// channels and byte streams nested in messages need no code here: a channel
// end received on one session and sent on the other is forwarded by the
// library. Prints "listening URL" once ready; stops on SIGINT or SIGTERM.
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "libchan/libchan.hpp"

namespace {

using executor = boost::asio::io_context::executor_type;
using libchan::Value;

// Moves every message from one channel to another until the source ends,
// then closes the destination; if the destination's receiver goes away, it
// closes the source. Completion driven: no thread per channel.
class channel_pump : public std::enable_shared_from_this<channel_pump> {
 public:
  static void start(libchan::Receiver<> from, libchan::Sender<> to, executor ex,
                    std::function<void()> done) {
    auto pump = std::shared_ptr<channel_pump>(
        new channel_pump(std::move(from), std::move(to), ex, std::move(done)));
    pump->receive_next();
  }

 private:
  channel_pump(libchan::Receiver<> from, libchan::Sender<> to, executor ex,
               std::function<void()> done)
      : from_(std::move(from)), to_(std::move(to)), ex_(ex), done_(std::move(done)) {}

  void receive_next() {
    from_.async_receive(boost::asio::bind_executor(
        ex_, [self = shared_from_this()](std::error_code ec, std::optional<Value> message) {
          if (ec || !message) return self->finish();
          self->to_.async_send(std::move(*message),
                               boost::asio::bind_executor(self->ex_, [self](std::error_code e) {
                                 if (e) return self->finish();
                                 self->receive_next();
                               }));
        }));
  }

  void finish() {
    to_.close();
    from_.close();
    if (done_) done_();
  }

  libchan::Receiver<> from_;
  libchan::Sender<> to_;
  executor ex_;
  std::function<void()> done_;
};

// One accepted session and the session dialed for it. Everything here runs
// on the bridge's executor (one thread): no locks.
class session_bridge : public std::enable_shared_from_this<session_bridge> {
 public:
  session_bridge(libchan::Session accepted, libchan::Session dialed, executor ex)
      : sides_{std::move(accepted), std::move(dialed)}, ex_(ex) {}

  void start() {
    for (int side = 0; side < 2; ++side) {
      // on_close runs on a session's io thread: hop to ours.
      sides_[side].on_close([weak = weak_from_this(), ex = ex_, side](std::error_code) {
        boost::asio::post(ex, [weak, side] {
          if (auto self = weak.lock()) self->side_ended(side);
        });
      });
      accept_next(side);
    }
  }

  void close() {
    for (auto& s : sides_) s.close();
  }

 private:
  void accept_next(int from) {
    sides_[from].async_accept_receiver(boost::asio::bind_executor(
        ex_, [self = shared_from_this(), from](std::error_code, libchan::Receiver<> channel) {
          if (!channel) return;  // that session ended
          self->accept_next(from);
          std::error_code ec;
          auto to = self->sides_[1 - from].open_sender(ec);
          if (ec) {  // dropping `channel` tells its sender
            std::cerr << "dialect_bridge: cannot open a channel: " << ec.message() << '\n';
            return;
          }
          ++self->pumps_[from];
          channel_pump::start(std::move(channel), std::move(to), self->ex_, [self, from] {
            --self->pumps_[from];
            self->close_if_drained();
          });
        }));
  }

  void side_ended(int side) {
    if (ended_[side]) return;
    ended_[side] = true;
    std::cerr << "dialect_bridge: " << (side == 0 ? "accepted" : "dialed") << " session ended ("
              << sides_[side].error_message() << ")\n";
    close_if_drained();
  }

  // Once a side has ended and every channel it opened has been forwarded to
  // its end, the other side has nothing more coming: close it too.
  void close_if_drained() {
    for (int side = 0; side < 2; ++side)
      if (ended_[side] && pumps_[side] == 0) sides_[1 - side].close();
  }

  libchan::Session sides_[2];
  bool ended_[2] = {false, false};
  int pumps_[2] = {0, 0};
  executor ex_;
};

class bridge_server {
 public:
  bridge_server(libchan::Listener listener, std::string dial_url,
                libchan::SessionOptions dial_options, executor ex)
      : listener_(std::move(listener)),
        dial_url_(std::move(dial_url)),
        dial_options_(std::move(dial_options)),
        ex_(ex) {}

  void start() { accept_next(); }

  void stop() {
    stopping_ = true;
    listener_.close();
    for (auto& weak : bridges_)
      if (auto b = weak.lock()) b->close();
  }

 private:
  void accept_next() {
    listener_.async_accept(
        boost::asio::bind_executor(ex_, [this](std::error_code ec, libchan::Session accepted) {
          if (!accepted) {
            if (ec) std::cerr << "dialect_bridge: accept failed: " << ec.message() << '\n';
            return;
          }
          dial_for(std::make_shared<libchan::Session>(std::move(accepted)));
          accept_next();
        }));
  }

  void dial_for(std::shared_ptr<libchan::Session> accepted) {
    libchan::async_dial(dial_url_, dial_options_,
                        boost::asio::bind_executor(
                            ex_, [this, accepted](std::error_code ec, libchan::Session dialed) {
                              on_dialed(std::move(*accepted), ec, std::move(dialed));
                            }));
  }

  void on_dialed(libchan::Session accepted, std::error_code ec, libchan::Session dialed) {
    if (stopping_) return;  // a dial under way when we were told to stop: both close here
    if (ec || !dialed) {
      std::cerr << "dialect_bridge: cannot dial " << dial_url_ << " for " << accepted.peer_address()
                << ": " << ec.message() << '\n';
      return;  // closing the accepted session tells its peer
    }
    std::cerr << "dialect_bridge: " << accepted.peer_address() << " <-> " << dialed.peer_address()
              << '\n';
    auto bridge = std::make_shared<session_bridge>(std::move(accepted), std::move(dialed), ex_);
    bridge->start();
    std::erase_if(bridges_, [](auto& weak) { return weak.expired(); });
    bridges_.push_back(bridge);
  }

  libchan::Listener listener_;
  std::string dial_url_;
  libchan::SessionOptions dial_options_;
  executor ex_;
  bool stopping_ = false;
  std::vector<std::weak_ptr<session_bridge>> bridges_;
};

std::optional<libchan::Dialect> parse_dialect(const char* text) {
  if (std::strcmp(text, "v0.1") == 0) return libchan::Dialect::v0_1;
  if (std::strcmp(text, "v0.2") == 0) return libchan::Dialect::v0_2;
  return std::nullopt;
}

int usage() {
  std::cerr << "usage: dialect_bridge [--listen-dialect v0.1|v0.2] [--dial-dialect v0.1|v0.2] "
               "LISTEN_URL DIAL_URL\n"
               "  e.g. dialect_bridge tcp://127.0.0.1:9323 tcp://127.0.0.1:9324\n"
               "  forwards v0.1 peers (jschan) dialing 9323 to the v0.2 server on 9324\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  libchan::Dialect listen_dialect = libchan::Dialect::v0_1;
  libchan::Dialect dial_dialect = libchan::Dialect::v0_2;
  std::vector<std::string> urls;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if ((arg == "--listen-dialect" || arg == "--dial-dialect") && i + 1 < argc) {
      auto dialect = parse_dialect(argv[++i]);
      if (!dialect) return usage();
      (arg == "--listen-dialect" ? listen_dialect : dial_dialect) = *dialect;
    } else if (arg.rfind("--", 0) == 0) {
      return usage();
    } else {
      urls.push_back(arg);
    }
  }
  if (urls.size() != 2) return usage();

  // Static, made before any session: sessions end on libchan's io threads
  // and post their on_close handlers here, possibly after run() returned;
  // it must outlive them (statics go in reverse order, after libchan's
  // threads have been joined).
  static boost::asio::io_context io;
  libchan::SessionOptions listen_options;
  listen_options.dialect = listen_dialect;
  libchan::SessionOptions dial_options;
  dial_options.dialect = dial_dialect;

  std::error_code ec;
  auto listener = libchan::listen(urls[0], listen_options, ec);
  if (ec) {
    std::cerr << "dialect_bridge: cannot listen on " << urls[0] << ": " << ec.message() << '\n';
    return 1;
  }
  std::cout << "listening " << listener.local_address() << std::endl;

  bridge_server server(std::move(listener), urls[1], dial_options, io.get_executor());
  server.start();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    // Closing everything completes every pending operation, and run()
    // returns once their handlers have run; a watchdog covers a peer that
    // keeps a close from completing.
    server.stop();
    std::thread([] {
      std::this_thread::sleep_for(std::chrono::seconds(5));
      std::cerr << "dialect_bridge: sessions did not end within 5 s\n";
      std::_Exit(1);
    }).detach();
  });
  io.run();
  return 0;
}
