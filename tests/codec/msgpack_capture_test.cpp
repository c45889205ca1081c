// The messages of the captured Go sessions decode to the values the Go
// programs sent and re-encode to the same bytes.
#include <gtest/gtest.h>

#include "codec_test_support.hpp"

namespace {

using namespace codec_test;
using libchan::IntegerStyle;
using libchan::Value;

std::vector<std::string> keys_of(const Value& map) {
  std::vector<std::string> keys;
  for (const auto& e : map.as_map()) keys.push_back(e.key.as_string());
  return keys;
}

struct Decoded {
  Value value;
  RecordingHook hook;
};

Decoded decode_message(const Bytes& bytes, IntegerStyle style) {
  auto codec = libchan::make_msgpack_codec({}, style);
  Decoded d;
  std::error_code ec;
  std::string why;
  d.value = codec->decode_exact(bytes, d.hook, ec, &why);
  EXPECT_FALSE(ec) << why;
  return d;
}

void expect_reencodes(const std::vector<CapturedMessage>& messages, IntegerStyle style) {
  auto codec = libchan::make_msgpack_codec({}, style);
  for (std::size_t i = 0; i < messages.size(); ++i) {
    SCOPED_TRACE("message " + std::to_string(i) + " on stream " +
                 std::to_string(messages[i].stream));
    auto d = decode_message(messages[i].bytes, style);
    std::vector<std::uint8_t> out;
    std::error_code ec;
    codec->encode(d.value, out, d.hook, ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(to_hex(out), to_hex(messages[i].bytes));
    EXPECT_EQ(d.hook.next_to_encode, d.hook.decoded.size());
  }
}

TEST(MsgpackCapture, GoMasterMessagesReencodeByteExact) {
  auto messages = load_messages("go-master-messages.txt");
  ASSERT_EQ(messages.size(), 15u);
  expect_reencodes(messages, IntegerStyle::smallest_signed);
}

TEST(MsgpackCapture, GoV01MessagesReencodeByteExact) {
  auto messages = load_messages("go-v01-messages.txt");
  ASSERT_EQ(messages.size(), 19u);
  expect_reencodes(messages, IntegerStyle::unsigned_when_nonnegative);
}

TEST(MsgpackCapture, GoMasterPlainRequest) {
  auto messages = load_messages("go-master-messages.txt");
  auto d = decode_message(messages[0].bytes, IntegerStyle::smallest_signed);
  EXPECT_EQ(keys_of(d.value),
            (std::vector<std::string>{"When", "Message", "Seq", "Ret", "Stream", "Recv"}));
  EXPECT_EQ(d.value.find("Message")->as_string(), "plain");
  EXPECT_EQ(d.value.find("Seq")->kind(), Value::Kind::int64);
  EXPECT_EQ(d.value.find("Seq")->as_int(), 1);
  EXPECT_TRUE(d.value.find("Ret")->is_nil());
  EXPECT_EQ(d.hook.decode_calls, 0u);
}

TEST(MsgpackCapture, GoMasterReturnSenderIsExt4WithRef3) {
  auto messages = load_messages("go-master-messages.txt");
  auto d = decode_message(messages[1].bytes, IntegerStyle::smallest_signed);
  EXPECT_EQ(d.value.find("Message")->as_string(), "with-ret");
  EXPECT_EQ(d.value.find("Seq")->as_int(), 2);
  EXPECT_EQ(d.value.find("Ret")->kind(), Value::Kind::sender);
  ASSERT_EQ(d.hook.decoded.size(), 1u);
  EXPECT_EQ(d.hook.decoded[0], (RecordingHook::Ext{4, {0, 0, 0, 3}}));
}

TEST(MsgpackCapture, GoMasterExtensionsArriveInByteOrder) {
  auto messages = load_messages("go-master-messages.txt");
  // {Stream: nil, Recv: ext5 ref 4, ..., Ret: ext4 ref 5}
  auto d = decode_message(messages[3].bytes, IntegerStyle::smallest_signed);
  ASSERT_EQ(d.hook.decoded.size(), 2u);
  EXPECT_EQ(d.hook.decoded[0], (RecordingHook::Ext{5, {0, 0, 0, 4}}));
  EXPECT_EQ(d.hook.decoded[1], (RecordingHook::Ext{4, {0, 0, 0, 5}}));
  EXPECT_EQ(d.value.find("Recv")->kind(), Value::Kind::sender);  // the test hook's marker
  // The duplex byte stream of message 8 is ext 1.
  auto s = decode_message(messages[7].bytes, IntegerStyle::smallest_signed);
  ASSERT_EQ(s.hook.decoded.size(), 2u);
  EXPECT_EQ(s.hook.decoded[1], (RecordingHook::Ext{1, {0, 0, 0, 7}}));
}

TEST(MsgpackCapture, GoMasterTimeIsExt6) {
  using namespace std::chrono;
  auto messages = load_messages("go-master-messages.txt");
  const libchan::Time expected(sys_days(2024y / 1 / 2) + 3h + 4min + 5s + 123456789ns);
  for (std::size_t i : {9u, 10u}) {
    auto d = decode_message(messages[i].bytes, IntegerStyle::smallest_signed);
    EXPECT_EQ(d.value.find("Message")->as_string(), "with-time");
    EXPECT_EQ(d.value.find("Seq")->as_int(), 5);
    ASSERT_EQ(d.value.find("When")->kind(), Value::Kind::time);
    EXPECT_EQ(d.value.find("When")->as_time(), expected);
  }
  // Also with the plain extensions alone (the reply holds no channel).
  Value reply = libchan::make_msgpack_codec()->decode_exact(messages[10].bytes);
  EXPECT_EQ(reply.find("When")->as_time(), expected);
}

TEST(MsgpackCapture, GoMasterSplitMessageNeedsBothFrames) {
  auto messages = load_messages("go-master-messages.txt");
  const Bytes& whole = messages[11].bytes;
  ASSERT_EQ(whole.size(), 4096u + 951u);
  auto codec = libchan::make_msgpack_codec();
  RecordingHook hook;
  Value v;
  std::error_code ec;
  // The first DATA frame alone is an incomplete value.
  EXPECT_EQ(codec->decode(std::span(whole).first(4096), v, hook, ec), 0u);
  EXPECT_FALSE(ec);
  EXPECT_EQ(hook.decode_calls, 0u);
  EXPECT_EQ(codec->decode(whole, v, hook, ec), whole.size());
  ASSERT_FALSE(ec);
  EXPECT_EQ(v.find("Message")->as_string(), std::string(5000, 'L'));
  EXPECT_EQ(v.find("Seq")->as_int(), 6);
  EXPECT_EQ(hook.decoded.size(), 1u);
}

TEST(MsgpackCapture, GoMasterChannelStreamDecodesMessageByMessage) {
  // Stream 1 carries a continuous msgpack stream: decode it as the
  // protocol layer will, one value after another from one buffer.
  auto messages = load_messages("go-master-messages.txt");
  Bytes stream;
  std::vector<std::size_t> sizes;
  for (const auto& m : messages)
    if (m.direction == "C->S" && m.stream == 1) {
      stream.insert(stream.end(), m.bytes.begin(), m.bytes.end());
      sizes.push_back(m.bytes.size());
    }
  ASSERT_EQ(sizes.size(), 6u);
  auto codec = libchan::make_msgpack_codec();
  RecordingHook hook;
  std::span<const std::uint8_t> rest(stream);
  for (std::size_t size : sizes) {
    Value v;
    std::error_code ec;
    std::size_t used = codec->decode(rest, v, hook, ec);
    ASSERT_FALSE(ec);
    EXPECT_EQ(used, size);
    EXPECT_TRUE(v.is_map());
    rest = rest.subspan(used);
  }
  EXPECT_TRUE(rest.empty());
}

TEST(MsgpackCapture, GoMasterTypesStruct) {
  auto messages = load_messages("go-master-messages.txt");
  auto d = decode_message(messages[13].bytes, IntegerStyle::smallest_signed);
  const Value& v = d.value;
  ASSERT_EQ(v.size(), 16u);
  EXPECT_EQ(v.find("Big")->kind(), Value::Kind::int64);
  EXPECT_EQ(v.find("Big")->as_int(), std::int64_t{1} << 40);
  EXPECT_EQ(v.find("Neg")->as_int(), -5);
  EXPECT_EQ(v.find("Uint")->kind(), Value::Kind::uint64);
  EXPECT_EQ(v.find("Uint")->as_uint(), 300u);
  EXPECT_EQ(v.find("Float")->as_double(), 1.5);
  EXPECT_TRUE(v.find("Bool")->as_bool());
  EXPECT_EQ(v.find("Bytes")->as_binary().bytes, (Bytes{0, 1, 2, 255}));
  EXPECT_EQ(*v.find("Map"), libchan::make_map("a", 1));
  EXPECT_EQ(*v.find("Nested"), libchan::make_map("A", 1, "B", "b"));
  EXPECT_EQ(*v.find("List"), libchan::make_array("x", "y"));
  EXPECT_TRUE(v.find("NilPtr")->is_nil());
  // A Go time.Time field travels as an empty map (a Go bug, kept as is).
  EXPECT_EQ(v.find("TimeValue")->kind(), Value::Kind::map);
  EXPECT_EQ(v.find("TimeValue")->size(), 0u);
  EXPECT_EQ(v.find("renamed_key")->as_string(), "r");
  ASSERT_EQ(d.hook.decoded.size(), 1u);
  EXPECT_EQ(d.hook.decoded[0], (RecordingHook::Ext{4, {0, 0, 0, 11}}));
}

TEST(MsgpackCapture, GoV01TypesUseUnsignedFormsAndExt1) {
  auto messages = load_messages("go-v01-messages.txt");
  const auto& m = messages[15];
  ASSERT_EQ(m.stream, 17);
  auto d = decode_message(m.bytes, IntegerStyle::unsigned_when_nonnegative);
  const Value& v = d.value;
  EXPECT_EQ(v.find("Big")->kind(), Value::Kind::uint64);
  EXPECT_EQ(v.find("Big")->as_uint(), std::uint64_t{1} << 40);
  EXPECT_EQ(v.find("Neg2")->as_int(), -200);
  EXPECT_EQ(v.find("Str40")->as_string(), std::string(40, 's'));
  ASSERT_EQ(d.hook.decoded.size(), 1u);
  // Channel: direction byte 2 (the peer gets a Sender), then ref 19.
  EXPECT_EQ(d.hook.decoded[0], (RecordingHook::Ext{1, {2, 0, 0, 0, 19}}));
}

TEST(MsgpackCapture, GoV01TcpConnectionExtension) {
  auto messages = load_messages("go-v01-messages.txt");
  const auto& m = messages[17];
  auto d = decode_message(m.bytes, IntegerStyle::unsigned_when_nonnegative);
  EXPECT_EQ(d.value.find("Message")->as_string(), "with-tcpconn");
  ASSERT_EQ(d.hook.decoded.size(), 2u);
  EXPECT_EQ(d.hook.decoded[1].type, 4);
  EXPECT_EQ(d.hook.decoded[1].payload.size(), 35u);
  EXPECT_EQ(d.hook.decoded[1].payload[0], 3);  // length of "tcp"
}

}  // namespace
