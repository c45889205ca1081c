// Per-stream back-pressure and graceful close, against a scripted peer that
// does flow control: data waiting for one stream's window does not hold up
// the session's other streams, a stream waits on its own, and close() writes
// what `send` accepted, then FIN, then GOAWAY, or gives up at its deadline.
#include <gtest/gtest.h>

#include "session_test_support.hpp"

namespace {

using namespace session_test;
using libchan::errc;

constexpr std::uint32_t window = 1000;
constexpr std::size_t message = 600;  // one string, 603 bytes as msgpack (str16)
constexpr std::size_t wire_message = message + 3;

// A session whose peer announced a small per-stream window, and whose
// budget for waiting data is 16 windows (a window per stream).
struct flow_session {
  flow_session() : t(options()) {
    t.peer.settings_window(window);
    t.send();
  }
  static session::options options() {
    session::options o;
    o.engine.limits.max_output_queue = 16 * window;
    return o;
  }

  libchan::Sender<Value> open() {
    std::error_code ec;
    auto tx = t.s->open_sender(ec);
    EXPECT_FALSE(ec) << ec.message();
    t.drain();
    return tx;
  }
  // Starts a send; the probe says whether it completed.
  void send(libchan::Sender<Value>& tx, send_probe& probe) {
    tx.impl()->start_send(Value(pattern(message)), probe);
    t.drain();
  }
  // DATA payload bytes written on `id`, and whether a FIN came.
  std::size_t data_on(stream_id id, bool* fin = nullptr) {
    std::size_t n = 0;
    for (const auto& d : frames_of<spdy::data_frame>(t.frames())) {
      if (d.stream != id) continue;
      n += d.payload.size();
      if (fin && d.fin()) *fin = true;
    }
    return n;
  }
  bool goaway_sent() { return !frames_of<spdy::goaway_frame>(t.frames()).empty(); }

  scripted_session t;
};

// Sends on `tx` until one send waits; returns how many completed.
int fill(flow_session& f, libchan::Sender<Value>& tx, std::deque<send_probe>& probes) {
  for (int i = 0; i < 100; ++i) {
    f.send(tx, probes.emplace_back());
    if (!probes.back().sent) return i;
    EXPECT_FALSE(probes.back().result) << probes.back().result.message();
  }
  ADD_FAILURE() << "sends never waited";
  return 100;
}

TEST(SessionFlow, StalledStreamDoesNotHoldUpTheOthers) {
  flow_session f;
  auto stalled = f.open();
  auto other = f.open();
  std::deque<send_probe> probes;
  const int accepted = fill(f, stalled, probes);
  // Its window, then a share of the waiting budget: far below the whole.
  EXPECT_LE(static_cast<std::size_t>(accepted) * wire_message, 2 * window);
  EXPECT_EQ(f.data_on(2), window);

  // The other stream has a window of its own: its sends complete and go out.
  std::size_t acknowledged = 0;
  for (int i = 0; i < 20; ++i) {
    send_probe p;
    f.send(other, p);
    ASSERT_TRUE(p.sent) << "send " << i << " on the other stream waits behind the stalled one";
    EXPECT_FALSE(p.result);
    // The peer reads what came and reopens that window.
    const std::size_t now = f.data_on(4);
    f.t.peer.window_update(4, static_cast<std::uint32_t>(now - acknowledged));
    acknowledged = now;
    f.t.send();
  }
  EXPECT_EQ(f.data_on(4), 20 * wire_message);
  EXPECT_FALSE(probes.back().sent) << "the stalled sender still waits";

  // The peer reads the stalled stream: its sender goes on.
  f.t.peer.window_update(2, 100 * window);
  f.t.send();
  EXPECT_TRUE(probes.back().sent);
  EXPECT_FALSE(probes.back().result);
  EXPECT_EQ(f.data_on(2), static_cast<std::size_t>(accepted + 1) * wire_message);
}

TEST(SessionFlow, LargeMessageOnAnOpenStreamGoesOutAsTheWindowOpens) {
  flow_session f;
  // Twenty stalled streams fill the budget for waiting data.
  std::vector<libchan::Sender<Value>> stalled;
  std::deque<send_probe> probes;
  for (int i = 0; i < 20; ++i) {
    stalled.push_back(f.open());
    fill(f, stalled.back(), probes);
  }
  auto open = f.open();
  const stream_id id = 42;
  // Three windows' worth: what fits goes out now, the rest as the peer
  // reopens this window, though nothing else may wait.
  send_probe big;
  open.impl()->start_send(Value(pattern(3 * window)), big);
  f.t.drain();
  EXPECT_FALSE(big.sent);
  EXPECT_EQ(f.data_on(id), window);
  for (int i = 0; i < 5 && !big.sent; ++i) {
    f.t.peer.window_update(id, window);
    f.t.send();
  }
  EXPECT_TRUE(big.sent);
  EXPECT_FALSE(big.result);
  f.t.peer.window_update(id, window);
  f.t.send();
  EXPECT_EQ(f.data_on(id), 3 * window + 3);
}

TEST(SessionFlow, CloseWritesAcceptedDataThenFinThenGoaway) {
  flow_session f;
  auto tx = f.open();
  std::deque<send_probe> probes;
  const int accepted = fill(f, tx, probes);
  ASSERT_GE(accepted, 2);
  f.t.s->close();
  f.t.drain();
  // The send that waited to be accepted fails; the accepted ones wait.
  EXPECT_TRUE(probes.back().sent);
  EXPECT_EQ(probes.back().result, errc::disconnected);
  EXPECT_TRUE(f.t.s->closing());
  EXPECT_FALSE(f.t.s->end_reason());
  EXPECT_FALSE(f.goaway_sent());
  send_probe late;
  f.send(tx, late);
  EXPECT_TRUE(late.sent);
  EXPECT_EQ(late.result, errc::disconnected);

  f.t.peer.window_update(2, 100 * window);
  f.t.send();
  bool fin = false;
  EXPECT_EQ(f.data_on(2, &fin), static_cast<std::size_t>(accepted) * wire_message);
  EXPECT_TRUE(fin);
  EXPECT_TRUE(f.goaway_sent());
  EXPECT_EQ(f.t.s->end_reason(), errc::disconnected);
  // The FIN comes before the GOAWAY.
  const auto frames = f.t.frames();
  std::size_t fin_at = 0, goaway_at = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (auto* d = std::get_if<spdy::data_frame>(&frames[i].value); d && d->fin()) fin_at = i;
    if (std::holds_alternative<spdy::goaway_frame>(frames[i].value)) goaway_at = i;
  }
  EXPECT_LT(fin_at, goaway_at);
}

TEST(SessionFlow, CloseGivesUpAtItsDeadline) {
  flow_session f;
  auto tx = f.open();
  std::deque<send_probe> probes;
  fill(f, tx, probes);
  const engine::steady_time t0{std::chrono::hours(1)};
  f.t.s->close(t0 + std::chrono::seconds(5));
  ASSERT_TRUE(f.t.s->next_deadline());
  EXPECT_LE(*f.t.s->next_deadline(), t0 + std::chrono::seconds(5));
  f.t.s->tick(t0 + std::chrono::seconds(4));
  EXPECT_FALSE(f.t.s->end_reason());
  f.t.s->tick(t0 + std::chrono::seconds(5));
  f.t.drain();
  EXPECT_EQ(f.t.s->end_reason(), errc::disconnected);
  EXPECT_NE(f.t.s->end_detail().find("dropped"), std::string::npos) << f.t.s->end_detail();
  EXPECT_TRUE(f.goaway_sent());
  EXPECT_TRUE(f.t.s->finished());
}

TEST(SessionFlow, CloseWithNothingWaitingEndsAtOnce) {
  flow_session f;
  auto tx = f.open();
  send_probe p;
  f.send(tx, p);
  ASSERT_TRUE(p.sent);
  f.t.s->close();
  f.t.drain();
  EXPECT_EQ(f.t.s->end_reason(), errc::disconnected);
  bool fin = false;
  EXPECT_EQ(f.data_on(2, &fin), wire_message);
  EXPECT_TRUE(fin);
  EXPECT_TRUE(f.goaway_sent());
}

}  // namespace
