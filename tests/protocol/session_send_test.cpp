// Sends that complete at once: a message of plain data for which the output
// has room is encoded and queued by try_send, with no waiter. Anything else
// (a full output, a channel end in the message) is refused with the value
// left as it was, and the waiting path sends it, in order. Typed ends do the
// same through their conversion.
#include <gtest/gtest.h>

#include <deque>

#include "libchan/detail/plain.hpp"
#include "session_test_support.hpp"

namespace {

using namespace session_test;

struct WithReply {
  std::int64_t seq = 0;
  libchan::Sender<Value> reply;
  LIBCHAN_FIELDS((seq, "Seq"), (reply, "Reply"))
};

// A Note that counts its copies: a send by reference that encodes in place
// makes none.
struct CountedNote {
  std::string text;
  std::int64_t seq = 0;
  static inline int copies = 0;

  CountedNote() = default;
  CountedNote(std::string t, std::int64_t s) : text(std::move(t)), seq(s) {}
  CountedNote(const CountedNote& other) : text(other.text), seq(other.seq) { ++copies; }
  CountedNote(CountedNote&&) noexcept = default;
  CountedNote& operator=(const CountedNote&) = default;
  CountedNote& operator=(CountedNote&&) noexcept = default;
  LIBCHAN_FIELDS((text, "Text"), (seq, "Seq"))
};

session::options small_output() {
  session::options o;
  o.engine.limits.max_output_queue = 1000;
  return o;
}

TEST(SessionSend, AFullOutputRefusesTryAndLeavesTheValue) {
  linked_sessions link(engine::dialect::v0_2, 64u << 10, small_output());
  auto c = link.open_channel();
  std::error_code ec;
  int accepted = 0;
  Value m;
  for (;; ++accepted) {
    m = libchan::make_map("Seq", accepted, "Text", std::string(300, 'a'));
    if (!c.tx.impl()->try_send(m, ec)) break;
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_LT(accepted, 10) << "the output holds 1000 bytes";
  }
  EXPECT_GE(accepted, 2);
  ASSERT_TRUE(m.is_map()) << "a refused value is left as it was";
  EXPECT_EQ(m.find("Seq")->as_int(), accepted);
  EXPECT_EQ(m.find("Text")->as_string(), std::string(300, 'a'));

  // The waiting path takes it, behind the ones accepted.
  send_probe waiting;
  c.tx.impl()->start_send(std::move(m), waiting);
  EXPECT_FALSE(waiting.sent);
  link.pump();
  EXPECT_TRUE(waiting.sent);
  EXPECT_FALSE(waiting.result);
  for (int i = 0; i <= accepted; ++i) {
    auto got = poll(c.rx);
    ASSERT_TRUE(got.ready && got.value) << i;
    EXPECT_EQ(got.value->find("Seq")->as_int(), i);
  }
}

TEST(SessionSend, AMessageHoldingAChannelEndTakesTheWaitingPath) {
  linked_sessions link(engine::dialect::v0_2);
  auto c = link.open_channel();
  auto [reply_rx, reply_tx] = libchan::pipe<Value>();
  Value m = libchan::make_map("Seq", 1, "Reply", std::move(reply_tx));
  std::error_code ec;
  EXPECT_FALSE(c.tx.impl()->try_send(m, ec));
  ASSERT_EQ(m.find("Reply")->kind(), Value::Kind::sender) << "the end is still in the value";

  c.tx.send(std::move(m));
  link.pump();
  auto got = poll(c.rx);
  ASSERT_TRUE(got.ready && got.value);
  auto remote = got.value->find("Reply")->take_sender();
  ASSERT_TRUE(remote);
  remote.send(Value("pong"));
  link.pump();
  // The local pipe end is forwarded over the session.
  auto pong = poll(reply_rx);
  for (int i = 0; i < 100 && !pong.ready; ++i) {
    link.pump();
    pong = poll(reply_rx);
  }
  ASSERT_TRUE(pong.ready && pong.value);
  EXPECT_EQ(pong.value->as_string(), "pong");
}

TEST(SessionSend, TypedSendsTakeTheSamePaths) {
  linked_sessions link(engine::dialect::v0_2, 64u << 10, small_output());
  auto c = link.open_channel();
  auto typed = libchan::detail::restore_sender<Note>(std::move(c.tx));
  std::error_code ec;
  int accepted = 0;
  Note n;
  for (;; ++accepted) {
    n = Note{std::string(300, 'b'), accepted};
    if (!typed.impl()->try_send(n, ec)) break;
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_LT(accepted, 10);
  }
  EXPECT_GE(accepted, 2) << "plain typed values go at once";
  EXPECT_EQ(n.seq, accepted) << "a refused value is given back";
  EXPECT_EQ(n.text, std::string(300, 'b'));
  send_probe waiting;
  typed.impl()->start_send(std::move(n), waiting);
  link.pump();
  EXPECT_TRUE(waiting.sent && !waiting.result);
  for (int i = 0; i <= accepted; ++i) {
    auto got = poll(c.rx);
    ASSERT_TRUE(got.ready && got.value) << i;
    EXPECT_EQ(got.value->find("Seq")->as_int(), i);
    EXPECT_EQ(got.value->find("Text")->as_string(), std::string(300, 'b'));
  }

  // With a channel end: refused by try_send, the end given back in place.
  auto second = link.open_channel();
  auto typed_reply = libchan::detail::restore_sender<WithReply>(std::move(second.tx));
  auto [reply_rx, reply_tx] = libchan::pipe<Value>();
  WithReply r{7, std::move(reply_tx)};
  EXPECT_FALSE(typed_reply.impl()->try_send(r, ec));
  EXPECT_EQ(r.seq, 7);
  EXPECT_TRUE(r.reply) << "the end is given back";
}

// Whether some DATA frame the client wrote starts with `prefix`.
bool a_data_frame_starts_with(const linked_sessions& link, const bytes& prefix) {
  for (const auto& f : spdy_test::read_all(link.client_wrote)) {
    const auto* d = std::get_if<spdy::data_frame>(&f.value);
    if (d && d->payload.size() >= prefix.size() &&
        std::equal(prefix.begin(), prefix.end(), d->payload.begin()))
      return true;
  }
  return false;
}

TEST(SessionSend, PlainTypedValuesAreEncodedStraightInTheSessionsDialect) {
  for (auto wire : {engine::dialect::v0_2, engine::dialect::v0_1}) {
    SCOPED_TRACE(wire == engine::dialect::v0_1 ? "v0.1" : "v0.2");
    linked_sessions link(wire);
    auto c = link.open_channel();
    std::error_code ec;
    Note n{"hi", 200};
    // The network end encodes the plain value itself: no Value is made.
    ASSERT_TRUE(c.tx.impl()->try_send_plain(libchan::detail::plain_view<Note>(n), ec));
    EXPECT_FALSE(ec);
    // And through a typed end, as an application sends.
    auto typed = libchan::detail::restore_sender<Note>(std::move(c.tx));
    typed.send(Note{"again", 201});
    link.pump();
    for (std::int64_t seq : {200, 201}) {
      auto got = poll(c.rx);
      ASSERT_TRUE(got.ready && got.value);
      EXPECT_EQ(got.value->find("Seq")->as_int(), seq);
    }
    // {"Text": "hi", "Seq": 200}, its integer in the dialect's form: Go
    // master keeps it signed, Go v0.1 (and jschan) unsigned.
    const bytes expected = mp::map(
        {{"Text", mp::str("hi")},
         {"Seq", wire == engine::dialect::v0_1 ? bytes{0xcc, 0xc8} : bytes{0xd1, 0x00, 0xc8}}});
    const bool found = a_data_frame_starts_with(link, expected);
    EXPECT_TRUE(found) << "the first message's bytes lead a DATA frame";
  }
}

TEST(SessionSend, APlainValueWithNoRoomIsLeftToTheWaitingPath) {
  linked_sessions link(engine::dialect::v0_2, 64u << 10, small_output());
  auto c = link.open_channel();
  std::error_code ec;
  const Note big{std::string(300, 'c'), 1};
  int sent = 0;
  while (c.tx.impl()->try_send_plain(libchan::detail::plain_view<Note>(big), ec)) {
    ASSERT_LT(++sent, 10);
  }
  EXPECT_GE(sent, 2);
  const auto queued = link.client->diagnose().pending_output;
  EXPECT_FALSE(c.tx.impl()->try_send_plain(libchan::detail::plain_view<Note>(big), ec));
  EXPECT_EQ(link.client->diagnose().pending_output, queued) << "a refusal queues nothing";
  link.pump();
  for (int i = 0; i < sent; ++i) ASSERT_TRUE(poll(c.rx).ready) << i;
  EXPECT_FALSE(poll(c.rx).ready) << "only what was accepted arrives";
}

TEST(SessionSend, ATypedTrySendWithNoRoomGivesUpAtOnceAndKeepsTheStruct) {
  linked_sessions link(engine::dialect::v0_2, 64u << 10, small_output());
  auto c = link.open_channel();
  // A network end encodes plain data itself, so a plain refusal is final:
  // the typed end does not offer the Value as well.
  EXPECT_TRUE(c.tx.impl()->encodes_plain());
  EXPECT_FALSE(libchan::pipe().sender.impl()->encodes_plain()) << "in process: Values only";
  auto typed = libchan::detail::restore_sender<Note>(std::move(c.tx));
  std::error_code ec;
  int sent = 0;
  Note n{std::string(300, 't'), 0};
  while (typed.impl()->try_send(n, ec)) {
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_LT(++sent, 10);
    n = Note{std::string(300, 't'), sent};
  }
  EXPECT_GE(sent, 2);
  EXPECT_EQ(n.text, std::string(300, 't')) << "refused: the struct is as it was";
  EXPECT_EQ(n.seq, sent);
  link.pump();
  for (int i = 0; i < sent; ++i) {
    auto got = poll(c.rx);
    ASSERT_TRUE(got.ready && got.value) << i;
    EXPECT_EQ(got.value->find("Seq")->as_int(), i);
  }
  EXPECT_FALSE(poll(c.rx).ready) << "the refused one never went";
}

TEST(SessionSend, AStructSentByReferenceIsEncodedInPlace) {
  linked_sessions link(engine::dialect::v0_2, 64u << 10, small_output());
  auto c = link.open_channel();
  auto typed = libchan::detail::restore_sender<CountedNote>(std::move(c.tx));
  CountedNote note{"kept", 0};
  CountedNote::copies = 0;
  for (std::int64_t seq = 0; seq < 3; ++seq) {
    note.seq = seq;
    typed.send(note);  // room at once: it never blocks here
  }
  EXPECT_EQ(CountedNote::copies, 0) << "encoded from the caller's struct";
  EXPECT_EQ(note.text, "kept");
  link.pump();
  for (std::int64_t seq = 0; seq < 3; ++seq) {
    auto got = poll(c.rx);
    ASSERT_TRUE(got.ready && got.value) << seq;
    EXPECT_EQ(got.value->find("Seq")->as_int(), seq) << "in order";
    EXPECT_EQ(got.value->find("Text")->as_string(), "kept");
  }
}

TEST(SessionSend, AStructSentByReferenceWithNoRoomIsLeftToTheCopyingPath) {
  linked_sessions link(engine::dialect::v0_2, 64u << 10, small_output());
  auto c = link.open_channel();
  auto typed = libchan::detail::restore_sender<CountedNote>(std::move(c.tx));
  CountedNote::copies = 0;
  const CountedNote big{std::string(300, 'r'), 7};
  std::error_code ec;
  int sent = 0;
  while (typed.impl()->try_send_copy(big, ec)) {
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_LT(++sent, 10) << "the output holds 1000 bytes";
  }
  EXPECT_GE(sent, 2);
  const auto queued = link.client->diagnose().pending_output;
  EXPECT_FALSE(typed.impl()->try_send_copy(big, ec));
  EXPECT_EQ(link.client->diagnose().pending_output, queued) << "a refusal queues nothing";
  EXPECT_EQ(CountedNote::copies, 0);
  // An in-process end has nothing to encode: the caller sends a copy.
  auto [pipe_rx, pipe_tx] = libchan::buffered_pipe<CountedNote>(1);
  EXPECT_FALSE(pipe_tx.impl()->try_send_copy(big, ec));
  link.pump();
  for (int i = 0; i < sent; ++i) ASSERT_TRUE(poll(c.rx).ready) << i;
  EXPECT_FALSE(poll(c.rx).ready) << "only what was accepted arrives";
}

TEST(SessionSend, ATypedSendOfPlainDataThatFitsCompletesAtOnce) {
  linked_sessions link(engine::dialect::v0_2, 64u << 10, small_output());
  auto c = link.open_channel();
  auto typed = libchan::detail::restore_sender<Note>(std::move(c.tx));
  std::deque<send_probe> probes;
  // The output holds 1000 bytes: the first sends complete at once, the
  // rest once the output drains.
  for (std::int64_t seq = 0; seq < 6; ++seq)
    typed.impl()->start_send(Note{std::string(300, 'n'), seq}, probes.emplace_back());
  EXPECT_TRUE(probes.front().sent) << "completed before any byte moved";
  EXPECT_FALSE(probes.back().sent) << "no room: it waits";
  link.pump();
  for (auto& p : probes) EXPECT_TRUE(p.sent && !p.result);
  for (std::int64_t seq = 0; seq < 6; ++seq) {
    auto got = poll(c.rx);
    ASSERT_TRUE(got.ready && got.value) << seq;
    EXPECT_EQ(got.value->find("Seq")->as_int(), seq) << "in order";
  }
}

}  // namespace
