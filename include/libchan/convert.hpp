// Conversions between C++ types and libchan::Value.
//
// Convert<T> is the customization point: a specialization has
//
//   static Value to_value(T&& v);   // moves resources (channel ends, streams, fds) out of v
//   static void from_value(Value&& v, T& out, ConvertPath& path);
//
// and from_value throws Error(errc::type_mismatch) with a message naming
// where in the message the problem is and which kinds were involved:
//   field "Ret": expected a Sender, got string
//   field "Args"[2]: expected string, got int64
//
// Built in: Value, bool, integers (range-checked), enums, float, double,
// std::string (std::string_view and const char* one way), Binary,
// std::vector, std::array, std::map, std::unordered_map, std::optional,
// Time and other system_clock time points, Fd, ByteStream, Sender<T> and
// Receiver<T>. Structs opt in with LIBCHAN_FIELDS (libchan/fields.hpp).
#pragma once

#include <array>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "libchan/byte_stream.hpp"
#include "libchan/channel.hpp"
#include "libchan/error.hpp"
#include "libchan/fd.hpp"
#include "libchan/value.hpp"

namespace libchan {

/// Where a conversion is inside the value being converted, kept only to
/// name the place in an error message.
///
/// It is a stack of segments that live on the C++ stack of the converting
/// functions: entering a field or an element costs two pointer writes and
/// no allocation; the text is built only when a conversion fails.
class ConvertPath {
  enum class kind : unsigned char { field, index, entry, key };
  struct Segment {
    kind what;
    std::string_view name;
    std::size_t number;
    const Segment* parent;
    const Value* key = nullptr;
  };

 public:
  /// Keeps a segment on the path for its lifetime. Obtained from field(),
  /// index(), entry() or key(); cannot be copied or moved.
  class [[nodiscard]] Scope {
   public:
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope() { path_.top_ = segment_.parent; }

   private:
    friend class ConvertPath;
    Scope(ConvertPath& path, Segment segment) noexcept : path_(path), segment_(segment) {
      segment_.parent = path.top_;
      path.top_ = &segment_;
    }
    ConvertPath& path_;
    Segment segment_;
  };

  ConvertPath() noexcept = default;
  ConvertPath(const ConvertPath&) = delete;
  ConvertPath& operator=(const ConvertPath&) = delete;

  /// The member of a struct stored under map key `name`. `name` must
  /// outlive the scope.
  Scope field(std::string_view name) noexcept { return Scope(*this, {kind::field, name, 0, {}}); }
  /// Element `i` of an array.
  Scope index(std::size_t i) noexcept { return Scope(*this, {kind::index, {}, i, {}}); }
  /// The value of map entry number `i`, whose key is `key` (which must
  /// stay unchanged while the scope lives: convert the value before the key).
  Scope entry(const Value& key, std::size_t i) noexcept {
    return Scope(*this, {kind::entry, {}, i, {}, &key});
  }
  /// The key of map entry number `i`.
  Scope key(std::size_t i) noexcept { return Scope(*this, {kind::key, {}, i, {}}); }

  bool empty() const noexcept { return top_ == nullptr; }

  /// The path as text: `field "Nested"."List"[2]`, `element [0]`,
  /// `entry ["a"]`, or "" at the top.
  std::string to_string() const {
    std::vector<const Segment*> segments;
    for (auto* s = top_; s; s = s->parent) segments.push_back(s);
    std::string out;
    for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
      const Segment& s = **it;
      bool first = out.empty();
      switch (s.what) {
        case kind::field:
          out += first ? "field \"" : ".\"";
          out.append(s.name);
          out += '"';
          break;
        case kind::index:
          out += first ? "element [" : "[";
          out += std::to_string(s.number);
          out += ']';
          break;
        case kind::entry:
          out += first ? "entry [" : "[";
          out += key_text(*s.key, s.number);
          out += ']';
          break;
        case kind::key:
          out += first ? "key of entry " : " (key of entry ";
          out += std::to_string(s.number);
          if (!first) out += ')';
          break;
      }
    }
    return out;
  }

  /// Throws Error(errc::type_mismatch) with `problem`, prefixed by the path.
  [[noreturn]] void fail(std::string_view problem) const {
    std::string text = to_string();
    if (!text.empty()) text += ": ";
    text.append(problem);
    throw Error(errc::type_mismatch, text);
  }

  /// Fails with "expected <expected>, got <kind of got>".
  [[noreturn]] void mismatch(std::string_view expected, const Value& got) const {
    std::string problem = "expected ";
    problem.append(expected);
    problem += ", got ";
    problem += Value::kind_name(got.kind());
    fail(problem);
  }

 private:
  static std::string key_text(const Value& key, std::size_t entry) {
    const auto& data = key.data();
    if (auto* s = std::get_if<std::string>(&data)) return '"' + *s + '"';
    if (auto* i = std::get_if<std::int64_t>(&data)) return std::to_string(*i);
    if (auto* u = std::get_if<std::uint64_t>(&data)) return std::to_string(*u);
    return "entry " + std::to_string(entry);
  }

  const Segment* top_ = nullptr;
};

/// The customization point; see the top of this file. `Enable` is for
/// enable_if-style partial specializations (constraints work as well).
template <class T, class Enable = void>
struct Convert;

/// T can be turned into a Value.
template <class T>
concept convertible_to_value = requires(T&& v) {
  { Convert<T>::to_value(std::move(v)) } -> std::same_as<Value>;
};

/// A Value can be turned into a T.
template <class T>
concept convertible_from_value = requires(Value&& v, T& out, ConvertPath& path) {
  Convert<T>::from_value(std::move(v), out, path);
};

/// Converts `v` to a Value. An rvalue is moved from (channel ends and
/// streams move into the Value); an lvalue is copied first, so it must be
/// copyable — pass std::move(v) for a value that holds resources.
template <class T>
Value to_value(T&& v) {
  using U = std::remove_cvref_t<T>;
  if constexpr (std::is_array_v<U>) {
    static_assert(std::is_same_v<std::remove_cv_t<std::remove_extent_t<U>>, char>,
                  "only character arrays (string literals) convert to a Value");
    return Value(static_cast<const char*>(v));
  } else {
    static_assert(convertible_to_value<U>,
                  "no libchan::Convert<T> for this type: add LIBCHAN_FIELDS(...) to the struct "
                  "or specialize libchan::Convert");
    if constexpr (std::is_lvalue_reference_v<T>) {
      static_assert(std::is_copy_constructible_v<U>,
                    "to_value of an lvalue copies it; this type is move-only: pass std::move(v)");
      return Convert<U>::to_value(U(v));
    } else {
      return Convert<U>::to_value(std::move(v));
    }
  }
}

/// Converts `v` into `out`, reporting the place of a failure relative to
/// `path` (for use inside Convert specializations).
template <convertible_from_value T>
void from_value(Value&& v, T& out, ConvertPath& path) {
  Convert<T>::from_value(std::move(v), out, path);
}

/// Converts `v` into `out`. Throws Error(errc::type_mismatch) naming the
/// place and the kinds; `out` is then valid but partly converted.
template <convertible_from_value T>
void from_value(Value&& v, T& out) {
  ConvertPath path;
  Convert<T>::from_value(std::move(v), out, path);
}

/// Converts `v` to a T; throws as above.
template <convertible_from_value T>
requires std::default_initializable<T> T from_value(Value&& v) {
  T out{};
  from_value(std::move(v), out);
  return out;
}

/// Converts `v` into `out`; on failure sets `ec` (errc::type_mismatch) and
/// returns false. The message with the path is lost: use the throwing form
/// to see it.
template <convertible_from_value T>
bool from_value(Value&& v, T& out, std::error_code& ec) {
  try {
    from_value(std::move(v), out);
  } catch (const Error& e) {
    ec = e.code();
    return false;
  }
  ec.clear();
  return true;
}

namespace detail {

// Defined in libchan/detail/adapt.hpp, which needs the conversions above;
// declared here so that this header parses whichever is included first.
template <class T>
Sender<Value> erase_sender(Sender<T>&& s);
template <class T>
Sender<T> restore_sender(Sender<Value>&& s);
template <class T>
Receiver<Value> erase_receiver(Receiver<T>&& r);
template <class T>
Receiver<T> restore_receiver(Receiver<Value>&& r);

/// "int8", "uint64", ...: the name used in messages about T.
template <class T>
std::string integer_name() {
  return (std::is_signed_v<T> ? "int" : "uint") + std::to_string(8 * sizeof(T));
}

template <class T>
constexpr bool integer_fits(std::int64_t i) noexcept {
  using L = std::numeric_limits<T>;
  if constexpr (std::is_signed_v<T>)
    return i >= static_cast<std::int64_t>(L::min()) && i <= static_cast<std::int64_t>(L::max());
  else
    return i >= 0 && static_cast<std::uint64_t>(i) <= static_cast<std::uint64_t>(L::max());
}

template <class T>
constexpr bool integer_fits(std::uint64_t u) noexcept {
  return u <= static_cast<std::uint64_t>(std::numeric_limits<T>::max());
}

template <class Container>
Value sequence_to_value(Container&& c) {
  using E = typename std::remove_cvref_t<Container>::value_type;
  Value::Array a;
  a.reserve(c.size());
  // auto&& also binds std::vector<bool>'s proxy references.
  for (auto&& e : c) a.push_back(Convert<E>::to_value(std::move(e)));
  return Value(std::move(a));
}

// Maps: both std::map and std::unordered_map. Entries go out in the
// container's iteration order; keys are moved out through node handles.
template <class M>
struct map_convert {
  using K = typename M::key_type;
  using V = typename M::mapped_type;

  static Value to_value(M&& m) {
    Value::Map out;
    out.reserve(m.size());
    while (!m.empty()) {
      auto node = m.extract(m.begin());
      out.push_back({Convert<K>::to_value(std::move(node.key())),
                     Convert<V>::to_value(std::move(node.mapped()))});
    }
    return Value(std::move(out));
  }

  static void from_value(Value&& v, M& out, ConvertPath& path) {
    out.clear();
    if (v.is_nil()) return;  // Go sends a nil map as nil
    auto* entries = std::get_if<Value::Map>(&v.data());
    if (!entries) path.mismatch("map", v);
    for (std::size_t i = 0; i < entries->size(); ++i) {
      auto& e = (*entries)[i];
      V value{};
      {
        // The value first: the path shows the key, so it must stay intact.
        auto scope = path.entry(e.key, i);
        Convert<V>::from_value(std::move(e.value), value, path);
      }
      K key{};
      {
        auto scope = path.key(i);
        Convert<K>::from_value(std::move(e.key), key, path);
      }
      out.insert_or_assign(std::move(key), std::move(value));  // a repeated key: the last wins
    }
  }
};

// Leaves held directly by Value (ByteStream, Fd, Sender<Value>,
// Receiver<Value>): nil is an empty handle and an empty handle is nil.
template <class H, Value::Kind K>
struct handle_convert {
  static Value to_value(H&& h) {
    if (!h) return Value();
    return Value(std::move(h));
  }
  static void from_value(Value&& v, H& out, ConvertPath& path) {
    if (v.is_nil()) {
      out = H();
    } else if (auto* h = std::get_if<H>(&v.data())) {
      out = std::move(*h);
    } else {
      std::string expected = std::string("a ") + Value::kind_name(K);
      path.mismatch(expected, v);
    }
  }
};

}  // namespace detail

/// Identity.
template <>
struct Convert<Value> {
  static Value to_value(Value&& v) noexcept { return std::move(v); }
  static void from_value(Value&& v, Value& out, ConvertPath&) noexcept { out = std::move(v); }
};

/// An array value; nil converts to an empty array.
template <>
struct Convert<Value::Array> {
  static Value to_value(Value::Array&& a) noexcept { return Value(std::move(a)); }
  static void from_value(Value&& v, Value::Array& out, ConvertPath& path) {
    if (v.is_nil()) {
      out.clear();
    } else if (auto* a = std::get_if<Value::Array>(&v.data())) {
      out = std::move(*a);
    } else {
      path.mismatch("array", v);
    }
  }
};

/// A map value; nil converts to an empty map.
template <>
struct Convert<Value::Map> {
  static Value to_value(Value::Map&& m) noexcept { return Value(std::move(m)); }
  static void from_value(Value&& v, Value::Map& out, ConvertPath& path) {
    if (v.is_nil()) {
      out.clear();
    } else if (auto* m = std::get_if<Value::Map>(&v.data())) {
      out = std::move(*m);
    } else {
      path.mismatch("map", v);
    }
  }
};

template <>
struct Convert<bool> {
  static Value to_value(bool&& b) noexcept { return Value(b); }
  static void from_value(Value&& v, bool& out, ConvertPath& path) {
    if (auto* b = std::get_if<bool>(&v.data()))
      out = *b;
    else
      path.mismatch("bool", v);
  }
};

/// Every integer type. Either integer kind is accepted when the number fits
/// in T; otherwise the message says "<number> is out of range for int8".
template <class T>
requires(std::integral<T> && !std::same_as<T, bool>) struct Convert<T> {
  static Value to_value(T&& i) noexcept { return Value(i); }
  static void from_value(Value&& v, T& out, ConvertPath& path) {
    const auto& data = v.data();
    if (auto* i = std::get_if<std::int64_t>(&data)) {
      if (!detail::integer_fits<T>(*i)) out_of_range(std::to_string(*i), path);
      out = static_cast<T>(*i);
    } else if (auto* u = std::get_if<std::uint64_t>(&data)) {
      if (!detail::integer_fits<T>(*u)) out_of_range(std::to_string(*u), path);
      out = static_cast<T>(*u);
    } else {
      path.mismatch(detail::integer_name<T>(), v);
    }
  }

 private:
  [[noreturn]] static void out_of_range(const std::string& number, const ConvertPath& path) {
    path.fail(number + " is out of range for " + detail::integer_name<T>());
  }
};

/// Enums travel as their underlying integer (Go has no enums: its
/// constants are plain integers).
template <class T>
requires std::is_enum_v<T>
struct Convert<T> {
  using U = std::underlying_type_t<T>;
  static Value to_value(T&& e) noexcept { return Value(static_cast<U>(e)); }
  static void from_value(Value&& v, T& out, ConvertPath& path) {
    U u{};
    Convert<U>::from_value(std::move(v), u, path);
    out = static_cast<T>(u);
  }
};

/// float64; integers are accepted too.
template <>
struct Convert<double> {
  static Value to_value(double&& d) noexcept { return Value(d); }
  static void from_value(Value&& v, double& out, ConvertPath& path) {
    const auto& data = v.data();
    if (auto* d = std::get_if<double>(&data))
      out = *d;
    else if (auto* i = std::get_if<std::int64_t>(&data))
      out = static_cast<double>(*i);
    else if (auto* u = std::get_if<std::uint64_t>(&data))
      out = static_cast<double>(*u);
    else
      path.mismatch("float64", v);
  }
};

/// Sent as float64 (libchan's Value has one floating kind). A finite number
/// beyond float's range is an error rather than an infinity.
template <>
struct Convert<float> {
  static Value to_value(float&& f) noexcept { return Value(f); }
  static void from_value(Value&& v, float& out, ConvertPath& path) {
    if (!std::holds_alternative<double>(v.data()) && !v.is_integer()) path.mismatch("float32", v);
    double d = 0;
    Convert<double>::from_value(std::move(v), d, path);
    if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max())
      path.fail(std::to_string(d) + " is out of range for float32");
    out = static_cast<float>(d);
  }
};

/// Text. A binary value is accepted as well: peers speaking the old msgpack
/// spec (Go libchan v0.1's codec) send strings as raw bytes.
template <>
struct Convert<std::string> {
  static Value to_value(std::string&& s) noexcept { return Value(std::move(s)); }
  static void from_value(Value&& v, std::string& out, ConvertPath& path) {
    auto& data = v.data();
    if (auto* s = std::get_if<std::string>(&data))
      out = std::move(*s);
    else if (auto* b = std::get_if<Binary>(&data))
      out.assign(b->bytes.begin(), b->bytes.end());
    else
      path.mismatch("string", v);
  }
};

/// One way only: a Value owns its text.
template <>
struct Convert<std::string_view> {
  static Value to_value(std::string_view&& s) { return Value(s); }
};

/// One way only. A null pointer becomes nil.
template <>
struct Convert<const char*> {
  static Value to_value(const char*&& s) { return s ? Value(s) : Value(); }
};
template <>
struct Convert<char*> {
  static Value to_value(char*&& s) { return s ? Value(static_cast<const char*>(s)) : Value(); }
};

/// Bytes. nil is empty bytes (Go sends a nil []byte as nil), and a string
/// is accepted (old-spec peers send []byte as raw text).
template <>
struct Convert<Binary> {
  static Value to_value(Binary&& b) noexcept { return Value(std::move(b)); }
  static void from_value(Value&& v, Binary& out, ConvertPath& path) {
    auto& data = v.data();
    if (auto* b = std::get_if<Binary>(&data))
      out = std::move(*b);
    else if (auto* s = std::get_if<std::string>(&data))
      out.bytes.assign(s->begin(), s->end());
    else if (v.is_nil())
      out.bytes.clear();
    else
      path.mismatch("binary", v);
  }
};

/// An array. nil is an empty vector (Go sends a nil slice as nil).
/// std::vector<std::uint8_t> is an array of integers like any other vector;
/// use Binary for bytes.
template <class T, class A>
struct Convert<std::vector<T, A>> {
  static Value to_value(std::vector<T, A>&& v) { return detail::sequence_to_value(std::move(v)); }
  static void from_value(Value&& v, std::vector<T, A>& out, ConvertPath& path) {
    out.clear();
    if (v.is_nil()) return;
    auto* a = std::get_if<Value::Array>(&v.data());
    if (!a) path.mismatch("array", v);
    out.reserve(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto scope = path.index(i);
      T element{};
      Convert<T>::from_value(std::move((*a)[i]), element, path);
      out.push_back(std::move(element));
    }
  }
};

/// An array of exactly N elements.
template <class T, std::size_t N>
struct Convert<std::array<T, N>> {
  static Value to_value(std::array<T, N>&& v) { return detail::sequence_to_value(std::move(v)); }
  static void from_value(Value&& v, std::array<T, N>& out, ConvertPath& path) {
    auto* a = std::get_if<Value::Array>(&v.data());
    if (!a) path.mismatch("array", v);
    if (a->size() != N)
      path.fail("expected an array of " + std::to_string(N) + " elements, got " +
                std::to_string(a->size()));
    for (std::size_t i = 0; i < N; ++i) {
      auto scope = path.index(i);
      Convert<T>::from_value(std::move((*a)[i]), out[i], path);
    }
  }
};

template <class K, class V, class C, class A>
struct Convert<std::map<K, V, C, A>> : detail::map_convert<std::map<K, V, C, A>> {};

template <class K, class V, class H, class E, class A>
struct Convert<std::unordered_map<K, V, H, E, A>>
    : detail::map_convert<std::unordered_map<K, V, H, E, A>> {};

/// nil is nullopt and nullopt is nil.
template <class T>
struct Convert<std::optional<T>> {
  static Value to_value(std::optional<T>&& o) {
    if (!o) return Value();
    return Convert<T>::to_value(std::move(*o));
  }
  static void from_value(Value&& v, std::optional<T>& out, ConvertPath& path) {
    if (v.is_nil()) {
      out.reset();
      return;
    }
    Convert<T>::from_value(std::move(v), out.emplace(), path);
  }
};

/// Time and any other system_clock time point (kind time, nanoseconds).
/// Coming in, nil and an empty map are the zero Time (the Unix epoch): Go
/// libchan master's codec sends a time.Time field as an empty map, its
/// value lost.
template <class Duration>
struct Convert<std::chrono::time_point<std::chrono::system_clock, Duration>> {
  using TimePoint = std::chrono::time_point<std::chrono::system_clock, Duration>;
  static Value to_value(TimePoint&& t) {
    return Value(std::chrono::time_point_cast<std::chrono::nanoseconds>(t));
  }
  static void from_value(Value&& v, TimePoint& out, ConvertPath& path) {
    const auto& data = v.data();
    if (auto* t = std::get_if<Time>(&data)) {
      out = std::chrono::floor<Duration>(*t);
    } else if (auto* m = std::get_if<Value::Map>(&data); v.is_nil() || (m && m->empty())) {
      out = TimePoint();
    } else {
      path.mismatch("time", v);
    }
  }
};

template <>
struct Convert<Fd> : detail::handle_convert<Fd, Value::Kind::fd> {};
template <>
struct Convert<ByteStream> : detail::handle_convert<ByteStream, Value::Kind::stream> {};

/// A channel end. For T other than Value, the end is wrapped so that
/// messages are converted on the way (see libchan/detail/adapt.hpp); a
/// wrapped end that comes back is unwrapped, not wrapped twice.
template <class T>
struct Convert<Sender<T>> {
  static Value to_value(Sender<T>&& s) {
    if (!s) return Value();
    return Value(detail::erase_sender<T>(std::move(s)));
  }
  static void from_value(Value&& v, Sender<T>& out, ConvertPath& path) {
    Sender<Value> untyped;
    detail::handle_convert<Sender<Value>, Value::Kind::sender>::from_value(std::move(v), untyped,
                                                                           path);
    out = untyped ? detail::restore_sender<T>(std::move(untyped)) : Sender<T>();
  }
};

template <class T>
struct Convert<Receiver<T>> {
  static Value to_value(Receiver<T>&& r) {
    if (!r) return Value();
    return Value(detail::erase_receiver<T>(std::move(r)));
  }
  static void from_value(Value&& v, Receiver<T>& out, ConvertPath& path) {
    Receiver<Value> untyped;
    detail::handle_convert<Receiver<Value>, Value::Kind::receiver>::from_value(std::move(v),
                                                                               untyped, path);
    out = untyped ? detail::restore_receiver<T>(std::move(untyped)) : Receiver<T>();
  }
};

}  // namespace libchan

// The typed channel adapters use the conversions above.
#include "libchan/detail/adapt.hpp"
