// Descriptors over unix:// sessions travel as descriptors (SCM_RIGHTS): the
// receiver gets the same open file (pipe, file, socket), not a copy of its
// bytes. Over tcp://, or when one side turns it off, they travel as byte
// streams, as before.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>

#include "io/diagnostics.hpp"
#include "net/net_support.hpp"
#include "support/pipe_fds.hpp"

namespace {

using namespace std::chrono_literals;
using libchan::ByteStream;
using libchan::Fd;
using libchan::Value;

using test_fds::make_pipe;
using test_fds::pipe_ends;

// Waits up to 5 s for `fd` to be readable; false on time-out.
bool readable(int fd, std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(left.count())) == 1;
}

// Reads until `n` bytes, end of file or 5 s.
std::string read_some_bytes(int fd, std::size_t n) {
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (out.size() < n && readable(fd, deadline)) {
    char buf[256];
    ssize_t k = ::read(fd, buf, std::min(sizeof buf, n - out.size()));
    if (k <= 0) break;
    out.append(buf, static_cast<std::size_t>(k));
  }
  return out;
}

// `n` pipes: their read ends, and their write ends as values to send.
struct pipes {
  std::vector<Fd> readers;
  Value::Array writers;
};

pipes make_pipes(int n) {
  pipes all;
  for (int i = 0; i < n; ++i) {
    auto ends = make_pipe();
    all.readers.push_back(std::move(ends.read));
    all.writers.emplace_back(std::move(ends.write));
  }
  return all;
}

// True if `fd` reaches end of file within 5 s: every copy of the other end
// is closed, in this process and in the peer's.
bool reaches_eof(int fd) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  char buf[256];
  while (readable(fd, deadline)) {
    ssize_t k = ::read(fd, buf, sizeof buf);
    if (k == 0) return true;
    if (k < 0) return false;
  }
  return false;
}

void write_text(int fd, std::string_view text) {
  ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
}

Value receive(libchan::Receiver<Value>& rx) {
  std::error_code ec;
  auto v = rx.receive_for(10s, ec);
  if (ec || !v) throw std::runtime_error("no message: " + ec.message());
  return std::move(*v);
}

class FdPassing : public ::testing::Test {
 protected:
  net_test::temp_dir dir;
  std::string url() { return "unix://" + dir.file("s.sock"); }
};

TEST_F(FdPassing, PipeEndIsTheSamePipe) {
  net_test::session_pair p(url());
  auto [tx, rx] = p.channel();
  auto ends = make_pipe();
  tx.send(libchan::make_map("w", std::move(ends.write)));
  auto m = receive(rx);
  Value* w = m.find("w");
  ASSERT_TRUE(w);
  // A descriptor, not a byte stream standing in for one.
  ASSERT_EQ(w->kind(), Value::Kind::fd) << m.to_string();
  Fd received = w->take_fd();
  write_text(received.get(), "through the pipe");
  EXPECT_EQ(read_some_bytes(ends.read.get(), 16), "through the pipe");
  // Sending gave the sender's copy away: once the receiver closes its own,
  // the reader sees the end.
  received.reset();
  EXPECT_TRUE(reaches_eof(ends.read.get()));
}

TEST_F(FdPassing, RegularFileKeepsContentsAndOffset) {
  net_test::session_pair p(url());
  auto [tx, rx] = p.channel();
  std::FILE* tmp = std::tmpfile();
  ASSERT_TRUE(tmp);
  Fd file(::fcntl(::fileno(tmp), F_DUPFD_CLOEXEC, 0));
  std::fclose(tmp);
  write_text(file.get(), "0123456789");
  ASSERT_EQ(::lseek(file.get(), 4, SEEK_SET), 4);
  tx.send(libchan::make_map("file", std::move(file)));
  Fd received = receive(rx).find("file")->take_fd();
  ASSERT_TRUE(received);
  // The same open file: its offset came along.
  EXPECT_EQ(::lseek(received.get(), 0, SEEK_CUR), 4);
  EXPECT_EQ(read_some_bytes(received.get(), 100), "456789");
}

TEST_F(FdPassing, SocketStreamEchoes) {
  net_test::session_pair p(url());
  auto [tx, rx] = p.channel();
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  Fd ours(sv[0]);
  tx.send(libchan::make_map("conn", ByteStream::from_fd(Fd(sv[1]))));
  auto m = receive(rx);
  ASSERT_EQ(m.find("conn")->kind(), Value::Kind::stream);
  ByteStream conn = m.find("conn")->take_stream();
  // A stream over the passed socket itself, not over a session stream.
  ASSERT_GE(conn.impl()->native_handle(), 0);
  std::thread echo([&conn] {
    std::byte buf[64];
    std::error_code ec;
    std::size_t n = conn.read_some(buf, ec);
    if (!ec && n > 0) conn.write(std::span(buf, n), ec);
  });
  write_text(ours.get(), "ping");
  EXPECT_EQ(read_some_bytes(ours.get(), 4), "ping");
  ::shutdown(ours.get(), SHUT_WR);  // ends the echo's read if nothing came
  echo.join();
}

TEST_F(FdPassing, SeveralInOneMessage) {
  net_test::session_pair p(url());
  auto [tx, rx] = p.channel();
  auto [readers, writers] = make_pipes(5);
  tx.send(libchan::make_map("all", Value(std::move(writers))));
  auto m = receive(rx);
  auto& all = m.find("all")->as_array();
  ASSERT_EQ(all.size(), 5u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i].kind(), Value::Kind::fd);
    write_text(all[i].take_fd().get(), std::to_string(i));
  }
  // Each writer went to its own pipe, in order.
  for (std::size_t i = 0; i < readers.size(); ++i)
    EXPECT_EQ(read_some_bytes(readers[i].get(), 1), std::to_string(i));
}

TEST_F(FdPassing, InsideNestedValuesAndChannels) {
  net_test::session_pair p(url());
  auto [tx, rx] = p.channel();
  auto [reply_rx, reply_tx] = libchan::pipe<Value>();
  auto request = make_pipe();
  tx.send(libchan::make_map(
      "reply", std::move(reply_tx), "deep",
      libchan::make_map("list", libchan::make_array(1, std::move(request.write)))));
  auto m = receive(rx);
  auto& list = m.find("deep")->find("list")->as_array();
  ASSERT_EQ(list.at(1).kind(), Value::Kind::fd);
  write_text(list.at(1).take_fd().get(), "req");
  EXPECT_EQ(read_some_bytes(request.read.get(), 3), "req");
  // The other way, on the channel the message carried: server to client.
  auto answer = make_pipe();
  m.find("reply")->take_sender().send(libchan::make_map("fd", std::move(answer.write)));
  std::error_code ec;
  auto back = reply_rx.receive_for(10s, ec);
  ASSERT_TRUE(back && !ec) << ec.message();
  ASSERT_EQ(back->find("fd")->kind(), Value::Kind::fd);
  write_text(back->find("fd")->take_fd().get(), "ans");
  EXPECT_EQ(read_some_bytes(answer.read.get(), 3), "ans");
}

TEST_F(FdPassing, TooManyForTheSenderFailsTheSend) {
  libchan::SessionOptions small;
  small.limits.max_fds_per_message = 2;
  net_test::session_pair p(url(), small);
  auto [tx, rx] = p.channel();
  auto [readers, writers] = make_pipes(3);
  std::error_code ec;
  tx.send(Value(std::move(writers)), ec);
  EXPECT_EQ(ec, libchan::errc::limit_exceeded);
  // Nothing leaked: every writer is closed.
  for (auto& r : readers) EXPECT_TRUE(reaches_eof(r.get()));
  // The channel goes on.
  tx.send(Value("after"));
  EXPECT_EQ(receive(rx).as_string(), "after");
}

TEST_F(FdPassing, TooManyForTheReceiverFailsTheChannel) {
  libchan::SessionOptions big, small;
  big.limits.max_fds_per_message = 8;
  small.limits.max_fds_per_message = 2;
  net_test::session_pair p(url(), big, small);
  auto [tx, rx] = p.channel();
  auto [readers, writers] = make_pipes(3);
  tx.send(Value(std::move(writers)));
  std::error_code ec;
  auto v = rx.receive_for(10s, ec);
  EXPECT_FALSE(v);
  EXPECT_EQ(ec, libchan::errc::limit_exceeded);
  // The refused descriptors were closed on both sides.
  for (auto& r : readers) EXPECT_TRUE(reaches_eof(r.get()));
  // Other channels of the session go on.
  auto [tx2, rx2] = p.channel();
  auto ends = make_pipe();
  tx2.send(Value(std::move(ends.write)));
  EXPECT_EQ(receive(rx2).kind(), Value::Kind::fd);
}

TEST_F(FdPassing, NoDescriptorLeaks) {
  // A first session starts the io pool and its own descriptors.
  { net_test::session_pair warm(url()); }
  ASSERT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }));
  const int before = net_test::fd_count();
  {
    net_test::session_pair p(url());
    auto [tx, rx] = p.channel();
    for (int i = 0; i < 20; ++i) {
      auto ends = make_pipe();
      auto other = make_pipe();
      tx.send(libchan::make_map("fd", std::move(ends.write), "stream",
                                ByteStream::from_fd(std::move(other.write))));
      // Kept by the receiver for a while, dropped with the message.
      auto m = receive(rx);
      EXPECT_EQ(m.find("fd")->kind(), Value::Kind::fd);
    }
    // Sent and never received: closed with the session.
    auto ends = make_pipe();
    tx.send(Value(std::move(ends.write)));
  }
  EXPECT_TRUE(net_test::eventually([&] { return net_test::fd_count() <= before; }))
      << net_test::fd_count() << " descriptors open, " << before << " before";
}

// Sends the write end of a pipe over `p`: it arrives as a byte stream over
// the session, not as a descriptor, and what is written to that stream
// reaches the pipe until the stream is closed.
void expect_fd_as_stream(net_test::session_pair& p) {
  auto [tx, rx] = p.channel();
  auto ends = make_pipe();
  tx.send(libchan::make_map("w", std::move(ends.write)));
  auto m = receive(rx);
  ASSERT_EQ(m.find("w")->kind(), Value::Kind::stream);
  ByteStream w = m.find("w")->take_stream();
  EXPECT_LT(w.impl()->native_handle(), 0);
  w.write(std::string_view("as a stream"));
  EXPECT_EQ(read_some_bytes(ends.read.get(), 11), "as a stream");
  w.close();
  EXPECT_TRUE(reaches_eof(ends.read.get()));
}

TEST_F(FdPassing, TcpCarriesAnFdAsAByteStream) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  expect_fd_as_stream(p);
}

// One side with pass_descriptors off: both fall back to byte streams.
TEST_F(FdPassing, SenderTurnedOffFallsBackToStreams) {
  libchan::SessionOptions off;
  off.pass_descriptors = false;
  net_test::session_pair p(url(), off, {});
  expect_fd_as_stream(p);
}

TEST_F(FdPassing, ReceiverTurnedOffFallsBackToStreams) {
  libchan::SessionOptions off;
  off.pass_descriptors = false;
  net_test::session_pair p(url(), {}, off);
  expect_fd_as_stream(p);
}

}  // namespace
