// Reads of a byte stream that wait for data: the frames of one batch of input
// go into the waiting buffer together, and the reader is woken once, with
// all of them, not once a frame. A read is never held past the batch.
#include <gtest/gtest.h>

#include <numeric>

#include "session_test_support.hpp"

namespace {

using namespace session_test;

// Frames of at most 100 bytes, so that one write makes several.
constexpr std::uint32_t small_frames = 100;

struct stream_link {
  stream_link() : link(engine::dialect::v0_2, small_frames) {
    auto c = link.open_channel();
    auto [mine, theirs] = libchan::stream_pair();
    c.tx.send(libchan::make_map("stream", std::move(theirs)));
    link.pump();
    auto message = c.rx.receive_for(std::chrono::seconds(5));
    EXPECT_TRUE(message);
    if (message) remote = message->find("stream")->take_stream().release();
    writer = std::move(mine);
  }

  // Writes `n` bytes counting up from `first`; the link carries them.
  void write(std::size_t n, std::uint8_t first = 0) {
    std::vector<std::uint8_t> data(n);
    std::iota(data.begin(), data.end(), first);
    writer.write(std::as_bytes(std::span(data)));
    link.pump();
  }

  struct read_result {
    bool done = false;
    std::error_code ec;
    std::size_t n = 0;
  };
  // Starts a read into `buffer`; `r` says when and how it completed.
  void start_read(std::span<std::byte> buffer, read_result& r) {
    remote->async_read_some(buffer, [&r](std::error_code ec, std::size_t n) {
      r.done = true;
      r.ec = ec;
      r.n = n;
    });
  }

  linked_sessions link;
  libchan::ByteStream writer;
  std::shared_ptr<libchan::detail::stream_impl> remote;
};

TEST(SessionStreamRead, AWaitingReadTakesEveryFrameOfTheBatch) {
  stream_link s;
  ASSERT_TRUE(s.remote);
  std::vector<std::byte> buffer(1000);
  stream_link::read_result r;
  s.start_read(buffer, r);
  EXPECT_FALSE(r.done);
  s.write(350);  // four frames: 100, 100, 100, 50
  ASSERT_GE(s.link.data_frames(3).size(), 4u) << "the write went as several frames";
  ASSERT_TRUE(r.done) << "a batch that does not fill the read still completes it";
  EXPECT_FALSE(r.ec);
  EXPECT_EQ(r.n, 350u);
  for (std::size_t i = 0; i < r.n; ++i)
    ASSERT_EQ(buffer[i], static_cast<std::byte>(i & 0xFF)) << "byte " << i;
}

TEST(SessionStreamRead, AFullReadCompletesAndTheRestWaitsInOrder) {
  stream_link s;
  ASSERT_TRUE(s.remote);
  std::vector<std::byte> first(150), second(1000);
  stream_link::read_result r1, r2;
  s.start_read(first, r1);
  s.write(350);
  ASSERT_TRUE(r1.done);
  EXPECT_EQ(r1.n, 150u);
  // The rest was buffered: the next read completes at once with it.
  s.start_read(second, r2);
  ASSERT_TRUE(r2.done);
  EXPECT_EQ(r2.n, 200u);
  EXPECT_EQ(second[0], static_cast<std::byte>(150));
  EXPECT_EQ(second[199], static_cast<std::byte>(349 & 0xFF));
}

TEST(SessionStreamRead, TheEndOfStreamCompletesAPartlyFilledRead) {
  stream_link s;
  ASSERT_TRUE(s.remote);
  std::vector<std::byte> buffer(1000);
  stream_link::read_result r1, r2;
  s.start_read(buffer, r1);
  s.write(120);
  s.writer.close_write();
  s.link.pump();
  ASSERT_TRUE(r1.done);
  EXPECT_FALSE(r1.ec) << "the bytes first, the end after them";
  EXPECT_EQ(r1.n, 120u);
  s.start_read(buffer, r2);
  ASSERT_TRUE(r2.done);
  EXPECT_EQ(r2.n, 0u) << "then the end of stream";
}

}  // namespace
