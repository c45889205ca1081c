// A stream_pair end sent over a session: the end kept here reads what the
// peer writes straight from the session's stream (no pump, no ring), and
// writes straight into it. What must still hold: every byte in order, the
// end of stream, a reader unblocked by a close, and a peer that goes on
// writing after nobody reads here (its bytes are drained, not refused).
#include <gtest/gtest.h>

#include <array>
#include <future>
#include <thread>

#include "net/net_support.hpp"

namespace {

using namespace std::chrono_literals;

// `n` bytes of a pattern that a shifted copy would not match.
std::vector<std::byte> pattern(std::size_t n) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>(i * 131 + i / 251);
  return v;
}

TEST(NetSentStream, ThePeersBytesReachTheEndKeptHere) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  auto [mine, remote] = net_test::carry_stream(p);
  const auto data = pattern(6u << 20);  // several windows' worth
  auto writer = std::async(std::launch::async, [&, &remote = remote] {
    std::error_code ec;
    remote.write(data, ec);
    remote.close_write();
    return ec;
  });
  std::vector<std::byte> got;
  std::array<std::byte, 100000> buf{};  // an odd size: reads end mid-frame
  std::error_code ec;
  for (;;) {
    const std::size_t n = mine.impl()->read_some(buf, ec);
    if (ec || n == 0) break;
    got.insert(got.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_FALSE(writer.get());
  EXPECT_TRUE(got == data) << got.size() << " bytes of " << data.size();
}

TEST(NetSentStream, ClosingTheEndKeptHereUnblocksItsReader) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  auto [mine, remote] = net_test::carry_stream(p);
  // The reader holds the end itself, as an asynchronous read does: the
  // ByteStream object is not shared between threads.
  auto reader = std::async(std::launch::async, [impl = mine.impl()] {
    std::array<std::byte, 64> buf{};
    std::error_code ec;
    impl->read_some(buf, ec);
    return ec;
  });
  std::this_thread::sleep_for(50ms);  // let it wait on the network stream
  mine.close();
  ASSERT_EQ(reader.wait_for(5s), std::future_status::ready) << "the reader stayed blocked";
  EXPECT_EQ(reader.get(), libchan::errc::closed);
}

TEST(NetSentStream, APeerWritingAfterTheReaderClosedIsDrained) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  auto [mine, remote] = net_test::carry_stream(p);
  mine.close();
  // More than the stream's window: it completes only if the bytes are read
  // and dropped on this side.
  auto writer = std::async(std::launch::async, [&, &remote = remote] {
    std::error_code ec;
    remote.write(pattern(4u << 20), ec);
    return ec;
  });
  ASSERT_EQ(writer.wait_for(10s), std::future_status::ready) << "the peer's write stalled";
  writer.get();  // closed or not, it ended
  EXPECT_FALSE(p.client.closed()) << p.client.error_message();
  EXPECT_FALSE(p.server.closed()) << p.server.error_message();
}

}  // namespace
