// Plain data written straight from a C++ type (libchan/detail/plain.hpp)
// gives the same bytes as its Value through the msgpack codec, in both
// integer styles, and types that need the session's references are not
// plain.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <unordered_map>

#include "codec/msgpack_detail.hpp"
#include "codec_test_support.hpp"
#include "libchan/fields.hpp"
#include "libchan/libchan.hpp"

namespace {

using namespace codec_test;
using libchan::Binary;
using libchan::IntegerStyle;
using libchan::Value;
using libchan::detail::is_plain_v;

struct Inner {
  std::string name;
  std::optional<double> weight;
  LIBCHAN_FIELDS((name, "Name"), (weight, "Weight"))
};

struct Everything {
  bool flag = false;
  std::int8_t small = 0;
  std::int64_t big = 0;
  std::uint16_t port = 0;
  std::uint64_t huge = 0;
  float ratio = 0;
  double precise = 0;
  std::string text;
  Binary bytes;
  std::vector<std::int32_t> numbers;
  std::vector<bool> bits;
  std::array<std::string, 2> pair;
  std::optional<std::string> maybe;
  std::map<std::string, std::int64_t> counts;
  std::unordered_map<std::int64_t, std::string> names;
  std::vector<Inner> inner;
  LIBCHAN_FIELDS(flag, small, (big, "Big"), port, huge, ratio, precise, (text, "Text"), bytes,
                 numbers, bits, pair, maybe, counts, names, inner)
};

enum class Color { red, green };

struct WithSender {
  libchan::Sender<Value> ret;
  LIBCHAN_FIELDS(ret)
};
struct WithTime {
  libchan::Time when;
  LIBCHAN_FIELDS(when)
};
struct WithValue {
  Value any;
  LIBCHAN_FIELDS(any)
};
struct WithEnum {
  Color color = Color::red;
  LIBCHAN_FIELDS(color)
};
struct NestedSender {
  std::vector<WithSender> replies;
  LIBCHAN_FIELDS(replies)
};

static_assert(is_plain_v<Everything>);
static_assert(is_plain_v<std::map<std::int64_t, std::vector<Binary>>>);
static_assert(!is_plain_v<WithSender>, "channel ends need the session's references");
static_assert(!is_plain_v<NestedSender>);
static_assert(!is_plain_v<WithTime>, "times are an extension type");
static_assert(!is_plain_v<WithValue>, "a Value may hold channel ends");
static_assert(!is_plain_v<WithEnum>, "an enum may have a Convert of the application's own");
static_assert(!is_plain_v<libchan::ByteStream>);
static_assert(!is_plain_v<libchan::Fd>);

// The Value path: convert, then encode with the codec.
template <class T>
Bytes through_value(T copy, IntegerStyle style) {
  auto codec = libchan::make_msgpack_codec({}, style);
  Value v = libchan::to_value(std::move(copy));
  RecordingHook hook;
  Bytes out;
  std::error_code ec;
  codec->encode(v, out, hook, ec);
  EXPECT_FALSE(ec);
  return out;
}

template <class T>
Bytes straight(const T& value, IntegerStyle style) {
  Bytes out{0xaa};  // appended to, like the session's buffer
  EXPECT_TRUE(
      libchan::detail::msgpack_encode_plain(libchan::detail::plain_view<T>(value), out, style));
  EXPECT_EQ(out.at(0), 0xaa) << "what was there stays";
  return Bytes(out.begin() + 1, out.end());
}

Everything sample(std::int64_t big) {
  Everything e;
  e.flag = true;
  e.small = -5;
  e.big = big;
  e.port = 8080;
  e.huge = std::numeric_limits<std::uint64_t>::max();
  e.ratio = 0.25f;
  e.precise = 3.0;  // integral: still float64, as Go writes it
  e.text = std::string(40, 't');
  e.bytes.bytes = {0, 1, 2, 255};
  e.numbers = {0, -1, 127, 128, -33, 70000, std::numeric_limits<std::int32_t>::min()};
  e.bits = {true, false, true};
  e.pair = {"a", std::string(300, 'b')};
  e.counts = {{"x", 1}, {"y", 1 << 20}};
  e.names = {{7, "seven"}};
  e.inner = {{"first", 1.5}, {"second", std::nullopt}};
  return e;
}

TEST(MsgpackPlain, SameBytesAsTheValueInBothIntegerStyles) {
  for (auto style : {IntegerStyle::smallest_signed, IntegerStyle::unsigned_when_nonnegative}) {
    for (std::int64_t big :
         {std::int64_t{0}, std::int64_t{127}, std::int64_t{128}, std::int64_t{40000},
          std::int64_t{1} << 40, std::int64_t{-129}, std::numeric_limits<std::int64_t>::min()}) {
      SCOPED_TRACE("style " + std::to_string(static_cast<int>(style)) + ", Big " +
                   std::to_string(big));
      const Everything e = sample(big);
      EXPECT_EQ(to_hex(straight(e, style)), to_hex(through_value(e, style)));
    }
  }
}

TEST(MsgpackPlain, EmptyAndMissingPartsMatchToo) {
  const Everything empty;  // empty strings, bytes, vectors, maps; nullopt
  for (auto style : {IntegerStyle::smallest_signed, IntegerStyle::unsigned_when_nonnegative})
    EXPECT_EQ(to_hex(straight(empty, style)), to_hex(through_value(empty, style)));
}

TEST(MsgpackPlain, IntegerFormsFollowTheStyle) {
  struct One {
    std::int64_t n = 200;
    LIBCHAN_FIELDS(n)
  };
  // {"n": 200}: Go master keeps it signed (int16), Go v0.1 unsigned (uint8).
  EXPECT_EQ(to_hex(straight(One{}, IntegerStyle::smallest_signed)), "81a16ed100c8");
  EXPECT_EQ(to_hex(straight(One{}, IntegerStyle::unsigned_when_nonnegative)), "81a16eccc8");
}

TEST(MsgpackPlain, DecodesBackToTheSameFields) {
  const Everything e = sample(1234);
  auto codec = libchan::make_msgpack_codec({}, IntegerStyle::smallest_signed);
  RecordingHook hook;
  std::error_code ec;
  std::string why;
  Value v = codec->decode_exact(straight(e, IntegerStyle::smallest_signed), hook, ec, &why);
  ASSERT_FALSE(ec) << why;
  auto back = libchan::from_value<Everything>(std::move(v));
  EXPECT_EQ(back.big, 1234);
  EXPECT_EQ(back.huge, e.huge);
  EXPECT_EQ(back.text, e.text);
  EXPECT_EQ(back.bytes.bytes, e.bytes.bytes);
  EXPECT_EQ(back.numbers, e.numbers);
  EXPECT_EQ(back.bits, e.bits);
  EXPECT_EQ(back.pair, e.pair);
  EXPECT_EQ(back.counts, e.counts);
  EXPECT_EQ(back.names, e.names);
  ASSERT_EQ(back.inner.size(), 2u);
  EXPECT_EQ(back.inner[1].name, "second");
  EXPECT_FALSE(back.inner[1].weight);
}

}  // namespace
