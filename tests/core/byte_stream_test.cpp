#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/use_future.hpp>
#include <cstdio>
#include <future>
#include <numeric>
#include <thread>

#include "libchan/byte_stream.hpp"

namespace {

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

TEST(ByteStream, PairCarriesBytesBothWaysAndEof) {
  auto [a, b] = libchan::stream_pair(16);
  std::thread writer([&, &a = a] {
    a.write("hello, ");
    a.write("world");
    a.close_write();
  });
  EXPECT_EQ(b.read_all(), "hello, world");
  writer.join();
  b.write("back");
  b.close_write();
  EXPECT_EQ(a.read_all(), "back");
}

TEST(ByteStream, LargeTransferThroughSmallBuffer) {
  auto [a, b] = libchan::stream_pair(1024);
  std::string data(1 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31);
  std::thread writer([&, &a = a] {
    a.write(data);
    a.close_write();
  });
  EXPECT_EQ(b.read_all(), data);
  writer.join();
}

TEST(ByteStream, WriteAfterReaderClosedFails) {
  auto [a, b] = libchan::stream_pair(8);
  b.close();
  std::error_code ec;
  a.write(bytes("x"), ec);
  EXPECT_EQ(ec, libchan::errc::closed);
}

TEST(ByteStream, AsyncWriteAfterReaderClosedFails) {
  auto [a, b] = libchan::stream_pair(8);
  b.close();
  // More than the buffer holds: a write that "succeeded" into it would be
  // lost, and the next would wait forever.
  for (int i = 0; i < 3; ++i) {
    std::promise<std::error_code> result;
    a.impl()->async_write(bytes("0123456789"),
                          [&](std::error_code ec, std::size_t) { result.set_value(ec); });
    EXPECT_EQ(result.get_future().get(), libchan::errc::closed);
  }
}

TEST(ByteStream, ModesAreEnforced) {
  auto [a, b] = libchan::stream_pair();
  libchan::ByteStream ro(a.impl(), libchan::ByteStream::Mode::read_only);
  std::error_code ec;
  ro.write(bytes("x"), ec);
  EXPECT_EQ(ec, libchan::errc::wrong_direction);
  EXPECT_FALSE(ro.can_write());
  EXPECT_TRUE(ro.can_read());
}

TEST(ByteStream, AsyncReadAndWrite) {
  auto [a, b] = libchan::stream_pair(4);
  std::byte buf[64];
  auto read = b.async_read_some(std::span(buf), boost::asio::use_future);
  auto wrote = a.async_write(bytes("0123456789"), boost::asio::use_future);
  std::size_t n = read.get();
  ASSERT_GT(n, 0u);
  std::string got(reinterpret_cast<char*>(buf), n);
  while (got.size() < 10) {
    n = b.read_some(std::span(buf));
    got.append(reinterpret_cast<char*>(buf), n);
  }
  EXPECT_EQ(wrote.get(), 10u);
  EXPECT_EQ(got, "0123456789");
}

TEST(ByteStream, OverAPipe) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  auto reader =
      libchan::ByteStream::from_fd(libchan::Fd(fds[0]), libchan::ByteStream::Mode::read_only);
  auto writer =
      libchan::ByteStream::from_fd(libchan::Fd(fds[1]), libchan::ByteStream::Mode::write_only);
  writer.write("through a pipe");
  writer.close_write();
  EXPECT_EQ(reader.read_all(), "through a pipe");
}

TEST(ByteStream, OverASocketWithHalfClose) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  auto a = libchan::ByteStream::from_fd(libchan::Fd(fds[0]));
  auto b = libchan::ByteStream::from_fd(libchan::Fd(fds[1]));
  a.write("ping");
  a.close_write();
  EXPECT_EQ(b.read_all(), "ping");
  b.write("pong");  // the other direction still works after the half close
  b.close_write();
  EXPECT_EQ(a.read_all(), "pong");
}

TEST(ByteStream, OverAFile) {
  char path[] = "/tmp/libchan-bytestream-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ::unlink(path);
  ASSERT_EQ(::write(fd, "file contents", 13), 13);
  ::lseek(fd, 0, SEEK_SET);
  auto s = libchan::ByteStream::from_fd(libchan::Fd(fd), libchan::ByteStream::Mode::read_only);
  EXPECT_EQ(s.read_all(), "file contents");
}

TEST(ByteStream, ReadAllEnforcesItsLimit) {
  auto [a, b] = libchan::stream_pair();
  a.write(std::string(100, 'x'));
  a.close_write();
  EXPECT_THROW(b.read_all(10), std::system_error);
}

}  // namespace
