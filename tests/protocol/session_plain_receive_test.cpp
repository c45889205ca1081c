// Receiving plain data: a network channel keeps a message without
// references undecoded until it is taken, and a typed receiver of a plain
// type reads it straight into that type. Messages with references take the
// Value path, and every message keeps its place.
#include <gtest/gtest.h>

#include <deque>
#include <utility>

#include "libchan/detail/plain.hpp"
#include "session_test_support.hpp"

namespace {

using namespace session_test;

// One non-blocking receive through the plain path of a Value end.
struct plain_polled {
  bool ready = false;
  bool read = false;  // read straight into `note`
  std::optional<Note> note;
  std::optional<Value> value;
  std::error_code ec;
};

plain_polled poll_plain(libchan::Receiver<Value>& rx) {
  plain_polled p;
  libchan::detail::plain_reading<Note> into(p.note);
  p.ready = rx.impl()->try_receive_plain(into, p.read, p.value, p.ec);
  return p;
}

TEST(SessionPlainReceive, PlainMessagesAreReadStraightIntoTheType) {
  for (auto wire : {engine::dialect::v0_2, engine::dialect::v0_1}) {
    SCOPED_TRACE(wire == engine::dialect::v0_1 ? "v0.1" : "v0.2");
    linked_sessions link(wire);
    auto c = link.open_channel();
    auto tx = libchan::detail::restore_sender<Note>(std::move(c.tx));
    for (std::int64_t seq = 1; seq <= 3; ++seq) tx.send(Note{"n" + std::to_string(seq), seq});
    link.pump();

    auto got = poll_plain(c.rx);
    ASSERT_TRUE(got.ready && got.read) << "no Value was made";
    EXPECT_FALSE(got.value);
    EXPECT_FALSE(got.ec);
    EXPECT_EQ(got.note->text, "n1");
    EXPECT_EQ(got.note->seq, 1);
    // A Value receive of a kept message decodes it as usual.
    auto as_value = poll(c.rx);
    ASSERT_TRUE(as_value.ready && as_value.value);
    EXPECT_EQ(as_value.value->find("Seq")->as_int(), 2);
    // And a typed receiver takes the plain path itself.
    auto typed = libchan::detail::restore_receiver<Note>(std::move(c.rx));
    std::optional<Note> note;
    std::error_code ec;
    ASSERT_TRUE(typed.impl()->try_receive(note, ec));
    ASSERT_TRUE(note);
    EXPECT_EQ(note->seq, 3);
    tx.close();
    link.pump();
    ASSERT_TRUE(typed.impl()->try_receive(note, ec));
    EXPECT_FALSE(note) << "then the end";
    EXPECT_FALSE(ec);
  }
}

// A waiter of Values that reads plain messages into a Note.
struct plain_waiter final : pending_receive<Value> {
  std::optional<Note> note;
  libchan::detail::plain_reading<Note> into{note};
  bool read = false;
  libchan::detail::plain_destination* plain_target() noexcept override { return &into; }
  void complete_read(std::size_t) override { ++completions, read = true; }
};

TEST(SessionPlainReceive, AWaitingReceiverReadsPlainMessagesStraightIntoItsType) {
  linked_sessions link(engine::dialect::v0_2);
  auto c = link.open_channel();
  plain_waiter first;
  plain_waiter second;
  c.rx.impl()->start_receive(first, 0);
  c.rx.impl()->start_receive(second, 1);
  EXPECT_EQ(first.completions, 0) << "nothing sent yet";
  std::error_code ec;
  Value fits = libchan::make_map("Text", "w", "Seq", 7);
  ASSERT_TRUE(c.tx.impl()->try_send(fits, ec));
  Value wrong = libchan::make_map("Text", "x", "Seq", "not a number");
  ASSERT_TRUE(c.tx.impl()->try_send(wrong, ec));
  link.pump();

  ASSERT_EQ(first.completions, 1);
  EXPECT_TRUE(first.read) << "read into the Note: no Value was made";
  ASSERT_TRUE(first.note);
  EXPECT_EQ(first.note->text, "w");
  EXPECT_EQ(first.note->seq, 7);
  // One that does not fit comes as a Value, for the conversion to say why.
  ASSERT_EQ(second.completions, 1);
  EXPECT_FALSE(second.read);
  EXPECT_FALSE(second.ec);
  ASSERT_TRUE(second.value);
  EXPECT_EQ(second.value->find("Seq")->as_string(), "not a number");

  // Through a typed end, as a receive that waits does.
  auto typed = libchan::detail::restore_receiver<Note>(std::move(c.rx));
  pending_receive<Note> plain;
  pending_receive<Note> mismatched;
  typed.impl()->start_receive(plain, 0);
  typed.impl()->start_receive(mismatched, 1);
  fits = libchan::make_map("Text", "t", "Seq", 8);
  ASSERT_TRUE(c.tx.impl()->try_send(fits, ec));
  wrong = libchan::make_map("Text", "y", "Seq", "still not");
  ASSERT_TRUE(c.tx.impl()->try_send(wrong, ec));
  link.pump();
  ASSERT_EQ(plain.completions, 1);
  ASSERT_TRUE(plain.value) << plain.ec.message();
  EXPECT_EQ(plain.value->text, "t");
  EXPECT_EQ(plain.value->seq, 8);
  ASSERT_EQ(mismatched.completions, 1);
  EXPECT_FALSE(mismatched.value);
  EXPECT_EQ(mismatched.ec, libchan::errc::type_mismatch) << mismatched.ec.message();
}

// A long plain message is decoded on arrival instead of kept raw (its bytes
// would be copied twice more), and keeps its place among short ones.
TEST(SessionPlainReceive, ALongMessageIsDecodedOnArrivalAndKeepsItsPlace) {
  linked_sessions link(engine::dialect::v0_2);
  auto c = link.open_channel();
  auto tx = libchan::detail::restore_sender<Note>(std::move(c.tx));
  const std::string long_text(20 * 1024, 'L');
  tx.send(Note{"short", 1});
  tx.send(Note{long_text, 2});
  tx.send(Note{"short", 3});
  link.pump();

  auto first = poll_plain(c.rx);
  ASSERT_TRUE(first.ready && first.read);
  EXPECT_EQ(first.note->seq, 1);
  auto second = poll_plain(c.rx);
  ASSERT_TRUE(second.ready);
  EXPECT_FALSE(second.read) << "decoded into a Value on arrival";
  ASSERT_TRUE(second.value);
  EXPECT_EQ(second.value->find("Text")->as_string(), long_text);
  auto third = poll_plain(c.rx);
  ASSERT_TRUE(third.ready && third.read);
  EXPECT_EQ(third.note->seq, 3);
}

TEST(SessionPlainReceive, MessagesWithReferencesKeepTheirPlaceAmongPlainOnes) {
  linked_sessions link(engine::dialect::v0_2);
  auto c = link.open_channel();
  std::deque<send_probe> probes;
  std::int64_t sent = 0;
  std::int64_t taken = 0;
  // Every third message carries a channel end; the rest are plain. Taking
  // half of what waits between bursts makes the kept bytes move up.
  auto send_burst = [&](int n) {
    for (int i = 0; i < n; ++i, ++sent) {
      Value m = libchan::make_map("Text", std::string(static_cast<std::size_t>(sent % 50), 'x'),
                                  "Seq", sent);
      if (sent % 3 == 0) {
        auto [reply_rx, reply_tx] = libchan::pipe<Value>();
        m.as_map().push_back({Value("Reply"), Value(std::move(reply_tx))});
      }
      c.tx.impl()->start_send(std::move(m), probes.emplace_back());
    }
    link.pump();
  };
  auto take = [&](std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i, ++taken) {
      auto got = poll_plain(c.rx);
      ASSERT_TRUE(got.ready) << taken;
      ASSERT_FALSE(got.ec) << got.ec.message();
      const bool has_reply = taken % 3 == 0;
      // A message with a channel end does not fit a Note: it comes as a Value.
      ASSERT_EQ(got.read, !has_reply) << taken;
      const std::int64_t seq = got.read ? got.note->seq : got.value->find("Seq")->as_int();
      ASSERT_EQ(seq, taken);
      if (has_reply) {
        EXPECT_EQ(got.value->find("Reply")->kind(), Value::Kind::sender);
      }
    }
  };
  for (int round = 0; round < 6; ++round) {
    send_burst(40 + round * 7);
    take((sent - taken) / 2);
  }
  take(sent - taken);
  EXPECT_FALSE(poll(c.rx).ready) << "nothing more";
  for (auto& p : probes) EXPECT_TRUE(p.sent && !p.result);
}

TEST(SessionPlainReceive, AMessageThatDoesNotFitTheTypeFailsOnlyItsReceive) {
  linked_sessions link(engine::dialect::v0_2);
  auto c = link.open_channel();
  std::error_code ec;
  Value wrong = libchan::make_map("Text", "a", "Seq", "not a number");
  ASSERT_TRUE(c.tx.impl()->try_send(wrong, ec));
  Value right = libchan::make_map("Text", "b", "Seq", 2);
  ASSERT_TRUE(c.tx.impl()->try_send(right, ec));
  link.pump();

  auto typed = libchan::detail::restore_receiver<Note>(std::move(c.rx));
  std::optional<Note> note;
  ASSERT_TRUE(typed.impl()->try_receive(note, ec));
  EXPECT_FALSE(note);
  EXPECT_EQ(ec, libchan::errc::type_mismatch) << ec.message();
  ASSERT_TRUE(typed.impl()->try_receive(note, ec));
  ASSERT_TRUE(note) << ec.message();
  EXPECT_EQ(note->text, "b");
  EXPECT_EQ(note->seq, 2);
}

}  // namespace
