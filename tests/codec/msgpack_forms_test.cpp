// Byte-exact msgpack forms: integers in both styles, strings, binaries,
// containers, floats, extensions; and round trips of every Value kind.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "codec_test_support.hpp"
#include "libchan/pipe.hpp"

namespace {

using namespace codec_test;
using libchan::IntegerStyle;
using libchan::Value;

std::string encode_hex(Value v, IntegerStyle style = IntegerStyle::smallest_signed) {
  auto codec = libchan::make_msgpack_codec({}, style);
  return to_hex(codec->encode(v));
}

Value decode(const Bytes& bytes) { return libchan::make_msgpack_codec()->decode_exact(bytes); }

struct IntCase {
  std::int64_t value;
  const char* signed_hex;
  const char* unsigned_hex;
};

const IntCase int_cases[] = {
    {0, "00", "00"},
    {127, "7f", "7f"},
    {128, "d10080", "cc80"},
    {255, "d100ff", "ccff"},
    {256, "d10100", "cd0100"},
    {32767, "d17fff", "cd7fff"},
    {32768, "d200008000", "cd8000"},
    {65535, "d20000ffff", "cdffff"},
    {65536, "d200010000", "ce00010000"},
    {2147483647, "d27fffffff", "ce7fffffff"},
    {2147483648, "d30000000080000000", "ce80000000"},
    {4294967296, "d30000000100000000", "cf0000000100000000"},
    {INT64_MAX, "d37fffffffffffffff", "cf7fffffffffffffff"},
    {-1, "ff", "ff"},
    {-32, "e0", "e0"},
    {-33, "d0df", "d0df"},
    {-128, "d080", "d080"},
    {-129, "d1ff7f", "d1ff7f"},
    {-32768, "d18000", "d18000"},
    {-32769, "d2ffff7fff", "d2ffff7fff"},
    {INT64_MIN, "d38000000000000000", "d38000000000000000"},
};

TEST(MsgpackForms, Int64InBothStylesIsByteExactAndRoundTrips) {
  for (const auto& c : int_cases) {
    SCOPED_TRACE(c.value);
    EXPECT_EQ(encode_hex(c.value, IntegerStyle::smallest_signed), c.signed_hex);
    EXPECT_EQ(encode_hex(c.value, IntegerStyle::unsigned_when_nonnegative), c.unsigned_hex);
    for (auto style : {IntegerStyle::smallest_signed, IntegerStyle::unsigned_when_nonnegative}) {
      auto codec = libchan::make_msgpack_codec({}, style);
      Value v(c.value);
      auto bytes = codec->encode(v);
      Value back = codec->decode_exact(bytes);
      EXPECT_EQ(back.as_int(), c.value);
      // Same style, same bytes: the decoded kind remembers the form.
      EXPECT_EQ(to_hex(codec->encode(back)), to_hex(bytes));
    }
  }
}

TEST(MsgpackForms, Uint64AlwaysTakesTheSmallestUnsignedForm) {
  const std::pair<std::uint64_t, const char*> cases[] = {
      {0, "00"},
      {127, "7f"},
      {128, "cc80"},
      {255, "ccff"},
      {256, "cd0100"},
      {65535, "cdffff"},
      {65536, "ce00010000"},
      {4294967295u, "ceffffffff"},
      {4294967296u, "cf0000000100000000"},
      {UINT64_MAX, "cfffffffffffffffff"},
  };
  for (auto [value, hex] : cases) {
    SCOPED_TRACE(value);
    EXPECT_EQ(encode_hex(value, IntegerStyle::smallest_signed), hex);
    EXPECT_EQ(encode_hex(value, IntegerStyle::unsigned_when_nonnegative), hex);
  }
  Value big = decode(from_hex("cfffffffffffffffff"));
  EXPECT_EQ(big.kind(), Value::Kind::uint64);
  EXPECT_EQ(big.as_uint(), UINT64_MAX);
}

TEST(MsgpackForms, DecodedIntegerKindFollowsTheWireForm) {
  EXPECT_EQ(decode(from_hex("05")).kind(), Value::Kind::int64);
  EXPECT_EQ(decode(from_hex("d100c8")).kind(), Value::Kind::int64);
  EXPECT_EQ(decode(from_hex("d100c8")).as_int(), 200);
  EXPECT_EQ(decode(from_hex("d30000010000000000")).kind(), Value::Kind::int64);
  EXPECT_EQ(decode(from_hex("ccc8")).kind(), Value::Kind::uint64);
  EXPECT_EQ(decode(from_hex("cd012c")).as_uint(), 300u);
  EXPECT_EQ(decode(from_hex("cf0000010000000000")).kind(), Value::Kind::uint64);
  EXPECT_EQ(decode(from_hex("d0ff")).as_int(), -1);
}

TEST(MsgpackForms, ScalarsAndFloats) {
  EXPECT_EQ(encode_hex(Value()), "c0");
  EXPECT_EQ(encode_hex(true), "c3");
  EXPECT_EQ(encode_hex(false), "c2");
  // float64 always, even for integral values (Go's float64).
  EXPECT_EQ(encode_hex(1.0), "cb3ff0000000000000");
  EXPECT_EQ(encode_hex(1.5), "cb3ff8000000000000");
  EXPECT_EQ(encode_hex(-0.0), "cb8000000000000000");
  EXPECT_EQ(decode(from_hex("cb3ff8000000000000")).as_double(), 1.5);
  Value f32 = decode(from_hex("ca3fc00000"));
  EXPECT_EQ(f32.kind(), Value::Kind::float64);
  EXPECT_EQ(f32.as_double(), 1.5);
  EXPECT_TRUE(std::isnan(decode(from_hex("cb7ff8000000000000")).as_double()));
  EXPECT_TRUE(decode(from_hex("c0")).is_nil());
  EXPECT_TRUE(decode(from_hex("c3")).as_bool());
  EXPECT_FALSE(decode(from_hex("c2")).as_bool());
}

TEST(MsgpackForms, StringAndBinaryLengths) {
  const std::pair<std::size_t, const char*> strings[] = {
      {0, "a0"},       {31, "bf"},        {32, "d920"},          {255, "d9ff"},
      {256, "da0100"}, {65535, "daffff"}, {65536, "db00010000"},
  };
  for (auto [n, header] : strings) {
    SCOPED_TRACE(n);
    std::string s(n, 'x');
    auto hex = encode_hex(s);
    EXPECT_EQ(hex.substr(0, std::string(header).size()), header);
    EXPECT_EQ(hex.size(), std::string(header).size() + 2 * n);
    EXPECT_EQ(decode(from_hex(hex)).as_string(), s);
  }
  const std::pair<std::size_t, const char*> binaries[] = {
      {0, "c400"}, {255, "c4ff"}, {256, "c50100"}, {65535, "c5ffff"}, {65536, "c600010000"},
  };
  for (auto [n, header] : binaries) {
    SCOPED_TRACE(n);
    libchan::Binary b{Bytes(n, 0xab)};
    auto hex = encode_hex(b);
    EXPECT_EQ(hex.substr(0, std::string(header).size()), header);
    Value back = decode(from_hex(hex));
    EXPECT_EQ(back.as_binary(), b);
  }
  // str8 is accepted and comes back as str8 (Go v0.1 wrote it).
  EXPECT_EQ(encode_hex(decode(from_hex("d903616263"))), "a3616263");
}

TEST(MsgpackForms, ContainerHeaders) {
  auto array_of = [](std::size_t n) {
    Value::Array a;
    for (std::size_t i = 0; i < n; ++i) a.emplace_back(1);
    return Value(std::move(a));
  };
  EXPECT_EQ(encode_hex(array_of(0)), "90");
  EXPECT_EQ(encode_hex(array_of(15)).substr(0, 2), "9f");
  EXPECT_EQ(encode_hex(array_of(16)).substr(0, 6), "dc0010");
  EXPECT_EQ(encode_hex(array_of(65536)).substr(0, 10), "dd00010000");
  Value::Map m;
  for (int i = 0; i < 16; ++i) m.push_back({Value(i), Value()});
  EXPECT_EQ(encode_hex(Value(std::move(m))).substr(0, 6), "de0010");
  EXPECT_EQ(encode_hex(Value(Value::Map())), "80");
}

TEST(MsgpackForms, MapsKeepKeyOrderAndAnyKeyType) {
  Value m = libchan::make_map("z", 1, "a", 2, 7, "seven", nullptr, true);
  m.as_map().push_back({libchan::make_array(1, 2), Value(Value::Map())});
  EXPECT_EQ(encode_hex(m.clone()),
            "85a17a01a16102"
            "07a5736576656e"
            "c0c3"
            "92010280");
  Value back = decode(from_hex(encode_hex(m.clone())));
  EXPECT_EQ(back, m);
  ASSERT_EQ(back.as_map().size(), 5u);
  EXPECT_EQ(back.as_map()[0].key.as_string(), "z");
  EXPECT_EQ(back.as_map()[2].key.as_int(), 7);
  EXPECT_TRUE(back.as_map()[3].key.is_nil());
  EXPECT_TRUE(back.as_map()[4].key.is_array());
}

TEST(MsgpackForms, ExtensionFormsFollowThePayloadSize) {
  const std::pair<std::size_t, const char*> cases[] = {
      {0, "c70005"},  {1, "d405"},     {2, "d505"},       {3, "c70305"},
      {4, "d605"},    {8, "d705"},     {16, "d805"},      {12, "c70c05"},
      {17, "c71105"}, {255, "c7ff05"}, {256, "c8010005"}, {65536, "c90001000005"},
  };
  auto codec = libchan::make_msgpack_codec();
  for (auto [n, header] : cases) {
    SCOPED_TRACE(n);
    RecordingHook hook;
    Bytes payload(n);
    for (std::size_t i = 0; i < n; ++i) payload[i] = static_cast<std::uint8_t>(i);
    hook.decoded.push_back({5, payload});
    Value marker(libchan::Sender<Value>{});
    std::vector<std::uint8_t> out;
    std::error_code ec;
    codec->encode(marker, out, hook, ec);
    ASSERT_FALSE(ec) << ec.message();
    auto hex = to_hex(out);
    EXPECT_EQ(hex.substr(0, std::string(header).size()), header);
    EXPECT_EQ(out.size(), std::string(header).size() / 2 + n);

    RecordingHook reader;
    Value back = codec->decode_exact(out, reader, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(back.kind(), Value::Kind::sender);
    ASSERT_EQ(reader.decoded.size(), 1u);
    EXPECT_EQ(reader.decoded[0], (RecordingHook::Ext{5, payload}));
  }
}

TEST(MsgpackForms, NegativeExtensionTypesSurvive) {
  auto codec = libchan::make_msgpack_codec();
  RecordingHook reader;
  std::error_code ec;
  codec->decode_exact(from_hex("d4ff2a"), reader, ec);
  ASSERT_FALSE(ec);
  ASSERT_EQ(reader.decoded.size(), 1u);
  EXPECT_EQ(reader.decoded[0].type, -1);
  EXPECT_EQ(reader.decoded[0].payload, Bytes{0x2a});
}

TEST(MsgpackForms, EveryKindRoundTrips) {
  using namespace std::chrono;
  auto codec = libchan::make_msgpack_codec();
  Value v =
      libchan::make_map("nil", nullptr, "bool", true, "int", -5, "uint", std::uint64_t{1} << 63,
                        "float", 0.25, "string", "héllo", "binary", libchan::Binary{{0, 1, 2, 255}},
                        "array", libchan::make_array(1, "two", 3.0, libchan::make_array()), "map",
                        libchan::make_map(1, 2, "k", Value(Value::Map())), "time",
                        libchan::Time(sys_days(2024y / 1 / 2) + 3h + 4min + 5s + 123456789ns));
  Value copy = v.clone();
  auto bytes = codec->encode(v);
  Value back = codec->decode_exact(bytes);
  EXPECT_EQ(back, copy) << back.to_string();
  EXPECT_EQ(back.find("uint")->kind(), Value::Kind::uint64);
  EXPECT_EQ(back.find("time")->kind(), Value::Kind::time);
  EXPECT_EQ(to_hex(codec->encode(back)), to_hex(bytes));
}

TEST(MsgpackForms, DeepButAllowedNestingRoundTrips) {
  auto codec = libchan::make_msgpack_codec();
  Value v(1);
  for (std::size_t i = 0; i < libchan::CodecLimits::default_max_depth; ++i)
    v = libchan::make_array(std::move(v));
  Value copy = v.clone();
  EXPECT_EQ(codec->decode_exact(codec->encode(v)), copy);
}

// A hook may encode a message of its own while the codec encodes: the two
// encodings do not share a buffer.
class NestingHook final : public libchan::ExtensionHook {
 public:
  void encode_leaf(Value&, std::int8_t& type, std::vector<std::uint8_t>& payload,
                   std::error_code& ec) override {
    Value inner = libchan::make_map("inner", std::string(600, 'i'));
    codec->encode(inner, payload, libchan::plain_extensions(), ec);
    type = 9;
  }
  Value decode_ext(std::int8_t, std::span<const std::uint8_t> payload, std::error_code&) override {
    return Value(libchan::Binary{{payload.begin(), payload.end()}});
  }
  std::unique_ptr<libchan::Codec> codec = libchan::make_msgpack_codec();
};

TEST(MsgpackForms, AnEncodingInsideAHookKeepsItsOwnBuffer) {
  auto codec = libchan::make_msgpack_codec();
  NestingHook hook;
  // Long strings around the leaf make both encodings grow past their
  // first buffer.
  Value v = libchan::make_map("before", std::string(700, 'b'), "leaf", libchan::Sender<Value>(),
                              "after", std::string(900, 'a'));
  auto [rx, tx] = libchan::pipe<Value>();
  v.as_map()[1].value = Value(std::move(tx));
  std::vector<std::uint8_t> out{1, 2, 3};
  std::error_code ec;
  codec->encode(v, out, hook, ec);
  ASSERT_FALSE(ec) << ec.message();
  ASSERT_EQ(Bytes(out.begin(), out.begin() + 3), (Bytes{1, 2, 3}))
      << "appended after what was there";
  Value back = codec->decode_exact(std::span<const std::uint8_t>(out).subspan(3), hook, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(back.find("before")->as_string(), std::string(700, 'b'));
  EXPECT_EQ(back.find("after")->as_string(), std::string(900, 'a'));
  const auto& inner_bytes = back.find("leaf")->as_binary().bytes;
  Value inner = codec->decode_exact(inner_bytes);
  EXPECT_EQ(inner.find("inner")->as_string(), std::string(600, 'i'));
}

// Long bodies go to the output as they come; an encoding that fails after
// one takes back all it wrote.
TEST(MsgpackForms, AFailedEncodingLeavesTheOutputAsItWas) {
  auto codec = libchan::make_msgpack_codec();
  auto [rx, tx] = libchan::pipe<Value>();
  Value v = libchan::make_map("long", std::string(5000, 'x'), "leaf", std::move(tx));
  std::vector<std::uint8_t> out{1, 2, 3};
  std::error_code ec;
  codec->encode(v, out, libchan::plain_extensions(), ec);
  ASSERT_TRUE(ec) << "a channel end has no plain encoding";
  EXPECT_EQ(out, (Bytes{1, 2, 3}));
}

}  // namespace
