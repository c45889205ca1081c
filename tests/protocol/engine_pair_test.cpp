// Two engines back to back in memory: a dialer and an acceptor exchanging
// streams, data, closes, resets, flow control, backpressure, keepalive and
// GOAWAY, with no socket.
#include <gtest/gtest.h>

#include "engine_test_support.hpp"

namespace {

using namespace engine_test;
using engine::dialect;
using engine::role;
using libchan::errc;

TEST(EnginePair, StreamDataBothWaysHalfCloseAndClose) {
  pair_fixture p;
  std::error_code ec;
  const stream_id id = p.dialer.session.open_stream(2, std::nullopt, 0, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(id, 1u);
  p.submit(p.dialer, id, "hello", false);
  pump(p.dialer, p.acceptor);

  ASSERT_EQ(p.acceptor.events.opened.size(), 1u);
  const auto& info = p.acceptor.events.opened[0];
  EXPECT_EQ(info.id, 1u);
  EXPECT_EQ(info.ref, 2u);
  EXPECT_EQ(info.parent_ref, std::nullopt);
  EXPECT_TRUE(info.remote);
  EXPECT_EQ(p.acceptor.session.wire_dialect(), dialect::v0_2);
  EXPECT_EQ(p.acceptor.events.data[1], "hello");
  // Both announced SETTINGS, so both now do flow control.
  EXPECT_TRUE(p.acceptor.session.peer_does_flow_control());
  EXPECT_TRUE(p.dialer.session.peer_does_flow_control());

  p.submit(p.acceptor, 1, "world", true);
  pump(p.dialer, p.acceptor);
  EXPECT_EQ(p.dialer.events.data[1], "world");
  EXPECT_EQ(p.dialer.events.remote_closed, std::vector<stream_id>{1});
  EXPECT_TRUE(p.dialer.events.closed.empty()) << "our side is still open";
  std::error_code closed_ec;
  p.acceptor.session.submit_data(1, bytes_of("more"), false, closed_ec);
  EXPECT_EQ(closed_ec, errc::closed) << "the acceptor half-closed its side";

  p.submit(p.dialer, 1, "", true);
  pump(p.dialer, p.acceptor);
  for (endpoint* e : {&p.dialer, &p.acceptor}) {
    ASSERT_EQ(e->events.closed.size(), 1u);
    EXPECT_EQ(e->events.closed[0].id, 1u);
    EXPECT_FALSE(e->events.closed[0].ec) << e->events.closed[0].reason;
  }
  p.dialer.session.submit_data(1, bytes_of("x"), false, closed_ec);
  EXPECT_EQ(closed_ec, errc::closed) << "a closed stream is forgotten";
  EXPECT_EQ(p.acceptor.events.log,
            (std::vector<std::string>{"open 1", "data 1 5", "fin 1", "closed 1"}));
}

TEST(EnginePair, ParentRefsAndAcceptorStreams) {
  pair_fixture p(make_options(role::dialer, dialect::v0_1),
                 make_options(role::acceptor, dialect::detect));
  std::error_code ec;
  const stream_id top = p.dialer.session.open_stream(1, 0, 0, ec);
  const stream_id nested = p.dialer.session.open_stream(3, 1, top, ec);
  pump(p.dialer, p.acceptor);
  EXPECT_EQ(p.acceptor.session.wire_dialect(), dialect::v0_1);
  ASSERT_EQ(p.acceptor.events.opened.size(), 2u);
  EXPECT_EQ(p.acceptor.events.opened[0].parent_ref, 0u);
  EXPECT_EQ(p.acceptor.events.opened[1].parent_ref, 1u);
  EXPECT_EQ(p.acceptor.events.opened[1].associated, top);
  EXPECT_EQ(nested, 3u);

  const stream_id back = p.acceptor.session.open_stream(2, 3, nested, ec);
  EXPECT_EQ(back, 2u);
  pump(p.dialer, p.acceptor);
  ASSERT_EQ(p.dialer.events.opened.size(), 1u);
  EXPECT_EQ(p.dialer.events.opened[0].id, 2u);
  EXPECT_EQ(p.dialer.events.opened[0].ref, 2u);

  // v0.1 replies are "status: 200" both ways.
  for (endpoint* e : {&p.dialer, &p.acceptor}) {
    for (const auto& f : e->frames()) {
      if (std::holds_alternative<spdy::syn_reply_frame>(f.value)) {
        EXPECT_EQ(f.headers, (spdy::header_list{{"status", "200"}}));
      }
    }
  }
}

TEST(EnginePair, ResetReportsBothSides) {
  pair_fixture p;
  std::error_code ec;
  const stream_id id = p.dialer.session.open_stream(2, std::nullopt, 0, ec);
  pump(p.dialer, p.acceptor);
  p.dialer.session.reset_stream(id, spdy::rst_status::cancel);
  ASSERT_EQ(p.dialer.events.closed.size(), 1u);
  EXPECT_EQ(p.dialer.events.closed[0].ec, errc::closed);
  EXPECT_EQ(p.dialer.events.closed[0].reason, "reset locally: CANCEL");
  pump(p.dialer, p.acceptor);
  ASSERT_EQ(p.acceptor.events.closed.size(), 1u);
  EXPECT_EQ(p.acceptor.events.closed[0].reason, "reset by peer: CANCEL");
  // Resetting again, or an unknown stream, does nothing.
  p.dialer.session.reset_stream(id, spdy::rst_status::cancel);
  EXPECT_EQ(p.dialer.events.closed.size(), 1u);
  EXPECT_TRUE(p.dialer.session.pending_output().empty());
}

TEST(EnginePair, ShutdownSendsGoawayAndFailsUnprocessedStreams) {
  pair_fixture p;
  std::error_code ec;
  const stream_id a = p.dialer.session.open_stream(2, std::nullopt, 0, ec);
  const stream_id seen = p.acceptor.session.open_stream(5, std::nullopt, 0, ec);
  pump(p.dialer, p.acceptor);
  const stream_id unseen = p.acceptor.session.open_stream(6, std::nullopt, 0, ec);
  ASSERT_EQ(unseen, 4u);

  p.dialer.session.shutdown();
  EXPECT_FALSE(p.dialer.session.want_read());
  EXPECT_TRUE(p.dialer.session.want_write());
  p.dialer.session.open_stream(3, std::nullopt, 0, ec);
  EXPECT_EQ(ec, errc::closed);
  const bytes tail = p.dialer.drain();
  const auto goaway = spdy_test::read_all(tail);
  ASSERT_EQ(goaway.size(), 1u);
  const auto& g = std::get<spdy::goaway_frame>(goaway[0].value);
  EXPECT_EQ(g.last_good, seen);
  EXPECT_EQ(g.status, spdy::goaway_status::ok);
  EXPECT_FALSE(p.dialer.session.want_write());

  p.acceptor.feed(tail);
  ASSERT_EQ(p.acceptor.events.session_end.size(), 1u);
  EXPECT_EQ(p.acceptor.events.session_end[0].first, errc::closed);
  EXPECT_EQ(p.acceptor.events.session_end[0].second, "peer sent GOAWAY (status OK)");
  const auto* failed = p.acceptor.events.closed_of(unseen);
  ASSERT_NE(failed, nullptr);
  EXPECT_EQ(failed->ec, errc::closed);
  EXPECT_EQ(p.acceptor.events.closed_of(seen), nullptr) << "processed: may finish";
  EXPECT_EQ(p.acceptor.events.closed_of(a), nullptr);
  p.acceptor.session.open_stream(7, std::nullopt, 0, ec);
  EXPECT_EQ(ec, errc::closed);
  EXPECT_TRUE(p.acceptor.session.want_read()) << "streams left to finish";
}

TEST(EnginePair, EofFailsOpenStreams) {
  pair_fixture p;
  std::error_code ec;
  const stream_id id = p.dialer.session.open_stream(2, std::nullopt, 0, ec);
  pump(p.dialer, p.acceptor);
  p.acceptor.session.receive_eof();
  ASSERT_EQ(p.acceptor.events.session_end.size(), 1u);
  EXPECT_EQ(p.acceptor.events.session_end[0].first, errc::disconnected);
  EXPECT_EQ(p.acceptor.events.session_end[0].second, "connection closed by peer");
  const auto* c = p.acceptor.events.closed_of(id);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->ec, errc::disconnected);
  EXPECT_FALSE(p.acceptor.session.want_read());
  p.acceptor.session.receive_eof();
  EXPECT_EQ(p.acceptor.events.session_end.size(), 1u) << "reported once";
}

TEST(EnginePair, HandlersCallBackIntoTheEngine) {
  pair_fixture p;
  // The acceptor answers each stream from inside on_stream_open, echoes
  // data from inside on_data, closes from inside on_remote_close, and
  // resets stream 3 from inside its first on_data.
  auto& acc = p.acceptor;
  acc.events.on_open_hook = [&](const engine::stream_info& info) {
    std::error_code ec;
    acc.session.submit_data(info.id, bytes_of("welcome"), false, ec);
    EXPECT_FALSE(ec);
  };
  acc.events.on_data_hook = [&](stream_id id, std::span<const std::uint8_t> d) {
    if (id == 3) {
      acc.session.reset_stream(id, spdy::rst_status::cancel);
      return;
    }
    std::error_code ec;
    acc.session.submit_data(id, d, false, ec);
    EXPECT_FALSE(ec);
  };
  acc.events.on_remote_close_hook = [&](stream_id id) {
    std::error_code ec;
    acc.session.submit_data(id, {}, true, ec);
    const stream_id extra = acc.session.open_stream(100 + id, id, 0, ec);
    EXPECT_FALSE(ec);
    acc.session.submit_data(extra, {}, true, ec);
  };
  std::error_code ec;
  const stream_id one = p.dialer.session.open_stream(2, std::nullopt, 0, ec);
  const stream_id three = p.dialer.session.open_stream(3, std::nullopt, 0, ec);
  p.submit(p.dialer, one, "ping", true);
  p.submit(p.dialer, three, "boom", false);
  p.submit(p.dialer, three, "after reset", false);
  pump(p.dialer, p.acceptor);

  EXPECT_EQ(p.dialer.events.data[one], "welcomeping");
  const auto* c1 = p.acceptor.events.closed_of(one);
  ASSERT_NE(c1, nullptr);
  EXPECT_FALSE(c1->ec);
  const auto* c3 = p.dialer.events.closed_of(three);
  ASSERT_NE(c3, nullptr);
  EXPECT_EQ(c3->reason, "reset by peer: CANCEL");
  ASSERT_EQ(p.dialer.events.opened.size(), 1u);
  EXPECT_EQ(p.dialer.events.opened[0].parent_ref, one);
  // Data the dialer sent after the reset crossed it: answered, not fatal.
  EXPECT_TRUE(p.acceptor.events.session_end.empty());
  EXPECT_TRUE(p.dialer.events.session_end.empty());
}

TEST(EnginePair, ManyStreamsOpenAndCloseKeepTheTableSmall) {
  auto acceptor_opts = make_options(role::acceptor, dialect::detect);
  acceptor_opts.limits.max_concurrent_streams = 4;
  pair_fixture p(make_options(role::dialer), acceptor_opts);
  p.acceptor.events.on_remote_close_hook = [&](stream_id id) {
    std::error_code ec;
    p.acceptor.session.submit_data(id, {}, true, ec);
  };
  for (int i = 0; i < 500; ++i) {
    std::error_code ec;
    const stream_id id = p.dialer.session.open_stream(2 + i, std::nullopt, 0, ec);
    ASSERT_FALSE(ec) << p.dialer.session.last_error();
    p.submit(p.dialer, id, "x", true);
    pump(p.dialer, p.acceptor);
  }
  EXPECT_EQ(p.acceptor.events.opened.size(), 500u);
  EXPECT_EQ(p.acceptor.events.closed.size(), 500u);
  EXPECT_EQ(p.dialer.events.closed.size(), 500u);
  EXPECT_TRUE(p.acceptor.events.peer_errors.empty());
}

}  // namespace
