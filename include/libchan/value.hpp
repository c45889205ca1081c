// Value: a dynamically typed message (a msgpack value tree) whose leaves
// may also be channel ends, byte streams, times and file descriptors.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "libchan/byte_stream.hpp"
#include "libchan/channel.hpp"
#include "libchan/fd.hpp"

namespace libchan {

/// A point in time with nanosecond precision (UTC).
using Time = std::chrono::sys_time<std::chrono::nanoseconds>;

/// `t` as RFC 3339 text in UTC with nanoseconds: 2024-01-02T03:04:05.123456789Z.
std::string to_rfc3339(Time t);

/// Raw bytes (msgpack bin), distinct from text (msgpack str).
struct Binary {
  std::vector<std::uint8_t> bytes;
  bool operator==(const Binary&) const = default;
};

/// A dynamically typed value. Move-only, because channel ends, streams and
/// descriptors are. Maps keep their key order and allow any key type.
class Value {
 public:
  enum class Kind {
    nil,
    boolean,
    int64,
    uint64,
    float64,
    string,
    binary,
    array,
    map,
    time,
    sender,
    receiver,
    stream,
    fd,
  };
  using Array = std::vector<Value>;
  struct Entry;
  using Map = std::vector<Entry>;

  // Defined after Value::Entry: the variant needs Map's element complete.
  Value() noexcept;
  Value(std::nullptr_t) noexcept;
  Value(bool b) noexcept;
  template <std::signed_integral I>
    requires(!std::same_as<I, bool>)
  Value(I i) noexcept;
  template <std::unsigned_integral U>
    requires(!std::same_as<U, bool>)
  Value(U u) noexcept;
  Value(double d) noexcept;
  Value(float f) noexcept;
  Value(std::string s) noexcept;
  Value(std::string_view s);
  Value(const char* s);
  Value(Binary b) noexcept;
  Value(Array a) noexcept;
  Value(Map m) noexcept;
  Value(Time t) noexcept;
  Value(Sender<Value> s) noexcept;
  Value(Receiver<Value> r) noexcept;
  Value(ByteStream s) noexcept;
  Value(Fd fd) noexcept;

  Value(Value&&) noexcept;
  Value& operator=(Value&&) noexcept;
  ~Value();

  Kind kind() const noexcept { return static_cast<Kind>(data_.index()); }
  bool is_nil() const noexcept { return kind() == Kind::nil; }
  bool is_map() const noexcept { return kind() == Kind::map; }
  bool is_array() const noexcept { return kind() == Kind::array; }
  bool is_string() const noexcept { return kind() == Kind::string; }
  /// True for int64 and uint64.
  bool is_integer() const noexcept { return kind() == Kind::int64 || kind() == Kind::uint64; }
  /// True for the kinds that carry no resource (everything but channel
  /// ends, streams and descriptors, at any depth).
  bool is_plain_data() const noexcept;

  // Accessors throw Error(errc::type_mismatch) naming the expected and the
  // actual kind. Integer accessors accept either integer kind when the
  // number fits; as_double also accepts integers.
  bool as_bool() const;
  std::int64_t as_int() const;
  std::uint64_t as_uint() const;
  double as_double() const;
  const std::string& as_string() const;
  const Binary& as_binary() const;
  const Array& as_array() const;
  Array& as_array();
  const Map& as_map() const;
  Map& as_map();
  Time as_time() const;

  // Take a resource out, leaving nil behind.
  Sender<Value> take_sender();
  Receiver<Value> take_receiver();
  ByteStream take_stream();
  Fd take_fd();

  /// The value of the first entry whose key is the string `key`, or nullptr.
  const Value* find(std::string_view key) const noexcept;
  Value* find(std::string_view key) noexcept;
  /// Map access that inserts nil for a missing key (nil becomes an empty map).
  Value& operator[](std::string_view key);
  /// Appends to an array (nil becomes an empty array).
  void push_back(Value v);
  /// Elements in an array or entries in a map; 0 otherwise.
  std::size_t size() const noexcept;

  /// A deep copy of plain data; throws Error(errc::type_mismatch) for a
  /// value holding a channel end, stream or descriptor.
  Value clone() const;

  /// Deep equality. Channel ends, streams and descriptors are equal when
  /// they are the same object. int64 and uint64 holding the same number are
  /// equal.
  friend bool operator==(const Value& a, const Value& b) noexcept;
  friend bool operator!=(const Value& a, const Value& b) noexcept { return !(a == b); }

  /// A short human-readable rendering, for diagnostics and tests.
  std::string to_string() const;

  static const char* kind_name(Kind k) noexcept;

  /// Direct access to the variant, for codecs.
  using Data =
      std::variant<std::monostate, bool, std::int64_t, std::uint64_t, double, std::string, Binary,
                   Array, Map, Time, Sender<Value>, Receiver<Value>, ByteStream, Fd>;
  const Data& data() const noexcept { return data_; }
  Data& data() noexcept { return data_; }

 private:
  void destroy_others() noexcept;

  // A union member, so that ~Value decides what to destroy: std::variant's
  // own destructor dispatches through a table of function pointers (14
  // alternatives is past libstdc++'s inline switch), which dominated the
  // cost of freeing a decoded message.
  union {
    Data data_;
  };
};

/// One key/value pair of a map.
struct Value::Entry {
  Value key;
  Value value;
};

inline Value::Value() noexcept : data_() {}
inline Value::Value(std::nullptr_t) noexcept : data_() {}
inline Value::Value(bool b) noexcept : data_(b) {}
template <std::signed_integral I>
  requires(!std::same_as<I, bool>)
inline Value::Value(I i) noexcept : data_(static_cast<std::int64_t>(i)) {}
template <std::unsigned_integral U>
  requires(!std::same_as<U, bool>)
inline Value::Value(U u) noexcept : data_(static_cast<std::uint64_t>(u)) {}
inline Value::Value(double d) noexcept : data_(d) {}
inline Value::Value(float f) noexcept : data_(static_cast<double>(f)) {}
inline Value::Value(std::string s) noexcept : data_(std::move(s)) {}
inline Value::Value(std::string_view s) : data_(std::string(s)) {}
inline Value::Value(const char* s) : data_(std::string(s)) {}
inline Value::Value(Binary b) noexcept : data_(std::move(b)) {}
inline Value::Value(Array a) noexcept : data_(std::move(a)) {}
inline Value::Value(Map m) noexcept : data_(std::move(m)) {}
inline Value::Value(Time t) noexcept : data_(t) {}
inline Value::Value(Sender<Value> s) noexcept : data_(std::move(s)) {}
inline Value::Value(Receiver<Value> r) noexcept : data_(std::move(r)) {}
inline Value::Value(ByteStream s) noexcept : data_(std::move(s)) {}
inline Value::Value(Fd fd) noexcept : data_(std::move(fd)) {}
inline Value::Value(Value&& other) noexcept : data_(std::move(other.data_)) {}
inline Value& Value::operator=(Value&& other) noexcept {
  data_ = std::move(other.data_);
  return *this;
}
inline Value::~Value() {
  // Inline for the kinds that make up most of a message: nothing to do for
  // scalars, and a string frees at most its buffer. Containers and
  // resources go out of line.
  const auto k = kind();
  if (k == Kind::string) {
    std::destroy_at(std::get_if<std::string>(&data_));
  } else if (!(k <= Kind::float64 || k == Kind::time)) {
    destroy_others();
  }
}

/// Builds a map from (key, value) pairs in order: make_map({{"a", 1}, ...})
/// is not possible with move-only values, so this takes a flat list.
template <class... Args>
Value make_map(Args&&... key_values) {
  static_assert(sizeof...(Args) % 2 == 0, "make_map takes key, value, key, value, ...");
  Value::Map m;
  if constexpr (sizeof...(Args) > 0) {
    m.reserve(sizeof...(Args) / 2);
    Value items[] = {Value(std::forward<Args>(key_values))...};
    for (std::size_t i = 0; i + 1 < sizeof...(Args); i += 2)
      m.push_back({std::move(items[i]), std::move(items[i + 1])});
  }
  return Value(std::move(m));
}

/// Builds an array from its elements.
template <class... Args>
Value make_array(Args&&... elements) {
  Value::Array a;
  a.reserve(sizeof...(Args));
  (a.emplace_back(std::forward<Args>(elements)), ...);
  return Value(std::move(a));
}

}  // namespace libchan
