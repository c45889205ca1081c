// Malformed and hostile msgpack input: each fails with its own error and
// message, limits are enforced before allocating, incomplete input waits,
// and the extension hook never sees a message that did not decode.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "alloc_probe.hpp"
#include "codec_test_support.hpp"

namespace {

using namespace codec_test;
using libchan::CodecLimits;
using libchan::errc;
using libchan::Value;
using ::testing::HasSubstr;

struct Outcome {
  std::size_t used = 0;
  std::error_code ec;
  std::string detail;
  std::size_t hook_calls = 0;
  Value value;
};

Outcome decode(const Bytes& input, CodecLimits limits = {}) {
  auto codec = libchan::make_msgpack_codec(limits);
  RecordingHook hook;
  Outcome o;
  o.used = codec->decode(input, o.value, hook, o.ec, &o.detail);
  o.hook_calls = hook.decode_calls;
  return o;
}

Outcome decode_exact(const Bytes& input, CodecLimits limits = {}) {
  auto codec = libchan::make_msgpack_codec(limits);
  RecordingHook hook;
  Outcome o;
  o.value = codec->decode_exact(input, hook, o.ec, &o.detail);
  o.hook_calls = hook.decode_calls;
  return o;
}

// A Request as Go master sends it, with a return channel (ext 4).
const Bytes request = from_hex(
    "86a74d657373616765a8776974682d726574a353657102a3526574d60400000003"
    "a653747265616dc0a452656376c0a45768656ec0");

TEST(MsgpackErrors, TruncatedInputIsIncompleteForDecodeAndAnErrorForDecodeExact) {
  Bytes cut(request.begin(), request.end() - 3);
  auto o = decode(cut);
  EXPECT_EQ(o.used, 0u);
  EXPECT_FALSE(o.ec);
  auto x = decode_exact(cut);
  EXPECT_EQ(x.ec, errc::decode_error);
  EXPECT_THAT(x.detail, HasSubstr("truncated"));
  EXPECT_EQ(x.hook_calls, 0u);
}

TEST(MsgpackErrors, TrailingBytes) {
  Bytes extra = request;
  extra.push_back(0x01);
  auto o = decode(extra);  // decode takes the first value and says how long it was
  EXPECT_FALSE(o.ec);
  EXPECT_EQ(o.used, request.size());
  auto x = decode_exact(extra);
  EXPECT_EQ(x.ec, errc::decode_error);
  EXPECT_THAT(x.detail, HasSubstr("1 trailing bytes"));
  EXPECT_EQ(x.hook_calls, 0u);  // the ext 4 inside was never handed out
}

TEST(MsgpackErrors, InvalidByte0xc1) {
  auto o = decode(from_hex("c1"));
  EXPECT_EQ(o.ec, errc::decode_error);
  EXPECT_EQ(o.detail, "msgpack: invalid byte 0xc1 at offset 0");
  auto nested = decode(from_hex("92d60400000003c1"));
  EXPECT_EQ(nested.ec, errc::decode_error);
  EXPECT_EQ(nested.detail, "msgpack: invalid byte 0xc1 at offset 7");
  EXPECT_EQ(nested.hook_calls, 0u);
}

TEST(MsgpackErrors, UnknownExtensionWithThePlainHook) {
  auto codec = libchan::make_msgpack_codec();
  Value v;
  std::error_code ec;
  std::string why;
  codec->decode(from_hex("81a178d60900000001"), v, libchan::plain_extensions(), ec, &why);
  EXPECT_EQ(ec, errc::decode_error);
  EXPECT_EQ(why, "msgpack: unknown extension type 9 (at offset 3)");
  EXPECT_TRUE(v.is_nil());  // untouched on failure
  try {
    codec->decode_exact(from_hex("d60900000001"));
    FAIL() << "no exception";
  } catch (const libchan::Error& e) {
    EXPECT_EQ(e.code(), errc::decode_error);
    EXPECT_THAT(e.what(), HasSubstr("unknown extension type 9"));
  }
}

TEST(MsgpackErrors, MalformedTimeExtension) {
  auto codec = libchan::make_msgpack_codec();
  Value v;
  std::error_code ec;
  std::string why;
  // 8 bytes instead of 12.
  codec->decode(from_hex("d7060000000065937d25"), v, libchan::plain_extensions(), ec, &why);
  EXPECT_EQ(ec, errc::decode_error);
  EXPECT_THAT(why, HasSubstr("malformed time extension: payload of 8 bytes"));
  // Nanoseconds beyond a second.
  codec->decode(from_hex("c70c060000000065937d253b9aca00"), v, libchan::plain_extensions(), ec,
                &why);
  EXPECT_EQ(ec, errc::decode_error);
  EXPECT_THAT(why, HasSubstr("nanoseconds 1000000000 out of range"));
}

TEST(MsgpackErrors, HookErrorsPropagate) {
  struct Refusing : libchan::ExtensionHook {
    void encode_leaf(Value&, std::int8_t&, std::vector<std::uint8_t>&,
                     std::error_code& ec) override {
      ec = errc::wrong_direction;
    }
    Value decode_ext(std::int8_t, std::span<const std::uint8_t>, std::error_code& ec) override {
      ec = errc::protocol_error;
      return Value();
    }
  } hook;
  auto codec = libchan::make_msgpack_codec();
  Value v;
  std::error_code ec;
  std::string why;
  EXPECT_EQ(codec->decode(request, v, hook, ec, &why), 0u);
  EXPECT_EQ(ec, errc::protocol_error);
  EXPECT_THAT(why, HasSubstr("extension type 4 (4-byte payload) refused"));
  EXPECT_TRUE(v.is_nil());
}

TEST(MsgpackErrors, DepthOverLimit) {
  CodecLimits limits;
  limits.max_depth = 3;
  EXPECT_FALSE(decode(from_hex("91919101"), limits).ec);
  auto o = decode(from_hex("9191919101"), limits);
  EXPECT_EQ(o.ec, errc::limit_exceeded);
  EXPECT_EQ(o.detail, "msgpack: array at offset 3 nests deeper than max_depth (3)");
  auto m = decode(from_hex("81a1618101c0"), [] {
    CodecLimits l;
    l.max_depth = 1;
    return l;
  }());
  EXPECT_EQ(m.ec, errc::limit_exceeded);
  EXPECT_THAT(m.detail, HasSubstr("map at offset 3 nests deeper than max_depth (1)"));
}

TEST(MsgpackErrors, ElementCountOverLimitAcrossTheWholeMessage) {
  CodecLimits limits;
  limits.max_elements = 4;
  EXPECT_FALSE(decode(from_hex("94010203c0"), limits).ec);
  EXPECT_EQ(decode(from_hex("9501020304c0"), limits).ec, errc::limit_exceeded);
  // [[1, 2], [3]]: 2 + 2 + 1 = 5 elements.
  auto o = decode(from_hex("929201029103"), limits);
  EXPECT_EQ(o.ec, errc::limit_exceeded);
  EXPECT_THAT(o.detail, HasSubstr("array of 1 elements at offset 4 takes the message over "
                                  "max_elements (4)"));
  // A map entry counts once: {1: 2, 3: 4} + [5, 6] inside = 4.
  EXPECT_FALSE(decode(from_hex("82010203920506"), limits).ec);
}

TEST(MsgpackErrors, DeclaredStringSizeOverLimitFailsBeforeTheBytesArrive) {
  CodecLimits limits;
  limits.max_string_size = 65536;
  // str32 declaring 70000 bytes, followed by only 3 of them.
  Bytes input = from_hex("81a178db00011170616263");
  reset_largest_allocation();
  auto o = decode(input, limits);
  EXPECT_LT(largest_allocation(), 4096u);
  EXPECT_EQ(o.used, 0u);
  EXPECT_EQ(o.ec, errc::limit_exceeded);
  EXPECT_EQ(o.detail, "msgpack: string of 70000 bytes at offset 3 exceeds max_string_size (65536)");
  // The same for bin and ext, and for a complete string.
  EXPECT_THAT(decode(from_hex("c600011170"), limits).detail,
              HasSubstr("binary of 70000 bytes at offset 0 exceeds max_string_size"));
  EXPECT_THAT(decode(from_hex("c90001117004"), limits).detail,
              HasSubstr("extension payload of 70000 bytes"));
  limits.max_string_size = 2;
  EXPECT_EQ(decode(from_hex("a3616263"), limits).ec, errc::limit_exceeded);
  EXPECT_FALSE(decode(from_hex("a26162"), limits).ec);
  // The same through the throwing convenience.
  try {
    libchan::make_msgpack_codec(limits)->decode_exact(from_hex("a3616263"));
    FAIL() << "no exception";
  } catch (const libchan::Error& e) {
    EXPECT_EQ(e.code(), errc::limit_exceeded);
    EXPECT_THAT(e.what(), HasSubstr("string of 3 bytes at offset 0 exceeds max_string_size (2)"));
  }
}

TEST(MsgpackErrors, MessageOverMaxMessageSize) {
  CodecLimits limits;
  limits.max_message_size = 100;
  // A complete value of 151 bytes.
  Bytes big = from_hex("dc0096");
  big.resize(3 + 150, 0x01);
  auto o = decode(big, limits);
  EXPECT_EQ(o.ec, errc::limit_exceeded);
  EXPECT_THAT(o.detail, HasSubstr("max_message_size (100)"));
  // A declared string that cannot fit, known from its header alone.
  auto s = decode(from_hex("d9c8616263"), limits);
  EXPECT_EQ(s.ec, errc::limit_exceeded);
  EXPECT_EQ(s.detail, "msgpack: message of at least 202 bytes exceeds max_message_size (100)");
  // Exactly the limit is fine; a small first value is fine in a big input.
  Bytes exact = from_hex("d962");
  exact.resize(100, 'x');
  EXPECT_EQ(decode(exact, limits).used, 100u);
  Bytes two = request;
  two.resize(500, 0xc0);
  EXPECT_EQ(decode(two, limits).used, request.size());
  // An unfinished value that already fills the limit will never fit.
  // [15 strings of 10 bytes] cut at 100 bytes, after the 9th string.
  Bytes unfinished = from_hex("9f");
  for (int i = 0; i < 15; ++i) {
    unfinished.push_back(0xaa);
    unfinished.resize(unfinished.size() + 10, 'x');
  }
  unfinished.resize(100);
  auto u = decode(unfinished, limits);
  EXPECT_EQ(u.ec, errc::limit_exceeded);
  EXPECT_THAT(u.detail, HasSubstr("longer than max_message_size (100)"));
  unfinished.resize(99);
  EXPECT_EQ(decode(unfinished, limits).ec, std::error_code());
}

TEST(MsgpackErrors, FourBillionElementHeadersFailFastWithoutAllocating) {
  for (const char* hex : {"ddffffffff", "dfffffffff"}) {
    SCOPED_TRACE(hex);
    reset_largest_allocation();
    auto o = decode(from_hex(hex));
    EXPECT_LT(largest_allocation(), 4096u);
    EXPECT_EQ(o.ec, errc::limit_exceeded);
    EXPECT_THAT(o.detail, HasSubstr("of 4294967295"));
    EXPECT_THAT(o.detail, HasSubstr("max_elements (1048576)"));
  }
  // Within max_elements but beyond max_message_size: refused from the header.
  CodecLimits limits;
  limits.max_message_size = 1000;
  auto o = decode(from_hex("dc0800"), limits);
  EXPECT_EQ(o.ec, errc::limit_exceeded);
  EXPECT_EQ(o.detail, "msgpack: array of 2048 elements cannot fit in max_message_size (1000)");
  // Within every limit: waits for the bytes, reserving only what is there.
  reset_largest_allocation();
  auto wait = decode(from_hex("dd000fffff01"));
  EXPECT_LT(largest_allocation(), 4096u);
  EXPECT_EQ(wait.used, 0u);
  EXPECT_FALSE(wait.ec);
}

TEST(MsgpackErrors, EveryPrefixOfAValidMessageIsIncomplete) {
  auto codec = libchan::make_msgpack_codec();
  for (const char* file : {"go-master-messages.txt", "go-v01-messages.txt"}) {
    for (const auto& m : load_messages(file)) {
      for (std::size_t cut = 0; cut < m.bytes.size(); ++cut) {
        RecordingHook hook;
        Value v(42);
        std::error_code ec;
        std::size_t used = codec->decode(std::span(m.bytes).first(cut), v, hook, ec);
        ASSERT_EQ(used, 0u) << file << " stream " << m.stream << " cut " << cut;
        ASSERT_FALSE(ec) << file << " stream " << m.stream << " cut " << cut;
        ASSERT_EQ(hook.decode_calls, 0u);
        ASSERT_EQ(v.as_int(), 42);  // untouched
      }
    }
  }
}

TEST(MsgpackErrors, HookNotCalledWhenALimitBreaksAfterAnExtension) {
  CodecLimits limits;
  limits.max_string_size = 4;
  // [ext4 ref 3, "hello"]: the string breaks the limit after the extension.
  auto o = decode(from_hex("92d60400000003a568656c6c6f"), limits);
  EXPECT_EQ(o.ec, errc::limit_exceeded);
  EXPECT_EQ(o.hook_calls, 0u);
}

TEST(MsgpackErrors, EncodeFailuresLeaveTheOutputAlone) {
  auto codec = libchan::make_msgpack_codec();
  Value v = libchan::make_map("a", 1, "ret", libchan::Sender<Value>{});
  std::vector<std::uint8_t> out{0xaa};
  std::error_code ec;
  std::string why;
  codec->encode(v, out, libchan::plain_extensions(), ec, &why);
  EXPECT_EQ(ec, errc::not_supported);
  EXPECT_EQ(why, "msgpack: a Sender cannot travel without a session (only times can)");
  EXPECT_EQ(out, Bytes{0xaa});
  try {
    codec->encode(v);
    FAIL() << "no exception";
  } catch (const libchan::Error& e) {
    EXPECT_EQ(e.code(), errc::not_supported);
    EXPECT_THAT(e.what(), HasSubstr("Sender cannot travel"));
  }
}

}  // namespace
