// Several threads receiving on one channel of a real session: a receive may
// take a batch of queued messages ahead of the application, and every
// message must still arrive exactly once, in order, with the end of the
// channel after the last one.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "net/net_support.hpp"

namespace {

using namespace std::chrono_literals;

struct Numbered {
  std::int64_t Seq = 0;
  std::string Text;
  LIBCHAN_FIELDS(Seq, Text)
};

TEST(NetReceivers, ThreadsSharingAReceiverGetEveryMessageOnceAndInOrder) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  auto tx = p.client.open_sender<Numbered>();
  std::error_code ec;
  auto rx = p.server.accept_receiver_for<Numbered>(10s, ec);
  ASSERT_TRUE(rx) << ec.message();

  constexpr std::int64_t count = 20000;
  constexpr int threads = 4;
  std::vector<std::vector<std::int64_t>> got(threads);
  std::atomic<int> failures{0};
  std::vector<std::thread> receivers;
  for (int t = 0; t < threads; ++t) {
    receivers.emplace_back([&, t] {
      // Half of the threads block in receive; the others poll, then wait
      // briefly, so that waiters and batches taken ahead meet.
      for (;;) {
        std::error_code e;
        std::optional<Numbered> m;
        if (t % 2 == 0) {
          m = rx.receive_for(10s, e);
        } else {
          m = rx.receive_for(0ms, e);
          if (e == libchan::errc::timed_out) m = rx.receive_for(10s, e);
        }
        if (e) {
          ++failures;
          return;
        }
        if (!m) return;  // the end of the channel
        got[t].push_back(m->Seq);
      }
    });
  }
  for (std::int64_t i = 0; i < count; ++i) tx.send(Numbered{i, "message " + std::to_string(i)});
  tx.close();
  for (auto& r : receivers) r.join();

  EXPECT_EQ(failures.load(), 0);
  std::vector<std::int64_t> all;
  for (const auto& seqs : got) {
    EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end())) << "one thread's messages in order";
    all.insert(all.end(), seqs.begin(), seqs.end());
  }
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), static_cast<std::size_t>(count)) << "every message exactly once";
  for (std::int64_t i = 0; i < count; ++i) ASSERT_EQ(all[static_cast<std::size_t>(i)], i);
}

TEST(NetReceivers, AClosedReceiverGivesNoMessageTakenAheadOfIt) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  auto [tx, rx] = p.channel();
  for (int i = 0; i < 100; ++i) tx.send(libchan::make_map("Seq", i));
  // A message sent after them on another channel arrives after them: then
  // all are queued on the server, and the first receive takes others ahead.
  auto [tx2, rx2] = p.channel();
  tx2.send(libchan::make_map("Done", true));
  std::error_code ec;
  ASSERT_TRUE(rx2.receive_for(10s, ec)) << ec.message();
  auto first = rx.receive_for(10s, ec);
  ASSERT_TRUE(first) << ec.message();
  EXPECT_EQ(first->find("Seq")->as_int(), 0);
  EXPECT_EQ(rx.receive_for(10s, ec)->find("Seq")->as_int(), 1);
  rx.close();
  auto after = rx.receive_for(1s, ec);
  EXPECT_FALSE(after);
  EXPECT_EQ(ec, libchan::errc::closed) << ec.message();
}

}  // namespace
