// Two engines back to back, and scripted peers: flow control windows,
// backpressure (max_unconsumed), the output queue limit, keepalive.
#include <gtest/gtest.h>

#include "engine_test_support.hpp"

namespace {

using namespace engine_test;
using engine::dialect;
using engine::role;
using libchan::errc;
using namespace std::chrono_literals;

// No DATA frame in `wire` is larger than the window. The receiver's own
// check (RST_STREAM FLOW_CONTROL_ERROR) covers what is in flight.
void expect_frames_within(const bytes& sender_wire, std::size_t window) {
  for (const auto& f : spdy_test::read_all(sender_wire)) {
    if (const auto* d = std::get_if<spdy::data_frame>(&f.value)) {
      EXPECT_LE(d->payload.size(), window);
    }
  }
}

// A dialer's stream to an acceptor whose window is `window` bytes and that
// consumes only when told, SETTINGS exchanged.
struct slow_reader {
  explicit slow_reader(std::uint32_t window)
      : p(make_options(role::dialer), acceptor_options(window)) {
    p.acceptor.events.auto_consume = false;
    std::error_code ec;
    id = p.dialer.session.open_stream(2, std::nullopt, 0, ec);
    pump(p.dialer, p.acceptor);
  }
  static engine::options acceptor_options(std::uint32_t window) {
    auto o = make_options(role::acceptor, dialect::detect);
    o.limits.initial_window = window;
    return o;
  }
  pair_fixture p;
  stream_id id = 0;
};

TEST(EngineFlow, TinyWindowLargeDataNoStallWindowRespected) {
  auto acceptor_opts = make_options(role::acceptor, dialect::detect);
  acceptor_opts.limits.initial_window = 100;
  pair_fixture p(make_options(role::dialer), acceptor_opts);
  std::error_code ec;
  const stream_id id = p.dialer.session.open_stream(2, std::nullopt, 0, ec);
  pump(p.dialer, p.acceptor);  // SETTINGS both ways first
  const std::string big = pattern(100000);
  p.submit(p.dialer, id, big, true);
  pump(p.dialer, p.acceptor, 37);
  EXPECT_EQ(p.acceptor.events.data[id].size(), big.size());
  EXPECT_TRUE(p.acceptor.events.data[id] == big);
  EXPECT_EQ(p.acceptor.events.remote_closed, std::vector<stream_id>{id});
  EXPECT_TRUE(p.acceptor.events.closed.empty() && p.acceptor.events.peer_errors.empty());
  expect_frames_within(p.dialer.written, 100);
  const auto updates = frames_of<spdy::window_update_frame>(p.acceptor.frames());
  EXPECT_GE(updates.size(), 100000u / 100);
  for (const auto& u : updates) EXPECT_GE(u.delta, 50u) << "updates come at half the window";
}

TEST(EngineFlow, SlowReaderStallsSenderUntilConsumed) {
  slow_reader r(1000);
  auto& p = r.p;
  const stream_id id = r.id;
  const std::string big = pattern(5000);
  p.submit(p.dialer, id, big, true);
  pump(p.dialer, p.acceptor);
  EXPECT_EQ(p.acceptor.events.data[id].size(), 1000u) << "exactly one window, then wait";
  EXPECT_TRUE(p.dialer.session.want_write());
  EXPECT_TRUE(p.dialer.session.pending_output().empty()) << "the rest waits in the engine";

  // The reader takes its time, a bit at a time: the sender follows.
  for (int i = 0; i < 100 && p.acceptor.events.data[id].size() < big.size(); ++i) {
    p.acceptor.session.consume(id, 300);
    pump(p.dialer, p.acceptor);
  }
  EXPECT_TRUE(p.acceptor.events.data[id] == big);
  EXPECT_EQ(p.acceptor.events.remote_closed, std::vector<stream_id>{id});
}

// Small writes that wait for the window share buffers; none may be lost,
// reordered or sent beyond the window, and the FIN still comes last.
TEST(EngineFlow, SmallWritesWaitingForTheWindowArriveInOrder) {
  slow_reader r(1000);
  auto& p = r.p;
  const stream_id id = r.id;
  std::string sent;
  for (int i = 0; i < 400; ++i) {
    const std::string piece = std::to_string(i) + ":" + pattern(30 + i % 17) + ";";
    p.submit(p.dialer, id, piece, i == 399);
    sent += piece;
  }
  pump(p.dialer, p.acceptor);
  EXPECT_EQ(p.acceptor.events.data[id].size(), 1000u);
  EXPECT_TRUE(p.dialer.session.data_waiting());
  for (int i = 0; i < 200 && p.acceptor.events.data[id].size() < sent.size(); ++i) {
    p.acceptor.session.consume(id, 700);
    pump(p.dialer, p.acceptor);
  }
  EXPECT_TRUE(p.acceptor.events.data[id] == sent);
  EXPECT_EQ(p.acceptor.events.remote_closed, std::vector<stream_id>{id});
  EXPECT_FALSE(p.dialer.session.data_waiting());
  expect_frames_within(p.dialer.written, 1000);
}

// A marked write that waits behind unmarked ones keeps its own place: its
// mark names the DATA frame that starts with its first byte.
TEST(EngineFlow, AMarkedWriteWaitingBehindOthersIsReportedWhereItStarts) {
  slow_reader r(100);
  auto& p = r.p;
  const stream_id id = r.id;
  std::error_code ec;
  p.submit(p.dialer, id, pattern(100), false);  // fills the window
  for (int i = 0; i < 5; ++i) p.submit(p.dialer, id, "unmarked-" + std::to_string(i), false);
  const bytes marked = bytes_of("MARKED:" + pattern(20));
  p.dialer.session.submit_data(id, marked, false, ec, 7);
  ASSERT_FALSE(ec) << p.dialer.session.last_error();
  p.submit(p.dialer, id, "after", true);
  pump(p.dialer, p.acceptor);
  std::vector<engine::spdy_session::output_mark> marks;
  p.dialer.session.take_marks(marks);
  EXPECT_TRUE(marks.empty()) << "nothing marked went out yet";

  for (int i = 0; i < 20 && !p.acceptor.events.remote_closed.size(); ++i) {
    p.acceptor.session.consume(id, 100);
    pump(p.dialer, p.acceptor);
  }
  ASSERT_EQ(p.acceptor.events.remote_closed, std::vector<stream_id>{id});
  p.dialer.session.take_marks(marks);
  ASSERT_EQ(marks.size(), 1u);
  EXPECT_EQ(marks[0].mark, 7u);
  ASSERT_LT(marks[0].offset, p.dialer.written.size());
  const bytes from_mark(p.dialer.written.begin() + static_cast<std::ptrdiff_t>(marks[0].offset),
                        p.dialer.written.end());
  const auto frames = spdy_test::read_all(from_mark);
  ASSERT_FALSE(frames.empty());
  const auto* first = std::get_if<spdy::data_frame>(&frames.front().value);
  ASSERT_NE(first, nullptr) << "the mark names a DATA frame";
  ASSERT_GE(first->payload.size(), 7u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(first->payload.data()), 7), "MARKED:");
}

TEST(EngineFlow, WholeFramesWaitForWindowAndNeverSplit) {
  auto acceptor_opts = make_options(role::acceptor, dialect::detect);
  acceptor_opts.limits.initial_window = 1000;
  pair_fixture p(make_options(role::dialer, dialect::v0_1), acceptor_opts);
  p.acceptor.events.auto_consume = false;
  std::error_code ec;
  const stream_id id = p.dialer.session.open_stream(1, 0, 0, ec);
  pump(p.dialer, p.acceptor);

  p.dialer.session.submit_frame(id, bytes_of(pattern(1001)), false, ec);
  EXPECT_EQ(ec, errc::limit_exceeded) << "can never fit a 1000-byte window";
  EXPECT_NE(p.dialer.session.last_error().find("window"), std::string::npos);

  p.dialer.session.submit_frame(id, bytes_of(pattern(600)), false, ec);
  ASSERT_FALSE(ec);
  p.dialer.session.submit_frame(id, bytes_of(pattern(700)), true, ec);
  ASSERT_FALSE(ec);
  pump(p.dialer, p.acceptor);
  EXPECT_EQ(p.acceptor.events.frame_sizes[id], std::vector<std::size_t>{600});
  p.acceptor.session.consume(id, 600);
  pump(p.dialer, p.acceptor);
  EXPECT_EQ(p.acceptor.events.frame_sizes[id], (std::vector<std::size_t>{600, 700}));
  EXPECT_EQ(p.acceptor.events.remote_closed, std::vector<stream_id>{id});
}

TEST(EngineFlow, SettingsChangeMovesOpenWindows) {
  // Data submitted before the peer's SETTINGS arrive goes against the
  // default 64 KiB; the announced 1 MiB then opens the rest.
  pair_fixture p;
  p.acceptor.events.auto_consume = false;
  std::error_code ec;
  const stream_id id = p.dialer.session.open_stream(2, std::nullopt, 0, ec);
  p.dialer.feed(p.acceptor.drain());  // the acceptor's SETTINGS, before any data
  ASSERT_TRUE(p.dialer.session.peer_does_flow_control());
  const std::string big = pattern(200000);
  p.submit(p.dialer, id, big, false);
  pump(p.dialer, p.acceptor);
  EXPECT_EQ(p.acceptor.events.data[id].size(), big.size()) << "1 MiB window, no update needed";
  for (const auto& u : frames_of<spdy::window_update_frame>(p.acceptor.frames())) {
    EXPECT_EQ(u.stream, 0u) << "only the session window's announcement";
  }
}

// Total DATA payload in `wire`, all streams together.
std::size_t data_bytes(const bytes& wire) {
  std::size_t n = 0;
  for (const auto& f : spdy_test::read_all(wire)) {
    if (const auto* d = std::get_if<spdy::data_frame>(&f.value)) n += d->payload.size();
  }
  return n;
}

TEST(EngineFlow, SessionWindowSpansStreamsAndResumesOnUpdates) {
  auto acceptor_opts = make_options(role::acceptor, dialect::detect);
  acceptor_opts.limits.session_window = 100000;
  pair_fixture p(make_options(role::dialer), acceptor_opts);
  p.acceptor.events.auto_consume = false;
  pump(p.dialer, p.acceptor);  // SETTINGS and both session windows
  ASSERT_TRUE(p.dialer.session.peer_does_session_flow_control());
  const auto announced = frames_of<spdy::window_update_frame>(p.acceptor.frames());
  ASSERT_EQ(announced.size(), 1u);
  EXPECT_EQ(announced[0].stream, 0u);
  EXPECT_EQ(announced[0].delta, 100000u - 65536u);

  std::error_code ec;
  std::vector<stream_id> ids;
  for (std::uint64_t ref = 2; ref < 5; ++ref) {
    ids.push_back(p.dialer.session.open_stream(ref, std::nullopt, 0, ec));
    p.submit(p.dialer, ids.back(), pattern(60000), true);
  }
  pump(p.dialer, p.acceptor);
  EXPECT_EQ(data_bytes(p.dialer.written), 100000u) << "one session window, whatever the streams";
  EXPECT_TRUE(p.dialer.session.want_write() && p.dialer.session.pending_output().empty());

  // Half the window consumed goes back on stream 0; the waiting data follows.
  p.acceptor.session.consume(ids[0], 50000);
  pump(p.dialer, p.acceptor);
  EXPECT_EQ(data_bytes(p.dialer.written), 150000u);
  for (int i = 0; i < 100 && data_bytes(p.dialer.written) < 180000; ++i) {
    for (stream_id id : ids) p.acceptor.session.consume(id, 10000);
    pump(p.dialer, p.acceptor);
  }
  for (stream_id id : ids) EXPECT_TRUE(p.acceptor.events.data[id] == pattern(60000));
  EXPECT_EQ(p.acceptor.events.remote_closed, ids);
  EXPECT_TRUE(p.acceptor.events.session_end.empty() && p.dialer.events.session_end.empty());
}

TEST(EngineFlow, Spdy3PeerIsNotHeldToASessionWindow) {
  // jschan does flow control per stream only: 64 KiB for the session would
  // stall it for good, since it never sends WINDOW_UPDATE on stream 0.
  endpoint dialer(make_options(role::dialer));
  dialer.feed(peer_writer{}.settings_window(1 << 20).take());
  std::error_code ec;
  for (std::uint64_t ref = 2; ref < 6; ++ref) {
    const stream_id id = dialer.session.open_stream(ref, std::nullopt, 0, ec);
    dialer.session.submit_data(id, bytes_of(pattern(100000)), false, ec);
    ASSERT_FALSE(ec);
  }
  EXPECT_EQ(data_bytes(dialer.drain()), 400000u);
  EXPECT_FALSE(dialer.session.peer_does_session_flow_control());
}

TEST(EngineFlow, GoLikePeerGetsNoSessionWindowUpdates) {
  acceptor_fixture f;
  f.peer.channel(1, 2);
  for (int i = 0; i < 10; ++i) f.peer.data(1, pattern(50000));
  f.send();
  EXPECT_EQ(f.e.events.data[1].size(), 500000u);
  EXPECT_TRUE(frames_of<spdy::window_update_frame>(f.answers()).empty());
  f.expect_alive();
}

TEST(EngineFlow, PeerOverflowingTheSessionWindowIsFatal) {
  auto opts = make_options(role::acceptor, dialect::detect);
  opts.limits.session_window = 1000;  // raised to SPDY/3.1's 64 KiB
  acceptor_fixture f(opts);
  f.e.events.auto_consume = false;
  f.peer.settings_window(1 << 20).window_update(0, 1).ping(2).channel(1, 2);
  f.peer.data(1, pattern(65536));
  f.send();
  f.expect_alive();
  f.answers();
  f.peer.data(1, "x");
  f.send();
  f.expect_fatal(errc::protocol_error, "session receive window (session_window = 65536 bytes");
}

TEST(EngineFlow, DroppedDataGoesBackToTheSessionWindow) {
  auto opts = make_options(role::acceptor, dialect::detect);
  opts.limits.session_window = 65536;
  acceptor_fixture f(opts);
  f.e.events.auto_consume = false;
  f.peer.settings_window(1 << 20).window_update(0, 1).channel(1, 2);
  f.peer.data(7, pattern(40000)).fin(1);  // 7: unknown
  f.peer.data(1, pattern(40000));         // after FIN
  // Fits only if the 80000 dropped bytes went back to the window.
  f.peer.channel(3, 3).data(3, pattern(60000));
  f.send();
  EXPECT_EQ(f.e.events.peer_errors.size(), 1u);
  EXPECT_EQ(f.e.events.data[3].size(), 60000u);
  f.expect_alive();
  std::uint64_t returned = 0;
  for (const auto& u : frames_of<spdy::window_update_frame>(f.answers())) {
    if (u.stream == 0) returned += u.delta;
  }
  EXPECT_EQ(returned, 80000u);
}

// The race at start-up: the dialer cannot tell whether the acceptor does
// flow control until its SETTINGS arrive, so it sends freely meanwhile,
// possibly past the acceptor's window. The acceptor tolerates that until
// the dialer has answered the PING behind its SETTINGS.
TEST(EngineFlow, DataSentBeforeOurSettingsArrivedIsNotAnOverrun) {
  auto acceptor_opts = make_options(role::acceptor, dialect::detect);
  acceptor_opts.limits.initial_window = 1000;
  pair_fixture p(make_options(role::dialer), acceptor_opts);
  std::error_code ec;
  const stream_id id = p.dialer.session.open_stream(2, std::nullopt, 0, ec);
  // The dialer's SETTINGS and stream reach the acceptor, and the acceptor
  // answers, but the dialer sends 5000 bytes before reading any of it.
  p.acceptor.feed(p.dialer.drain());
  const bytes acceptor_hello = p.acceptor.drain();
  const std::string big = pattern(5000);
  p.submit(p.dialer, id, big, false);
  p.acceptor.feed(p.dialer.drain());
  EXPECT_TRUE(p.acceptor.events.peer_errors.empty()) << "no FLOW_CONTROL_ERROR";
  EXPECT_EQ(p.acceptor.events.data[id].size(), 5000u);
  // Now the dialer learns the window: its own count is 1000 - 5000, so the
  // next bytes wait until the acceptor's updates bring it above zero.
  p.dialer.feed(acceptor_hello);
  p.submit(p.dialer, id, "after", true);
  pump(p.dialer, p.acceptor);
  EXPECT_TRUE(p.acceptor.events.peer_errors.empty());
  EXPECT_TRUE(p.acceptor.events.data[id] == big + "after");
  EXPECT_EQ(p.acceptor.events.remote_closed, std::vector<stream_id>{id});
}

TEST(EngineFlow, OverrunAfterThePeerSawOurSettingsResetsTheStream) {
  auto acceptor_opts = make_options(role::acceptor, dialect::detect);
  acceptor_opts.limits.initial_window = 100;
  acceptor_fixture f(acceptor_opts);
  f.e.events.auto_consume = false;
  // Before the answer to our PING: tolerated, and counted.
  f.peer.settings_window(1 << 20).channel(1, 2).data(1, std::string(150, 'a'));
  f.send();
  f.expect_alive();
  EXPECT_TRUE(f.e.events.peer_errors.empty());
  f.answers();
  // After it: the window (now 100 - 150) is the peer's to respect.
  f.peer.ping(2).data(1, "b");
  f.send();
  f.expect_rst(1, spdy::rst_status::flow_control_error);
  EXPECT_EQ(f.e.events.data[1].size(), 150u);
}

TEST(EngineFlow, SessionWindowUpdateOverflowIsFatal) {
  acceptor_fixture f;
  f.peer.window_update(0, 0x7FFFFFFF);
  f.send();
  f.expect_fatal(errc::protocol_error, "session send window above 2^31-1");
}

TEST(EngineFlow, BackpressureWithMaxUnconsumed) {
  auto acceptor_opts = make_options(role::acceptor, dialect::detect);
  acceptor_opts.limits.max_unconsumed = 100;
  endpoint acceptor(acceptor_opts);
  acceptor.events.auto_consume = false;
  peer_writer go;  // a Go-like peer: no SETTINGS, no flow control
  go.channel(1, 2);
  for (int i = 0; i < 10; ++i) go.data(1, pattern(60));
  const bytes wire = go.take();

  const std::size_t taken = acceptor.feed(wire);
  EXPECT_LT(taken, wire.size()) << "stops taking input past max_unconsumed";
  EXPECT_TRUE(acceptor.session.receive_paused());
  EXPECT_EQ(acceptor.events.data[1].size(), 120u) << "two frames: 60 < 100, then 120 >= 100";
  EXPECT_EQ(acceptor.feed(bytes{}), 0u) << "still paused";

  acceptor.session.consume(1, 10);
  EXPECT_TRUE(acceptor.session.receive_paused()) << "110 unconsumed is still at the limit";
  acceptor.session.consume(1, 70);
  EXPECT_FALSE(acceptor.session.receive_paused());
  while (!acceptor.input.empty()) {
    ASSERT_GT(acceptor.feed(bytes{}), 0u) << "must resume after consume()";
    acceptor.session.consume(1, acceptor.events.data[1].size());  // more than held: clamped
  }
  EXPECT_EQ(acceptor.events.data[1].size(), 600u);
}

TEST(EngineFlow, UnconsumedBytesOfClosedStreamsStillCount) {
  auto acceptor_opts = make_options(role::acceptor, dialect::detect);
  acceptor_opts.limits.max_unconsumed = 200;
  endpoint acceptor(acceptor_opts);
  acceptor.events.auto_consume = false;
  peer_writer go;
  go.channel(1, 2).data(1, pattern(150)).rst(1, spdy::rst_status::cancel);
  go.channel(3, 3).data(3, pattern(60)).data(3, pattern(10));
  const bytes wire = go.take();
  acceptor.feed(wire);
  EXPECT_NE(acceptor.events.closed_of(1), nullptr);
  EXPECT_EQ(acceptor.events.data[3].size(), 60u);
  EXPECT_TRUE(acceptor.session.receive_paused()) << "the reset stream's bytes are still held";
  acceptor.session.consume(1, 150);
  EXPECT_FALSE(acceptor.session.receive_paused());
  acceptor.feed(bytes{});
  EXPECT_TRUE(acceptor.input.empty());
  EXPECT_EQ(acceptor.events.data[3].size(), 70u);
}

TEST(EngineFlow, OutputQueueLimitAndDrained) {
  auto dialer_opts = make_options(role::dialer);
  dialer_opts.limits.max_output_queue = 1000;
  endpoint dialer(dialer_opts);
  std::error_code ec;
  const stream_id id = dialer.session.open_stream(2, std::nullopt, 0, ec);
  dialer.session.submit_data(id, bytes_of(pattern(600)), false, ec);
  ASSERT_FALSE(ec);
  dialer.session.submit_data(id, bytes_of(pattern(600)), false, ec);
  EXPECT_EQ(ec, errc::limit_exceeded);
  EXPECT_EQ(dialer.session.last_error(), "output queue full (max_output_queue = 1000 bytes)");
  dialer.session.submit_frame(id, bytes_of(pattern(600)), false, ec);
  EXPECT_EQ(ec, errc::limit_exceeded);
  // A lone FIN is always taken.
  EXPECT_EQ(dialer.events.drained, 0);

  // Write a little at a time: drained fires once, when below half.
  while (dialer.events.drained == 0 && !dialer.session.pending_output().empty()) {
    dialer.session.consume_output(
        std::min<std::size_t>(50, dialer.session.pending_output().size()));
  }
  EXPECT_EQ(dialer.events.drained, 1);
  const std::size_t left = [&] {
    std::size_t n = 0;
    while (!dialer.session.pending_output().empty()) {
      n += dialer.session.pending_output().size();
      dialer.session.consume_output(dialer.session.pending_output().size());
    }
    return n;
  }();
  EXPECT_LT(left, 500u);
  EXPECT_EQ(dialer.events.drained, 1) << "only after being full";
  dialer.session.submit_data(id, bytes_of(pattern(600)), true, ec);
  EXPECT_FALSE(ec);
}

TEST(EngineFlow, OutputDrainedHandlerMaySubmitAgain) {
  auto dialer_opts = make_options(role::dialer);
  dialer_opts.limits.max_output_queue = 1000;
  endpoint dialer(dialer_opts);
  std::error_code ec;
  const stream_id id = dialer.session.open_stream(2, std::nullopt, 0, ec);
  dialer.session.submit_data(id, bytes_of(pattern(900)), false, ec);
  dialer.session.submit_data(id, bytes_of(pattern(900)), false, ec);
  ASSERT_EQ(ec, errc::limit_exceeded);
  int retried = 0;
  dialer.events.on_drained_hook = [&] {
    std::error_code again;
    dialer.session.submit_data(id, bytes_of(pattern(900)), false, again);
    if (!again) ++retried;
  };
  dialer.drain();
  EXPECT_EQ(retried, 1);
}

TEST(EngineFlow, KeepaliveTimesOutOnASilentPeer) {
  auto dialer_opts = make_options(role::dialer);
  dialer_opts.keepalive_interval = 1000ms;
  dialer_opts.keepalive_timeout = 2000ms;
  endpoint dialer(dialer_opts);
  dialer.drain();
  const engine::steady_time t0{std::chrono::hours(1)};
  ASSERT_TRUE(dialer.session.next_deadline());
  EXPECT_LE(*dialer.session.next_deadline(), t0) << "tick at once to start the clock";
  dialer.session.tick(t0);
  EXPECT_EQ(dialer.session.next_deadline(), t0 + 1000ms);
  dialer.session.tick(t0 + 999ms);
  EXPECT_TRUE(dialer.session.pending_output().empty());
  dialer.session.tick(t0 + 1000ms);
  const bytes ping = dialer.drain();
  const auto frames = spdy_test::read_all(ping);
  ASSERT_EQ(frames.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<spdy::ping_frame>(frames[0].value));
  EXPECT_EQ(std::get<spdy::ping_frame>(frames[0].value).id, 3u)
      << "the dialer's pings are odd; 1 went out behind its SETTINGS";
  EXPECT_EQ(dialer.session.next_deadline(), t0 + 3000ms);
  dialer.session.tick(t0 + 2999ms);
  EXPECT_TRUE(dialer.events.session_end.empty());
  dialer.session.tick(t0 + 3000ms);
  ASSERT_EQ(dialer.events.session_end.size(), 1u);
  EXPECT_EQ(dialer.events.session_end[0].first, errc::disconnected);
  EXPECT_EQ(dialer.events.session_end[0].second, "peer did not answer PING within 2000 ms");
  EXPECT_FALSE(dialer.session.want_read());
  EXPECT_TRUE(dialer.session.want_write()) << "the GOAWAY is still to be written";
  const auto last = spdy_test::read_all(dialer.drain());
  ASSERT_EQ(last.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<spdy::goaway_frame>(last[0].value));
  EXPECT_FALSE(dialer.session.want_write());
  EXPECT_EQ(dialer.session.next_deadline(), std::nullopt);
}

TEST(EngineFlow, KeepaliveAnsweredAndActivityCounts) {
  auto dialer_opts = make_options(role::dialer);
  dialer_opts.keepalive_interval = 1000ms;
  dialer_opts.keepalive_timeout = 500ms;
  pair_fixture p(dialer_opts);
  pump(p.dialer, p.acceptor);
  const engine::steady_time t0{std::chrono::hours(1)};
  // A driver ticking every 100 ms; the peer answers every PING at once.
  for (int ms = 0; ms <= 10000; ms += 100) {
    p.dialer.session.tick(t0 + std::chrono::milliseconds(ms));
    pump(p.dialer, p.acceptor);
  }
  EXPECT_TRUE(p.dialer.events.session_end.empty());
  auto pongs = frames_of<spdy::ping_frame>(p.acceptor.frames());
  // The acceptor's own start-up PING has an even id; the rest are answers.
  std::erase_if(pongs, [](const spdy::ping_frame& f) { return f.id % 2 == 0; });
  ASSERT_GE(pongs.size(), 4u);
  for (std::size_t i = 0; i < pongs.size(); ++i) {
    EXPECT_EQ(pongs[i].id, 2 * i + 1) << "our ids, answered as they were";
  }
  // Input between ticks postpones the next PING: the acceptor pings us.
  const auto t1 = t0 + 20000ms;
  p.dialer.session.tick(t1);
  p.dialer.drain();  // whatever that tick sent
  p.dialer.feed(peer_writer{}.ping(2).take());
  p.dialer.session.tick(t1 + 400ms);
  EXPECT_EQ(p.dialer.session.next_deadline(), t1 + 1400ms);
  EXPECT_TRUE(p.dialer.events.session_end.empty());
  const auto echo = spdy_test::read_all(p.dialer.drain());
  ASSERT_EQ(echo.size(), 1u);
  EXPECT_EQ(std::get<spdy::ping_frame>(echo[0].value).id, 2u) << "the peer's PING, echoed";
}

}  // namespace
