// Session::close() over tcp is graceful: messages that `send` accepted but
// that still wait for the peer's flow-control window go out before the
// GOAWAY, and the peer sees each channel end cleanly. A peer that keeps its
// window shut holds the close up only until the close deadline.
#include <gtest/gtest.h>

#include <cstdint>
#include <future>

#include "net/net_support.hpp"

namespace {

using namespace std::chrono_literals;
using net_test::eventually;

constexpr std::size_t chunk_size = 64u << 10;

struct Chunk {
  std::int64_t seq = 0;
  libchan::Binary data;
  LIBCHAN_FIELDS(seq, data)
};

Chunk make_chunk(std::int64_t seq) {
  Chunk c;
  c.seq = seq;
  c.data.bytes.resize(chunk_size);
  for (std::size_t i = 0; i < chunk_size; ++i)
    c.data.bytes[i] = static_cast<std::uint8_t>(static_cast<std::size_t>(seq) * 13 + i);
  return c;
}

// The client has read the server's SETTINGS (they precede anything the
// server sends): from then on it keeps to the server's windows.
void learn_windows(net_test::session_pair& p) {
  auto tx = p.server.open_sender();
  std::error_code ec;
  auto rx = p.client.accept_receiver_for(10s, ec);
  ASSERT_TRUE(rx) << ec.message();
  tx.send(libchan::Value("hello"));
  auto hello = rx.receive_for(10s, ec);
  ASSERT_TRUE(hello) << ec.message();
}

TEST(NetGracefulClose, DataWaitingForTheWindowGoesOutBeforeTheEnd) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  learn_windows(p);
  auto tx = p.client.open_sender<Chunk>();
  std::error_code ec;
  auto rx = p.server.accept_receiver_for<Chunk>(10s, ec);
  ASSERT_TRUE(rx) << ec.message();
  // 18 chunks: more than the server's 1 MiB window, which it does not
  // reopen while it does not receive; the rest waits, and every send has
  // completed.
  constexpr std::int64_t total = 18;
  for (std::int64_t seq = 0; seq < total; ++seq) {
    tx.send(make_chunk(seq), ec);
    ASSERT_FALSE(ec) << "send " << seq << ": " << ec.message();
  }
  p.client.close();
  std::error_code after;
  tx.send(make_chunk(total), after);
  EXPECT_EQ(after, libchan::errc::disconnected) << "a closing session takes no new sends";

  // Now the server reads: every chunk, in order, then a clean end.
  std::int64_t received = 0;
  while (auto c = rx.receive_for(10s, ec)) {
    ASSERT_EQ(c->seq, received);
    ASSERT_EQ(c->data.bytes, make_chunk(received).data.bytes);
    ++received;
  }
  EXPECT_FALSE(ec) << "the channel ended with " << ec.message() << " after " << received;
  EXPECT_EQ(received, total);
  EXPECT_TRUE(eventually([&] { return p.client.closed() && p.server.closed(); }));
  EXPECT_EQ(p.client.error(), libchan::errc::disconnected);
}

TEST(NetGracefulClose, EndsAtTheDeadlineWhenThePeerNeverReads) {
  libchan::SessionOptions client;
  client.keepalive_timeout = 300ms;  // also the close deadline
  net_test::session_pair p("tcp://127.0.0.1:0", client);
  learn_windows(p);
  auto tx = p.client.open_sender<Chunk>();
  std::error_code ec;
  auto rx = p.server.accept_receiver_for<Chunk>(10s, ec);
  ASSERT_TRUE(rx) << ec.message();
  for (std::int64_t seq = 0; seq < 18; ++seq) {
    tx.send(make_chunk(seq), ec);
    ASSERT_FALSE(ec) << ec.message();
  }
  auto ended = std::make_shared<std::promise<std::error_code>>();
  p.client.on_close([ended](std::error_code e) { ended->set_value(e); });
  p.client.close();
  // The server never receives: the client gives up on what waits.
  auto end = ended->get_future();
  ASSERT_EQ(end.wait_for(20s), std::future_status::ready);
  EXPECT_EQ(end.get(), libchan::errc::disconnected);
  EXPECT_NE(p.client.error_message().find("dropped"), std::string::npos)
      << p.client.error_message();
  // What did arrive is delivered, then the session's end.
  std::int64_t received = 0;
  while (auto c = rx.receive_for(10s, ec)) ASSERT_EQ(c->seq, received++);
  EXPECT_EQ(ec, libchan::errc::disconnected);
  EXPECT_LT(received, 18);
}

TEST(NetGracefulClose, NothingWaitingClosesAtOnce) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  auto [tx, rx] = p.channel();
  tx.send(libchan::Value("last"));
  p.client.close();
  EXPECT_TRUE(p.client.closed()) << "nothing waited for a window";
  std::error_code ec;
  auto v = rx.receive_for(10s, ec);
  ASSERT_TRUE(v) << ec.message();
  EXPECT_EQ(v->as_string(), "last");
  // The channel's FIN went before the GOAWAY: a clean end.
  EXPECT_FALSE(rx.receive_for(10s, ec));
  EXPECT_FALSE(ec) << ec.message();
}

}  // namespace
