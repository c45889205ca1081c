// Every way a peer can get things wrong, fed to one engine as scripted
// bytes: what the engine answers on the wire, what it reports, and that the
// session goes on when only a stream was at fault.
#include <gtest/gtest.h>

#include "engine_test_support.hpp"

namespace {

using namespace engine_test;
using engine::dialect;
using engine::role;
using libchan::errc;

TEST(EngineErrors, WrongParityIsAStreamError) {
  acceptor_fixture f;
  f.peer.channel(2, 7);
  f.send();
  f.expect_rst(2, spdy::rst_status::protocol_error);
  EXPECT_TRUE(f.e.events.opened.empty());
  ASSERT_EQ(f.e.events.peer_errors.size(), 1u);
  EXPECT_NE(f.e.events.peer_errors[0].reason.find("wrong parity"), std::string::npos);
  f.expect_alive();
  // The rejected block was inflated all the same: the next one decodes.
  f.peer.syn_stream(1, {{"libchan-ref", "9"}, {"libchan-parent-ref", "4"}});
  f.send();
  ASSERT_EQ(f.e.events.opened.size(), 1u);
  EXPECT_EQ(f.e.events.opened[0].ref, 9u);
  EXPECT_EQ(f.e.events.opened[0].parent_ref, 4u);
}

TEST(EngineErrors, StreamIdsMustIncrease) {
  acceptor_fixture f;
  f.peer.channel(5, 2);
  f.send();
  f.answers();
  f.peer.channel(3, 3);
  f.send();
  f.expect_rst(3, spdy::rst_status::protocol_error);
  f.peer.channel(5, 4);  // the same id again: resets the open stream too
  f.send();
  f.expect_rst(5, spdy::rst_status::protocol_error);
  const auto* c = f.e.events.closed_of(5);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->ec, errc::protocol_error);
  f.peer.channel(7, 5);
  f.send();
  EXPECT_EQ(f.e.events.opened.size(), 2u);
  EXPECT_EQ(f.e.events.opened.back().id, 7u);
  f.expect_alive();
}

TEST(EngineErrors, StreamZeroIsFatal) {
  acceptor_fixture f;
  f.peer.channel(1, 2);
  f.send();
  f.answers();
  f.e.feed(spdy_test::from_hex("80030001 0000000a 00000000 00000000 0000"));
  ASSERT_NO_FATAL_FAILURE(f.expect_fatal(errc::protocol_error, "stream 0"));
  const auto* c = f.e.events.closed_of(1);
  ASSERT_NE(c, nullptr) << "open streams fail with the session";
  EXPECT_EQ(c->ec, errc::protocol_error);
}

TEST(EngineErrors, DataOnUnknownStream) {
  acceptor_fixture f;
  f.peer.data(9, "stray");
  f.send();
  f.expect_rst(9, spdy::rst_status::invalid_stream);
  ASSERT_EQ(f.e.events.peer_errors.size(), 1u);
  EXPECT_EQ(f.e.events.peer_errors[0].id, 9u);
  f.expect_alive();
}

TEST(EngineErrors, DataAfterFin) {
  acceptor_fixture f;
  f.peer.channel(1, 2).data(1, "last", spdy::flags::fin);
  f.send();
  f.answers();
  EXPECT_EQ(f.e.events.remote_closed, std::vector<stream_id>{1});
  f.peer.data(1, "too late");
  f.send();
  f.expect_rst(1, spdy::rst_status::stream_already_closed);
  const auto* c = f.e.events.closed_of(1);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->ec, errc::protocol_error);
  EXPECT_EQ(f.e.events.data[1], "last");
  f.expect_alive();
}

TEST(EngineErrors, MissingOrBadRefV02) {
  acceptor_fixture f;
  f.peer.syn_stream(1, {{"x-other", "1"}});
  f.send();
  f.expect_rst(1, spdy::rst_status::protocol_error);
  f.peer.syn_stream(3, {{"libchan-ref", "12a"}});
  f.send();
  f.expect_rst(3, spdy::rst_status::protocol_error);
  f.peer.syn_stream(5, {{"libchan-ref", "4"}, {"libchan-parent-ref", "-1"}});
  f.send();
  f.expect_rst(5, spdy::rst_status::protocol_error);
  EXPECT_TRUE(f.e.events.opened.empty());
  ASSERT_EQ(f.e.events.peer_errors.size(), 3u);
  EXPECT_NE(f.e.events.peer_errors[0].reason.find("no libchan-ref"), std::string::npos);
  EXPECT_EQ(f.e.session.wire_dialect(), dialect::v0_2);
  f.peer.channel(7, 2);
  f.send();
  EXPECT_EQ(f.e.events.opened.size(), 1u) << "still in step with the peer's compressor";
  f.expect_alive();
}

TEST(EngineErrors, MissingRefV01AnswersStatus400) {
  acceptor_fixture f;
  f.peer.syn_stream(1, {{"libchan-ref", "1"}, {"libchan-parent-ref", "0"}});
  f.peer.syn_stream(3, {{"libchan-parent-ref", "1"}});
  f.send();
  EXPECT_EQ(f.e.session.wire_dialect(), dialect::v0_1);
  const auto frames = f.answers();
  ASSERT_EQ(frames.size(), 2u);
  const auto& ok = std::get<spdy::syn_reply_frame>(frames[0].value);
  EXPECT_EQ(ok.stream, 1u);
  EXPECT_EQ(frames[0].headers, (spdy::header_list{{"status", "200"}}));
  const auto& bad = std::get<spdy::syn_reply_frame>(frames[1].value);
  EXPECT_EQ(bad.stream, 3u);
  EXPECT_EQ(bad.flags, spdy::flags::fin);
  EXPECT_EQ(frames[1].headers, (spdy::header_list{{"status", "400"}}));
  EXPECT_EQ(f.e.events.opened.size(), 1u);
  f.expect_alive();
}

TEST(EngineErrors, SynReplyRules) {
  endpoint d(make_options(role::dialer));
  std::error_code ec;
  const stream_id ours = d.session.open_stream(2, std::nullopt, 0, ec);
  d.drain();
  peer_writer peer;
  peer.channel(2, 5);    // the peer's stream 2
  peer.syn_reply(2);     // a reply for the peer's own stream
  peer.syn_reply(7);     // for a stream we never opened
  peer.syn_reply(ours);  // fine
  peer.syn_reply(ours);  // twice
  d.feed(peer.take());
  d.drain();
  const auto all = frames_of<spdy::rst_stream_frame>(d.frames());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].stream, 2u);
  EXPECT_EQ(all[0].status, spdy::rst_status::protocol_error);
  EXPECT_EQ(all[1].stream, 7u);
  EXPECT_EQ(all[1].status, spdy::rst_status::protocol_error);
  EXPECT_EQ(all[2].stream, ours);
  EXPECT_EQ(all[2].status, spdy::rst_status::stream_in_use);
  EXPECT_NE(d.events.closed_of(2), nullptr) << "the peer's stream 2 is reset with it";
  EXPECT_NE(d.events.closed_of(ours), nullptr);
  EXPECT_TRUE(d.events.session_end.empty());
}

TEST(EngineErrors, RepliesAreNotNeededBeforeData) {
  // Unlike Go, data on our stream before its SYN_REPLY is delivered.
  endpoint d(make_options(role::dialer));
  std::error_code ec;
  const stream_id id = d.session.open_stream(2, std::nullopt, 0, ec);
  d.feed(peer_writer{}.data(id, "early").take());
  EXPECT_EQ(d.events.data[id], "early");
}

TEST(EngineErrors, PeerRefusedStreamWithStatus400) {
  endpoint d(make_options(role::dialer, dialect::v0_1));
  std::error_code ec;
  const stream_id id = d.session.open_stream(1, 0, 0, ec);
  d.feed(peer_writer{}.syn_reply(id, {{"status", "400"}}, spdy::flags::fin).take());
  const auto* c = d.events.closed_of(id);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->ec, errc::protocol_error);
  EXPECT_NE(c->reason.find("status 400"), std::string::npos);
}

TEST(EngineErrors, IgnoredFramesKeepTheSessionInStep) {
  acceptor_fixture f;
  bytes wire;
  spdy::pack(wire, spdy::unknown_control_frame{0x55, 0, 0, bytes_of("whatever")});
  const bytes proof = bytes_of("proof");
  spdy::pack(wire, spdy::credential_frame{1, proof, {}});
  f.peer.channel(1, 2).headers(1, {{"x-note", "ignored"}}).headers(99, {{"x", "unknown stream"}});
  f.peer.channel(3, 3, spdy::flags::fin);
  const bytes rest = f.peer.take();
  wire.insert(wire.end(), rest.begin(), rest.end());
  f.e.feed(wire);
  ASSERT_EQ(f.e.events.opened.size(), 2u);
  EXPECT_EQ(f.e.events.opened[1].ref, 3u) << "HEADERS blocks were inflated in turn";
  EXPECT_EQ(f.e.events.log, (std::vector<std::string>{"open 1", "open 3", "fin 3"}));
  EXPECT_EQ(frames_of<spdy::syn_reply_frame>(f.answers()).size(), 2u);
  f.expect_alive();
}

TEST(EngineErrors, UnidirectionalStreamGetsNoReplyAndTakesNoData) {
  endpoint d(make_options(role::dialer, dialect::v0_1));
  d.drain();
  d.feed(peer_writer{}
             .syn_stream(2, {{"libchan-ref", "4"}, {"libchan-parent-ref", "3"}},
                         spdy::flags::unidirectional, 3)
             .take());
  ASSERT_EQ(d.events.opened.size(), 1u);
  EXPECT_TRUE(d.events.opened[0].unidirectional);
  std::error_code ec;
  d.session.submit_data(2, bytes_of("no"), false, ec);
  EXPECT_EQ(ec, errc::closed);
  EXPECT_TRUE(d.session.pending_output().empty()) << "no SYN_REPLY to a push";
  d.feed(peer_writer{}.data(2, "pushed", spdy::flags::fin).take());
  EXPECT_EQ(d.events.data[2], "pushed");
  const auto* c = d.events.closed_of(2);
  ASSERT_NE(c, nullptr) << "one-way stream finished by the peer's FIN";
  EXPECT_FALSE(c->ec);
}

TEST(EngineErrors, PingsAnsweredOnlyForThePeersIds) {
  acceptor_fixture f;
  f.peer.ping(7).ping(8);
  f.send();
  const auto frames = f.answers();
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(std::get<spdy::ping_frame>(frames[0].value).id, 7u);
}

TEST(EngineErrors, SubmitRules) {
  endpoint d(make_options(role::dialer));
  std::error_code ec;
  d.session.submit_data(1, bytes_of("x"), false, ec);
  EXPECT_EQ(ec, errc::closed) << "no such stream";
  const stream_id id = d.session.open_stream(2, std::nullopt, 0, ec);
  d.session.submit_data(id, bytes_of("bye"), true, ec);
  EXPECT_FALSE(ec);
  d.session.submit_data(id, bytes_of("more"), false, ec);
  EXPECT_EQ(ec, errc::closed) << "we half-closed it";
  const stream_id big = d.session.open_stream(3, std::nullopt, 0, ec);
  d.session.submit_frame(big, bytes(0x1000000, 'x'), false, ec);
  EXPECT_EQ(ec, errc::limit_exceeded);
  EXPECT_NE(d.session.last_error().find("16777215"), std::string::npos);

  // submit_data splits at max_send_frame, submit_frame never splits.
  d.drain();
  const std::size_t before = frames_of<spdy::data_frame>(d.frames()).size();
  d.session.submit_data(big, bytes((64u << 10) * 2 + 5, 'y'), false, ec);
  d.session.submit_frame(big, bytes(100000, 'z'), false, ec);
  d.drain();
  const auto data = frames_of<spdy::data_frame>(d.frames());
  ASSERT_EQ(data.size() - before, 4u);
  EXPECT_EQ(data[before].payload.size(), 64u << 10);
  EXPECT_EQ(data[before + 2].payload.size(), 5u);
  EXPECT_EQ(data[before + 3].payload.size(), 100000u);
}

TEST(EngineErrors, DialerCannotDetect) {
  recorder r;
  EXPECT_THROW(engine::spdy_session(make_options(role::dialer, dialect::detect), r),
               libchan::Error);
}

}  // namespace
