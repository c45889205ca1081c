// The JSON codec: its documented mapping, round trips, limits and errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "codec_test_support.hpp"

namespace {

using namespace codec_test;
using namespace std::chrono;
using libchan::CodecLimits;
using libchan::errc;
using libchan::Value;
using ::testing::HasSubstr;

std::string to_json(Value v) {
  auto bytes = libchan::make_json_codec()->encode(v);
  return std::string(bytes.begin(), bytes.end());
}

Value from_json(std::string_view text) {
  return libchan::make_json_codec()->decode_exact(text_bytes(text));
}

struct Outcome {
  std::size_t used = 0;
  std::error_code ec;
  std::string detail;
  std::size_t hook_calls = 0;
};

Outcome decode(std::string_view text, CodecLimits limits = {}) {
  RecordingHook hook;
  Value v;
  Outcome o;
  o.used = libchan::make_json_codec(limits)->decode(text_bytes(text), v, hook, o.ec, &o.detail);
  o.hook_calls = hook.decode_calls;
  return o;
}

TEST(JsonCodec, ScalarsMapNaturally) {
  EXPECT_EQ(to_json(Value()), "null");
  EXPECT_EQ(to_json(true), "true");
  EXPECT_EQ(to_json(-5), "-5");
  EXPECT_EQ(to_json(UINT64_MAX), "18446744073709551615");
  EXPECT_EQ(to_json(INT64_MIN), "-9223372036854775808");
  EXPECT_EQ(to_json(1.0), "1.0");
  EXPECT_EQ(to_json(0.1), "0.1");
  EXPECT_EQ(to_json("a\"b\n\u00e9"), "\"a\\\"b\\n\u00e9\"");
  EXPECT_EQ(from_json("5").kind(), Value::Kind::int64);
  EXPECT_EQ(from_json("-9223372036854775808").as_int(), INT64_MIN);
  EXPECT_EQ(from_json("9223372036854775808").kind(), Value::Kind::uint64);
  EXPECT_EQ(from_json("1.0").kind(), Value::Kind::float64);
  EXPECT_EQ(from_json(" \"x\" ").as_string(), "x");
}

TEST(JsonCodec, SpecialFloats) {
  EXPECT_EQ(to_json(std::numeric_limits<double>::infinity()), R"({"$float":"Infinity"})");
  EXPECT_EQ(to_json(-std::numeric_limits<double>::infinity()), R"({"$float":"-Infinity"})");
  EXPECT_EQ(to_json(std::nan("")), R"({"$float":"NaN"})");
  EXPECT_TRUE(std::isnan(from_json(R"({"$float":"NaN"})").as_double()));
  EXPECT_EQ(from_json(R"({"$float":"-Infinity"})").as_double(),
            -std::numeric_limits<double>::infinity());
  EXPECT_EQ(decode(R"({"$float":"1.5"})").ec, errc::decode_error);
}

TEST(JsonCodec, MapsBinaryAndTimes) {
  EXPECT_EQ(to_json(libchan::make_map("b", 1, "a", libchan::Binary{{1, 2, 3}})),
            R"({"b":1,"a":{"$bin":"AQID"}})");
  EXPECT_EQ(to_json(libchan::make_map(1, "one", "two", 2)), R"({"$map":[[1,"one"],["two",2]]})");
  // Keys starting with "$" and repeated keys take the general form too.
  EXPECT_EQ(to_json(libchan::make_map("$bin", "x")), R"({"$map":[["$bin","x"]]})");
  EXPECT_EQ(to_json(libchan::make_map("k", 1, "k", 2)), R"({"$map":[["k",1],["k",2]]})");
  const libchan::Time t(sys_days(2024y / 1 / 2) + 3h + 4min + 5s + 123456789ns);
  EXPECT_EQ(to_json(t), R"({"$time":"2024-01-02T03:04:05.123456789Z"})");
  EXPECT_EQ(from_json(R"({"$time":"2024-01-02T04:04:05.123456789+01:00"})").as_time(), t);
  EXPECT_EQ(from_json(R"({"$time":"2024-01-02T03:04:05Z"})").as_time(), t - 123456789ns);
  EXPECT_EQ(from_json(R"({"$time":"1969-12-31T23:59:59.5Z"})").as_time(), libchan::Time(-500ms));
  Value m = from_json(R"({"z":1,"a":{"$bin":""},"m":{"$map":[[null,[true]]]}})");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m.as_map()[0].key.as_string(), "z");
  EXPECT_TRUE(m.find("a")->as_binary().bytes.empty());
  EXPECT_TRUE(m.find("m")->as_map()[0].key.is_nil());
}

TEST(JsonCodec, EveryPlainKindRoundTrips) {
  Value v = libchan::make_map(
      "nil", nullptr, "bool", false, "int", -5, "big", UINT64_MAX, "float", 0.25, "inf",
      std::numeric_limits<double>::infinity(), "string", "h\u00e9llo \"quoted\"", "binary",
      libchan::Binary{{0, 1, 2, 255, 254}}, "array", libchan::make_array(1, "two", 3.0), "map",
      libchan::make_map(1, 2, "$k", Value(Value::Map())), "time", libchan::Time(-1ns), "early",
      libchan::Time(sys_days(1700y / 3 / 4) + 1ns), "nested",
      libchan::make_array(libchan::make_array(Value())));
  Value copy = v.clone();
  auto codec = libchan::make_json_codec();
  auto bytes = codec->encode(v);
  Value back = codec->decode_exact(bytes);
  EXPECT_EQ(back, copy) << std::string(bytes.begin(), bytes.end());
  EXPECT_EQ(codec->encode(back), bytes);
}

TEST(JsonCodec, LeavesTravelThroughTheHookAsExt) {
  auto codec = libchan::make_json_codec();
  RecordingHook writer;
  writer.decoded.push_back({4, {0, 0, 0, 3}});
  Value v = libchan::make_map("Ret", libchan::Sender<Value>{}, "Seq", 2);
  std::vector<std::uint8_t> out;
  std::error_code ec;
  codec->encode(v, out, writer, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(std::string(out.begin(), out.end()), R"({"Ret":{"$ext":4,"data":"AAAAAw=="},"Seq":2})");
  RecordingHook reader;
  Value back = codec->decode_exact(out, reader, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(back.find("Ret")->kind(), Value::Kind::sender);
  ASSERT_EQ(reader.decoded.size(), 1u);
  EXPECT_EQ(reader.decoded[0], (RecordingHook::Ext{4, {0, 0, 0, 3}}));
  // Key order of the $ext object does not matter; the plain hook refuses it.
  auto o = decode(R"({"data":"AA==","$ext":-3})");
  EXPECT_FALSE(o.ec) << o.detail;
  EXPECT_EQ(o.hook_calls, 1u);
  Value ignored;
  codec->decode(text_bytes(R"([{"$ext":9,"data":""}])"), ignored, libchan::plain_extensions(), ec,
                &o.detail);
  EXPECT_EQ(ec, errc::decode_error);
  EXPECT_EQ(o.detail, "json: unknown extension type 9");
}

TEST(JsonCodec, IncompleteDocumentsWaitAndBadOnesFail) {
  const std::string doc =
      R"({"Message":"with-ret","Seq":2,"Ret":{"$ext":4,"data":"AAAAAw=="},"L":[1.5,true,null]})";
  for (std::size_t cut = 0; cut < doc.size(); ++cut) {
    auto o = decode(std::string_view(doc).substr(0, cut));
    ASSERT_EQ(o.used, 0u) << cut;
    ASSERT_FALSE(o.ec) << cut << ": " << o.detail;
    ASSERT_EQ(o.hook_calls, 0u);
  }
  auto whole = decode(doc);
  EXPECT_EQ(whole.used, doc.size());
  EXPECT_EQ(whole.hook_calls, 1u);

  auto trailing = decode(doc + " x");
  EXPECT_EQ(trailing.ec, errc::decode_error);
  EXPECT_EQ(trailing.hook_calls, 0u);
  EXPECT_EQ(decode("[1,}").ec, errc::decode_error);
  EXPECT_EQ(decode(R"({"a":{"$bin":"A"}})").ec, errc::decode_error);
  EXPECT_THAT(decode(R"({"a":{"$bin":"A"}})").detail, HasSubstr("$bin does not hold valid base64"));
  EXPECT_THAT(decode(R"({"$time":"2024-13-01T00:00:00Z"})").detail,
              HasSubstr("is not an RFC 3339 time"));
  EXPECT_THAT(decode(R"({"$schema":"x"})").detail, HasSubstr("reserved"));
  EXPECT_THAT(decode(R"({"$map":[[1]]})").detail, HasSubstr("[key, value] pairs"));
  EXPECT_THAT(decode(R"({"$ext":300,"data":""})").detail, HasSubstr("extension type"));
  // A malformed $ext after a good one: the hook sees neither.
  EXPECT_EQ(decode(R"([{"$ext":4,"data":"AA=="},{"$ext":4,"data":"!"}])").hook_calls, 0u);
}

TEST(JsonCodec, Limits) {
  CodecLimits limits;
  limits.max_depth = 2;
  EXPECT_FALSE(decode("[[1]]", limits).ec);
  EXPECT_EQ(decode("[[[1]]]", limits).ec, errc::limit_exceeded);
  EXPECT_THAT(decode("[[[1]]]", limits).detail, HasSubstr("max_depth (2)"));

  limits = {};
  limits.max_elements = 3;
  EXPECT_FALSE(decode(R"([1,{"a":2}])", limits).ec);
  EXPECT_THAT(decode(R"([1,{"a":2,"b":3}])", limits).detail, HasSubstr("max_elements (3)"));

  limits = {};
  limits.max_string_size = 3;
  EXPECT_FALSE(decode(R"(["abc"])", limits).ec);
  EXPECT_EQ(decode(R"(["abcd"])", limits).detail,
            "json: string of 4 bytes exceeds max_string_size (3)");
  EXPECT_EQ(decode(R"({"abcd":1})", limits).ec, errc::limit_exceeded);
  limits.max_string_size = 4;  // base64 text is longer than its bytes: the text is checked
  EXPECT_THAT(decode(R"({"$bin":"AAAAAA=="})", limits).detail, HasSubstr("string of 8 bytes"));

  limits = {};
  limits.max_message_size = 8;
  EXPECT_FALSE(decode("[1,2,3] ", limits).ec);
  auto big = decode("[1,2,3,4]", limits);
  EXPECT_EQ(big.ec, errc::limit_exceeded);
  EXPECT_THAT(big.detail, HasSubstr("max_message_size (8)"));
}

TEST(JsonCodec, EncodeFailures) {
  auto codec = libchan::make_json_codec();
  std::vector<std::uint8_t> out{'x'};
  std::error_code ec;
  std::string why;
  Value bad_utf8 = libchan::make_array(std::string("\xff\xfe"));
  codec->encode(bad_utf8, out, libchan::plain_extensions(), ec, &why);
  EXPECT_EQ(ec, errc::not_supported);
  EXPECT_THAT(why, HasSubstr("not valid UTF-8"));
  EXPECT_EQ(out, Bytes{'x'});
  Value stream = libchan::make_map("s", libchan::ByteStream{});
  codec->encode(stream, out, libchan::plain_extensions(), ec, &why);
  EXPECT_EQ(ec, errc::not_supported);
  EXPECT_EQ(why, "json: a ByteStream cannot travel without a session (only times can)");
  EXPECT_EQ(out, Bytes{'x'});
}

}  // namespace
