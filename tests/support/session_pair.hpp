// Two libchan sessions joined back to back in memory: a dialer and an
// acceptor, with one thread carrying bytes between them. No sockets.
#pragma once

#include <condition_variable>
#include <mutex>
#include <thread>

#include "session/channel_session.hpp"

namespace test_support {

namespace session = libchan::detail::session;
namespace engine = libchan::detail::engine;

class session_pair {
 public:
  explicit session_pair(engine::dialect wire = engine::dialect::v0_2,
                        session::options base = {}) {
    auto dial = base;
    dial.engine.side = engine::role::dialer;
    dial.engine.wire = wire;
    auto accept = base;
    accept.engine.side = engine::role::acceptor;
    accept.engine.wire = engine::dialect::detect;
    client = session::channel_session::create(dial, signal_);
    server = session::channel_session::create(accept, signal_);
    pump_ = std::thread([this] { run(); });
  }

  ~session_pair() {
    signal_->stop();
    pump_.join();
    client->close();
    server->close();
  }

  /// A fresh top-level channel: the client's Sender, the server's Receiver.
  std::pair<libchan::Sender<libchan::Value>, libchan::Receiver<libchan::Value>> channel() {
    std::error_code ec;
    auto tx = client->open_sender(ec);
    if (ec) throw std::system_error(ec);
    auto rx = server->incoming().receive_for(std::chrono::seconds(10));
    if (!rx) throw std::runtime_error("no channel arrived");
    return {std::move(tx), std::move(*rx)};
  }

  /// Stops carrying bytes in one direction (to test backpressure).
  void hold_client_to_server(bool hold) { signal_->hold(hold); }

  std::shared_ptr<session::channel_session> client;
  std::shared_ptr<session::channel_session> server;

 private:
  // Wakes the pump; shared so that a session outliving the pair is safe.
  struct signal final : session::driver_hooks {
    void on_activity() override {
      {
        std::lock_guard lock(mutex);
        activity = true;
      }
      wake.notify_all();
    }
    void stop() {
      {
        std::lock_guard lock(mutex);
        stopped = true;
      }
      wake.notify_all();
    }
    void hold(bool h) {
      {
        std::lock_guard lock(mutex);
        hold_c2s = h;
      }
      wake.notify_all();
    }
    std::mutex mutex;
    std::condition_variable wake;
    bool activity = false;
    bool stopped = false;
    bool hold_c2s = false;
  };

  // Moves output of `from` into `to`, keeping what `to` refused for later.
  static bool carry(session::channel_session& from, session::channel_session& to,
                    std::vector<std::uint8_t>& backlog) {
    bool moved = false;
    from.take_output(backlog);
    if (!backlog.empty()) {
      std::size_t n = to.feed(backlog);
      backlog.erase(backlog.begin(), backlog.begin() + static_cast<std::ptrdiff_t>(n));
      moved = n > 0;
    }
    return moved;
  }

  void run() {
    std::vector<std::uint8_t> c2s, s2c;
    for (;;) {
      bool hold;
      {
        auto& sig = *signal_;
        std::unique_lock lock(sig.mutex);
        sig.wake.wait_for(lock, std::chrono::milliseconds(50),
                          [&] { return sig.activity || sig.stopped; });
        if (sig.stopped) return;
        sig.activity = false;
        hold = sig.hold_c2s;
      }
      bool moved = true;
      while (moved) {
        moved = false;
        if (!hold) moved |= carry(*client, *server, c2s);
        moved |= carry(*server, *client, s2c);
      }
    }
  }

  std::shared_ptr<signal> signal_ = std::make_shared<signal>();
  std::thread pump_;
};

}  // namespace test_support
