// A peer in another process is killed (SIGKILL) in the middle of a transfer:
// every pending operation on every channel ends with errc::disconnected
// within a second of its death, and accept_receiver returns the end.
//
// The peer is this test binary again, running the disabled test
// NetPeerProcess.DISABLED_Peer with LIBCHAN_NET_TEST_PEER set to the URL to
// dial.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <future>

#include "net/net_support.hpp"
#include "net/spawn_self.hpp"

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr int channels = 8;
constexpr const char* peer_env = "LIBCHAN_NET_TEST_PEER";

// The peer: opens channels, sends one message on each, then streams bytes
// until it is killed.
TEST(NetPeerProcess, DISABLED_Peer) {
  const char* url = std::getenv(peer_env);
  if (!url) GTEST_SKIP() << "runs only as the peer of NetPeerProcess.KilledMidTransfer";
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
  auto session = libchan::dial(url);
  std::vector<libchan::Sender<>> senders;
  for (int i = 0; i < channels; ++i) {
    senders.push_back(session.open_sender());
    senders.back().send(libchan::make_map("Seq", i));
  }
  auto [mine, theirs] = libchan::stream_pair();
  senders[0].send(libchan::make_map("Stream", std::move(theirs)));
  // Stream only once the test says so: by then both sides have seen each
  // other's SETTINGS (see the engine's flow control start-up).
  auto go = session.accept_receiver();
  ASSERT_TRUE(go && go.receive());
  std::vector<std::byte> chunk(64 << 10, std::byte{0x5a});
  std::error_code ec;
  while (!ec) mine.write(chunk, ec);
  std::_Exit(1);  // the test gave up on us
}

// Kills and reaps the peer, whatever happens in the test.
struct child {
  pid_t pid = -1;
  clock_type::time_point died;
  void kill() {
    if (pid <= 0) return;
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    died = clock_type::now();
    pid = -1;
  }
  ~child() { kill(); }
};

TEST(NetPeerProcess, KilledMidTransfer) {
  auto l = libchan::listen("tcp://127.0.0.1:0");
  child peer;
  peer.pid = net_test::spawn_self("NetPeerProcess.DISABLED_Peer", peer_env, l.local_address());
  ASSERT_GT(peer.pid, 0);
  std::error_code ec;
  auto session = l.accept_for(30s, ec);
  ASSERT_TRUE(session) << ec.message();

  std::vector<libchan::Receiver<>> receivers;
  for (int i = 0; i < channels; ++i) {
    receivers.push_back(session.accept_receiver_for(10s, ec));
    ASSERT_TRUE(receivers.back()) << ec.message();
    auto v = receivers.back().receive_for(10s);
    ASSERT_TRUE(v);
  }
  auto with_stream = receivers[0].receive_for(10s);
  ASSERT_TRUE(with_stream);
  auto stream = with_stream->find("Stream")->take_stream();
  auto go = session.open_sender();
  go.send(libchan::make_map("Go", true));

  // Read the transfer on a thread; it must end with an error.
  std::atomic<std::size_t> received{0};
  std::promise<std::pair<std::error_code, clock_type::time_point>> reader_done;
  std::thread reader([&] {
    std::vector<std::byte> buf(64 << 10);
    std::error_code e;
    while (!e) {
      std::size_t n = stream.read_some(buf, e);
      if (!e && n == 0) break;
      received += n;
    }
    reader_done.set_value({e, clock_type::now()});
  });
  struct join_guard {
    std::thread& t;
    libchan::Session& s;
    ~join_guard() {
      s.close();  // unblocks the reader if the test failed early
      t.join();
    }
  } guard{reader, session};
  ASSERT_TRUE(net_test::eventually([&] { return received > (1u << 20); }, 30s));

  // A pending receive on every channel, and a pending accept.
  std::mutex mutex;
  std::condition_variable cond;
  std::vector<std::pair<std::error_code, clock_type::time_point>> ends;
  for (auto& rx : receivers)
    rx.async_receive([&](std::error_code e, std::optional<libchan::Value>) {
      std::lock_guard lock(mutex);
      ends.emplace_back(e, clock_type::now());
      cond.notify_all();
    });
  std::promise<std::pair<bool, clock_type::time_point>> accept_end;
  session.async_accept_receiver([&](std::error_code e, libchan::Receiver<> r) {
    accept_end.set_value({!e && !r, clock_type::now()});
  });

  peer.kill();
  const auto limit = peer.died + 1s;

  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(cond.wait_for(lock, 10s, [&] { return ends.size() == channels; }));
  }
  for (auto& [e, when] : ends) {
    EXPECT_EQ(e, libchan::errc::disconnected) << e.message();
    EXPECT_LE(when, limit);
  }
  auto accepted = accept_end.get_future();
  ASSERT_EQ(accepted.wait_for(10s), std::future_status::ready);
  auto [is_end, accept_when] = accepted.get();
  EXPECT_TRUE(is_end);
  EXPECT_LE(accept_when, limit);
  auto read = reader_done.get_future();
  ASSERT_EQ(read.wait_for(10s), std::future_status::ready);
  auto [read_ec, read_when] = read.get();
  EXPECT_EQ(read_ec, libchan::errc::disconnected) << read_ec.message();
  EXPECT_LE(read_when, limit);
  EXPECT_TRUE(session.closed());
  EXPECT_EQ(session.error(), libchan::errc::disconnected);
}

}  // namespace
