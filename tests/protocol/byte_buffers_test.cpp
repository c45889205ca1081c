// The session's two byte buffers: the engine's output queue (frames waiting
// for the connection, handed out as whole chunks) and a byte stream's
// input queue (bytes waiting for the application's reads).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <span>
#include <vector>

#include "engine/output_queue.hpp"
#include "session/byte_queue.hpp"

namespace {

using bytes = std::vector<std::uint8_t>;
using libchan::detail::engine::output_queue;
using libchan::detail::session::byte_queue;

bytes counting(std::size_t n, std::uint8_t first) {
  bytes b(n);
  std::iota(b.begin(), b.end(), first);
  return b;
}

void append(output_queue& q, const bytes& frame, bool reply = false) {
  q.append([&](bytes& out) { out.insert(out.end(), frame.begin(), frame.end()); }, reply);
}

TEST(OutputQueue, TakeFrontHandsOverTheChunkWithoutCopying) {
  output_queue q;
  append(q, counting(100, 0));
  const std::uint8_t* queued = q.front().data();
  bytes out = counting(10, 200);  // old contents are dropped
  EXPECT_EQ(q.take_front(out), 100u);
  EXPECT_EQ(out, counting(100, 0));
  EXPECT_EQ(out.data(), queued);
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.front_offset(), 100u);
  EXPECT_EQ(q.take_front(out), 0u);
}

TEST(OutputQueue, TakeFrontAfterAPartialWriteCopiesTheRest) {
  output_queue q;
  append(q, counting(100, 0));
  q.consume(30);
  bytes out;
  EXPECT_EQ(q.take_front(out), 70u);
  const bytes all = counting(100, 0);
  EXPECT_EQ(out, bytes(all.begin() + 30, all.end()));
  EXPECT_EQ(q.end_offset(), 100u);
  EXPECT_TRUE(q.empty());
}

TEST(OutputQueue, ChunksKeepOrderAndStayBounded) {
  output_queue q;
  bytes all;
  for (int i = 0; i < 64; ++i) {
    bytes frame = counting(20000, static_cast<std::uint8_t>(i));
    append(q, frame, i % 2 == 0);
    all.insert(all.end(), frame.begin(), frame.end());
  }
  EXPECT_EQ(q.size(), all.size());
  EXPECT_EQ(q.reply_bytes(), 32u * 20000);
  bytes taken, out;
  std::size_t chunks = 0;
  while (q.take_front(out) > 0) {
    ++chunks;
    // A chunk stops taking frames once it holds its target size.
    EXPECT_LE(out.size(), (128u << 10) + 20000);
    taken.insert(taken.end(), out.begin(), out.end());
  }
  EXPECT_GT(chunks, 2u);
  EXPECT_EQ(taken, all);
  EXPECT_EQ(q.reply_bytes(), 0u);
  EXPECT_EQ(q.size(), 0u);
}

TEST(OutputQueue, SmallFramesDoNotHoldBulkSizedBuffers) {
  output_queue q;
  for (int i = 0; i < 10; ++i) append(q, counting(100, static_cast<std::uint8_t>(i)));
  bytes out;
  std::size_t taken = 0;
  while (q.take_front(out) > 0) {
    taken += out.size();
    EXPECT_LT(out.capacity(), 64u << 10);
  }
  EXPECT_EQ(taken, 1000u);
}

TEST(OutputQueue, TheFrontSpanStaysValidWhileMoreIsQueued) {
  output_queue q;
  append(q, counting(50, 0));
  auto front = q.front();
  for (int i = 0; i < 100; ++i) append(q, counting(5000, 7));
  EXPECT_EQ(q.front().data(), front.data());
  EXPECT_EQ(bytes(front.begin(), front.end()), counting(50, 0));
}

TEST(ByteQueue, ReadsOfAnySizeSeeTheBytesInOrder) {
  byte_queue q;
  bytes all;
  std::uint8_t next = 0;
  for (std::size_t n : {1u, 10u, 70000u, 3u, 65536u, 200000u, 17u}) {
    bytes piece = counting(n, next);
    next = static_cast<std::uint8_t>(next + n);
    q.append(piece);
    all.insert(all.end(), piece.begin(), piece.end());
  }
  EXPECT_EQ(q.size(), all.size());
  bytes read;
  std::vector<std::byte> buf(4099);
  while (!q.empty()) {
    const std::size_t n = q.take(buf);
    ASSERT_GT(n, 0u);
    auto* p = reinterpret_cast<const std::uint8_t*>(buf.data());
    read.insert(read.end(), p, p + n);
  }
  EXPECT_EQ(read, all);
  EXPECT_EQ(q.take(buf), 0u);
}

TEST(ByteQueue, ReusesEmptiedChunksAndClears) {
  byte_queue q;
  std::vector<std::byte> buf(1u << 20);
  for (int round = 0; round < 100; ++round) {
    q.append(counting(30000, static_cast<std::uint8_t>(round)));
    q.append(counting(50000, 1));
    EXPECT_EQ(q.take(buf), 80000u);
    EXPECT_EQ(static_cast<std::uint8_t>(buf[0]), static_cast<std::uint8_t>(round));
  }
  q.append(counting(10, 0));
  q.clear();
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.take(buf), 0u);
}

}  // namespace
