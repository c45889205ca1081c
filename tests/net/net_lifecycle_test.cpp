// How sessions end: closed by either side, dropped, lost with the peer's
// process, silent peers found by keepalive, listeners closed; and that
// nothing is left behind.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include "io/diagnostics.hpp"
#include "net/net_support.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

/// Counts completions and remembers when the last one came.
struct completions {
  void add(std::error_code ec) {
    std::lock_guard lock(mutex);
    codes.push_back(ec);
    last = clock_type::now();
    cond.notify_all();
  }
  bool wait_for_count(std::size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return cond.wait_for(lock, timeout, [&] { return codes.size() >= n; });
  }
  std::mutex mutex;
  std::condition_variable cond;
  std::vector<std::error_code> codes;
  clock_type::time_point last;
};

TEST(NetLifecycle, CloseEndsPendingOperationsOnBothSides) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  auto [tx1, rx1] = p.channel();
  auto tx2 = p.server.open_sender();  // the other way round
  std::error_code ec;
  auto rx2 = p.client.accept_receiver_for(10s, ec);
  ASSERT_TRUE(rx2) << ec.message();
  std::promise<std::error_code> server_closed, client_closed;
  p.server.on_close([&](std::error_code e) { server_closed.set_value(e); });
  p.client.on_close([&](std::error_code e) { client_closed.set_value(e); });
  completions done;
  std::error_code rx1_end;
  rx1.async_receive([&](std::error_code e, std::optional<libchan::Value>) {
    rx1_end = e;
    done.add(make_error_code(libchan::errc::disconnected));
  });
  rx2.async_receive([&](std::error_code e, std::optional<libchan::Value>) { done.add(e); });
  std::promise<bool> accept_end;
  p.server.async_accept_receiver(
      [&](std::error_code e, libchan::Receiver<> r) { accept_end.set_value(!e && !r); });

  p.client.close();

  ASSERT_TRUE(done.wait_for_count(2, 10s));
  for (auto& c : done.codes) EXPECT_EQ(c, libchan::errc::disconnected) << c.message();
  // The client's close ended its own channel cleanly (FIN before GOAWAY).
  EXPECT_FALSE(rx1_end) << rx1_end.message();
  auto end = accept_end.get_future();
  ASSERT_EQ(end.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(end.get());
  auto sc = server_closed.get_future();
  auto cc = client_closed.get_future();
  ASSERT_EQ(sc.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(cc.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(sc.get(), libchan::errc::disconnected);
  EXPECT_EQ(cc.get(), libchan::errc::disconnected);
  EXPECT_TRUE(p.client.closed());
  EXPECT_TRUE(p.server.closed());
  EXPECT_FALSE(p.server.error_message().empty());
  // Ended sessions refuse new channels and return the end at once.
  p.client.open_sender(ec);
  EXPECT_EQ(ec, libchan::errc::disconnected);
  EXPECT_FALSE(p.server.accept_receiver(ec));
  EXPECT_FALSE(ec);
  bool late = false;
  std::promise<void> late_called;
  p.server.on_close([&](std::error_code) {
    late = true;
    late_called.set_value();
  });
  EXPECT_EQ(late_called.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(late);
}

// A local pipe end sent over a session is forwarded by the library; when
// the session is lost, the pipe's receiver learns why instead of seeing a
// clean end of channel.
TEST(NetLifecycle, ForwardedPipeEndSeesTheSessionLoss) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  auto [tx, rx] = p.channel();
  auto [local_rx, local_tx] = libchan::pipe();
  tx.send(libchan::make_map("Ret", std::move(local_tx)));
  auto msg = rx.receive_for(10s);
  ASSERT_TRUE(msg);
  auto remote_tx = msg->find("Ret")->take_sender();
  remote_tx.send(libchan::Value("before"));
  EXPECT_EQ(local_rx.receive_for(10s)->as_string(), "before");
  p.server.close();
  std::error_code ec;
  auto end = local_rx.receive_for(10s, ec);
  EXPECT_FALSE(end);
  // A graceful close ends the server's channels (FIN) before its GOAWAY: a
  // clean end; a lost connection would end it with errc::disconnected.
  EXPECT_FALSE(ec) << ec.message();
}

TEST(NetLifecycle, DroppingTheSessionClosesIt) {
  auto l = libchan::listen("tcp://127.0.0.1:0");
  std::error_code ec;
  libchan::Session server;
  {
    auto client = libchan::dial(l.local_address());
    server = l.accept_for(10s, ec);
    ASSERT_TRUE(server);
  }
  EXPECT_FALSE(server.accept_receiver_for(10s, ec));
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(server.error(), libchan::errc::disconnected);
}

TEST(NetLifecycle, ClosingTheListenerEndsAcceptAndClosesQueuedSessions) {
  auto l = libchan::listen("tcp://127.0.0.1:0");
  auto queued = libchan::dial(l.local_address());  // accepted but never taken
  std::promise<bool> ended;
  queued.on_close([&](std::error_code) { ended.set_value(true); });
  auto waiting = std::async(std::launch::async, [&] {
    // Takes the queued session first, or the end if close() drained it.
    std::error_code ec;
    auto s = l.accept_for(10s, ec);
    while (s && !ec) s = l.accept_for(10s, ec);
    return ec;
  });
  l.close();
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(waiting.get());
  std::error_code ec;
  EXPECT_FALSE(l.accept(ec));
  EXPECT_FALSE(ec);
  auto f = ended.get_future();
  EXPECT_EQ(f.wait_for(10s), std::future_status::ready);
}

TEST(NetLifecycle, KeepaliveFindsASilentPeer) {
  // A raw socket that takes the connection and never says anything.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  libchan::SessionOptions o;
  o.keepalive_interval = 100ms;
  o.keepalive_timeout = 200ms;
  auto s = libchan::dial("tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)), o);
  int peer = ::accept(fd, nullptr, nullptr);
  std::promise<std::error_code> closed;
  s.on_close([&](std::error_code ec) { closed.set_value(ec); });
  auto f = closed.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), libchan::errc::disconnected);
  EXPECT_NE(s.error_message().find("PING"), std::string::npos) << s.error_message();
  ::close(peer);
  ::close(fd);
}

TEST(NetLifecycle, NothingLeaks) {
  // The io pool's own descriptors (epoll, eventfd, timerfd) come with the
  // first session and stay: start it before counting.
  { net_test::session_pair warm_up("tcp://127.0.0.1:0"); }
  ASSERT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }));
  int fds = net_test::fd_count();
  net_test::temp_dir dir;
  for (int i = 0; i < 20; ++i) {
    auto url = i % 2 ? std::string("tcp://127.0.0.1:0") : "unix://" + dir.file("leak.sock");
    net_test::session_pair p(url);
    auto [tx, rx] = p.channel();
    auto [mine, theirs] = libchan::stream_pair();
    tx.send(libchan::make_map("Seq", i, "Stream", std::move(theirs)));
    auto v = rx.receive_for(10s);
    ASSERT_TRUE(v);
    mine.write("bytes");
    mine.close_write();
    EXPECT_EQ(v->find("Stream")->take_stream().read_all(), "bytes");
    if (i % 3 == 0) p.server.close();  // either side may end it
  }
  EXPECT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }))
      << libchan::detail::io::live_drivers() << " session drivers still alive";
  EXPECT_TRUE(net_test::eventually([&] { return net_test::fd_count() <= fds; }))
      << net_test::fd_count() << " descriptors open, " << fds << " before";
}

}  // namespace
