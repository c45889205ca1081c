// When the session tells its driver (on_activity): a receive that only takes
// a message wakes nobody, while one that changes what the driver acts on (a
// window update to write, input to read again) always does. A send tells it
// unless the driver is writing and will take the output anyway. A missed call
// would stall a connection; an extra one costs a thread wake-up per message.
#include <gtest/gtest.h>

#include "session_test_support.hpp"

namespace {

using namespace session_test;

bytes seq(std::uint8_t n) { return mp::map({{"Seq", {n}}}); }

TEST(SessionWakeup, TakingAQueuedMessageDoesNotTellTheDriver) {
  scripted_session t;
  t.peer.channel(1, 2);
  t.data(1, seq(1));
  t.data(1, seq(2));
  t.send();
  auto rx = t.accept();
  ASSERT_TRUE(rx);
  const int before = t.hooks->calls;
  for (std::uint8_t n : {1, 2}) {
    auto m = poll(*rx);
    ASSERT_TRUE(m.ready && m.value);
    EXPECT_EQ(m.value->find("Seq")->as_int(), n);
  }
  EXPECT_FALSE(poll(*rx).ready) << "nothing left";
  EXPECT_EQ(t.hooks->calls, before);
}

TEST(SessionWakeup, TakingTheMessageThatHeldInputBackTellsTheDriver) {
  session::options opts;
  opts.engine.limits.max_unconsumed = 100;
  scripted_session t(opts);
  auto rx = t.accept_peer_channel();
  ASSERT_TRUE(rx);
  const bytes big = mp::map({{"Body", mp::str(std::string(120, 'x'))}});
  t.data(1, big);
  t.data(1, seq(7));
  const bytes wire = t.peer.take();
  const std::size_t taken = t.feed(wire);
  ASSERT_LT(taken, wire.size()) << "the first message fills max_unconsumed";
  ASSERT_TRUE(t.s->input_paused());

  const int before = t.hooks->calls;
  auto first = poll(*rx);
  ASSERT_TRUE(first.ready && first.value);
  EXPECT_FALSE(t.s->input_paused());
  EXPECT_GT(t.hooks->calls, before) << "the driver must read again";

  t.feed({});  // what the driver does when told: offer the rest again
  auto second = poll(*rx);
  ASSERT_TRUE(second.ready && second.value);
  EXPECT_EQ(second.value->find("Seq")->as_int(), 7);
}

TEST(SessionWakeup, TakingWhatOwesTheSenderAWindowUpdateTellsTheDriver) {
  session::options opts;
  opts.engine.limits.initial_window = 1000;
  scripted_session t(opts);
  t.peer.settings_window(1u << 20);  // a peer that does flow control
  auto rx = t.accept_peer_channel();
  ASSERT_TRUE(rx);
  const bytes big = mp::map({{"Body", mp::str(std::string(200, 'x'))}});
  for (int i = 0; i < 4; ++i) t.data(1, big);
  t.send();
  const auto updates = [&] { return frames_of<spdy::window_update_frame>(t.frames()).size(); };
  const std::size_t updates_before = updates();
  const int before = t.hooks->calls;
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(poll(*rx).ready);
  EXPECT_GT(t.hooks->calls, before);
  t.drain();
  EXPECT_GT(updates(), updates_before) << "the taken bytes reopen the window";
}

TEST(SessionWakeup, SendsWhileTheDriverWritesDoNotTellItAndLaterOnesDo) {
  scripted_session t;
  std::error_code ec;
  auto tx = t.s->open_sender(ec);
  ASSERT_FALSE(ec);
  t.drain();

  // A send with nobody watching the output tells the driver.
  int before = t.hooks->calls;
  tx.send(libchan::make_map("Seq", 0));
  EXPECT_GT(t.hooks->calls, before);
  t.drain();

  // The driver took output and writes it: sends only add to the output.
  t.s->watch_output();
  before = t.hooks->calls;
  for (int n = 1; n <= 20; ++n) tx.send(libchan::make_map("Seq", n));
  EXPECT_EQ(t.hooks->calls, before);
  EXPECT_FALSE(t.s->stop_watching_output()) << "output came meanwhile: the driver takes it";
  t.drain();
  EXPECT_TRUE(t.s->stop_watching_output()) << "nothing left";

  // Idle again: the next send tells the driver.
  before = t.hooks->calls;
  tx.send(libchan::make_map("Seq", 21));
  EXPECT_GT(t.hooks->calls, before);
  t.drain();
  const auto data = frames_of<spdy::data_frame>(t.frames());
  std::size_t bytes = 0;
  for (const auto& d : data) bytes += d.payload.size();
  EXPECT_EQ(bytes, 22 * seq(0).size()) << "every message was written";
}

TEST(SessionWakeup, ClosingWhileTheDriverWritesStillTellsIt) {
  scripted_session t;
  std::error_code ec;
  auto tx = t.s->open_sender(ec);
  ASSERT_FALSE(ec);
  t.drain();
  t.s->watch_output();
  const int before = t.hooks->calls;
  tx.close();
  EXPECT_GT(t.hooks->calls, before) << "only sends rely on the write in flight";
}

}  // namespace
