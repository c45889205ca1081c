// Inputs the session fuzz target (src/protocol/fuzz/channel_session_fuzz.cpp)
// found, as scripted peers. Each test bounds its own wait: a regression
// fails the test instead of hanging it.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>

#include "session_test_support.hpp"

namespace {

using namespace session_test;
using libchan::errc;

// Runs `fn` on another thread; a deadlock aborts the test run (bounded).
template <class Fn>
void within_seconds(int seconds, Fn fn) {
  auto done = std::async(std::launch::async, fn);
  if (done.wait_for(std::chrono::seconds(seconds)) != std::future_status::ready) {
    std::fprintf(stderr, "deadlock: the session did not return within %d s\n", seconds);
    std::abort();
  }
  done.get();
}

struct recorded_send final : libchan::detail::send_waiter {
  void complete(std::error_code e) override {
    ec = e;
    ++completions;
  }
  std::error_code ec;
  int completions = 0;
};

TEST(SessionRegression, WritesHeldForAStreamNeverOpenedFailWithTheSession) {
  scripted_session t;
  t.peer.channel(1, 2);
  t.data(1, mp::map({{"Ret", mp::ref(mp::sender, 7)}}));  // stream of ref 7 never opens
  t.send();
  auto rx = t.accept();
  ASSERT_TRUE(rx);
  auto m = poll(*rx);
  ASSERT_TRUE(m.ready && m.value);
  auto ret = m.value->find("Ret")->take_sender();
  recorded_send w;
  ret.impl()->start_send(Value("reply"), w);
  EXPECT_EQ(w.completions, 0) << "held until the peer opens the stream";
  t.s->feed_eof();
  EXPECT_EQ(w.completions, 1) << "a blocking send() would wait forever";
  EXPECT_EQ(w.ec, errc::disconnected);
}

TEST(SessionRegression, BadSecondReferenceDropsTheFirstOutsideTheLock) {
  scripted_session t;
  t.peer.channel(1, 2);
  // The second name of ref 7 fails after a Sender was made for the first:
  // that Sender used to be destroyed inside feed(), under the session lock.
  t.data(1, mp::map({{"A", mp::ref(mp::sender, 7)}, {"B", mp::ref(mp::sender, 7)}}));
  t.peer.channel(3, 3);
  t.data(3, mp::map({{"Seq", {0x02}}}));
  within_seconds(10, [&] { t.send(); });
  auto a = t.accept();
  auto b = t.accept();
  ASSERT_TRUE(a && b);
  auto bad = poll(*a);
  ASSERT_TRUE(bad.ready);
  EXPECT_EQ(bad.ec, errc::protocol_error);
  EXPECT_NE(t.diag().last_error.find("reference 7: named twice"), std::string::npos)
      << t.diag().last_error;
  EXPECT_TRUE(t.reset_with(1, spdy::rst_status::protocol_error));
  auto good = poll(*b);
  ASSERT_TRUE(good.ready && good.value) << good.ec.message();
  EXPECT_EQ(good.value->find("Seq")->as_int(), 2);
}

TEST(SessionRegression, RefusedChannelDropsItsQueuedMessageSafely) {
  session::options opts;
  opts.accept_backlog = 1;
  scripted_session t(opts);
  // Channel 3 finds the backlog full, with a message naming a Sender
  // already queued on it: refusing it destroyed that Sender under the lock.
  t.peer.channel(1, 2).channel(3, 3);
  t.data(3, mp::map({{"Ret", mp::ref(mp::sender, 9)}}));
  within_seconds(10, [&] { t.send(); });
  EXPECT_TRUE(t.reset_with(3, spdy::rst_status::refused_stream));
  EXPECT_NE(t.diag().last_error.find("accept_backlog (1)"), std::string::npos)
      << t.diag().last_error;
  ASSERT_TRUE(t.accept());
  EXPECT_FALSE(t.accept()) << "only the first channel was taken";
  // The session goes on.
  t.peer.channel(5, 4);
  t.data(5, mp::map({{"Seq", {0x05}}}));
  t.send();
  auto c = t.accept();
  ASSERT_TRUE(c);
  auto m = poll(*c);
  ASSERT_TRUE(m.ready && m.value);
  EXPECT_EQ(m.value->find("Seq")->as_int(), 5);
}

}  // namespace
