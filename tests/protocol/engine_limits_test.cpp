// Limits a peer can run into (frame and header block sizes, streams,
// windows, unanswered replies), and the libchan header parsing.
#include <gtest/gtest.h>

#include "engine/stream_headers.hpp"
#include "engine_test_support.hpp"

namespace {

using namespace engine_test;
using engine::dialect;
using engine::role;
using libchan::errc;

TEST(EngineLimits, OversizedDataFrameResetsItsStreamOnly) {
  auto opts = make_options(role::acceptor, dialect::detect);
  opts.limits.max_frame_size = 1000;
  acceptor_fixture f(opts);
  f.peer.channel(1, 2).channel(3, 3).data(1, std::string(1001, 'x')).data(3, "fine");
  // In pieces: the oversized payload is skipped as it arrives, not buffered.
  const bytes wire = f.peer.take();
  for (std::size_t at = 0; at < wire.size(); at += 100) {
    f.e.feed(spdy::bytes_view(wire).subspan(at, std::min<std::size_t>(100, wire.size() - at)));
    EXPECT_LT(f.e.input.size(), 100u);
  }
  const auto* c = f.e.events.closed_of(1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->ec, errc::limit_exceeded);
  EXPECT_NE(c->reason.find("max_frame_size (1000 bytes)"), std::string::npos) << c->reason;
  EXPECT_EQ(f.e.events.data[3], "fine");
  const auto frames = f.answers();
  ASSERT_EQ(frames.size(), 3u);  // two SYN_REPLYs and the reset
  const auto& r = std::get<spdy::rst_stream_frame>(frames[2].value);
  EXPECT_EQ(r.stream, 1u);
  EXPECT_EQ(r.status, spdy::rst_status::frame_too_large);
  f.expect_alive();
}

TEST(EngineLimits, OversizedControlFrameIsFatal) {
  auto opts = make_options(role::acceptor, dialect::detect);
  opts.limits.max_frame_size = 1000;
  acceptor_fixture f(opts);
  spdy::header_list big = {{"libchan-ref", "2"}, {"x-pad", std::string(3000, 'p')}};
  // Incompressible padding so that the block itself is large.
  std::uint32_t x = 12345;
  for (char& c : big[1].value) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>('a' + (x >> 16) % 26);
  }
  f.peer.syn_stream(1, big);
  f.send();
  f.expect_fatal(errc::limit_exceeded, "max_frame_size");
}

TEST(EngineLimits, HeaderBlockBombIsFatal) {
  acceptor_fixture f;
  // 1 MiB of one letter deflates to about a kilobyte.
  f.peer.syn_stream(1, {{"libchan-ref", "2"}, {"x-bomb", std::string(1 << 20, 'a')}});
  f.send();
  f.expect_fatal(errc::limit_exceeded, "max_header_block_decompressed");
  EXPECT_TRUE(f.e.events.opened.empty());
}

TEST(EngineLimits, TooManyStreams) {
  auto opts = make_options(role::acceptor, dialect::detect);
  opts.limits.max_concurrent_streams = 2;
  acceptor_fixture f(opts);
  f.peer.channel(1, 2).channel(3, 3);
  f.send();
  f.answers();
  f.peer.channel(5, 4);
  f.send();
  f.expect_rst(5, spdy::rst_status::refused_stream);
  ASSERT_EQ(f.e.events.peer_errors.size(), 1u);
  EXPECT_EQ(f.e.events.peer_errors[0].ec, errc::limit_exceeded);
  EXPECT_NE(f.e.events.peer_errors[0].reason.find("max_concurrent_streams (2)"), std::string::npos);
  std::error_code ec;
  EXPECT_EQ(f.e.session.open_stream(9, std::nullopt, 0, ec), 0u);
  EXPECT_EQ(ec, errc::limit_exceeded);
  EXPECT_EQ(f.e.session.last_error(), "too many open streams (max_concurrent_streams = 2)");
  // A slot frees when a stream closes: the next stream is taken.
  f.peer.rst(1, spdy::rst_status::cancel).channel(7, 5);
  f.send();
  EXPECT_EQ(f.e.events.opened.back().id, 7u);
  f.expect_alive();
}

TEST(EngineLimits, FlowControlOverrun) {
  auto opts = make_options(role::acceptor, dialect::detect);
  opts.limits.initial_window = 100;
  acceptor_fixture f(opts);
  f.e.events.auto_consume = false;
  f.peer.settings_window(1 << 20)
      .ping(2)  // the answer to our start-up PING: the peer knows our window
      .channel(1, 2)
      .data(1, std::string(60, 'a'))
      .data(1, std::string(41, 'b'));
  f.send();
  EXPECT_TRUE(f.e.session.peer_does_flow_control());
  const auto frames = f.answers();
  ASSERT_EQ(frames.size(), 3u);  // our session window, the SYN_REPLY, the reset
  const auto& w = std::get<spdy::window_update_frame>(frames[0].value);
  EXPECT_EQ(w.stream, 0u);
  EXPECT_EQ(w.delta, (8u << 20) - (64u << 10));
  const auto& r = std::get<spdy::rst_stream_frame>(frames[2].value);
  EXPECT_EQ(r.status, spdy::rst_status::flow_control_error);
  EXPECT_EQ(f.e.events.data[1].size(), 60u);
  f.expect_alive();
}

TEST(EngineLimits, GoLikePeerIgnoresWindowsAndGetsNoUpdates) {
  auto opts = make_options(role::acceptor, dialect::detect);
  opts.limits.initial_window = 100;
  acceptor_fixture f(opts);
  f.peer.channel(1, 2);
  for (int i = 0; i < 20; ++i) f.peer.data(1, std::string(50, 'a'));
  f.send();
  EXPECT_FALSE(f.e.session.peer_does_flow_control());
  EXPECT_EQ(f.e.events.data[1].size(), 1000u);
  const auto frames = f.answers();
  ASSERT_EQ(frames.size(), 1u) << "only the SYN_REPLY: no WINDOW_UPDATE, no reset";
  // Once the peer shows flow control, everything it sent and we consumed
  // goes back to it at once (its window, counted exactly, is 100 - 1000),
  // and from then on as consumed.
  f.peer.window_update(0, 1000);
  f.send();
  EXPECT_TRUE(f.e.session.peer_does_flow_control());
  auto updates = f.answers();
  ASSERT_EQ(updates.size(), 2u) << "our session window, then the stream's";
  EXPECT_EQ(std::get<spdy::window_update_frame>(updates[0].value).stream, 0u);
  EXPECT_EQ(std::get<spdy::window_update_frame>(updates[1].value).delta, 1000u);
  f.e.events.auto_consume = false;
  f.peer.data(1, std::string(100, 'c'));
  f.send();
  EXPECT_TRUE(f.answers().empty()) << "within the reopened window";
  f.e.session.consume(1, 100);
  updates = f.answers();
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(std::get<spdy::window_update_frame>(updates[0].value).delta, 100u);
}

TEST(EngineLimits, WindowUpdateOverflowResetsTheStream) {
  endpoint d(make_options(role::dialer));
  std::error_code ec;
  const stream_id id = d.session.open_stream(2, std::nullopt, 0, ec);
  d.drain();
  d.feed(peer_writer{}.window_update(id, 0x7FFFFFFF).take());
  const auto* c = d.events.closed_of(id);
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->reason.find("2^31-1"), std::string::npos);
  d.drain();
  const auto rst = frames_of<spdy::rst_stream_frame>(d.frames());
  ASSERT_EQ(rst.size(), 1u);
  EXPECT_EQ(rst[0].status, spdy::rst_status::flow_control_error);
}

TEST(EngineLimits, PeerThatNeverReadsIsCutOff) {
  auto opts = make_options(role::acceptor, dialect::detect);
  opts.limits.max_output_queue = 1000;
  endpoint e(opts);
  peer_writer peer;
  for (int i = 0; i < 200; ++i) peer.ping(2 * i + 1);
  e.feed(peer.take());
  ASSERT_EQ(e.events.session_end.size(), 1u);
  EXPECT_EQ(e.events.session_end[0].first, errc::limit_exceeded);
  EXPECT_NE(e.events.session_end[0].second.find("max_output_queue (1000 bytes)"),
            std::string::npos);
}

TEST(EngineHeaders, DecimalRefs) {
  EXPECT_EQ(engine::parse_decimal("0"), 0u);
  EXPECT_EQ(engine::parse_decimal("18446744073709551615"), 18446744073709551615u);
  EXPECT_EQ(engine::parse_decimal("18446744073709551616"), std::nullopt);
  EXPECT_EQ(engine::parse_decimal(""), std::nullopt);
  EXPECT_EQ(engine::parse_decimal("+1"), std::nullopt);
  EXPECT_EQ(engine::parse_decimal(" 1"), std::nullopt);
  std::string why;
  auto refs = engine::read_stream_refs({{"libchan-ref", "5"}, {"libchan-parent-ref", ""}}, why);
  ASSERT_TRUE(refs);
  EXPECT_EQ(refs->parent_ref, std::nullopt) << "jschan's empty parent means none";
  EXPECT_EQ(engine::detect_dialect({{"libchan-ref", "1"}, {"libchan-parent-ref", "0"}}),
            dialect::v0_1);
  EXPECT_EQ(engine::detect_dialect({{"libchan-ref", "2"}}), dialect::v0_2);
  EXPECT_EQ(engine::detect_dialect({{"libchan-ref", "3"}, {"libchan-parent-ref", "2"}}),
            dialect::v0_2);
}

}  // namespace
