// libchan's time extension (ext 6) through the plain extensions.
#include <gtest/gtest.h>

#include "codec_test_support.hpp"

namespace {

using namespace codec_test;
using namespace std::chrono;
using libchan::Time;
using libchan::Value;

std::string encode_hex(Time t) {
  Value v(t);
  return to_hex(libchan::make_msgpack_codec()->encode(v));
}

Time decode_time(const std::string& hex) {
  return libchan::make_msgpack_codec()->decode_exact(from_hex(hex)).as_time();
}

TEST(TimeExtension, GoMasterBytes) {
  const Time t(sys_days(2024y / 1 / 2) + 3h + 4min + 5s + 123456789ns);
  // ext8 (12 is not a fixext size), type 6, seconds 1704164645, nanos 123456789.
  EXPECT_EQ(encode_hex(t), "c70c060000000065937d25075bcd15");
  EXPECT_EQ(decode_time("c70c060000000065937d25075bcd15"), t);
}

TEST(TimeExtension, NegativeTimesFloorTheSeconds) {
  // One nanosecond before the epoch: second -1, nanosecond 999999999.
  EXPECT_EQ(encode_hex(Time(-1ns)), "c70c06ffffffffffffffff3b9ac9ff");
  // -1.5 s: second -2, nanosecond 500000000.
  EXPECT_EQ(encode_hex(Time(-1500ms)), "c70c06fffffffffffffffe1dcd6500");
  EXPECT_EQ(encode_hex(Time(-2s)), "c70c06fffffffffffffffe00000000");
  for (auto t : {Time(-1ns), Time(-1500ms), Time(-2s), Time(sys_days(1900y / 1 / 1)),
                 Time(nanoseconds(INT64_MIN)), Time(nanoseconds(INT64_MAX)), Time(0ns)}) {
    SCOPED_TRACE(t.time_since_epoch().count());
    Value v(t);
    EXPECT_EQ(libchan::make_msgpack_codec()
                  ->decode_exact(libchan::make_msgpack_codec()->encode(v))
                  .as_time(),
              t);
  }
}

TEST(TimeExtension, OutOfRangeSecondsAreRefused) {
  auto codec = libchan::make_msgpack_codec();
  Value v;
  std::error_code ec;
  std::string why;
  // Year ~292 billion: beyond the nanosecond clock.
  codec->decode(from_hex("c70c067fffffffffffffff00000000"), v, libchan::plain_extensions(), ec,
                &why);
  EXPECT_EQ(ec, libchan::errc::decode_error);
  EXPECT_NE(why.find("beyond the nanosecond clock"), std::string::npos) << why;
}

TEST(TimeExtension, PlainHookRefusesResources) {
  auto& hook = libchan::plain_extensions();
  std::int8_t type = 0;
  std::vector<std::uint8_t> payload;
  std::error_code ec;
  Value receiver(libchan::Receiver<Value>{});
  hook.encode_leaf(receiver, type, payload, ec);
  EXPECT_EQ(ec, libchan::errc::not_supported);
  ec.clear();
  Value fd(libchan::Fd{});
  hook.encode_leaf(fd, type, payload, ec);
  EXPECT_EQ(ec, libchan::errc::not_supported);
}

}  // namespace
