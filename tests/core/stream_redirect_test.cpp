// Redirecting a stream_pair whose reading end was given away (as a session
// does when it sends one): what the ring holds goes first, then every write
// goes straight to the sink, in order, with the end of stream after it. The
// sink here is another stream_pair, read on the test's side.
#include <gtest/gtest.h>
#include <unistd.h>

#include <future>
#include <string>
#include <thread>

#include "core/stream_redirect.hpp"
#include "libchan/byte_stream.hpp"

namespace {

using libchan::ByteStream;

std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(i * 131 + i / 7);
  return s;
}

struct redirected {
  explicit redirected(std::size_t ring) {
    std::tie(writer, given) = libchan::stream_pair(ring);
    std::tie(sink, out) = libchan::stream_pair(4096);
  }
  bool redirect() { return libchan::detail::redirect_reads(given.impl(), sink.impl()); }

  ByteStream writer, given;  // the application's end, and the end sent away
  ByteStream sink, out;      // where the bytes go, and where the test reads them
};

TEST(StreamRedirect, BufferedBytesGoFirstThenWritesGoStraightThrough) {
  redirected r(64);
  r.writer.write("buffered, ");
  ASSERT_TRUE(r.redirect());
  r.writer.write("then direct");
  r.writer.close_write();
  EXPECT_EQ(r.out.read_all(), "buffered, then direct");
}

TEST(StreamRedirect, AWriterBlockedOnAFullRingGoesOnAfterTheRedirect) {
  redirected r(1024);
  const std::string data = pattern(1 << 20);
  std::thread writer([&] {
    r.writer.write(data);
    r.writer.close_write();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it fill the ring
  ASSERT_TRUE(r.redirect());
  EXPECT_EQ(r.out.read_all(2u << 20), data);
  writer.join();
}

TEST(StreamRedirect, AsyncWritesKeepTheirOrder) {
  redirected r(16);
  std::promise<std::error_code> first_done;
  const std::string first = pattern(100), second = "and the rest";
  r.writer.impl()->async_write(bytes(first),
                               [&](std::error_code ec, std::size_t) { first_done.set_value(ec); });
  ASSERT_TRUE(r.redirect());
  std::thread reader([&] { EXPECT_EQ(r.out.read_all(), first + second); });
  EXPECT_FALSE(first_done.get_future().get());
  std::promise<std::error_code> second_done;
  r.writer.impl()->async_write(bytes(second),
                               [&](std::error_code ec, std::size_t) { second_done.set_value(ec); });
  EXPECT_FALSE(second_done.get_future().get());
  r.writer.close_write();
  reader.join();
}

TEST(StreamRedirect, AnEndOfStreamBeforeTheRedirectIsPassedOn) {
  redirected r(64);
  r.writer.write("all of it");
  r.writer.close_write();
  ASSERT_TRUE(r.redirect());
  EXPECT_EQ(r.out.read_all(), "all of it");
}

TEST(StreamRedirect, ClosingTheEndGivenAwayDoesNotStopTheWriter) {
  redirected r(64);
  ASSERT_TRUE(r.redirect());
  r.given.close();
  std::error_code ec;
  r.writer.write(bytes("still flowing"), ec);
  EXPECT_FALSE(ec) << ec.message();
  r.writer.close_write();
  EXPECT_EQ(r.out.read_all(), "still flowing");
}

TEST(StreamRedirect, AFailingSinkFailsTheWriter) {
  redirected r(64);
  ASSERT_TRUE(r.redirect());
  r.out.close();  // nobody reads the sink any more
  std::error_code ec;
  r.writer.write(bytes("lost"), ec);
  EXPECT_EQ(ec, libchan::errc::closed);
}

TEST(StreamRedirect, AFailingSinkFailsTheWriterWhileTheRingDrains) {
  redirected r(64);
  r.out.close();
  r.writer.write("queued");
  ASSERT_TRUE(r.redirect());  // the flush fails
  std::error_code ec;
  for (int i = 0; i < 100 && !ec; ++i) r.writer.write(bytes(pattern(64)), ec);
  EXPECT_EQ(ec, libchan::errc::closed);
}

TEST(StreamRedirect, OtherStreamsAreLeftToTheCaller) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto s = ByteStream::from_fd(libchan::Fd(fds[0]), ByteStream::Mode::read_only);
  libchan::Fd keep(fds[1]);
  redirected r(64);
  EXPECT_FALSE(libchan::detail::redirect_reads(s.impl(), r.sink.impl()));
}

}  // namespace
