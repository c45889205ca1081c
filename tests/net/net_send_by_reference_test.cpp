// Sending a struct by reference over a real session: it is encoded from the
// caller's struct while the message can go at once, and copied only when
// the send must wait (here, for a receiver that stopped taking messages).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "net/net_support.hpp"

namespace {

using namespace std::chrono_literals;

struct Counted {
  std::int64_t Seq = 0;
  std::string Text;
  static inline std::atomic<int> copies{0};

  Counted() = default;
  Counted(std::int64_t seq, std::string text) : Seq(seq), Text(std::move(text)) {}
  Counted(const Counted& other) : Seq(other.Seq), Text(other.Text) { ++copies; }
  Counted(Counted&&) noexcept = default;
  Counted& operator=(const Counted&) = default;
  Counted& operator=(Counted&&) noexcept = default;
  LIBCHAN_FIELDS(Seq, Text)
};

TEST(NetSendByReference, ASenderBlockedByAStalledReceiverCopiesOnlyWhatWaits) {
  // The receiver's window is small, so that the sender soon has to wait.
  libchan::SessionOptions server_opts;
  server_opts.limits.initial_window = 64u << 10;
  net_test::session_pair p("tcp://127.0.0.1:0", {}, server_opts);
  auto tx = p.client.open_sender<Counted>();
  std::error_code ec;
  auto rx = p.server.accept_receiver_for<Counted>(10s, ec);
  ASSERT_TRUE(rx) << ec.message();

  // 2,000 messages of 300 bytes are more than the peer's window and what
  // the sender may queue for the stream (max_output_queue / 16, 256 KiB):
  // with nobody receiving, the sender must block.
  constexpr std::int64_t count = 2000;
  Counted::copies = 0;
  std::atomic<std::int64_t> sent{0};
  std::thread sender([&] {
    Counted m{0, std::string(300, 's')};
    for (std::int64_t i = 0; i < count; ++i) {
      m.Seq = i;
      std::error_code e;
      tx.send(m, e);
      if (e) return;
      ++sent;
    }
    tx.close();
  });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (Counted::copies == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  EXPECT_GT(Counted::copies, 0) << "a send that waits takes a copy";
  EXPECT_LT(sent.load(), count) << "the receiver took nothing yet";

  for (std::int64_t i = 0; i < count; ++i) {
    auto m = rx.receive_for(10s, ec);
    ASSERT_TRUE(m) << i << ": " << ec.message();
    ASSERT_EQ(m->Seq, i) << "in order, each once";
    ASSERT_EQ(m->Text, std::string(300, 's'));
  }
  EXPECT_FALSE(rx.receive_for(10s, ec)) << "then the end: " << ec.message();
  sender.join();
  EXPECT_EQ(sent.load(), count);
  EXPECT_LT(Counted::copies, count) << "sends with room encode the caller's struct";
}

}  // namespace
