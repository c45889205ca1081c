// A burst of messages each carrying a descriptor over unix://, with the
// default limits: the sender's writes carry the descriptors of the messages
// that start in them (and every one before), never a burst's worth ahead,
// so the receiver's max_unclaimed_fds holds and every descriptor works.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "net/net_support.hpp"
#include "support/pipe_fds.hpp"

namespace {

using namespace std::chrono_literals;
using libchan::Fd;
using libchan::Value;

using test_fds::make_pipe;
using test_fds::pipe_ends;

// One byte from `fd`, waiting up to 5 s; -1 if none came.
int read_byte(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 5000) != 1) return -1;
  unsigned char c = 0;
  return ::read(fd, &c, 1) == 1 ? c : -1;
}

using channel = std::pair<libchan::Sender<Value>, libchan::Receiver<Value>>;

// Message `i` of a burst, whose "seq" must be `i`: the descriptor in its
// "fd", or none after a failure.
Fd receive_numbered(net_test::session_pair& p, libchan::Receiver<Value>& rx, std::size_t i) {
  std::error_code ec;
  auto m = rx.receive_for(10s, ec);
  if (!m) {
    ADD_FAILURE() << "message " << i << ": " << ec.message() << "; " << p.server.error_message();
    return {};
  }
  EXPECT_EQ(m->find("seq")->as_int(), static_cast<std::int64_t>(i));
  if (m->find("fd")->kind() != Value::Kind::fd) {
    ADD_FAILURE() << "message " << i << " holds no descriptor";
    return {};
  }
  return m->find("fd")->take_fd();
}

void burst(net_test::session_pair& p, channel ch, std::size_t count, bool in_one_go) {
  auto& [tx, rx] = ch;
  std::vector<Fd> readers;
  std::vector<Value> messages;
  for (std::size_t i = 0; i < count; ++i) {
    auto ends = make_pipe();
    readers.push_back(std::move(ends.read));
    messages.push_back(
        libchan::make_map("seq", static_cast<std::int64_t>(i), "fd", std::move(ends.write)));
  }
  // Every send completes before the session writes much: the messages
  // pile up in its output, all at once.
  std::thread sender([&, &tx = tx] {
    for (auto& m : messages) {
      std::error_code ec;
      if (in_one_go)
        tx.async_send(std::move(m), [](std::error_code) {});
      else
        tx.send(std::move(m), ec);
      if (ec) break;
    }
  });
  for (std::size_t i = 0; i < count; ++i) {
    Fd w = receive_numbered(p, rx, i);
    ASSERT_TRUE(w);
    const unsigned char c = static_cast<unsigned char>(i);
    ASSERT_EQ(::write(w.get(), &c, 1), 1);
    // The descriptor of message i is the write end of pipe i.
    ASSERT_EQ(read_byte(readers[i].get()), c) << "message " << i;
  }
  sender.join();
  EXPECT_FALSE(p.server.closed()) << p.server.error_message();
  EXPECT_FALSE(p.client.closed()) << p.client.error_message();
}

void burst(std::size_t count, bool in_one_go) {
  net_test::temp_dir dir;
  net_test::session_pair p("unix://" + dir.file("s.sock"));
  burst(p, p.channel(), count, in_one_go);
}

TEST(NetFdBurst, FiveHundredMessagesEachWithADescriptor) { burst(500, false); }

TEST(NetFdBurst, FiveHundredAsyncSendsInOneGo) { burst(500, true); }

// Writes with no descriptor waiting move the session's output as it is;
// those with one copy it into the one buffer the descriptors go with. A
// bulk stream beside the burst makes the writes switch between the two.
TEST(NetFdBurst, DescriptorsInterleavedWithABulkStream) {
  net_test::temp_dir dir;
  net_test::session_pair p("unix://" + dir.file("s.sock"));
  auto ch = p.channel();  // before the stream's own, so that they cannot cross
  auto bulk =
      std::async(std::launch::async, [&] { net_test::expect_stream_transfer(p, 32u << 20, 30s); });
  burst(p, std::move(ch), 500, false);
  bulk.get();
}

// A receiver that takes nothing while a thousand descriptors come: the
// session stops reading at max_buffered_fds, so this process holds about
// that many (plus the sender's max_queued_fds, since both sides are here),
// not a thousand; the rest wait in the socket. Taken later, all arrive.
TEST(NetFdBurst, AReceiverThatTakesNothingHoldsAtMostMaxBufferedFds) {
  net_test::temp_dir dir;
  libchan::SessionOptions server_opts;
  server_opts.limits.max_buffered_fds = 100;
  net_test::session_pair p("unix://" + dir.file("s.sock"), {}, server_opts);
  auto [tx, rx] = p.channel();
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(devnull);
  const int before = net_test::fd_count();
  // Below the descriptors a user may have in flight in sockets (its
  // RLIMIT_NOFILE, often 1024) once the receiver holds its 100.
  constexpr std::size_t count = 1000;
  std::atomic<std::size_t> sent{0};
  std::thread sender([&, &tx = tx] {
    for (std::size_t i = 0; i < count; ++i) {
      std::error_code ec;
      tx.send(libchan::make_map("seq", static_cast<std::int64_t>(i), "fd", devnull.duplicate()),
              ec);
      if (ec) break;
      sent = i + 1;
    }
  });
  // Until nothing moves for 200 ms: the sender is done or waits, and the
  // receiving session reads no more.
  int most = 0, last_fds = -1;
  std::size_t last_sent = 0;
  for (int quiet = 0; quiet < 10;) {
    std::this_thread::sleep_for(20ms);
    const int fds = net_test::fd_count();
    most = std::max(most, fds);
    quiet = sent == last_sent && fds == last_fds ? quiet + 1 : 0;
    last_sent = sent;
    last_fds = fds;
  }
  // 100 buffered, up to 256 queued by the sender, one write's worth (64)
  // named by no message yet, and some slack.
  EXPECT_LE(most - before, 100 + 256 + 64 + 32);
  for (std::size_t i = 0; i < count; ++i) ASSERT_TRUE(receive_numbered(p, rx, i));
  sender.join();
  EXPECT_FALSE(p.server.closed()) << p.server.error_message();
  EXPECT_FALSE(p.client.closed()) << p.client.error_message();
}

// A receiver that closes in the middle of a burst: the messages still on
// their way are dropped with their stream, unread, so nothing claims their
// descriptors. At most max_unclaimed_fds of them stay open, and the
// session goes on.
TEST(NetFdBurst, AReceiverClosedMidBurstLeavesTheSessionWhole) {
  net_test::temp_dir dir;
  net_test::session_pair p("unix://" + dir.file("s.sock"));
  Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(devnull);
  const int before = net_test::fd_count();
  for (int round = 0; round < 3; ++round) {
    auto [tx, rx] = p.channel();
    std::thread sender([&, &tx = tx] {
      for (std::size_t i = 0; i < 2000; ++i) {
        std::error_code ec;
        tx.send(libchan::make_map("fd", devnull.duplicate()), ec);
        if (ec) break;
      }
    });
    for (int i = 0; i < 10; ++i) {
      std::error_code ec;
      ASSERT_TRUE(rx.receive_for(10s, ec)) << ec.message() << "; " << p.server.error_message();
    }
    rx.close();
    sender.join();
  }
  auto [tx, rx] = p.channel();
  tx.send(libchan::make_map("fd", devnull.duplicate()));
  std::error_code ec;
  auto m = rx.receive_for(10s, ec);
  ASSERT_TRUE(m) << ec.message() << "; " << p.server.error_message();
  EXPECT_EQ(m->find("fd")->kind(), Value::Kind::fd);
  EXPECT_FALSE(p.server.closed()) << p.server.error_message();
  EXPECT_FALSE(p.client.closed()) << p.client.error_message();
  m.reset();
  const int bound = before + static_cast<int>(libchan::SessionLimits{}.max_unclaimed_fds);
  EXPECT_TRUE(net_test::eventually([&] { return net_test::fd_count() <= bound; }))
      << net_test::fd_count() << " descriptors open, " << before << " before";
}

}  // namespace
