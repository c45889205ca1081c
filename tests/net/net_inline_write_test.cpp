// A thread that waits on a session channel writes the session's pending
// output itself when the connection allows it (tcp, unix with descriptors,
// and tls): a request goes out before its sender sleeps on the
// answer, not after the io thread woke up. Shown with an io_context that nobody
// runs while the client waits, so only the waiting thread can write.
#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <thread>

#include "io/diagnostics.hpp"
#include "net/client_io_stopped.hpp"
#include "net/counting_transport.hpp"
#include "net/net_support.hpp"
#include "support/tls_options.hpp"

namespace {

using namespace std::chrono_literals;
using libchan::Value;

// Over unix://, the request carries a descriptor too (the write end of a
// pipe), which goes with the bytes.
void exchange_with_client_io_stopped(const std::string& url, bool with_fd,
                                     const libchan::SessionOptions& client_opts,
                                     const libchan::SessionOptions& server_opts) {
  net_test::client_io_stopped setup(url, client_opts, server_opts);
  if (::testing::Test::HasFailure()) return;
  auto& client_io = setup.client_io;
  auto& request_tx = setup.request_tx;
  auto& request_rx = setup.request_rx;
  auto& reply_tx = setup.reply_tx;
  auto& reply_rx = setup.reply_rx;

  auto request_message = libchan::make_map("n", 1);
  libchan::Fd pipe_read;
  if (with_fd) pipe_read = net_test::attach_pipe(request_message);
  request_tx.send(std::move(request_message));
  // Nobody reads for the client: the wait times out, but it wrote first.
  std::error_code ec;
  EXPECT_FALSE(reply_rx.receive_for(200ms, ec));
  auto request = request_rx.receive_for(10s, ec);
  ASSERT_TRUE(request) << "the request did not leave: " << ec.message();
  EXPECT_EQ(request->find("n")->as_int(), 1);
  if (with_fd) net_test::expect_pipe_works(*request, pipe_read);
  // And the session is intact: with its io running again, answers arrive.
  client_io.restart();
  auto busy = boost::asio::make_work_guard(client_io);
  std::thread runner([&] { client_io.run(); });
  reply_tx.send(libchan::make_map("n", 2));
  auto answer = reply_rx.receive_for(10s, ec);
  EXPECT_TRUE(answer) << ec.message();
  if (answer) {
    EXPECT_EQ(answer->find("n")->as_int(), 2);
  }
  busy.reset();
  client_io.stop();
  runner.join();
}

void waiting_thread_sends_its_request(const std::string& url, bool with_fd,
                                      const libchan::SessionOptions& client_opts = {},
                                      const libchan::SessionOptions& server_opts = {}) {
  exchange_with_client_io_stopped(url, with_fd, client_opts, server_opts);
  // With the client's io_context gone, both sessions are freed.
  EXPECT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }, 10s))
      << libchan::detail::io::live_drivers() << " session drivers outlived the test";
}

TEST(NetInlineWrite, AThreadWaitingForAnAnswerSendsItsRequestTcp) {
  waiting_thread_sends_its_request("tcp://127.0.0.1:0", false);
}

TEST(NetInlineWrite, AThreadWaitingForAnAnswerSendsItsRequestAndDescriptorUnix) {
  net_test::temp_dir dir;
  waiting_thread_sends_its_request("unix://" + dir.file("s.sock"), true);
}

TEST(NetInlineWrite, AThreadWaitingForAnAnswerSendsItsRequestTls) {
  waiting_thread_sends_its_request("tls://127.0.0.1:0", false,
                                   test_certs::with_identity(test_certs::pki().client),
                                   test_certs::mutual_auth_server());
}

// A thread that reads a request itself and answers it writes the answer's
// stream reply (SYN_REPLY) with the answer, in one write: not in a packet of
// its own right after reading the request, which would wake the peer for
// nothing. The answering side's io is stopped, so every write is that
// thread's, and counted.
TEST(NetInlineWrite, AnAnswerGoesOutWithItsStreamReplyInOneWrite) {
  std::atomic<int> writes{0};
  auto registry = libchan::TransportRegistry::defaults();
  registry.add("counted+tcp", std::make_shared<net_test::counting_tcp_transport>(writes));
  net_test::client_io_stopped setup("tcp://127.0.0.1:0", {}, {}, registry, "counted+tcp");
  if (::testing::Test::HasFailure()) return;
  auto [answer_rx, answer_tx] = libchan::buffered_pipe<Value>(1);
  setup.reply_tx.send(libchan::make_map("n", 1, "ret", Value(std::move(answer_tx))));

  const int before = writes.load();
  std::error_code ec;
  auto request = setup.reply_rx.receive_for(10s, ec);
  ASSERT_TRUE(request) << "the request did not arrive: " << ec.message();
  auto ret = request->find("ret")->take_sender();
  ret.send(libchan::make_map("n", 2), ec);
  ASSERT_FALSE(ec) << ec.message();
  ret.close();
  // The next wait writes what is pending: the stream reply, the answer and
  // the end of the answer's channel.
  EXPECT_FALSE(setup.reply_rx.receive_for(100ms, ec));
  EXPECT_EQ(writes.load() - before, 1) << "writes from receiving the request to the next wait";

  auto answer = answer_rx.receive_for(10s, ec);
  ASSERT_TRUE(answer) << "the answer did not arrive: " << ec.message();
  EXPECT_EQ(answer->find("n")->as_int(), 2);
  EXPECT_FALSE(answer_rx.receive_for(10s, ec)) << "the answer's channel did not end";
  EXPECT_FALSE(ec) << ec.message();
}

}  // namespace
