// Descriptor passing in the session layer, against a scripted peer: the
// announcement in SETTINGS, the decision from the peer's first frame,
// messages that wait for it, descriptors named by index, and the limits.
// Descriptors are real (pipes) but no socket carries them: the test hands
// them to the session as a driver would.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "session/descriptors.hpp"
#include "session_test_support.hpp"
#include "support/pipe_fds.hpp"

namespace {

using namespace session_test;
using libchan::errc;
using libchan::Fd;
namespace descriptors = session::descriptors;

using test_fds::pipe_ends;

pipe_ends make_pipe() { return test_fds::make_pipe(O_NONBLOCK); }

// True once every copy of the pipe's write end is closed (no waiting: the
// session closes descriptors synchronously).
bool writers_closed(const pipe_ends& p) {
  char c;
  return ::read(p.read.get(), &c, 1) == 0;
}

// ext 32 as ext8: [form][index, 4 bytes].
bytes descriptor_ref(descriptors::form form, std::uint32_t index) {
  return {0xc7,
          5,
          static_cast<std::uint8_t>(descriptors::ext_type),
          static_cast<std::uint8_t>(form),
          static_cast<std::uint8_t>(index >> 24),
          static_cast<std::uint8_t>(index >> 16),
          static_cast<std::uint8_t>(index >> 8),
          static_cast<std::uint8_t>(index)};
}

session::options passing() {
  session::options o;
  o.pass_descriptors = true;
  return o;
}

void peer_settings(scripted_session& t, bool announce) {
  spdy::settings_frame f;
  f.entries.push_back(
      {static_cast<std::uint32_t>(spdy::setting_id::initial_window_size), 0, 1u << 20});
  if (announce) f.entries.push_back({descriptors::setting_id, 0, descriptors::version});
  spdy::pack(t.peer.out, f);
  t.send();
}

bool announced(const scripted_session& t) {
  auto settings = frames_of<spdy::settings_frame>(t.frames());
  if (settings.empty()) return false;
  const auto* e = settings.front().find(static_cast<spdy::setting_id>(descriptors::setting_id));
  return e && e->value == descriptors::version;
}

// Hands descriptors to the session as a driver does after a read.
void arrive(scripted_session& t, std::vector<Fd> fds) { t.s->receive_descriptors(fds); }

TEST(SessionFdPassing, AnnouncesOnlyWhenAsked) {
  scripted_session with(passing());
  EXPECT_TRUE(announced(with));
  scripted_session without;
  EXPECT_FALSE(announced(without));
}

TEST(SessionFdPassing, DecidedByThePeersFirstFrame) {
  scripted_session yes(passing());
  EXPECT_FALSE(yes.s->passes_descriptors());
  peer_settings(yes, true);
  EXPECT_TRUE(yes.s->passes_descriptors());

  scripted_session other_settings(passing());
  peer_settings(other_settings, false);
  EXPECT_FALSE(other_settings.s->passes_descriptors());

  // Go sends no SETTINGS: its first frame decides, and a later announcement
  // is too late.
  scripted_session go(passing());
  go.peer.ping(2);
  go.send();
  peer_settings(go, true);
  EXPECT_FALSE(go.s->passes_descriptors());
}

// A message with a descriptor on a channel we opened, sent before the peer
// said anything: it waits, then goes as the peer's first frame allows.
struct early_send {
  explicit early_send(session::options opts = passing()) : t(opts) {
    std::error_code ec;
    tx = t.s->open_sender(ec);
    EXPECT_FALSE(ec);
    t.drain();
    auto [r, w] = make_pipe();
    reader = std::move(r);
    tx.impl()->start_send(libchan::make_map("w", std::move(w)), probe);
    tx.close();
    t.drain();
  }
  // The connection ends, as the driver's always does: that stops the pump
  // standing in for the pipe, which keeps itself alive while the session runs.
  ~early_send() { t.s->feed_eof(); }
  early_send(const early_send&) = delete;
  early_send& operator=(const early_send&) = delete;
  std::vector<spdy::data_frame> data() { return frames_of<spdy::data_frame>(t.frames()); }

  scripted_session t;
  libchan::Sender<Value> tx;
  Fd reader;
  send_probe probe;
};

TEST(SessionFdPassing, MessagesWaitForThePeersFirstFrame) {
  early_send e;
  EXPECT_FALSE(e.probe.sent);
  EXPECT_TRUE(e.data().empty()) << "nothing goes before the peer's first frame, not even the FIN";
  peer_settings(e.t, true);
  EXPECT_TRUE(e.probe.sent);
  EXPECT_FALSE(e.probe.result);
  auto data = e.data();
  ASSERT_EQ(data.size(), 2u);  // the message, then the FIN behind it
  const bytes expected_leaf = descriptor_ref(descriptors::form::fd, 0);
  std::string payload = text_of(data[0].payload);
  EXPECT_NE(payload.find(text_of(expected_leaf)), std::string::npos);
  EXPECT_TRUE(data[1].fin());
  // The descriptor waits for the write that carries those bytes.
  EXPECT_EQ(e.t.diag().outgoing_fds, 1u);
}

TEST(SessionFdPassing, PeerWithoutItGetsAByteStream) {
  early_send e;
  peer_settings(e.t, false);
  EXPECT_TRUE(e.probe.sent);
  auto data = e.data();
  ASSERT_FALSE(data.empty());
  // v0.2's duplex stream reference (ext 1) instead, and no descriptor.
  EXPECT_EQ(text_of(data[0].payload).find(static_cast<char>(descriptors::ext_type)),
            std::string::npos);
  EXPECT_EQ(e.t.diag().outgoing_fds, 0u);
  auto syns = frames_of<spdy::syn_stream_frame>(e.t.frames());
  EXPECT_EQ(syns.size(), 2u);  // the channel and the stream standing in for the pipe
}

TEST(SessionFdPassing, EndBeforeTheDecisionFailsWaitingSends) {
  early_send e;
  e.t.s->close();
  EXPECT_TRUE(e.probe.sent);
  EXPECT_EQ(e.probe.result, errc::disconnected);
}

TEST(SessionFdPassing, DescriptorsGoWithTheFirstWriteThatMayNameThem) {
  early_send e;
  peer_settings(e.t, true);
  // Three more; a write takes at most two, and ends before the message
  // naming the third.
  std::vector<libchan::Sender<Value>> senders;
  send_probe probes[3];
  for (auto& probe : probes) {
    auto p = make_pipe();
    std::error_code ec;
    senders.push_back(e.t.s->open_sender(ec));
    senders.back().impl()->start_send(Value(std::move(p.write)), probe);
    EXPECT_TRUE(probe.sent && !probe.result) << probe.result.message();
  }
  std::vector<std::uint8_t> out;
  std::vector<session::outgoing_descriptor> fds;
  while (e.t.s->take_output(out, SIZE_MAX, fds, 2)) {
  }
  EXPECT_EQ(fds.size(), 2u);
  EXPECT_EQ(e.t.diag().outgoing_fds, 2u) << "the others wait for the messages naming them";
  out.clear();
  fds.clear();
  while (e.t.s->take_output(out, SIZE_MAX, fds, 2)) {
  }
  EXPECT_EQ(fds.size(), 2u);
  EXPECT_GT(out.size(), 1u);
  EXPECT_EQ(e.t.diag().outgoing_fds, 0u);
}

// Where `needle` starts in `hay`, or npos.
std::size_t find_bytes(const std::vector<std::uint8_t>& hay, const bytes& needle) {
  return text_of(hay).find(text_of(needle));
}

TEST(SessionFdPassing, AnFdGoesAtOnceWhenThereIsRoom) {
  early_send e;
  peer_settings(e.t, true);
  std::error_code ec;
  auto tx = e.t.s->open_sender(ec);
  auto p = make_pipe();
  Value message = libchan::make_map("fd", std::move(p.write));
  ASSERT_TRUE(tx.impl()->try_send(message, ec)) << "no waiter needed for a plain Fd";
  EXPECT_EQ(message.kind(), Value::Kind::nil) << "the descriptor was taken";
  EXPECT_EQ(e.t.diag().outgoing_fds, 2u);
  std::vector<std::uint8_t> out;
  std::vector<session::outgoing_descriptor> fds;
  while (e.t.s->take_output(out, SIZE_MAX, fds, 64)) {
  }
  ASSERT_EQ(fds.size(), 2u);
  EXPECT_NE(find_bytes(out, descriptor_ref(descriptors::form::fd, 1)), std::string::npos);
  fds.clear();  // the write completed: the sender's copies close
  EXPECT_TRUE(writers_closed(p));
}

// All the bytes of `chunks`' first `n`, in order.
std::vector<std::uint8_t> joined(const std::vector<std::vector<std::uint8_t>>& chunks,
                                 std::size_t n) {
  std::vector<std::uint8_t> all;
  for (std::size_t i = 0; i < n; ++i) all.insert(all.end(), chunks[i].begin(), chunks[i].end());
  return all;
}

TEST(SessionFdPassing, WritesMoveChunksOnlyWhileNoDescriptorWaits) {
  early_send e;
  peer_settings(e.t, true);
  ASSERT_EQ(e.t.diag().outgoing_fds, 1u) << "the early message's descriptor waits for a write";
  std::error_code ec;
  auto tx = e.t.s->open_sender(ec);
  auto send_plain = [&] {
    Value plain(std::string("plain"));
    ASSERT_TRUE(tx.impl()->try_send(plain, ec));
  };
  const bytes plain_bytes{0xa5, 'p', 'l', 'a', 'i', 'n'};

  // A descriptor waits: the bytes must go in the one buffer it goes with.
  send_plain();
  std::vector<std::vector<std::uint8_t>> chunks;
  EXPECT_FALSE(e.t.s->take_output_chunks_unless_descriptors(chunks, SIZE_MAX));
  std::vector<std::uint8_t> out;
  std::vector<session::outgoing_descriptor> fds;
  while (e.t.s->take_output(out, SIZE_MAX, fds, 64)) {
  }
  EXPECT_EQ(fds.size(), 1u);
  EXPECT_NE(find_bytes(out, plain_bytes), std::string::npos);

  // None waits: whole chunks move, and every byte goes.
  send_plain();
  auto n = e.t.s->take_output_chunks_unless_descriptors(chunks, SIZE_MAX);
  ASSERT_TRUE(n.has_value());
  ASSERT_GE(*n, 1u);
  EXPECT_NE(find_bytes(joined(chunks, *n), plain_bytes), std::string::npos);
  EXPECT_EQ(e.t.diag().pending_output, 0u);

  // A message naming a descriptor: back to the buffer that carries it.
  auto p = make_pipe();
  Value with_fd(std::move(p.write));
  ASSERT_TRUE(tx.impl()->try_send(with_fd, ec));
  EXPECT_FALSE(e.t.s->take_output_chunks_unless_descriptors(chunks, SIZE_MAX));
  out.clear();
  fds.clear();
  while (e.t.s->take_output(out, SIZE_MAX, fds, 64)) {
  }
  ASSERT_EQ(fds.size(), 1u);
  EXPECT_NE(find_bytes(out, descriptor_ref(descriptors::form::fd, 1)), std::string::npos);
  n = e.t.s->take_output_chunks_unless_descriptors(chunks, SIZE_MAX);
  ASSERT_TRUE(n.has_value()) << "the descriptor went";
  EXPECT_EQ(*n, 0u) << "and so did every byte";
}

TEST(SessionFdPassing, SendersWaitWhileMaxQueuedFdsAreUnwritten) {
  auto opts = passing();
  opts.max_queued_fds = 3;
  early_send e(opts);
  peer_settings(e.t, true);  // its message goes: one descriptor queued
  std::error_code ec;
  auto tx = e.t.s->open_sender(ec);
  std::vector<pipe_ends> pipes;
  for (int i = 0; i < 3; ++i) pipes.push_back(make_pipe());
  Value second(std::move(pipes[0].write));
  Value third(std::move(pipes[1].write));
  Value fourth(std::move(pipes[2].write));
  EXPECT_TRUE(tx.impl()->try_send(second, ec));
  EXPECT_TRUE(tx.impl()->try_send(third, ec));
  // The limit reached, the quick path refuses and leaves the value alone...
  EXPECT_FALSE(tx.impl()->try_send(fourth, ec));
  ASSERT_EQ(fourth.kind(), Value::Kind::fd);
  // ...and the waiting path parks it, with a plain message sent after it.
  send_probe fourth_sent, after_sent;
  tx.impl()->start_send(std::move(fourth), fourth_sent);
  tx.impl()->start_send(Value(std::string("after")), after_sent);
  EXPECT_FALSE(fourth_sent.sent);
  EXPECT_FALSE(after_sent.sent);
  EXPECT_EQ(e.t.diag().outgoing_fds, 3u);
  // Writing the queued descriptors makes room: the parked sends go on, in
  // the order they were made.
  std::vector<std::uint8_t> out;
  std::vector<session::outgoing_descriptor> fds;
  while (e.t.s->take_output(out, SIZE_MAX, fds, 64)) {
  }
  EXPECT_TRUE(fourth_sent.sent && !fourth_sent.result) << fourth_sent.result.message();
  EXPECT_TRUE(after_sent.sent && !after_sent.result) << after_sent.result.message();
  EXPECT_EQ(fds.size(), 4u);
  EXPECT_EQ(e.t.diag().outgoing_fds, 0u);
  const auto fourth_at = find_bytes(out, descriptor_ref(descriptors::form::fd, 3));
  const auto after_at = find_bytes(out, bytes{0xa5, 'a', 'f', 't', 'e', 'r'});
  ASSERT_NE(fourth_at, std::string::npos);
  ASSERT_NE(after_at, std::string::npos);
  EXPECT_LT(fourth_at, after_at);
}

TEST(SessionFdPassing, MessagesNameReceivedDescriptorsByIndex) {
  scripted_session t(passing());
  auto first = make_pipe();
  auto second = make_pipe();
  std::vector<Fd> fds;
  fds.push_back(std::move(first.write));
  fds.push_back(std::move(second.write));
  arrive(t, std::move(fds));
  EXPECT_EQ(t.diag().unclaimed_fds, 2u);
  t.peer.channel(1, 2);
  t.data(1, mp::map({{"a", descriptor_ref(descriptors::form::fd, 1)},
                     {"b", descriptor_ref(descriptors::form::write_only_stream, 0)}}));
  t.send();
  auto rx = t.accept();
  ASSERT_TRUE(rx);
  auto m = poll(*rx);
  ASSERT_TRUE(m.ready && m.value) << m.ec.message();
  EXPECT_EQ(t.diag().unclaimed_fds, 0u);
  Value* a = m.value->find("a");
  Value* b = m.value->find("b");
  ASSERT_EQ(a->kind(), Value::Kind::fd);
  ASSERT_EQ(b->kind(), Value::Kind::stream);
  EXPECT_EQ(b->take_stream().mode(), libchan::ByteStream::Mode::write_only);
  EXPECT_TRUE(writers_closed(first)) << "the stream closed with its ByteStream";
  ASSERT_EQ(::write(a->take_fd().get(), "x", 1), 1);
  char c = 0;
  EXPECT_EQ(::read(second.read.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

void expect_channel_error(scripted_session& t, stream_id id, std::uint64_t ref, std::uint32_t index,
                          std::string_view why) {
  t.peer.channel(id, ref);
  t.data(id, mp::map({{"fd", descriptor_ref(descriptors::form::fd, index)}}));
  t.send();
  auto rx = t.accept();
  ASSERT_TRUE(rx);
  auto m = poll(*rx);
  ASSERT_TRUE(m.ready);
  EXPECT_FALSE(m.value);
  EXPECT_EQ(m.ec, errc::protocol_error);
  EXPECT_NE(t.diag().last_error.find(why), std::string::npos) << t.diag().last_error;
}

TEST(SessionFdPassing, BadIndexesFailTheChannel) {
  scripted_session t(passing());
  auto p = make_pipe();
  std::vector<Fd> fds;
  fds.push_back(std::move(p.write));
  arrive(t, std::move(fds));
  expect_channel_error(t, 1, 2, 3, "named before it arrived");
  t.peer.channel(3, 3);
  t.data(3, mp::map({{"fd", descriptor_ref(descriptors::form::fd, 0)}}));
  t.send();
  auto first = t.accept();
  ASSERT_TRUE(first && poll(*first).value);
  expect_channel_error(t, 5, 4, 0, "named twice");
}

TEST(SessionFdPassing, TooManyInOneMessageCloseWithIt) {
  auto opts = passing();
  opts.max_fds_per_message = 1;
  scripted_session t(opts);
  auto p1 = make_pipe();
  auto p2 = make_pipe();
  std::vector<Fd> fds;
  fds.push_back(std::move(p1.write));
  fds.push_back(std::move(p2.write));
  arrive(t, std::move(fds));
  t.peer.channel(1, 2);
  t.data(1, mp::map({{"a", descriptor_ref(descriptors::form::fd, 0)},
                     {"b", descriptor_ref(descriptors::form::fd, 1)}}));
  t.send();
  auto rx = t.accept();
  ASSERT_TRUE(rx);
  auto m = poll(*rx);
  ASSERT_TRUE(m.ready);
  EXPECT_EQ(m.ec, errc::limit_exceeded);
  EXPECT_NE(t.diag().last_error.find("max_fds_per_message (1)"), std::string::npos)
      << t.diag().last_error;
  EXPECT_EQ(t.diag().unclaimed_fds, 0u);
  EXPECT_TRUE(writers_closed(p1));
  EXPECT_TRUE(writers_closed(p2));
}

// Past max_unclaimed_fds the oldest are closed, not the session: a message
// naming one fails its channel; the others are still claimed.
TEST(SessionFdPassing, UnclaimedDescriptorsAreBounded) {
  auto opts = passing();
  opts.max_unclaimed_fds = 3;
  scripted_session t(opts);
  std::vector<pipe_ends> pipes;
  for (int i = 0; i < 5; ++i) {
    pipes.push_back(make_pipe());
    std::vector<Fd> one;
    one.push_back(std::move(pipes.back().write));
    arrive(t, std::move(one));
  }
  EXPECT_FALSE(t.s->end_reason());
  EXPECT_EQ(t.diag().unclaimed_fds, 3u);
  EXPECT_TRUE(writers_closed(pipes[0]));
  EXPECT_TRUE(writers_closed(pipes[1]));
  EXPECT_NE(t.diag().last_error.find("max_unclaimed_fds (3)"), std::string::npos)
      << t.diag().last_error;
  expect_channel_error(t, 1, 2, 1, "too late");
  t.peer.channel(3, 3);
  t.data(3, mp::map({{"fd", descriptor_ref(descriptors::form::fd, 4)}}));
  t.send();
  auto rx = t.accept();
  ASSERT_TRUE(rx);
  auto m = poll(*rx);
  ASSERT_TRUE(m.ready && m.value) << m.ec.message();
  EXPECT_EQ(m.value->find("fd")->kind(), Value::Kind::fd);
  EXPECT_EQ(t.diag().unclaimed_fds, 2u);
  EXPECT_FALSE(writers_closed(pipes[4])) << "the message holds it";
}

// A session with max_buffered_fds of 2 whose peer opened a channel and sent
// `count` messages on it, each naming one descriptor (the write end of one
// of `pipes`).
struct buffered_burst {
  explicit buffered_burst(std::uint32_t count) : t(options()) {
    std::vector<Fd> fds;
    for (std::uint32_t i = 0; i < count; ++i) {
      pipes.push_back(make_pipe());
      fds.push_back(std::move(pipes.back().write));
    }
    arrive(t, std::move(fds));
    rx = t.accept_peer_channel();
    for (std::uint32_t i = 0; i < count; ++i)
      t.data(1, mp::map({{"fd", descriptor_ref(descriptors::form::fd, i)}}));
    t.send();
  }
  static session::options options() {
    auto opts = passing();
    opts.max_buffered_fds = 2;
    return opts;
  }

  scripted_session t;
  std::vector<pipe_ends> pipes;
  std::optional<libchan::Receiver<Value>> rx;
};

// Messages holding descriptors that the application has not taken count
// toward max_buffered_fds: at the bound the session takes no more input
// (the frame that reached it is the last), and taking a message lets it
// go on.
TEST(SessionFdPassing, BufferedDescriptorsHoldTheInput) {
  buffered_burst b(4);
  auto& t = b.t;
  ASSERT_TRUE(b.rx);
  EXPECT_EQ(t.diag().buffered_fds, 2u);
  EXPECT_TRUE(t.s->input_paused());
  EXPECT_FALSE(t.input.empty()) << "the frames behind the bound wait";
  for (std::size_t received = 0; received < 4; ++received) {
    auto m = poll(*b.rx);
    ASSERT_TRUE(m.ready && m.value) << "message " << received << ": " << m.ec.message();
    ASSERT_EQ(m.value->find("fd")->kind(), Value::Kind::fd);
    EXPECT_FALSE(t.s->input_paused()) << "taking one made room";
    t.feed({});
    EXPECT_LE(t.diag().buffered_fds, 2u);
  }
  EXPECT_TRUE(t.input.empty());
  EXPECT_EQ(t.diag().buffered_fds, 0u);
}

// Messages dropped with their receiver no longer count.
TEST(SessionFdPassing, ClosingTheReceiverReleasesItsBufferedDescriptors) {
  buffered_burst b(2);
  ASSERT_TRUE(b.rx);
  EXPECT_TRUE(b.t.s->input_paused());
  b.rx->close();
  EXPECT_EQ(b.t.diag().buffered_fds, 0u);
  EXPECT_FALSE(b.t.s->input_paused());
  for (auto& p : b.pipes) EXPECT_TRUE(writers_closed(p));
}

TEST(SessionFdPassing, NotAnnouncedMeansNotTaken) {
  scripted_session t;
  auto p = make_pipe();
  std::vector<Fd> fds;
  fds.push_back(std::move(p.write));
  arrive(t, std::move(fds));
  EXPECT_EQ(t.diag().unclaimed_fds, 0u);
  EXPECT_TRUE(writers_closed(p));
  // And the extension is unknown to a session that did not announce it.
  t.peer.channel(1, 2);
  t.data(1, mp::map({{"fd", descriptor_ref(descriptors::form::fd, 0)}}));
  t.send();
  auto rx = t.accept();
  ASSERT_TRUE(rx);
  EXPECT_EQ(poll(*rx).ec, errc::protocol_error);
}

}  // namespace
