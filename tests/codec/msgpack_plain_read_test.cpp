// The receiving half of plain data (libchan/detail/plain.hpp): a message
// that holds no extension type is measured without being built, and read
// straight into a C++ type. A read accepts exactly what from_value accepts
// and gives the same values; what it refuses, from_value refuses too.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <map>
#include <optional>

#include "codec/msgpack_detail.hpp"
#include "codec_test_support.hpp"
#include "libchan/fields.hpp"
#include "libchan/libchan.hpp"

namespace {

using namespace codec_test;
using libchan::Binary;
using libchan::CodecLimits;
using libchan::IntegerStyle;
using libchan::Value;
using libchan::detail::msgpack_measure_plain;
using libchan::detail::plain_item;

struct Point {
  std::int32_t x = 0;
  std::optional<double> y;
  LIBCHAN_FIELDS((x, "X"), (y, "Y"))
};

struct Record {
  bool flag = false;
  std::int8_t small = 0;
  std::uint16_t port = 0;
  float ratio = 0;
  double precise = 0;
  std::string text;
  Binary bytes;
  std::vector<std::int64_t> numbers;
  std::array<std::string, 2> pair;
  std::map<std::string, Point> points;
  std::optional<Point> maybe;
  LIBCHAN_FIELDS(flag, small, port, ratio, precise, (text, "Text"), bytes, numbers, pair, points,
                 maybe)
};

Bytes encode(Value&& v) {
  auto codec = libchan::make_msgpack_codec({}, IntegerStyle::smallest_signed);
  RecordingHook hook;
  Bytes out;
  std::error_code ec;
  codec->encode(v, out, hook, ec);
  EXPECT_FALSE(ec) << ec.message();
  return out;
}

// The message read straight into T, or nullopt if the read refused it.
// An array of the arguments (Value moves only).
template <class... V>
Value array(V&&... v) {
  Value::Array a;
  (a.push_back(Value(std::forward<V>(v))), ...);
  return Value(std::move(a));
}

template <class T>
Bytes encode_typed(T value) {
  return encode(libchan::to_value(std::move(value)));
}

template <class T>
std::optional<T> read_plain(const Bytes& bytes) {
  EXPECT_EQ(msgpack_measure_plain(bytes, CodecLimits{}), bytes.size()) << "measured whole";
  std::vector<plain_item> items;
  if (!libchan::detail::msgpack_plain_items(bytes, items)) return std::nullopt;
  std::optional<T> out;
  libchan::detail::plain_reading<T> into(out);
  libchan::detail::plain_items in(items);
  const bool read = into.read(in);
  EXPECT_EQ(read, out.has_value());
  return out;
}

// The same message through a Value and from_value, or nullopt if that fails.
template <class T>
std::optional<T> through_value(const Bytes& bytes) {
  auto codec = libchan::make_msgpack_codec();
  std::error_code ec;
  Value v = codec->decode_exact(bytes, libchan::plain_extensions(), ec);
  EXPECT_FALSE(ec) << ec.message();
  T out{};
  if (!libchan::from_value(std::move(v), out, ec)) return std::nullopt;
  return out;
}

// Both ways agree: the same refusal, or the same value (compared by its
// encoding).
template <class T>
void expect_same_reading(Value&& message) {
  const Bytes bytes = encode(std::move(message));
  auto direct = read_plain<T>(bytes);
  auto converted = through_value<T>(bytes);
  ASSERT_EQ(direct.has_value(), converted.has_value())
      << (direct ? "the read accepted what from_value refused" : "the read refused")
      << " the message " << to_hex(bytes);
  if (direct) {
    EXPECT_EQ(to_hex(encode_typed(*direct)), to_hex(encode_typed(*converted)));
  }
}

Value sample_record() {
  using libchan::make_map;
  return make_map("flag", true, "small", -5, "port", 8080, "ratio", 0.25, "precise", 3, "Text",
                  std::string(40, 't'), "bytes", Binary{{0, 1, 255}}, "numbers",
                  array(0, -1, std::int64_t{1} << 40), "pair", array("a", std::string(300, 'b')),
                  "points", make_map("a", make_map("X", 1, "Y", 2.5), "b", make_map("X", -7)),
                  "maybe", make_map("X", 3, "Y", Value()));
}

TEST(MsgpackPlainRead, MeasuresOnlyWholePlainValuesWithinTheLimits) {
  Bytes two = encode(sample_record());
  const std::size_t first = two.size();
  two.push_back(0xc0);  // the next message starts here
  EXPECT_EQ(msgpack_measure_plain(two, CodecLimits{}), first);

  const Bytes whole = encode(sample_record());
  EXPECT_EQ(msgpack_measure_plain(Bytes(whole.begin(), whole.end() - 1), CodecLimits{}), 0u)
      << "incomplete";
  EXPECT_EQ(
      msgpack_measure_plain(encode(libchan::make_map("When", libchan::Time{})), CodecLimits{}), 0u)
      << "a time is an extension type";
  EXPECT_EQ(msgpack_measure_plain(Bytes{0xc1}, CodecLimits{}), 0u) << "an invalid byte";
  EXPECT_EQ(msgpack_measure_plain(Bytes{}, CodecLimits{}), 0u);

  CodecLimits tight;
  tight.max_string_size = 39;
  EXPECT_EQ(msgpack_measure_plain(whole, tight), 0u) << "a 40-byte string";
  tight = {};
  tight.max_depth = 2;
  EXPECT_EQ(msgpack_measure_plain(whole, tight), 0u) << "points nest three deep";
  tight = {};
  tight.max_elements = 10;
  EXPECT_EQ(msgpack_measure_plain(whole, tight), 0u);
  tight = {};
  tight.max_message_size = whole.size() - 1;
  EXPECT_EQ(msgpack_measure_plain(whole, tight), 0u);
}

TEST(MsgpackPlainRead, ReadsWhatFromValueReads) {
  using libchan::make_map;
  expect_same_reading<Record>(sample_record());
  expect_same_reading<Record>(Value());  // nil: the defaults
  expect_same_reading<Record>(make_map());
  // Keys that are not fields, with containers under them, are skipped.
  Value extra = sample_record();
  extra.as_map().push_back({Value("Other"), make_map("deep", array(1, Value()))});
  extra.as_map().insert(extra.as_map().begin(), {Value(7), array(1)});
  extra.as_map().push_back({array(1), Value(2)});
  expect_same_reading<Record>(std::move(extra));
  // A repeated key: the last one wins.
  expect_same_reading<Record>(make_map("small", 1, "small", 2));
  // Either string kind, nil bytes, nil containers, integers as floats.
  expect_same_reading<Record>(make_map("Text", Binary{{'h', 'i'}}, "bytes", "text"));
  expect_same_reading<Record>(make_map("bytes", Value(), "numbers", Value(), "points", Value()));
  expect_same_reading<Record>(make_map("ratio", 3, "precise", std::uint64_t{1} << 63));
  expect_same_reading<Record>(make_map("port", std::uint64_t{65535}));
}

TEST(MsgpackPlainRead, RefusesWhatFromValueRefuses) {
  using libchan::make_map;
  std::vector<Value> bad;
  bad.push_back(make_map("small", 128));  // out of int8's range
  bad.push_back(make_map("port", -1));    // out of uint16's range
  bad.push_back(make_map("port", std::numeric_limits<std::uint64_t>::max()));
  bad.push_back(make_map("ratio", 1e300));  // beyond float's range
  bad.push_back(make_map("flag", 1));       // not a bool
  bad.push_back(make_map("Text", 5));       // not a string
  bad.push_back(make_map("numbers", make_map()));
  bad.push_back(make_map("numbers", array("x")));  // a bad element
  bad.push_back(make_map("pair", array("one")));   // std::array needs 2
  bad.push_back(make_map("pair", Value()));        // and is not optional
  bad.push_back(make_map("points", make_map("a", make_map("X", "1"))));
  bad.push_back(make_map("maybe", 4));
  bad.push_back(array());  // not a map
  bad.push_back(Value("text"));
  for (auto& message : bad) {
    const Bytes bytes = encode(std::move(message));
    SCOPED_TRACE(to_hex(bytes));
    EXPECT_FALSE(read_plain<Record>(bytes));
    EXPECT_FALSE(through_value<Record>(bytes));
  }
}

}  // namespace
