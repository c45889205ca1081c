#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "libchan/detail/forward.hpp"
#include "libchan/pipe.hpp"

namespace {

TEST(Forward, ChannelForwarderMovesEverythingThenCloses) {
  auto [in_rx, in_tx] = libchan::buffered_pipe<int>(100000);
  auto [out_rx, out_tx] = libchan::buffered_pipe<int>(100000);
  // Queue many first: a forwarder that recursed per message would overflow.
  constexpr int count = 100000;
  for (int i = 0; i < count; ++i) in_tx.send(i);
  in_tx.close();
  std::promise<std::error_code> done;
  libchan::detail::channel_forwarder<int>::start(in_rx.release(), out_tx.release(),
                                                 [&](std::error_code ec) { done.set_value(ec); });
  for (int i = 0; i < count; ++i) ASSERT_EQ(out_rx.receive(), i);
  EXPECT_EQ(out_rx.receive(), std::nullopt);
  EXPECT_FALSE(done.get_future().get());
}

TEST(Forward, ChannelForwarderAcrossThreadsWithRendezvous) {
  auto [in_rx, in_tx] = libchan::pipe<int>();
  auto [out_rx, out_tx] = libchan::pipe<int>();
  libchan::detail::channel_forwarder<int>::start(in_rx.release(), out_tx.release());
  std::thread producer([&, &tx = in_tx] {
    for (int i = 0; i < 1000; ++i) tx.send(i);
    tx.close();
  });
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(out_rx.receive(), i);
  EXPECT_EQ(out_rx.receive(), std::nullopt);
  producer.join();
}

TEST(Forward, ClosedDestinationClosesTheSource) {
  auto [in_rx, in_tx] = libchan::buffered_pipe<int>(4);
  auto [out_rx, out_tx] = libchan::buffered_pipe<int>(4);
  out_rx.close();
  std::promise<std::error_code> done;
  libchan::detail::channel_forwarder<int>::start(in_rx.release(), out_tx.release(),
                                                 [&](std::error_code ec) { done.set_value(ec); });
  in_tx.send(1);
  EXPECT_EQ(done.get_future().get(), libchan::errc::closed);
  std::error_code ec;
  in_tx.send(2, ec);
  EXPECT_EQ(ec, libchan::errc::closed) << "the source learns that nobody listens";
}

TEST(Forward, BytePumpCopiesUntilEof) {
  auto [src_a, src_b] = libchan::stream_pair(4096);
  auto [dst_a, dst_b] = libchan::stream_pair(4096);
  std::promise<std::error_code> done;
  libchan::detail::byte_pump::start(src_b.impl(), dst_a.impl(),
                                    [&](std::error_code ec) { done.set_value(ec); });
  std::string data(300000, 'q');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
  std::thread writer([&, &w = src_a] {
    w.write(data);
    w.close_write();
  });
  EXPECT_EQ(dst_b.read_all(), data);
  writer.join();
  EXPECT_FALSE(done.get_future().get());
}

}  // namespace
