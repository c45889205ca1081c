// Keepalive through the libchan session layer: two sessions back to back,
// bytes carried by the test itself, time from a fake clock. When the peer
// goes silent, every receive waiting on the session ends once
// keepalive_timeout has passed; while it answers, nothing ends.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "libchan/libchan.hpp"
#include "session/channel_session.hpp"
#include "session_test_support.hpp"

namespace {

namespace session = libchan::detail::session;
namespace engine = libchan::detail::engine;
using libchan::errc;
using libchan::Value;
using session_test::pending_receive;
using namespace std::chrono_literals;

struct quiet_hooks final : session::driver_hooks {
  void on_activity() override {}
};

/// A dialer and an acceptor; the test decides when bytes move.
struct wired_pair {
  explicit wired_pair(const session::options& server_opts) {
    session::options dial;
    dial.engine.side = engine::role::dialer;
    auto accept = server_opts;
    accept.engine.side = engine::role::acceptor;
    accept.engine.wire = engine::dialect::detect;
    client = session::channel_session::create(dial, hooks);
    server = session::channel_session::create(accept, hooks);
  }

  /// Moves bytes both ways until neither side has anything to say.
  void carry() {
    for (int round = 0; round < 1000; ++round) {
      bool moved = move(*client, *server, c2s);
      moved |= move(*server, *client, s2c);
      if (!moved) return;
    }
    ADD_FAILURE() << "carry did not settle";
  }

  std::shared_ptr<quiet_hooks> hooks = std::make_shared<quiet_hooks>();
  std::shared_ptr<session::channel_session> client;
  std::shared_ptr<session::channel_session> server;

 private:
  static bool move(session::channel_session& from, session::channel_session& to,
                   std::vector<std::uint8_t>& backlog) {
    from.take_output(backlog);
    if (backlog.empty()) return false;
    const std::size_t n = to.feed(backlog);
    backlog.erase(backlog.begin(), backlog.begin() + static_cast<std::ptrdiff_t>(n));
    return n > 0;
  }
  std::vector<std::uint8_t> c2s, s2c;
};

session::options keepalive_options() {
  session::options o;
  o.engine.keepalive_interval = 1000ms;
  o.engine.keepalive_timeout = 2000ms;
  return o;
}

const engine::steady_time t0{std::chrono::hours(1)};

TEST(SessionKeepalive, SilentPeerEndsEveryPendingReceive) {
  // Waiters first: the channels may still refer to them until closed.
  pending_receive<Value> on_channel[3];
  pending_receive<Value> on_nested;
  pending_receive<libchan::Receiver<Value>> on_accept;
  wired_pair p(keepalive_options());

  std::vector<libchan::Sender<Value>> senders;
  std::vector<libchan::Receiver<Value>> channels;
  auto [nested_rx, nested_tx] = libchan::pipe<Value>();
  for (int i = 0; i < 3; ++i) {
    std::error_code ec;
    senders.push_back(p.client->open_sender(ec));
    ASSERT_FALSE(ec);
  }
  // The first message carries a Receiver: a nested channel of the session.
  senders[0].send(libchan::make_map("Seq", 0, "Items", std::move(nested_rx)));
  p.carry();
  for (int i = 0; i < 3; ++i) {
    std::optional<libchan::Receiver<Value>> rx;
    std::error_code ec;
    ASSERT_TRUE(p.server->incoming().impl()->try_receive(rx, ec) && rx) << i;
    channels.push_back(std::move(*rx));
  }
  std::optional<Value> first;
  std::error_code ec;
  ASSERT_TRUE(channels[0].impl()->try_receive(first, ec) && first);
  auto items = first->find("Items")->take_receiver();

  // Everything the server application could wait for, waiting.
  for (int i = 0; i < 3; ++i)
    channels[static_cast<std::size_t>(i)].impl()->start_receive(on_channel[i], 0);
  items.impl()->start_receive(on_nested, 0);
  p.server->incoming().impl()->start_receive(on_accept, 0);

  p.server->tick(t0);           // starts the clock
  p.server->tick(t0 + 1000ms);  // a PING the client never sees: it went silent
  p.server->tick(t0 + 2999ms);
  for (auto& w : on_channel) EXPECT_EQ(w.completions, 0);
  EXPECT_EQ(on_nested.completions, 0);
  EXPECT_EQ(on_accept.completions, 0);

  p.server->tick(t0 + 3000ms);
  for (auto& w : on_channel) {
    EXPECT_EQ(w.completions, 1);
    EXPECT_EQ(w.ec, errc::disconnected);
    EXPECT_FALSE(w.value);
  }
  EXPECT_EQ(on_nested.completions, 1);
  EXPECT_EQ(on_nested.ec, errc::disconnected);
  // The stream of top-level channels simply ends with the session.
  EXPECT_EQ(on_accept.completions, 1);
  EXPECT_FALSE(on_accept.value);
  EXPECT_EQ(p.server->end_reason(), errc::disconnected);
  EXPECT_NE(p.server->end_detail().find("did not answer PING within 2000 ms"), std::string::npos)
      << p.server->end_detail();
  // Later receives fail at once, and so do sends on the dead session.
  std::optional<Value> late;
  ASSERT_TRUE(channels[1].impl()->try_receive(late, ec));
  EXPECT_EQ(ec, errc::disconnected);
}

TEST(SessionKeepalive, AnsweringPeerKeepsTheSession) {
  pending_receive<Value> waiting;
  wired_pair p(keepalive_options());
  std::error_code ec;
  auto tx = p.client->open_sender(ec);
  ASSERT_FALSE(ec);
  tx.send(Value("hello"));
  p.carry();
  std::optional<libchan::Receiver<Value>> rx;
  ASSERT_TRUE(p.server->incoming().impl()->try_receive(rx, ec) && rx);
  std::optional<Value> hello;
  ASSERT_TRUE(rx->impl()->try_receive(hello, ec) && hello);
  rx->impl()->start_receive(waiting, 0);

  // Ten timeouts' worth of a quiet channel, the peer answering every PING.
  for (auto t = 0ms; t <= 20000ms; t += 100ms) {
    p.server->tick(t0 + t);
    p.carry();
  }
  EXPECT_EQ(waiting.completions, 0);
  EXPECT_FALSE(p.server->end_reason());

  tx.send(Value("still here"));
  p.carry();
  ASSERT_EQ(waiting.completions, 1);
  EXPECT_FALSE(waiting.ec);
  EXPECT_EQ(waiting.value->as_string(), "still here");
}

}  // namespace
