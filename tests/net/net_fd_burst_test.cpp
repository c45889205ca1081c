// A burst of messages each carrying a descriptor over unix://, with the
// default limits: the sender's writes carry the descriptors of the messages
// that start in them (and every one before), never a burst's worth ahead,
// so the receiver's max_unclaimed_fds holds and every descriptor works.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

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
    std::error_code ec;
    auto m = rx.receive_for(10s, ec);
    ASSERT_TRUE(m) << "message " << i << ": " << ec.message() << "; " << p.server.error_message();
    ASSERT_EQ(m->find("seq")->as_int(), static_cast<std::int64_t>(i));
    ASSERT_EQ(m->find("fd")->kind(), Value::Kind::fd);
    Fd w = m->find("fd")->take_fd();
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

}  // namespace
