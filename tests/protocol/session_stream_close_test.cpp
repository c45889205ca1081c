// An application that closes its end of a byte stream it sent must not leave
// the peer's bytes for that stream held in the session: held bytes count
// against max_unconsumed, and past it the whole session stops reading.
#include <gtest/gtest.h>

#include <thread>

#include "libchan/libchan.hpp"
#include "support/session_pair.hpp"

namespace {

using libchan::Value;

TEST(SessionStreamClose, BytesForAClosedEndDoNotStallTheSession) {
  libchan::detail::session::options opts;
  opts.engine.limits.max_unconsumed = 256u << 10;  // below one stream window (1 MiB)
  test_support::session_pair pair(libchan::detail::engine::dialect::v0_2, opts);
  auto [tx, rx] = pair.channel();

  auto [mine, theirs] = libchan::stream_pair();
  tx.send(libchan::make_map("stream", std::move(theirs)));
  auto message = rx.receive_for(std::chrono::seconds(10));
  ASSERT_TRUE(message);
  auto remote = message->find("stream")->take_stream();
  mine.close();  // the client will read no more of what the server writes

  // The server writes a window's worth back (1 MiB: its writes do not wait
  // for the client), which nobody reads on the client.
  const std::string chunk(64u << 10, 'x');
  std::error_code write_ec;
  for (int i = 0; i < 16 && !write_ec; ++i)
    remote.write(std::as_bytes(std::span(chunk.data(), chunk.size())), write_ec);
  // Until it has left the server: then the client took it, or refused it.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pair.server->diagnose().pending_output > 0 && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(pair.server->diagnose().pending_output, 0u) << "the server's bytes did not leave";

  // The session still carries other channels, also towards the client.
  auto [back_rx, back_tx] = libchan::pipe<Value>();
  auto [tx2, rx2] = pair.channel();
  tx2.send(libchan::make_map("reply_to", std::move(back_tx)));
  auto request = rx2.receive_for(std::chrono::seconds(5));
  ASSERT_TRUE(request);
  auto reply_to = request->find("reply_to")->take_sender();
  std::thread replier([&reply_to] {
    std::error_code ignored;
    reply_to.send(libchan::make_map("n", 1), ignored);
  });
  std::error_code ec;
  auto reply = back_rx.receive_for(std::chrono::seconds(5), ec);
  EXPECT_TRUE(reply) << "the client's session stopped reading: " << ec.message();
  if (!reply) pair.client->close();  // releases the replier
  replier.join();
  auto d = pair.client->diagnose();
  EXPECT_LE(d.unconsumed, opts.engine.limits.max_unconsumed);
  remote.close();
}

}  // namespace
