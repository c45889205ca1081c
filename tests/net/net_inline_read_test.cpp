// A thread that waits for a message on a session channel reads the
// connection itself when it can (tcp, unix), rather than sleeping until the
// io thread has read the message and woken it. Shown with an io_context
// that nobody runs while the client waits: only the waiting thread can read.
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <random>
#include <thread>

#include "io/diagnostics.hpp"
#include "net/client_io_stopped.hpp"
#include "net/net_support.hpp"

namespace {

using namespace std::chrono_literals;
using libchan::Value;

// Receives on `rx` in short waits, each of which reads the connection
// itself for a while, until `bound`: the answer may reach the socket at any
// time, even between two waits.
std::optional<Value> receive_patiently(libchan::Receiver<Value>& rx, std::chrono::seconds bound,
                                       std::error_code& ec) {
  const auto give_up = std::chrono::steady_clock::now() + bound;
  while (std::chrono::steady_clock::now() < give_up) {
    auto v = rx.receive_for(100ms, ec);
    if (v || ec != libchan::errc::timed_out) return v;
  }
  return std::nullopt;
}

// With the client's io stopped, the server answers; the answer carries a
// descriptor over unix (the write end of a pipe) and a channel the server
// opened, on which a second answer follows.
void answers_arrive_with_client_io_stopped(const std::string& url, bool with_fd) {
  net_test::client_io_stopped setup(url);
  if (::testing::Test::HasFailure()) return;
  auto& reply_tx = setup.reply_tx;
  auto& reply_rx = setup.reply_rx;

  auto answer = libchan::make_map("n", 1);
  libchan::Fd pipe_read;
  if (with_fd) pipe_read = net_test::attach_pipe(answer);
  auto [more_rx, more_tx] = libchan::buffered_pipe<Value>(1);
  answer["more"] = Value(std::move(more_rx));
  reply_tx.send(std::move(answer));
  more_tx.send(libchan::make_map("n", 2));

  std::error_code ec;
  auto got = receive_patiently(reply_rx, 10s, ec);
  ASSERT_TRUE(got) << "the waiting thread did not read its answer: " << ec.message();
  EXPECT_EQ(got->find("n")->as_int(), 1);
  if (with_fd) net_test::expect_pipe_works(*got, pipe_read);
  // The local receiver the server sent comes as a channel the server's
  // session opened (the client's answer to it goes out from the waiting
  // thread too); what went into it arrives the same way.
  Value* more = got->find("more");
  ASSERT_TRUE(more && more->kind() == Value::Kind::receiver);
  auto nested = more->take_receiver();
  auto second = receive_patiently(nested, 10s, ec);
  ASSERT_TRUE(second) << "nothing came on the nested channel: " << ec.message();
  EXPECT_EQ(second->find("n")->as_int(), 2);
}

// A request carries a return channel, the client's end of a local pipe: the
// thread that waits on that pipe writes the request and reads the reply.
void return_channel_is_read_by_its_waiting_thread(const std::string& url) {
  net_test::client_io_stopped setup(url);
  if (::testing::Test::HasFailure()) return;
  std::thread server([&] {
    std::error_code ec;
    auto request = setup.request_rx.receive_for(10s, ec);
    if (!request) return ADD_FAILURE() << "no request: " << ec.message();
    request->find("ret")->take_sender().send(libchan::make_map("n", 7), ec);
    EXPECT_FALSE(ec) << ec.message();
  });
  auto [ret_rx, ret_tx] = libchan::buffered_pipe<Value>(1);
  setup.request_tx.send(libchan::make_map("ret", Value(std::move(ret_tx))));
  std::error_code ec;
  auto reply = receive_patiently(ret_rx, 10s, ec);
  server.join();
  ASSERT_TRUE(reply) << "the reply did not arrive: " << ec.message();
  EXPECT_EQ(reply->find("n")->as_int(), 7);
}

// A thread reading inline while its session closes, here or at the peer,
// at a random moment of its wait: it comes back at once, with the end of the
// channel or a disconnection, and the socket closes under nobody.
void close_while_a_thread_waits(const std::string& url, bool peer_closes) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20 && !::testing::Test::HasFailure(); ++round) {
    net_test::session_pair p(url);
    auto tx = p.server.open_sender();
    std::error_code ec;
    auto rx = p.client.accept_receiver_for(10s, ec);
    ASSERT_TRUE(rx) << ec.message();
    std::atomic<bool> returned{false};
    std::thread waiter([&] {
      std::error_code wait_ec;
      auto v = rx.receive_for(10s, wait_ec);
      EXPECT_FALSE(v);
      EXPECT_NE(wait_ec, libchan::errc::timed_out);
      returned = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 30));
    if (peer_closes)
      p.server.close();
    else
      p.client.close();
    EXPECT_TRUE(net_test::eventually([&] { return returned.load(); }, 5s))
        << "round " << round << ": the waiting thread did not come back";
    waiter.join();
  }
}

TEST(NetInlineRead, ClosingWhileAThreadWaitsEndsTheWaitTcp) {
  close_while_a_thread_waits("tcp://127.0.0.1:0", false);
}

TEST(NetInlineRead, PeerClosingWhileAThreadWaitsEndsTheWaitUnix) {
  net_test::temp_dir dir;
  close_while_a_thread_waits("unix://" + dir.file("s.sock"), true);
}

TEST(NetInlineRead, AWaitingThreadReadsItsAnswerItselfTcp) {
  answers_arrive_with_client_io_stopped("tcp://127.0.0.1:0", false);
  EXPECT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }, 10s));
}

TEST(NetInlineRead, AReturnChannelIsReadByItsWaitingThreadTcp) {
  return_channel_is_read_by_its_waiting_thread("tcp://127.0.0.1:0");
  EXPECT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }, 10s));
}

TEST(NetInlineRead, AWaitingThreadReadsItsAnswerAndDescriptorItselfUnix) {
  net_test::temp_dir dir;
  answers_arrive_with_client_io_stopped("unix://" + dir.file("s.sock"), true);
  EXPECT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }, 10s));
}

}  // namespace
