// A thread that waits for a message on a session channel reads the
// connection itself when it can (tcp, unix), rather than sleeping until the
// io thread has read the message and woken it. Shown with an io_context
// that nobody runs while the client waits: only the waiting thread can read.
// A thread blocked reading a byte stream does the same.
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
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

// Runs the client's io until `done`, for a test that failed and must not
// leave its reader blocked.
void client_io_run_until(net_test::client_io_stopped& setup, const std::atomic<bool>& done) {
  setup.client_io.restart();
  auto busy = boost::asio::make_work_guard(setup.client_io);
  while (!done) setup.client_io.run_for(10ms);
}

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

// The server sends a byte stream and writes into it before the client
// reads; with the client's io stopped, only a thread blocked in read_some
// can read the bytes from the connection.
void byte_stream_is_read_by_its_reader(const std::string& url) {
  net_test::client_io_stopped setup(url);
  if (::testing::Test::HasFailure()) return;
  auto [mine, theirs] = libchan::stream_pair();
  setup.reply_tx.send(libchan::make_map("stream", Value(std::move(theirs))));
  std::error_code ec;
  auto got = receive_patiently(setup.reply_rx, 10s, ec);
  ASSERT_TRUE(got) << "the stream did not arrive: " << ec.message();
  Value* field = got->find("stream");
  ASSERT_TRUE(field && field->kind() == Value::Kind::stream);
  libchan::ByteStream remote = field->take_stream();

  // 64 KiB: within the window and the sockets' buffers, so that it all
  // reaches the client's socket before anybody reads.
  std::string sent(64u << 10, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>('a' + i % 26);
  mine.write(sent);
  mine.close_write();
  std::this_thread::sleep_for(200ms);

  std::atomic<bool> done{false};
  std::string received;
  std::error_code read_ec;
  std::thread reader([&] {
    std::array<std::byte, 8192> buf;
    for (;;) {
      std::size_t n = remote.read_some(buf, read_ec);
      if (read_ec || n == 0) break;
      received.append(reinterpret_cast<const char*>(buf.data()), n);
    }
    done = true;
  });
  const bool in_time = net_test::eventually([&] { return done.load(); }, 10s);
  EXPECT_TRUE(in_time) << "the reading thread did not read the connection itself";
  // Released by the io thread, if the reader could not help itself.
  if (!in_time) client_io_run_until(setup, done);
  reader.join();
  EXPECT_FALSE(read_ec) << read_ec.message();
  EXPECT_EQ(received, sent);
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

TEST(NetInlineRead, AByteStreamIsReadByItsReaderTcp) {
  byte_stream_is_read_by_its_reader("tcp://127.0.0.1:0");
  EXPECT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }, 10s));
}

TEST(NetInlineRead, AByteStreamIsReadByItsReaderUnix) {
  net_test::temp_dir dir;
  byte_stream_is_read_by_its_reader("unix://" + dir.file("s.sock"));
  EXPECT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }, 10s));
}

TEST(NetInlineRead, AWaitingThreadReadsItsAnswerAndDescriptorItselfUnix) {
  net_test::temp_dir dir;
  answers_arrive_with_client_io_stopped("unix://" + dir.file("s.sock"), true);
  EXPECT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }, 10s));
}

}  // namespace
