// Conversions between C++ types and Value: every built-in type both ways,
// range checks, error messages with their paths, and the resource leaves.
#include "libchan/convert.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "libchan/pipe.hpp"

using libchan::Binary;
using libchan::ByteStream;
using libchan::errc;
using libchan::Fd;
using libchan::from_value;
using libchan::Receiver;
using libchan::Sender;
using libchan::Time;
using libchan::to_value;
using libchan::Value;
using Kind = libchan::Value::Kind;
using testing::HasSubstr;
using testing::StartsWith;

namespace {

// The message of the type_mismatch error from converting `v` to T; fails
// the test if the conversion succeeds or fails otherwise.
template <class T>
std::string mismatch_message(Value v) {
  try {
    (void)from_value<T>(std::move(v));
  } catch (const libchan::Error& e) {
    EXPECT_EQ(e.code(), errc::type_mismatch);
    return e.what();
  }
  ADD_FAILURE() << "conversion succeeded";
  return "";
}

template <class T>
T round_trip(T v) {
  return from_value<T>(to_value(std::move(v)));
}

// ---- plain data ------------------------------------------------------------

TEST(Convert, ValueIsIdentity) {
  Value v = to_value(libchan::make_map("a", 1, "b", "x"));
  EXPECT_EQ(v, libchan::make_map("a", 1, "b", "x"));
  Value back = from_value<Value>(std::move(v));
  EXPECT_EQ(back, libchan::make_map("a", 1, "b", "x"));
}

TEST(Convert, Bool) {
  EXPECT_EQ(to_value(true).kind(), Kind::boolean);
  EXPECT_TRUE(from_value<bool>(Value(true)));
  EXPECT_FALSE(from_value<bool>(Value(false)));
  EXPECT_THAT(mismatch_message<bool>(Value(1)), StartsWith("expected bool, got int64"));
}

template <class T>
void expect_integer_round_trip() {
  using L = std::numeric_limits<T>;
  for (T x : {L::min(), T(0), T(1), L::max()}) {
    Value v = to_value(x);
    EXPECT_EQ(v.kind(), std::is_signed_v<T> ? Kind::int64 : Kind::uint64);
    EXPECT_EQ(from_value<T>(std::move(v)), x);
  }
}

TEST(Convert, EveryIntegerTypeRoundTrips) {
  expect_integer_round_trip<std::int8_t>();
  expect_integer_round_trip<std::int16_t>();
  expect_integer_round_trip<std::int32_t>();
  expect_integer_round_trip<std::int64_t>();
  expect_integer_round_trip<std::uint8_t>();
  expect_integer_round_trip<std::uint16_t>();
  expect_integer_round_trip<std::uint32_t>();
  expect_integer_round_trip<std::uint64_t>();
  expect_integer_round_trip<char>();
  expect_integer_round_trip<long long>();
  expect_integer_round_trip<unsigned long>();
}

TEST(Convert, IntegerKindsAreInterchangeableWhenTheNumberFits) {
  EXPECT_EQ(from_value<int>(Value(std::uint64_t{300})), 300);
  EXPECT_EQ(from_value<std::uint16_t>(Value(std::int64_t{300})), 300);
  EXPECT_EQ(from_value<std::int64_t>(Value(std::uint64_t{INT64_MAX})), INT64_MAX);
}

TEST(Convert, IntegerOutOfRangeIsAMismatch) {
  EXPECT_THAT(mismatch_message<std::int8_t>(Value(std::uint64_t{300})),
              StartsWith("300 is out of range for int8"));
  EXPECT_THAT(mismatch_message<std::int8_t>(Value(-129)),
              StartsWith("-129 is out of range for int8"));
  EXPECT_THAT(mismatch_message<std::uint32_t>(Value(-1)),
              StartsWith("-1 is out of range for uint32"));
  EXPECT_THAT(mismatch_message<std::uint64_t>(Value(-1)),
              StartsWith("-1 is out of range for uint64"));
  EXPECT_THAT(mismatch_message<std::int64_t>(Value(std::numeric_limits<std::uint64_t>::max())),
              StartsWith("18446744073709551615 is out of range for int64"));
  EXPECT_THAT(mismatch_message<std::uint8_t>(Value(256)), StartsWith("256 is out of range"));
  EXPECT_EQ(from_value<std::int8_t>(Value(-128)), -128);
  EXPECT_EQ(from_value<std::uint8_t>(Value(255)), 255);
}

TEST(Convert, IntegerFromOtherKindsFails) {
  EXPECT_THAT(mismatch_message<int>(Value("7")), StartsWith("expected int32, got string"));
  EXPECT_THAT(mismatch_message<std::uint64_t>(Value(1.0)),
              StartsWith("expected uint64, got float64"));
  EXPECT_THAT(mismatch_message<int>(Value()), StartsWith("expected int32, got nil"));
}

enum class Color : std::uint8_t { red = 1, blue = 200 };

TEST(Convert, EnumsTravelAsTheirUnderlyingInteger) {
  Value v = to_value(Color::blue);
  EXPECT_EQ(v, Value(200));
  EXPECT_EQ(from_value<Color>(std::move(v)), Color::blue);
  EXPECT_THAT(mismatch_message<Color>(Value(300)), StartsWith("300 is out of range for uint8"));
}

TEST(Convert, FloatingPoint) {
  EXPECT_EQ(to_value(1.5).kind(), Kind::float64);
  EXPECT_EQ(to_value(1.5f).kind(), Kind::float64);
  EXPECT_EQ(round_trip(2.25), 2.25);
  EXPECT_EQ(round_trip(-0.5f), -0.5f);
  EXPECT_EQ(from_value<double>(Value(-3)), -3.0) << "integers are numbers too";
  EXPECT_EQ(from_value<double>(Value(std::uint64_t{1} << 60)), 1152921504606846976.0);
  EXPECT_EQ(from_value<float>(Value(7)), 7.0f);
  EXPECT_THAT(mismatch_message<double>(Value("1.5")), StartsWith("expected float64, got string"));
  EXPECT_THAT(mismatch_message<float>(Value(true)), StartsWith("expected float32, got bool"));
  EXPECT_THAT(mismatch_message<float>(Value(1e300)), HasSubstr("out of range for float32"));
  EXPECT_TRUE(std::isinf(from_value<float>(Value(std::numeric_limits<double>::infinity()))));
}

TEST(Convert, Strings) {
  EXPECT_EQ(to_value(std::string("abc")), Value("abc"));
  EXPECT_EQ(to_value(std::string_view("abc")), Value("abc"));
  EXPECT_EQ(to_value("abc"), Value("abc"));
  const char* c = "xyz";
  EXPECT_EQ(to_value(c), Value("xyz"));
  EXPECT_TRUE(to_value(static_cast<const char*>(nullptr)).is_nil());
  EXPECT_EQ(round_trip(std::string("héllo")), "héllo");
  EXPECT_EQ(from_value<std::string>(Value(Binary{{'o', 'l', 'd'}})), "old")
      << "old-spec peers send text as raw bytes";
  EXPECT_THAT(mismatch_message<std::string>(Value(5)), StartsWith("expected string, got int64"));
  EXPECT_THAT(mismatch_message<std::string>(Value()), StartsWith("expected string, got nil"));
}

TEST(Convert, LvaluesAreCopied) {
  std::string s = "kept";
  Value v = to_value(s);
  EXPECT_EQ(s, "kept");
  EXPECT_EQ(v, Value("kept"));
  std::vector<int> list{1, 2};
  EXPECT_EQ(to_value(list), libchan::make_array(1, 2));
  EXPECT_EQ(list.size(), 2u);
}

TEST(Convert, Binary) {
  Binary b{{0, 1, 2, 0xff}};
  Value v = to_value(b);
  EXPECT_EQ(v.kind(), Kind::binary);
  EXPECT_EQ(from_value<Binary>(std::move(v)), b);
  EXPECT_TRUE(from_value<Binary>(Value()).bytes.empty()) << "Go sends a nil []byte as nil";
  EXPECT_EQ(from_value<Binary>(Value("ab")).bytes, (std::vector<std::uint8_t>{'a', 'b'}));
  EXPECT_THAT(mismatch_message<Binary>(Value(1)), StartsWith("expected binary, got int64"));
}

TEST(Convert, ByteVectorIsAnArrayOfIntegers) {
  Value v = to_value(std::vector<std::uint8_t>{1, 255});
  EXPECT_EQ(v, libchan::make_array(1u, 255u));
  EXPECT_EQ(from_value<std::vector<std::uint8_t>>(std::move(v)),
            (std::vector<std::uint8_t>{1, 255}));
  EXPECT_THAT(mismatch_message<std::vector<std::uint8_t>>(Value(Binary{{1}})),
              StartsWith("expected array, got binary"));
}

TEST(Convert, Vectors) {
  EXPECT_EQ(round_trip(std::vector<std::string>{"a", "b"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(round_trip(std::vector<bool>{true, false, true}),
            (std::vector<bool>{true, false, true}));
  EXPECT_EQ(to_value(std::vector<int>{}), Value(Value::Array{}));
  EXPECT_TRUE(from_value<std::vector<int>>(Value()).empty()) << "Go sends a nil slice as nil";

  std::vector<int> out{9, 9, 9};
  from_value(libchan::make_array(1), out);
  EXPECT_EQ(out, std::vector<int>{1}) << "from_value replaces the contents";

  EXPECT_THAT(mismatch_message<std::vector<std::string>>(libchan::make_array("a", "b", 3)),
              StartsWith("element [2]: expected string, got int64"));
  EXPECT_THAT(mismatch_message<std::vector<int>>(Value("x")),
              StartsWith("expected array, got string"));
}

TEST(Convert, StdArrayNeedsTheExactLength) {
  EXPECT_EQ(round_trip(std::array<int, 3>{1, 2, 3}), (std::array<int, 3>{1, 2, 3}));
  EXPECT_THAT((mismatch_message<std::array<int, 3>>(libchan::make_array(1, 2))),
              StartsWith("expected an array of 3 elements, got 2"));
  EXPECT_THAT((mismatch_message<std::array<std::int8_t, 2>>(libchan::make_array(1, 1000))),
              StartsWith("element [1]: 1000 is out of range for int8"));
}

TEST(Convert, MapsKeepTheContainerOrder) {
  std::map<std::string, int> m{{"b", 2}, {"a", 1}, {"c", 3}};
  Value v = to_value(m);
  EXPECT_EQ(v, libchan::make_map("a", 1, "b", 2, "c", 3)) << "std::map iterates in key order";
  EXPECT_EQ(from_value<decltype(m)>(std::move(v)), m);

  std::unordered_map<int, std::string> u{{1, "one"}, {2, "two"}, {3, "three"}};
  std::vector<int> order;
  for (auto& [k, _] : u) order.push_back(k);
  Value uv = to_value(u);
  ASSERT_EQ(uv.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(uv.as_map()[i].key, Value(order[i])) << "iteration order of the unordered_map";
  EXPECT_EQ(from_value<decltype(u)>(std::move(uv)), u);
}

TEST(Convert, MapsFromValues) {
  EXPECT_TRUE((from_value<std::map<std::string, int>>(Value()).empty()))
      << "Go sends a nil map as nil";
  auto last_wins = from_value<std::map<std::string, int>>(libchan::make_map("k", 1, "k", 2));
  EXPECT_EQ(last_wins.at("k"), 2);
  auto by_int = from_value<std::map<std::uint8_t, bool>>(libchan::make_map(1, true, 2u, false));
  EXPECT_EQ(by_int, (std::map<std::uint8_t, bool>{{1, true}, {2, false}}));

  EXPECT_THAT((mismatch_message<std::map<std::string, int>>(libchan::make_map("a", 1, "b", "x"))),
              StartsWith("entry [\"b\"]: expected int32, got string"));
  EXPECT_THAT((mismatch_message<std::map<int, int>>(libchan::make_map(7, "x"))),
              StartsWith("entry [7]: expected int32, got string"));
  EXPECT_THAT((mismatch_message<std::map<int, int>>(libchan::make_map(1, 1, "k", 2))),
              StartsWith("key of entry 1: expected int32, got string"));
  EXPECT_THAT((mismatch_message<std::map<std::string, int>>(libchan::make_array(1))),
              StartsWith("expected map, got array"));
}

TEST(Convert, OptionalIsNilWhenEmpty) {
  EXPECT_TRUE(to_value(std::optional<int>()).is_nil());
  EXPECT_EQ(to_value(std::optional<int>(4)), Value(4));
  EXPECT_EQ(from_value<std::optional<int>>(Value()), std::nullopt);
  EXPECT_EQ(from_value<std::optional<int>>(Value(4)), 4);
  std::optional<std::string> engaged = "old";
  from_value(Value(), engaged);
  EXPECT_EQ(engaged, std::nullopt);
  EXPECT_THAT(mismatch_message<std::optional<int>>(Value("x")),
              StartsWith("expected int32, got string"));
}

TEST(Convert, PathsNestThroughContainers) {
  auto inner = [](Value third) {
    return libchan::make_map("k", libchan::make_array(1, 2, std::move(third)));
  };
  Value v = libchan::make_array(inner(Value(3)), inner(Value("bad")));
  EXPECT_THAT(
      (mismatch_message<std::vector<std::map<std::string, std::vector<int>>>>(std::move(v))),
      StartsWith("element [1][\"k\"][2]: expected int32, got string"));
}

TEST(Convert, ErrorCodeForm) {
  int out = 5;
  std::error_code ec = errc::closed;
  EXPECT_TRUE(from_value(Value(7), out, ec));
  EXPECT_FALSE(ec);
  EXPECT_EQ(out, 7);
  EXPECT_FALSE(from_value(Value("x"), out, ec));
  EXPECT_EQ(ec, errc::type_mismatch);
}

TEST(Convert, ConvertPathRendersOnlyOnFailure) {
  libchan::ConvertPath path;
  EXPECT_TRUE(path.empty());
  {
    auto a = path.field("Args");
    auto b = path.index(2);
    EXPECT_EQ(path.to_string(), "field \"Args\"[2]");
    {
      auto c = path.field("Name");
      EXPECT_EQ(path.to_string(), "field \"Args\"[2].\"Name\"");
    }
    EXPECT_EQ(path.to_string(), "field \"Args\"[2]");
    try {
      path.mismatch("string", Value(1));
      ADD_FAILURE() << "mismatch returned";
    } catch (const libchan::Error& e) {
      EXPECT_EQ(e.code(), errc::type_mismatch);
      EXPECT_THAT(e.what(), StartsWith("field \"Args\"[2]: expected string, got int64"));
    }
  }
  EXPECT_TRUE(path.empty());
}

// ---- time ------------------------------------------------------------------

TEST(Convert, Time) {
  Time t = std::chrono::sys_days{std::chrono::year{2024} / 1 / 2} + std::chrono::hours{3} +
           std::chrono::minutes{4} + std::chrono::seconds{5} + std::chrono::nanoseconds{123456789};
  Value v = to_value(t);
  EXPECT_EQ(v.kind(), Kind::time);
  EXPECT_EQ(from_value<Time>(std::move(v)), t);

  EXPECT_EQ(from_value<Time>(Value(Value::Map{})), Time{})
      << "Go master sends a time.Time field as an empty map";
  EXPECT_EQ(from_value<Time>(Value()), Time{});
  EXPECT_THAT(mismatch_message<Time>(libchan::make_map("sec", 1)),
              StartsWith("expected time, got map"));
  EXPECT_THAT(mismatch_message<Time>(Value(17)), StartsWith("expected time, got int64"));
}

TEST(Convert, OtherSystemClockTimePoints) {
  auto now = std::chrono::system_clock::now();
  EXPECT_EQ(round_trip(now), now);
  auto micros = std::chrono::time_point_cast<std::chrono::microseconds>(now);
  Value v = to_value(micros);
  EXPECT_EQ(v.as_time(), micros);
  EXPECT_EQ(from_value<std::chrono::sys_time<std::chrono::microseconds>>(std::move(v)), micros);
  // Coarser time points round down, also before 1970.
  Time before_epoch = Time{} - std::chrono::nanoseconds{1500000000};
  EXPECT_EQ(from_value<std::chrono::sys_seconds>(Value(before_epoch)),
            std::chrono::sys_seconds{std::chrono::seconds{-2}});
}

TEST(Convert, OptionalTime) {
  EXPECT_EQ(from_value<std::optional<Time>>(Value()), std::nullopt);
  EXPECT_EQ(from_value<std::optional<Time>>(Value(Value::Map{})), Time{})
      << "Go master sends a non-nil *time.Time as an empty map";
}

// ---- resources -------------------------------------------------------------

TEST(Convert, Fd) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  Fd read_end(fds[0]);
  Fd write_end(fds[1]);
  Value v = to_value(std::move(write_end));
  EXPECT_FALSE(write_end);
  ASSERT_EQ(v.kind(), Kind::fd);
  Fd back = from_value<Fd>(std::move(v));
  ASSERT_EQ(back.get(), fds[1]);
  ASSERT_EQ(::write(back.get(), "z", 1), 1);
  char c = 0;
  ASSERT_EQ(::read(read_end.get(), &c, 1), 1);
  EXPECT_EQ(c, 'z');

  EXPECT_TRUE(to_value(Fd()).is_nil()) << "an empty handle is nil";
  EXPECT_FALSE(from_value<Fd>(Value()));
  EXPECT_THAT(mismatch_message<Fd>(Value(3)), StartsWith("expected a file descriptor, got int64"));
}

TEST(Convert, ByteStream) {
  auto [a, b] = libchan::stream_pair();
  Value v = to_value(std::move(a));
  ASSERT_EQ(v.kind(), Kind::stream);
  ByteStream back = from_value<ByteStream>(std::move(v));
  ASSERT_TRUE(back);
  back.write(std::string_view("ping"));
  back.close_write();
  EXPECT_EQ(b.read_all(), "ping");

  EXPECT_TRUE(to_value(ByteStream()).is_nil());
  EXPECT_FALSE(from_value<ByteStream>(Value()));
  EXPECT_THAT(mismatch_message<ByteStream>(Value("s")),
              StartsWith("expected a ByteStream, got string"));
}

TEST(Convert, UntypedChannelEndsAreLeaves) {
  auto [rx, tx] = libchan::buffered_pipe<Value>(1);
  Value vs = to_value(std::move(tx));
  Value vr = to_value(std::move(rx));
  EXPECT_EQ(vs.kind(), Kind::sender);
  EXPECT_EQ(vr.kind(), Kind::receiver);
  auto s = from_value<Sender<Value>>(std::move(vs));
  auto r = from_value<Receiver<Value>>(std::move(vr));
  s.send(Value("hi"));
  EXPECT_EQ(r.receive(), Value("hi"));

  EXPECT_TRUE(to_value(Sender<Value>()).is_nil());
  EXPECT_FALSE(from_value<Sender<Value>>(Value()));
  EXPECT_FALSE(from_value<Receiver<Value>>(Value()));
  EXPECT_THAT(mismatch_message<Sender<Value>>(Value("s")),
              StartsWith("expected a Sender, got string"));
  EXPECT_THAT(mismatch_message<Receiver<int>>(to_value(std::move(s))),
              StartsWith("expected a Receiver, got Sender"));
}

TEST(Convert, TypedSenderThroughValue) {
  auto [rx, tx] = libchan::buffered_pipe<int>(2);
  Value v = to_value(std::move(tx));
  ASSERT_EQ(v.kind(), Kind::sender);

  // The untyped end converts each Value to int on the way in.
  Sender<Value> untyped = std::move(std::get<Sender<Value>>(v.data()));
  untyped.send(Value(41));
  std::error_code ec;
  untyped.send(Value("not a number"), ec);
  EXPECT_EQ(ec, errc::type_mismatch);

  // Restored as Sender<int>, it is the original end again.
  auto typed = from_value<Sender<int>>(to_value(std::move(untyped)));
  typed.send(42);
  EXPECT_EQ(rx.receive(), 41);
  EXPECT_EQ(rx.receive(), 42);
  typed.close();
  EXPECT_EQ(rx.receive(), std::nullopt);
}

TEST(Convert, TypedReceiverThroughValue) {
  auto [rx, tx] = libchan::buffered_pipe<std::string>(2);
  Value v = to_value(std::move(rx));
  ASSERT_EQ(v.kind(), Kind::receiver);
  auto back = from_value<Receiver<std::string>>(std::move(v));
  tx.send("one");
  EXPECT_EQ(back.receive(), "one");

  // Seen as a Receiver<int>, a string is a type mismatch.
  auto wrong = from_value<Receiver<int>>(to_value(std::move(back)));
  tx.send("two");
  std::error_code ec;
  auto got = wrong.receive(ec);
  EXPECT_EQ(ec, errc::type_mismatch);
  EXPECT_FALSE(got);
}

TEST(Convert, TypedReceiverConvertsReadyAndAwaitedMessages) {
  auto [rx, tx] = libchan::buffered_pipe<Value>(4);
  auto typed = from_value<Receiver<int>>(to_value(std::move(rx)));
  // Already queued: taken without waiting; a mismatch costs only its message.
  tx.send(Value(1));
  tx.send(Value("x"));
  tx.send(Value(2));
  EXPECT_EQ(typed.receive(), 1);
  std::error_code ec;
  EXPECT_FALSE(typed.receive_for(std::chrono::seconds(5), ec));
  EXPECT_EQ(ec, errc::type_mismatch);
  EXPECT_EQ(typed.receive_for(std::chrono::seconds(5), ec), 2);
  EXPECT_FALSE(ec);
  // Sent from another thread, usually while the receiver waits.
  Sender<Value> sender = std::move(tx);
  std::thread later([&sender] {
    sender.send(Value(3));
    sender.send(Value("y"));
    sender.close();
  });
  EXPECT_EQ(typed.receive(), 3);
  EXPECT_FALSE(typed.receive(ec));
  EXPECT_EQ(ec, errc::type_mismatch);
  EXPECT_EQ(typed.receive(ec), std::nullopt);
  EXPECT_FALSE(ec);
  later.join();
}

}  // namespace
