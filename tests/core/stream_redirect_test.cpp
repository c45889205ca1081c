// Redirecting a stream_pair end that was given away (as a session does when
// it sends one). Reads: what the ring holds goes first, then every write
// goes straight to the sink, in order, with the end of stream after it.
// Writes: what was written to the end given away is read first, then the
// reader reads the source itself. Sinks and sources here are other
// stream_pairs, on the test's side.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
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

// Bytes written to `early` before the redirect, then to `late` after it,
// reach `reader` in that order, with the end of `late`'s stream.
template <class Redirect>
void expect_before_then_after(ByteStream& early, Redirect redirect, ByteStream& late,
                              ByteStream& reader) {
  early.write("before, ");
  ASSERT_TRUE(redirect());
  late.write("then after");
  late.close_write();
  EXPECT_EQ(reader.read_all(), "before, then after");
}

TEST(StreamRedirect, BufferedBytesGoFirstThenWritesGoStraightThrough) {
  redirected r(64);
  expect_before_then_after(
      r.writer, [&] { return r.redirect(); }, r.writer, r.out);
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

// The end given away (`given`), whose writes now come from `source`, and
// the application's end that reads them (`reader`).
struct fed {
  explicit fed(std::size_t ring = 64) {
    std::tie(reader, given) = libchan::stream_pair(ring);
    std::tie(source_writer, source) = libchan::stream_pair(4096);
  }
  bool redirect() { return libchan::detail::redirect_writes(given.impl(), source.impl()); }

  ByteStream reader, given;
  ByteStream source_writer, source;
};

TEST(StreamRedirectWrites, BytesWrittenBeforeComeFirstThenTheSourceIsRead) {
  fed f;
  expect_before_then_after(
      f.given, [&] { return f.redirect(); }, f.source_writer, f.reader);
}

TEST(StreamRedirectWrites, AReaderWaitingOnTheEmptyRingGoesOnToTheSource) {
  fed f;
  auto blocking = std::async(std::launch::async, [&] {
    std::array<std::byte, 64> buf{};
    std::error_code ec;
    const std::size_t n = f.reader.impl()->read_some(buf, ec);
    return std::string(reinterpret_cast<const char*>(buf.data()), n);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let it wait
  ASSERT_TRUE(f.redirect());
  f.source_writer.write("hello");
  EXPECT_EQ(blocking.get(), "hello");
}

TEST(StreamRedirectWrites, AnAsyncReadWaitingOnTheEmptyRingGoesOnToTheSource) {
  fed f;
  std::array<std::byte, 64> buf{};
  std::promise<std::size_t> read;
  f.reader.impl()->async_read_some(buf, [&](std::error_code, std::size_t n) { read.set_value(n); });
  ASSERT_TRUE(f.redirect());
  f.source_writer.write("hello");
  EXPECT_EQ(read.get_future().get(), 5u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(buf.data()), 5), "hello");
}

TEST(StreamRedirectWrites, TheEndGivenAwayNoLongerWritesNorEndsTheStream) {
  fed f;
  ASSERT_TRUE(f.redirect());
  std::error_code ec;
  f.given.write(bytes("between"), ec);
  EXPECT_EQ(ec, libchan::errc::closed) << "nothing may come between the source's bytes";
  f.given.close();  // as when the session lets go of it
  f.source_writer.write("still flowing");
  f.source_writer.close_write();
  EXPECT_EQ(f.reader.read_all(), "still flowing");
}

TEST(StreamRedirectWrites, ClosingTheReaderAbandonsTheSource) {
  fed f;
  ASSERT_TRUE(f.redirect());
  f.reader.close();
  // A stream_pair source refuses what nobody will read.
  std::error_code ec;
  f.source_writer.write(bytes("unread"), ec);
  EXPECT_EQ(ec, libchan::errc::closed);
}

TEST(StreamRedirectWrites, AnEndedPipeAndOtherStreamsAreLeftToTheCaller) {
  fed ended;
  ended.given.close_write();
  EXPECT_FALSE(ended.redirect());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  auto s = ByteStream::from_fd(libchan::Fd(fds[1]), ByteStream::Mode::write_only);
  libchan::Fd keep(fds[0]);
  fed f;
  EXPECT_FALSE(libchan::detail::redirect_writes(s.impl(), f.source.impl()));
}

}  // namespace
