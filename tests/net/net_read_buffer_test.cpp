// A session's read buffer grows while a peer streams (fewer system calls
// per byte), keeps its size for as long as the stream lasts, takes a frame
// larger than itself whole, and shrinks back once the traffic calms down,
// so that an idle session holds little memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

#include "io/diagnostics.hpp"
#include "net/net_support.hpp"

namespace {

using namespace std::chrono_literals;
using libchan::detail::io::read_buffer_bytes;

// Small messages back and forth until the read buffers are back to `idle`
// bytes (every short read halves what the next one asks for).
void calm_down(net_test::session_pair& p, std::size_t idle) {
  auto [tx, rx] = p.channel();
  auto back_tx = p.server.open_sender();
  std::error_code ec;
  auto back_rx = p.client.accept_receiver_for(10s, ec);
  ASSERT_TRUE(back_rx) << ec.message();
  for (int i = 0; i < 40 && read_buffer_bytes() > idle; ++i) {
    tx.send(libchan::make_map("n", i));
    ASSERT_TRUE(rx.receive_for(10s));
    back_tx.send(libchan::make_map("n", i));
    ASSERT_TRUE(back_rx.receive_for(10s));
  }
  EXPECT_LE(read_buffer_bytes(), idle) << "the read buffers did not shrink back";
}

TEST(NetReadBuffer, GrowsWhileAPeerStreamsAndShrinksWhenCalm) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  const std::size_t idle = read_buffer_bytes();

  std::atomic<bool> done{false};
  std::atomic<std::size_t> most{0};
  std::thread watch([&] {
    while (!done) {
      most = std::max(most.load(), read_buffer_bytes());
      std::this_thread::sleep_for(1ms);
    }
  });
  // The reader starts late: the session fills up to max_unconsumed and
  // stops reading, the socket fills behind it, and once the reader drains
  // the session, every read finds more than it asked for.
  auto carried = net_test::carry_stream(p);
  auto& mine = carried.mine;
  auto& remote = carried.remote;
  constexpr std::size_t total = 32u << 20;
  auto writer = std::async(std::launch::async, [&mine = mine] {
    std::vector<std::byte> chunk(256u << 10, std::byte{0x5a});
    std::error_code ec;
    for (std::size_t sent = 0; sent < total && !ec; sent += chunk.size()) mine.write(chunk, ec);
    mine.close_write();
    return ec;
  });
  std::this_thread::sleep_for(300ms);
  std::vector<std::byte> buf(64u << 10);
  std::size_t got = 0;
  std::error_code ec;
  while (auto n = remote.read_some(buf, ec)) got += n;
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(got, total);
  EXPECT_FALSE(writer.get());
  done = true;
  watch.join();
  EXPECT_GT(most.load(), idle) << "a streaming peer fills every read: the reads should grow";

  calm_down(p, idle);
}

TEST(NetReadBuffer, AFrameLargerThanTheBufferArrivesWhole) {
  // The client sends a 6 MiB message as one DATA frame, which the server's
  // 8 MiB window lets through whole (twelve times the largest read): the
  // receiving buffer grows to hold all of it, then returns to its idle size.
  libchan::SessionOptions big_frames, big_window;
  big_frames.limits.max_send_frame = 8u << 20;
  big_window.limits.initial_window = 8u << 20;
  net_test::session_pair p("tcp://127.0.0.1:0", big_frames, big_window);
  const std::size_t idle = read_buffer_bytes();

  std::vector<std::uint8_t> bytes(6u << 20);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 7 + 3);
  auto [tx, rx] = p.channel();
  tx.send(libchan::make_map("blob", libchan::Binary{bytes}));
  auto got = rx.receive_for(10s);
  ASSERT_TRUE(got);
  const libchan::Value* blob = got->find("blob");
  ASSERT_TRUE(blob && blob->kind() == libchan::Value::Kind::binary);
  EXPECT_TRUE(blob->as_binary().bytes == bytes) << "the large frame arrived damaged";

  calm_down(p, idle);
}

}  // namespace
