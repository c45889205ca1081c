// How messages become DATA frames: messages queued back to back on one
// channel share a frame while it waits in the output (v0.2 reads a channel
// as one msgpack stream), never past max_send_frame, never in dialect v0.1
// (one frame per message), and never once the frame may be in a write.
// Also: what a receiver takes is returned to the engine, in batches, by the
// time its queue runs dry.
#include <gtest/gtest.h>

#include "engine/output_queue.hpp"
#include "session_test_support.hpp"

namespace {

using namespace session_test;
using libchan::detail::engine::output_queue;

struct opened {
  libchan::Sender<Value> tx;
  libchan::Receiver<Value> rx;
  stream_id id = 0;
};

// A channel whose frames the test counts from here on.
opened open_channel(linked_sessions& link) {
  auto c = link.open_channel();
  link.client_wrote.clear();
  return {std::move(c.tx), std::move(c.rx), 1};  // the dialer's first stream
}

void expect_in_order(libchan::Receiver<Value>& rx, int count) {
  for (int i = 0; i < count; ++i) {
    auto m = poll(rx);
    ASSERT_TRUE(m.ready && m.value) << "message " << i;
    EXPECT_EQ(m.value->find("Seq")->as_int(), i);
  }
  EXPECT_FALSE(poll(rx).ready);
}

TEST(SessionFrames, MessagesQueuedBackToBackShareAFrame) {
  linked_sessions link(engine::dialect::v0_2);
  auto ch = open_channel(link);
  for (int i = 0; i < 100; ++i) ch.tx.send(libchan::make_map("Seq", i, "Text", "hello"));
  link.pump();
  const auto frames = link.data_frames(ch.id);
  // The first frame may already be in a write when the second message
  // comes: it is never extended. Everything after it shares one frame.
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0] + frames[1], 100 * frames[0]);
  expect_in_order(ch.rx, 100);
}

TEST(SessionFrames, ASharedFrameStaysWithinMaxSendFrame) {
  linked_sessions link(engine::dialect::v0_2, 100);
  auto ch = open_channel(link);
  for (int i = 0; i < 50; ++i) ch.tx.send(libchan::make_map("Seq", i, "Text", "hello"));
  link.pump();
  const auto frames = link.data_frames(ch.id);
  EXPECT_GT(frames.size(), 2u);
  EXPECT_LT(frames.size(), 50u) << "several messages per frame";
  for (auto n : frames) EXPECT_LE(n, 100u);
  expect_in_order(ch.rx, 50);
}

TEST(SessionFrames, DialectV01SendsOneFramePerMessage) {
  linked_sessions link(engine::dialect::v0_1);
  auto ch = open_channel(link);
  for (int i = 0; i < 20; ++i) ch.tx.send(libchan::make_map("Seq", i, "Text", "hello"));
  link.pump();
  EXPECT_EQ(link.data_frames(ch.id).size(), 20u);
  expect_in_order(ch.rx, 20);
}

TEST(SessionFrames, MessagesOnOtherChannelsKeepTheirOwnFrames) {
  linked_sessions link(engine::dialect::v0_2);
  auto a = open_channel(link);
  auto b = link.open_channel();
  link.client_wrote.clear();
  // Alternating channels: no frame is followed by more of its own stream.
  for (int i = 0; i < 10; ++i) {
    a.tx.send(libchan::make_map("Seq", i));
    b.tx.send(libchan::make_map("Seq", i));
  }
  link.pump();
  EXPECT_EQ(link.data_frames(1).size(), 10u);
  EXPECT_EQ(link.data_frames(3).size(), 10u);
  expect_in_order(a.rx, 10);
  expect_in_order(b.rx, 10);
}

TEST(SessionFrames, TakenMessagesAreReturnedToTheEngineByTheTimeTheQueueRunsDry) {
  linked_sessions link(engine::dialect::v0_2);
  auto ch = open_channel(link);
  for (int i = 0; i < 300; ++i)
    ch.tx.send(libchan::make_map("Seq", i, "Text", std::string(40, 'x')));
  link.pump();
  const auto queued = link.server->diagnose().unconsumed;
  ASSERT_GT(queued, 10000u);
  ASSERT_TRUE(poll(ch.rx).ready);
  // A receive takes a batch of the messages behind it ahead (64 at most
  // here), never the whole queue.
  EXPECT_GT(link.server->diagnose().unconsumed, queued / 2);
  for (int i = 1; i < 299; ++i) ASSERT_TRUE(poll(ch.rx).ready);
  EXPECT_LT(link.server->diagnose().unconsumed, 4096u + 100u)
      << "taken bytes go back in batches of at most 4 KiB";
  ASSERT_TRUE(poll(ch.rx).ready);
  EXPECT_EQ(link.server->diagnose().unconsumed, 0u);
  EXPECT_FALSE(poll(ch.rx).ready) << "all 300 were received, no more";
}

// A receive that waits after an earlier one took messages ahead gets the
// next of those, not the next still queued in the session; closing the
// receiver drops the rest.
TEST(SessionFrames, AWaitingReceiveGetsTheMessagesTakenAheadFirst) {
  linked_sessions link(engine::dialect::v0_2);
  auto ch = open_channel(link);
  for (int i = 0; i < 100; ++i) ch.tx.send(libchan::make_map("Seq", i));
  link.pump();
  auto first = poll(ch.rx);
  ASSERT_TRUE(first.ready && first.value);
  EXPECT_EQ(first.value->find("Seq")->as_int(), 0);

  pending_receive<Value> waiting;
  ch.rx.impl()->start_receive(waiting, 0);
  ASSERT_EQ(waiting.completions, 1) << "completed at once, from the messages taken ahead";
  ASSERT_TRUE(waiting.value) << waiting.ec.message();
  EXPECT_EQ(waiting.value->find("Seq")->as_int(), 1);
  auto third = poll(ch.rx);
  ASSERT_TRUE(third.ready && third.value);
  EXPECT_EQ(third.value->find("Seq")->as_int(), 2);

  ch.rx.close();
  auto after = poll(ch.rx);
  EXPECT_TRUE(after.ready);
  EXPECT_FALSE(after.value);
  EXPECT_EQ(after.ec, libchan::errc::closed);
  pending_receive<Value> late;
  ch.rx.impl()->start_receive(late, 0);
  EXPECT_EQ(late.completions, 1);
  EXPECT_FALSE(late.value);
  EXPECT_EQ(late.ec, libchan::errc::closed);
}

// ---- the output queue itself ----

bytes header(std::uint32_t stream, std::size_t length) {
  bytes h;
  spdy::pack_data_header(h, stream, 0, static_cast<std::uint32_t>(length));
  return h;
}

void append(output_queue& q, std::uint32_t stream, const bytes& payload, bool fin = false) {
  q.append_data(stream, fin, payload, [&](std::vector<std::uint8_t>& v) {
    const auto h = header(stream, payload.size());
    v.insert(v.end(), h.begin(), h.end());
  });
}

bytes all_of(output_queue& q) {
  bytes out, chunk;
  while (q.take_front(chunk) > 0) out.insert(out.end(), chunk.begin(), chunk.end());
  return out;
}

TEST(OutputQueue, ExtendsTheLastDataFrameOutsideTheFirstChunk) {
  output_queue q;
  append(q, 1, {1, 2});
  EXPECT_FALSE(q.extend_data(1, bytes{3}, 100)) << "the first chunk may be in a write";
  append(q, 1, {3});
  EXPECT_TRUE(q.extend_data(1, bytes{4, 5}, 100));
  EXPECT_FALSE(q.extend_data(3, bytes{6}, 100)) << "another stream";
  EXPECT_FALSE(q.extend_data(1, bytes(98, 0), 100)) << "past max_payload";
  EXPECT_EQ(q.size(), 8u + 2u + 8u + 3u);
  bytes expected = header(1, 2);
  expected.insert(expected.end(), {1, 2});
  const auto h = header(1, 3);
  expected.insert(expected.end(), h.begin(), h.end());
  expected.insert(expected.end(), {3, 4, 5});
  EXPECT_EQ(all_of(q), expected);
}

TEST(OutputQueue, AnythingQueuedAfterAFrameClosesIt) {
  output_queue q;
  append(q, 1, {1});
  append(q, 1, {2});
  q.append([](std::vector<std::uint8_t>& v) { v.push_back(0x80); }, false);
  EXPECT_FALSE(q.extend_data(1, bytes{3}, 100));
  append(q, 1, {4}, /*fin=*/true);
  EXPECT_FALSE(q.extend_data(1, bytes{5}, 100)) << "a frame with FIN ends the stream";
}

TEST(OutputQueue, AFrameThatBecameTheFrontIsNotExtended) {
  output_queue q;
  append(q, 1, {1});
  append(q, 1, {2});
  bytes chunk;
  ASSERT_GT(q.take_front(chunk), 0u);  // the second chunk is the front now
  EXPECT_FALSE(q.extend_data(1, bytes{3}, 100));
}

}  // namespace
