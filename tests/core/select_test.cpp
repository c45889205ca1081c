#include <gtest/gtest.h>

#include <boost/asio/use_future.hpp>
#include <thread>

#include "libchan/pipe.hpp"
#include "libchan/select.hpp"

using namespace std::chrono_literals;

namespace {

TEST(Select, TakesFromTheReadyReceiverOnly) {
  auto [rx_a, tx_a] = libchan::buffered_pipe<int>(4);
  auto [rx_b, tx_b] = libchan::buffered_pipe<int>(4);
  tx_b.send(2);
  auto [index, value] = libchan::select(rx_a, rx_b);
  EXPECT_EQ(index, 1u);
  EXPECT_EQ(value, 2);
  tx_a.send(1);
  tx_a.close();
  EXPECT_EQ(rx_a.receive(), 1) << "the other receiver lost nothing";
}

TEST(Select, WaitsUntilOneBecomesReady) {
  auto [rx_a, tx_a] = libchan::pipe<int>();
  auto [rx_b, tx_b] = libchan::pipe<int>();
  std::thread sender([&, &tx_a = tx_a] {
    std::this_thread::sleep_for(20ms);
    tx_a.send(10);
  });
  auto got = libchan::select(rx_a, rx_b);
  EXPECT_EQ(got.index, 0u);
  EXPECT_EQ(got.value, 10);
  sender.join();
}

TEST(Select, ReportsEndOfAChannel) {
  auto [rx_a, tx_a] = libchan::pipe<int>();
  auto [rx_b, tx_b] = libchan::pipe<int>();
  tx_b.close();
  auto got = libchan::select(rx_a, rx_b);
  EXPECT_EQ(got.index, 1u);
  EXPECT_EQ(got.value, std::nullopt);
}

TEST(Select, TimesOut) {
  auto [rx_a, tx_a] = libchan::pipe<int>();
  auto [rx_b, tx_b] = libchan::pipe<int>();
  EXPECT_THROW(libchan::select_for(10ms, rx_a, rx_b), std::system_error);
  std::thread sender([&, &tx_b = tx_b] { tx_b.send(4); });
  EXPECT_EQ(rx_b.receive(), 4) << "a timed-out select leaves no stale waiter behind";
  sender.join();
}

TEST(Select, NoMessageIsLostUnderContention) {
  // Two producers race; repeated selects must see every message exactly once.
  auto [rx_a, tx_a] = libchan::buffered_pipe<int>(16);
  auto [rx_b, tx_b] = libchan::buffered_pipe<int>(16);
  constexpr int each = 20000;
  std::thread pa([&, &tx = tx_a] {
    for (int i = 0; i < each; ++i) tx.send(i);
    tx.close();
  });
  std::thread pb([&, &tx = tx_b] {
    for (int i = 0; i < each; ++i) tx.send(i);
    tx.close();
  });
  int next[2] = {0, 0};
  bool open[2] = {true, true};
  while (open[0] || open[1]) {
    libchan::Selected<int> got;
    if (open[0] && open[1])
      got = libchan::select(rx_a, rx_b);
    else if (open[0])
      got = {0, rx_a.receive()};
    else
      got = {1, rx_b.receive()};
    if (!got.value) {
      open[got.index] = false;
      continue;
    }
    ASSERT_EQ(*got.value, next[got.index]) << "receiver " << got.index;
    ++next[got.index];
  }
  pa.join();
  pb.join();
  EXPECT_EQ(next[0], each);
  EXPECT_EQ(next[1], each);
}

// A select won by one channel leaves its waiter registered on the other
// until it unregisters; a close of that other channel at the same moment
// must not touch the waiter once the select has returned (its stack frame
// is reused by the next select). Many rounds, for the sanitizers to see.
TEST(Select, AChannelEndingAsAnotherWinsLeavesTheGoneWaiterAlone) {
  constexpr int rounds = 2000;
  for (int i = 0; i < rounds; ++i) {
    auto [rx_a, tx_a] = libchan::buffered_pipe<int>(1);
    auto [rx_b, tx_b] = libchan::pipe<int>();
    std::thread ender([&, &tx_a = tx_a, &tx_b = tx_b] {
      tx_a.send(i);
      tx_b.close();
    });
    auto first = libchan::select(rx_a, rx_b);
    auto second = libchan::select(rx_a, rx_b);
    ender.join();
    // a's value, and b's end, in either order.
    const bool a_first = first.index == 0;
    const auto& from_a = a_first ? first : second;
    const auto& from_b = a_first ? second : first;
    ASSERT_EQ(from_a.index, 0u) << "round " << i;
    ASSERT_EQ(from_a.value, i) << "round " << i;
    ASSERT_EQ(from_b.index, 1u) << "round " << i;
    ASSERT_EQ(from_b.value, std::nullopt) << "round " << i;
  }
}

TEST(Select, AsyncSelectCompletesOnce) {
  auto [rx_a, tx_a] = libchan::pipe<int>();
  auto [rx_b, tx_b] = libchan::buffered_pipe<int>(1);
  libchan::Receiver<int>* both[] = {&rx_a, &rx_b};
  std::promise<std::pair<std::size_t, std::optional<int>>> result;
  libchan::async_select(std::span<libchan::Receiver<int>* const>(both),
                        [&](std::error_code ec, std::size_t i, std::optional<int> v) {
                          EXPECT_FALSE(ec);
                          result.set_value({i, v});
                        });
  tx_b.send(8);
  auto [index, value] = result.get_future().get();
  EXPECT_EQ(index, 1u);
  EXPECT_EQ(value, 8);
  // The losing receiver must not have kept the waiter.
  std::thread sender([&, &tx = tx_a] { tx.send(1); });
  EXPECT_EQ(rx_a.receive(), 1);
  sender.join();
}

}  // namespace
