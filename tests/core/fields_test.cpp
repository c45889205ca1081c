// LIBCHAN_FIELDS: structs as maps keyed by field name, as Go libchan sends
// them; renamed keys, defaults, nesting, resources inside structs, and the
// 16-field struct of the Go capture.
#include "libchan/fields.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "libchan/pipe.hpp"

using libchan::Binary;
using libchan::ByteStream;
using libchan::errc;
using libchan::from_value;
using libchan::make_array;
using libchan::make_map;
using libchan::Receiver;
using libchan::Sender;
using libchan::Time;
using libchan::to_value;
using libchan::Value;
using Kind = libchan::Value::Kind;
using testing::StartsWith;

namespace {

struct Request {
  std::string op;
  int seq = 0;
  std::string renamed = "default";
  LIBCHAN_FIELDS(op, (seq, "Seq"), renamed)
};

// The keys of a map value, in order.
std::vector<std::string> keys_of(const Value& v) {
  std::vector<std::string> out;
  for (const auto& e : v.as_map()) out.push_back(e.key.as_string());
  return out;
}

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

TEST(Fields, ToValueIsAMapInDeclarationOrder) {
  Value v = to_value(Request{"ls", 7, "r"});
  ASSERT_EQ(v.kind(), Kind::map);
  EXPECT_EQ(keys_of(v), (std::vector<std::string>{"op", "Seq", "renamed"}));
  EXPECT_EQ(v, make_map("op", "ls", "Seq", 7, "renamed", "r"));
}

TEST(Fields, RoundTrip) {
  auto r = from_value<Request>(to_value(Request{"cat", 3, "x"}));
  EXPECT_EQ(r.op, "cat");
  EXPECT_EQ(r.seq, 3);
  EXPECT_EQ(r.renamed, "x");
}

TEST(Fields, RenamedKeyIsTheOnlyName) {
  auto r = from_value<Request>(make_map("seq", 5, "Seq", 6));
  EXPECT_EQ(r.seq, 6) << "the member name is not a key once renamed";
}

TEST(Fields, UnknownKeysAreSkippedAndMissingKeysKeepDefaults) {
  Value v = make_map("Extra", make_array(1, 2), "op", "rm", 42, "non-string key",
                     Value(Binary{{'S', 'e', 'q'}}), 9);
  auto r = from_value<Request>(std::move(v));
  EXPECT_EQ(r.op, "rm");
  EXPECT_EQ(r.seq, 0) << "a binary key is not a field name";
  EXPECT_EQ(r.renamed, "default");
}

TEST(Fields, RepeatedKeyLastWins) {
  EXPECT_EQ(from_value<Request>(make_map("op", "a", "op", "b")).op, "b");
}

TEST(Fields, NilOrNotAMap) {
  auto r = from_value<Request>(Value());
  EXPECT_EQ(r.renamed, "default") << "nil for a struct is like an empty map";
  EXPECT_THAT(mismatch_message<Request>(Value(1)), StartsWith("expected map, got int64"));
  EXPECT_THAT(mismatch_message<Request>(make_map("Seq", "seven")),
              StartsWith("field \"Seq\": expected int32, got string"));
  EXPECT_THAT(mismatch_message<Request>(make_map("Seq", 1u << 31)),
              StartsWith("field \"Seq\": 2147483648 is out of range for int32"));
}

struct Empty {
  LIBCHAN_FIELDS()
};

TEST(Fields, NoFields) {
  EXPECT_EQ(to_value(Empty{}), Value(Value::Map{}));
  (void)from_value<Empty>(make_map("a", 1));
}

// ---- nesting ---------------------------------------------------------------

struct Item {
  std::string name;
  int count = 1;
  LIBCHAN_FIELDS((name, "Name"), (count, "Count"))
};

struct Order {
  Item first;
  std::vector<Item> items;
  std::map<std::string, Item> by_id;
  std::optional<Item> gift;
  std::optional<int> note;
  LIBCHAN_FIELDS(first, items, by_id, gift, note)
};

TEST(Fields, NestedStructsRoundTrip) {
  Order o;
  o.first = {"a", 2};
  o.items = {{"b", 3}, {"c", 4}};
  o.by_id["x"] = {"d", 5};
  o.gift = Item{"e", 6};
  Value v = to_value(std::move(o));
  EXPECT_EQ(*v.find("first"), make_map("Name", "a", "Count", 2));
  EXPECT_EQ(*v.find("by_id"), make_map("x", make_map("Name", "d", "Count", 5)));
  EXPECT_TRUE(v.find("note")->is_nil());

  auto back = from_value<Order>(std::move(v));
  EXPECT_EQ(back.first.name, "a");
  ASSERT_EQ(back.items.size(), 2u);
  EXPECT_EQ(back.items[1].name, "c");
  EXPECT_EQ(back.items[1].count, 4);
  EXPECT_EQ(back.by_id.at("x").count, 5);
  ASSERT_TRUE(back.gift);
  EXPECT_EQ(back.gift->name, "e");
  EXPECT_EQ(back.note, std::nullopt);
}

TEST(Fields, NilLeavesOptionalsEmpty) {
  Order o;
  o.gift = Item{"kept?", 1};
  o.note = 3;
  from_value(make_map("gift", Value(), "note", Value()), o);
  EXPECT_EQ(o.gift.has_value(), false);
  EXPECT_EQ(o.note, std::nullopt);
}

TEST(Fields, MissingNestedKeysKeepDefaults) {
  auto o = from_value<Order>(make_map("items", make_array(make_map("Name", "n"))));
  ASSERT_EQ(o.items.size(), 1u);
  EXPECT_EQ(o.items[0].count, 1);
}

TEST(Fields, ErrorsNameTheWholePath) {
  Value v = make_map("items", make_array(make_map("Name", "ok"), make_map("Name", 5)));
  EXPECT_THAT(mismatch_message<Order>(std::move(v)),
              StartsWith("field \"items\"[1].\"Name\": expected string, got int64"));
  EXPECT_THAT(mismatch_message<Order>(make_map("by_id", make_map("k", make_map("Count", -1.5)))),
              StartsWith("field \"by_id\"[\"k\"].\"Count\": expected int32, got float64"));
  EXPECT_THAT(mismatch_message<Order>(make_map("gift", "x")),
              StartsWith("field \"gift\": expected map, got string"));
}

struct Tree {
  std::string name;
  std::vector<Tree> kids;
  Value extra;  // any value at all
  LIBCHAN_FIELDS(name, kids, extra)
};

TEST(Fields, RecursiveStructWithADynamicField) {
  Tree t{"root", {}, make_map("k", "v")};
  t.kids.push_back(Tree{"leaf", {}, Value(1)});
  Value v = to_value(std::move(t));
  EXPECT_EQ(v, make_map("name", "root", "kids",
                        make_array(make_map("name", "leaf", "kids", Value::Array{}, "extra", 1)),
                        "extra", make_map("k", "v")));
  auto back = from_value<Tree>(std::move(v));
  ASSERT_EQ(back.kids.size(), 1u);
  EXPECT_EQ(back.kids[0].name, "leaf");
  EXPECT_EQ(back.kids[0].extra, Value(1));
  EXPECT_EQ(back.extra, make_map("k", "v"));
}

// ---- access, locality, size ------------------------------------------------

class Private {
 public:
  Private() = default;
  Private(int a, std::string b) : a_(a), b_(std::move(b)) {}
  int a() const { return a_; }
  const std::string& b() const { return b_; }

 private:
  int a_ = 0;
  std::string b_;
  LIBCHAN_FIELDS((a_, "A"), (b_, "B"))
};

TEST(Fields, PrivateMembersAndMacro) {
  Value v = to_value(Private(1, "one"));
  EXPECT_EQ(v, make_map("A", 1, "B", "one"));
  auto back = from_value<Private>(std::move(v));
  EXPECT_EQ(back.a(), 1);
  EXPECT_EQ(back.b(), "one");
}

TEST(Fields, LocalStruct) {
  struct Point {
    double x = 0, y = 0;
    LIBCHAN_FIELDS(x, y);  // a trailing semicolon is fine too
  };
  auto p = from_value<Point>(to_value(Point{1.5, -2}));
  EXPECT_EQ(p.x, 1.5);
  EXPECT_EQ(p.y, -2);
}

struct Plain {
  int a = 0;
};
struct Derived : Request {
  int extra = 0;
};
struct DerivedWithFields : Request {
  int extra = 0;
  LIBCHAN_FIELDS(op, extra)
};

TEST(Fields, OnlyExplicitStructsConvert) {
  static_assert(!libchan::convertible_to_value<Plain>, "aggregates are not converted implicitly");
  static_assert(!libchan::convertible_from_value<Plain>);
  static_assert(!libchan::convertible_to_value<Derived>,
                "a base's LIBCHAN_FIELDS does not describe a derived struct");
  static_assert(libchan::convertible_to_value<Request>);
  DerivedWithFields d;
  d.op = "base member";
  d.extra = 2;
  EXPECT_EQ(to_value(std::move(d)), make_map("op", "base member", "extra", 2));
}

struct Wide {
  int f00 = 0, f01 = 1, f02 = 2, f03 = 3, f04 = 4, f05 = 5, f06 = 6, f07 = 7, f08 = 8, f09 = 9;
  int f10 = 10, f11 = 11, f12 = 12, f13 = 13, f14 = 14, f15 = 15, f16 = 16, f17 = 17, f18 = 18;
  int f19 = 19, f20 = 20, f21 = 21, f22 = 22, f23 = 23, f24 = 24, f25 = 25, f26 = 26, f27 = 27;
  int f28 = 28, f29 = 29, f30 = 30, f31 = 31, f32 = 32, f33 = 33, f34 = 34, f35 = 35, f36 = 36;
  int f37 = 37, f38 = 38, f39 = 39;
  LIBCHAN_FIELDS(f00, f01, f02, f03, f04, f05, f06, f07, f08, f09, f10, f11, f12, f13, f14, f15,
                 f16, f17, f18, f19, f20, f21, f22, f23, f24, f25, f26, f27, f28, f29, f30, f31,
                 f32, f33, f34, f35, f36, f37, f38, (f39, "last"))
};

TEST(Fields, FortyFields) {
  Value v = to_value(Wide{});
  ASSERT_EQ(v.size(), 40u);
  EXPECT_EQ(v.as_map()[0].key, Value("f00"));
  EXPECT_EQ(v.as_map()[38].value, Value(38));
  EXPECT_EQ(v.as_map()[39].key, Value("last"));
  v["f20"] = Value(-20);
  v["last"] = Value(-39);
  auto w = from_value<Wide>(std::move(v));
  EXPECT_EQ(w.f20, -20);
  EXPECT_EQ(w.f39, -39);
  EXPECT_EQ(w.f38, 38);
}

// ---- resources inside structs -----------------------------------------------

struct Reply {
  std::string text;
  LIBCHAN_FIELDS(text)
};

struct Job {
  std::string cmd;
  Sender<Reply> ret;
  Receiver<Item> input;
  ByteStream output;
  libchan::Fd fd;
  LIBCHAN_FIELDS(cmd, ret, input, output, fd)
};

TEST(Fields, ChannelEndsAndStreamsInsideAStruct) {
  auto [reply_rx, reply_tx] = libchan::buffered_pipe<Reply>(1);
  auto [item_rx, item_tx] = libchan::buffered_pipe<Item>(1);
  auto [out_a, out_b] = libchan::stream_pair();

  Value v = to_value(Job{"run", std::move(reply_tx), std::move(item_rx), std::move(out_a), {}});
  EXPECT_EQ(v.find("ret")->kind(), Kind::sender);
  EXPECT_EQ(v.find("input")->kind(), Kind::receiver);
  EXPECT_EQ(v.find("output")->kind(), Kind::stream);
  EXPECT_TRUE(v.find("fd")->is_nil());

  Job job = from_value<Job>(std::move(v));
  EXPECT_EQ(job.cmd, "run");

  // Send through the restored end, receive on the original.
  job.ret.send(Reply{"done"});
  EXPECT_EQ(reply_rx.receive()->text, "done");

  item_tx.send(Item{"apple", 3});
  auto item = job.input.receive();
  ASSERT_TRUE(item);
  EXPECT_EQ(item->name, "apple");
  EXPECT_EQ(item->count, 3);

  job.output.write(std::string_view("log line"));
  job.output.close_write();
  EXPECT_EQ(out_b.read_all(), "log line");

  job.ret.close();
  EXPECT_EQ(reply_rx.receive(), std::nullopt) << "closing the restored end ends the channel";
}

TEST(Fields, TypedEndFromAnUntypedMessage) {
  // A message built by untyped code (or decoded off the wire) carrying a
  // Sender<Value>; the struct sees it as a Sender<Reply>.
  auto [rx, tx] = libchan::buffered_pipe<Value>(1);
  Job job = from_value<Job>(make_map("cmd", "x", "ret", std::move(tx)));
  job.ret.send(Reply{"typed"});
  EXPECT_EQ(rx.receive(), make_map("text", "typed"));

  EXPECT_THAT(mismatch_message<Job>(make_map("ret", "not a channel")),
              StartsWith("field \"ret\": expected a Sender, got string"));
}

// ---- the Types struct of the Go master capture --------------------------------

struct NestedAB {
  int A = 0;
  std::string B;
  LIBCHAN_FIELDS(A, B)
};

// type Types struct { ...; Renamed string `msgpack:"renamed_key"` }
struct Types {
  std::string Message;
  int Seq = 0;
  Sender<Value> Ret;
  Binary Bytes;
  double Float = 0;
  bool Bool = false;
  std::int64_t Big = 0;
  int Neg = 0;
  std::uint64_t Uint = 0;
  std::map<std::string, int> Map;
  std::vector<std::string> List;
  NestedAB Nested;
  std::optional<int> NilPtr;
  Time TimeValue;
  std::optional<Time> TimePtr;
  std::string Renamed;
  LIBCHAN_FIELDS(Message, Seq, Ret, Bytes, Float, Bool, Big, Neg, Uint, Map, List, Nested, NilPtr,
                 TimeValue, TimePtr, (Renamed, "renamed_key"))
};

TEST(Fields, GoCaptureTypesStruct) {
  auto [ret_rx, ret_tx] = libchan::buffered_pipe<Value>(1);
  // Exactly as decoded from the capture: Go's map order, Uint as uint16
  // (an unsigned kind), times as empty maps, a nil pointer as nil.
  Value v =
      make_map("Big", std::int64_t{1099511627776}, "Neg", -5, "Map", make_map("a", 1), "Nested",
               make_map("A", 1, "B", "b"), "TimePtr", Value(Value::Map{}), "Float", 1.5, "Bytes",
               Binary{{0x00, 0x01, 0x02, 0xff}}, "Ret", std::move(ret_tx), "Seq", 7, "List",
               make_array("x", "y"), "TimeValue", Value(Value::Map{}), "Message", "types", "Uint",
               std::uint64_t{300}, "NilPtr", Value(), "renamed_key", "r", "Bool", true);
  Types t = from_value<Types>(std::move(v));
  EXPECT_EQ(t.Message, "types");
  EXPECT_EQ(t.Seq, 7);
  EXPECT_TRUE(t.Ret);
  EXPECT_EQ(t.Bytes.bytes, (std::vector<std::uint8_t>{0x00, 0x01, 0x02, 0xff}));
  EXPECT_EQ(t.Float, 1.5);
  EXPECT_TRUE(t.Bool);
  EXPECT_EQ(t.Big, 1099511627776);
  EXPECT_EQ(t.Neg, -5);
  EXPECT_EQ(t.Uint, 300u);
  EXPECT_EQ(t.Map, (std::map<std::string, int>{{"a", 1}}));
  EXPECT_EQ(t.List, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(t.Nested.A, 1);
  EXPECT_EQ(t.Nested.B, "b");
  EXPECT_EQ(t.NilPtr, std::nullopt);
  EXPECT_EQ(t.TimeValue, Time{});
  EXPECT_EQ(t.TimePtr, Time{});
  EXPECT_EQ(t.Renamed, "r");

  // The reply the Go server sends back goes through the received Sender.
  t.Ret.send(make_map("Message", "types", "Seq", 7));
  EXPECT_EQ(ret_rx.receive(), make_map("Message", "types", "Seq", 7));

  // Back to a Value: declaration order, the renamed key, real times.
  Time when = Time{} + std::chrono::seconds{1704164645} + std::chrono::nanoseconds{123456789};
  t.TimeValue = when;
  t.TimePtr.reset();
  Value out = to_value(std::move(t));
  EXPECT_EQ(keys_of(out),
            (std::vector<std::string>{"Message", "Seq", "Ret", "Bytes", "Float", "Bool", "Big",
                                      "Neg", "Uint", "Map", "List", "Nested", "NilPtr", "TimeValue",
                                      "TimePtr", "renamed_key"}));
  EXPECT_EQ(out.find("Ret")->kind(), Kind::sender);
  EXPECT_EQ(*out.find("Big"), Value(std::int64_t{1099511627776}));
  EXPECT_EQ(out.find("Uint")->kind(), Kind::uint64);
  EXPECT_EQ(*out.find("Nested"), make_map("A", 1, "B", "b"));
  EXPECT_TRUE(out.find("NilPtr")->is_nil());
  EXPECT_EQ(out.find("TimeValue")->as_time(), when);
  EXPECT_TRUE(out.find("TimePtr")->is_nil());
  EXPECT_EQ(*out.find("renamed_key"), Value("r"));
}

}  // namespace
