// A hostile peer against the libchan session layer: reference floods,
// streams nobody names, malformed and oversized messages, deep nesting,
// data on closed streams, stream floods. Each breaks one channel (or is
// refused) and names the limit involved; other channels go on, and what
// the session holds stays bounded.
#include <gtest/gtest.h>

#include "session_test_support.hpp"

namespace {

using namespace session_test;
using libchan::errc;

// A v0.2 nested stream opened by the peer for a message on channel `parent`.
void nested(scripted_session& t, stream_id id, std::uint64_t ref, std::uint64_t parent) {
  t.peer.syn_stream(
      id, {{"libchan-ref", std::to_string(ref)}, {"libchan-parent-ref", std::to_string(parent)}});
}

bytes seq(std::uint8_t n) { return mp::map({{"Seq", {n}}}); }

// The channel on `id` (ref `ref`) carries one message and works.
void expect_working_channel(scripted_session& t, stream_id id, std::uint64_t ref) {
  t.peer.channel(id, ref);
  t.data(id, seq(42));
  t.send();
  auto rx = t.accept();
  ASSERT_TRUE(rx) << "no channel for stream " << id;
  auto m = poll(*rx);
  ASSERT_TRUE(m.ready && m.value) << m.ec.message();
  EXPECT_EQ(m.value->find("Seq")->as_int(), 42);
}

void expect_error_names(scripted_session& t, std::string_view words) {
  const std::string e = t.diag().last_error;
  EXPECT_NE(e.find(words), std::string::npos) << e;
}

TEST(SessionHostile, ReferenceFloodFailsOnlyItsChannel) {
  session::options opts;
  opts.max_pending_refs = 8;
  scripted_session t(opts);
  t.peer.channel(1, 2).channel(3, 3);
  // Receivers whose streams never open: each name waits for its stream.
  for (std::uint32_t i = 0; i < 9; ++i) t.data(1, mp::map({{"R", mp::ref(mp::receiver, 100 + i)}}));
  t.data(3, seq(7));
  t.send();
  auto flood = t.accept();
  auto other = t.accept();
  ASSERT_TRUE(flood && other);
  std::vector<libchan::Receiver<Value>> named;
  for (int i = 0; i < 8; ++i) {
    auto m = poll(*flood);
    ASSERT_TRUE(m.ready && m.value) << i << ": " << m.ec.message();
    named.push_back(m.value->find("R")->take_receiver());
  }
  auto failed = poll(*flood);
  ASSERT_TRUE(failed.ready);
  EXPECT_EQ(failed.ec, errc::limit_exceeded);
  expect_error_names(t, "max_pending_refs (8)");
  EXPECT_TRUE(t.reset_with(1, spdy::rst_status::protocol_error));
  EXPECT_EQ(t.diag().pending_refs, 8u);
  auto m = poll(*other);
  ASSERT_TRUE(m.ready && m.value);
  EXPECT_EQ(m.value->find("Seq")->as_int(), 7);
  // More of the flood on the reset stream is refused, not decoded.
  t.data(1, mp::map({{"R", mp::ref(mp::receiver, 200)}}));
  t.send();
  EXPECT_TRUE(t.reset_with(1, spdy::rst_status::invalid_stream));
  EXPECT_EQ(t.diag().pending_refs, 8u);
  expect_working_channel(t, 5, 4);
}

TEST(SessionHostile, StreamsNobodyNamesAreBounded) {
  session::options opts;
  opts.max_pending_refs = 4;
  opts.engine.limits.max_unconsumed = 4096;
  scripted_session t(opts);
  t.peer.channel(1, 2);
  for (stream_id i = 0; i < 7; ++i) nested(t, 3 + 2 * i, 10 + i, 2);
  t.send();
  for (stream_id id : {3u, 5u, 7u, 9u})
    EXPECT_FALSE(t.reset_with(id, spdy::rst_status::refused_stream));
  for (stream_id id : {11u, 13u, 15u})
    EXPECT_TRUE(t.reset_with(id, spdy::rst_status::refused_stream));
  expect_error_names(t, "max_pending_refs (4)");
  EXPECT_EQ(t.diag().pending_refs, 4u);

  // What arrives on them is kept for a message that may name them, up to
  // max_unconsumed: then the session stops reading.
  for (int i = 0; i < 40; ++i) t.peer.data(3 + 2 * (i % 4), pattern(1000));
  const bytes flood = t.peer.take();
  EXPECT_LT(t.feed(flood), flood.size());
  EXPECT_TRUE(t.s->input_paused());
  const auto d = t.diag();
  EXPECT_LE(d.buffered_bytes, 4096u + 1000u);
  EXPECT_LE(d.unconsumed, 4096u + 1000u);
}

TEST(SessionHostile, MalformedMessageResetsOnlyItsChannel) {
  scripted_session t;
  t.peer.channel(1, 2).channel(3, 3);
  t.data(1, {0xc1});  // never used in msgpack
  t.data(3, seq(1));
  t.send();
  auto bad = t.accept();
  auto good = t.accept();
  ASSERT_TRUE(bad && good);
  auto b = poll(*bad);
  ASSERT_TRUE(b.ready);
  EXPECT_EQ(b.ec, errc::decode_error);
  expect_error_names(t, "invalid byte 0xc1");
  EXPECT_TRUE(t.reset_with(1, spdy::rst_status::protocol_error));
  auto g = poll(*good);
  ASSERT_TRUE(g.ready && g.value);
  EXPECT_EQ(g.value->find("Seq")->as_int(), 1);
  expect_working_channel(t, 5, 4);
  EXPECT_EQ(t.diag().buffered_bytes, 0u);
}

TEST(SessionHostile, OversizedMessageFailsWithoutBufferingItAll) {
  session::options opts;
  opts.codec.max_message_size = 1000;
  scripted_session t(opts);
  auto rx = t.accept_peer_channel();
  ASSERT_TRUE(rx);
  // 15 strings of 200 bytes: no declared length gives it away at once.
  bytes big{0x9f};
  for (int i = 0; i < 15; ++i) {
    big.insert(big.end(), {0xd9, 200});
    const std::string s = pattern(200);
    big.insert(big.end(), s.begin(), s.end());
  }
  std::size_t sent = 0;
  polled result;
  while (sent < big.size() && !result.ready) {
    const std::size_t n = std::min<std::size_t>(100, big.size() - sent);
    t.data(1, bytes(big.begin() + static_cast<std::ptrdiff_t>(sent),
                    big.begin() + static_cast<std::ptrdiff_t>(sent + n)));
    t.send();
    sent += n;
    EXPECT_LE(t.diag().buffered_bytes, 1000u + 100u);
    result = poll(*rx);
  }
  ASSERT_TRUE(result.ready);
  EXPECT_EQ(result.ec, errc::limit_exceeded);
  EXPECT_LE(sent, 1100u) << "refused as soon as the message passed the limit";
  expect_error_names(t, "max_message_size (1000)");
  EXPECT_TRUE(t.reset_with(1, spdy::rst_status::protocol_error));

  // A declared length over the limit fails before any of its bytes arrive.
  t.peer.channel(3, 3);
  t.data(3, {0xdb, 0x00, 0x01, 0x00, 0x00, 'x'});
  t.send();
  auto rx2 = t.accept();
  ASSERT_TRUE(rx2);
  EXPECT_EQ(poll(*rx2).ec, errc::limit_exceeded);
  EXPECT_EQ(t.diag().buffered_bytes, 0u);
  EXPECT_EQ(t.diag().unconsumed, 0u);
}

TEST(SessionHostile, UnfinishedMessagesOfAllChannelsAreBounded) {
  // Bytes of an unfinished message go back to the peer's window at once (a
  // message may be larger than the window); all channels together may hold
  // the larger of max_unconsumed and max_message_size of them.
  session::options opts;
  opts.codec.max_message_size = 1000;
  opts.engine.limits.max_unconsumed = 1500;
  scripted_session t(opts);
  bytes message{0x9f};  // 15 strings of 50 bytes: 781 bytes in all
  for (int i = 0; i < 15; ++i) {
    message.insert(message.end(), {0xd9, 50});
    const std::string str = pattern(50);
    message.insert(message.end(), str.begin(), str.end());
  }
  const bytes head(message.begin(), message.begin() + 600),
      tail(message.begin() + 600, message.end());
  std::vector<libchan::Receiver<Value>> rx;
  for (stream_id id : {1u, 3u, 5u}) {
    t.peer.channel(id, 2 + id / 2);
    t.data(id, head);
    t.send();
    auto r = t.accept();
    ASSERT_TRUE(r);
    rx.push_back(std::move(*r));
  }
  // 600 + 600 fit the 1,500 bytes; the third channel's 600 do not.
  auto failed = poll(rx[2]);
  ASSERT_TRUE(failed.ready);
  EXPECT_EQ(failed.ec, errc::limit_exceeded);
  expect_error_names(t, "unfinished messages of all channels exceed 1500 bytes");
  EXPECT_TRUE(t.reset_with(5, spdy::rst_status::protocol_error));
  EXPECT_FALSE(poll(rx[0]).ready);
  EXPECT_EQ(t.diag().buffered_bytes, 1200u);
  EXPECT_EQ(t.diag().unconsumed, 0u) << "unfinished messages gave their window back";
  // The other two finish their messages.
  for (stream_id id : {1u, 3u}) t.data(id, tail);
  t.send();
  for (int i = 0; i < 2; ++i) {
    auto m = poll(rx[i]);
    ASSERT_TRUE(m.ready && m.value) << m.ec.message();
    EXPECT_EQ(m.value->as_array().size(), 15u);
  }
  EXPECT_EQ(t.diag().buffered_bytes, 0u);
  EXPECT_EQ(t.diag().unconsumed, 0u);
  expect_working_channel(t, 7, 9);
}

TEST(SessionHostile, OnlyTheFrontMessageGivesItsWindowBackEarly) {
  // Messages cut before their last byte, one after another, on a channel
  // whose application takes none: only the first gives its bytes back
  // before it is taken; the others count toward max_unconsumed, and the
  // session stops reading.
  session::options opts;
  opts.codec.max_message_size = 1000;
  opts.engine.limits.max_unconsumed = 1500;
  scripted_session t(opts);
  auto rx = t.accept_peer_channel();
  ASSERT_TRUE(rx);
  const bytes message = mp::map(
      {{"A", mp::str(pattern(200))}, {"B", mp::str(pattern(200))}, {"C", mp::str(pattern(200))}});
  const bytes head(message.begin(), message.end() - 1), last(message.end() - 1, message.end());
  for (int i = 0; i < 20; ++i) {
    t.data(1, head);
    t.data(1, last);
  }
  const bytes flood = t.peer.take();
  EXPECT_LT(t.feed(flood), flood.size());
  EXPECT_TRUE(t.s->input_paused());
  EXPECT_LE(t.diag().buffered_bytes, 1500u + 2 * message.size());
  auto m = poll(*rx);
  ASSERT_TRUE(m.ready && m.value) << m.ec.message();
}

TEST(SessionHostile, FourBillionElementArrayIsRejectedAtOnce) {
  scripted_session t;
  t.peer.channel(1, 2);
  t.data(1, {0xdd, 0xff, 0xff, 0xff, 0xff});
  t.send();
  auto rx = t.accept();
  ASSERT_TRUE(rx);
  auto r = poll(*rx);
  ASSERT_TRUE(r.ready);
  EXPECT_EQ(r.ec, errc::limit_exceeded);
  expect_error_names(t, "max_elements (1048576)");
  EXPECT_EQ(t.diag().buffered_bytes, 0u);
  expect_working_channel(t, 3, 3);
}

TEST(SessionHostile, NestingDeeperThanMaxDepthFailsItsChannel) {
  session::options opts;
  opts.codec.max_depth = 16;
  scripted_session t(opts);
  auto nest = [](int depth) {
    bytes b(static_cast<std::size_t>(depth), 0x91);  // fixarray of one
    b.push_back(0xc0);
    return b;
  };
  t.peer.channel(1, 2).channel(3, 3);
  t.data(1, nest(17));
  t.data(3, nest(16));
  t.send();
  auto deep = t.accept();
  auto fine = t.accept();
  ASSERT_TRUE(deep && fine);
  EXPECT_EQ(poll(*deep).ec, errc::limit_exceeded);
  expect_error_names(t, "max_depth (16)");
  auto f = poll(*fine);
  ASSERT_TRUE(f.ready && f.value) << "16 levels are allowed";
  EXPECT_TRUE(f.value->is_array());
}

TEST(SessionHostile, DataOnClosedStreamsIsRefusedAndNotKept) {
  scripted_session t;
  t.peer.channel(1, 2);
  t.data(1, seq(1), spdy::flags::fin);
  t.send();
  auto rx = t.accept();
  ASSERT_TRUE(rx);
  EXPECT_TRUE(poll(*rx).value);
  auto end = poll(*rx);
  EXPECT_TRUE(end.ready && !end.value && !end.ec) << "the end of the channel";
  // Both halves are closed now (we answered the FIN with ours).
  t.data(1, seq(2));
  t.send();
  EXPECT_TRUE(t.reset_with(1, spdy::rst_status::invalid_stream));
  expect_error_names(t, "DATA on unknown stream 1");

  // The same on a stream we reset for a bad message.
  t.peer.channel(3, 3);
  t.data(3, {0xc1});
  t.send();
  ASSERT_TRUE(t.accept());
  t.peer.data(3, pattern(5000));
  t.send();
  EXPECT_TRUE(t.reset_with(3, spdy::rst_status::invalid_stream));
  const auto d = t.diag();
  EXPECT_EQ(d.buffered_bytes, 0u);
  EXPECT_EQ(d.unconsumed, 0u);
  expect_working_channel(t, 5, 4);
}

TEST(SessionHostile, PeerOpeningTwentyThousandStreams) {
  scripted_session t;  // max_concurrent_streams = 10000
  std::vector<libchan::Receiver<Value>> accepted;
  for (stream_id n = 0; n < 20000; n += 100) {
    for (stream_id i = n; i < n + 100; ++i) t.peer.channel(2 * i + 1, i + 2);
    t.send();
    while (auto rx = t.accept()) accepted.push_back(std::move(*rx));
    t.written.clear();  // keeps the test's own memory flat; frames decode per batch
  }
  EXPECT_EQ(accepted.size(), 10000u);
  expect_error_names(t, "max_concurrent_streams (10000)");
  auto d = t.diag();
  EXPECT_EQ(d.engine_streams, 10000u);
  EXPECT_EQ(d.streams, 10000u);
  EXPECT_TRUE(t.input.empty()) << "refusing never stops the reading";

  // Closing channels frees their streams for new ones.
  for (int i = 0; i < 10; ++i) accepted[static_cast<std::size_t>(i)].close();
  EXPECT_EQ(t.diag().engine_streams, 9990u);
  t.written.clear();
  t.peer.channel(40001, 30000);
  t.send();
  auto late = t.accept();
  EXPECT_TRUE(late);
  EXPECT_EQ(t.diag().engine_streams, 9991u);
}

}  // namespace
