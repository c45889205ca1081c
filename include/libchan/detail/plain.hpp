// Messages of plain data written straight to the wire.
//
// A typed Sender<T> whose T holds only plain data (numbers, text, bytes,
// and vectors, arrays, optionals, maps and LIBCHAN_FIELDS structs of them)
// need not build a Value first: a network channel walks the T itself and
// encodes each item as it goes. The items and their order are exactly those
// of Convert<T>::to_value, so the bytes on the wire are the same.
//
// Receiving is the mirror image: a network channel keeps a plain message's
// bytes undecoded, and a typed Receiver<T> of a plain T reads the message's
// items straight into a T (plain<T>::read). Any item that does not fit T
// makes the read give up, and the message takes the Value path, whose
// conversion says what was wrong: a read accepts exactly what
// Convert<T>::from_value accepts, and fills in the same values.
//
// Channel ends, streams, descriptors, times and Value fields are not plain:
// they need the session's references, so such a T takes the Value path.
// Nor are enums, which an application may give a Convert of its own.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "libchan/value.hpp"

namespace libchan::detail {

/// Takes the items of one message in order; an array or map announces how
/// many elements (or key/value pairs) follow.
class plain_writer {
 public:
  virtual void nil() = 0;
  virtual void boolean(bool b) = 0;
  virtual void int64(std::int64_t i) = 0;
  virtual void uint64(std::uint64_t u) = 0;
  virtual void float64(double d) = 0;
  virtual void string(std::string_view s) = 0;
  virtual void binary(std::span<const std::uint8_t> bytes) = 0;
  virtual void array(std::size_t size) = 0;
  virtual void map(std::size_t size) = 0;

 protected:
  ~plain_writer() = default;
};

/// A message of plain data, written on demand (under the session's lock,
/// in its wire dialect). Must not be kept past the call it is given to.
class plain_message {
 public:
  virtual void write(plain_writer& out) const = 0;

 protected:
  ~plain_message() = default;
};

/// One item of a received message. Its kind is one of Value's first nine
/// (nil to map); an array or map announces in `size` how many elements (or
/// key/value pairs) follow it.
struct plain_item {
  using kind = Value::Kind;
  kind type = kind::nil;
  union {
    std::int64_t i = 0;  ///< int64; boolean as 0 or 1
    std::uint64_t u;     ///< uint64
    double d;            ///< float64
  };
  const std::uint8_t* data = nullptr;  ///< the bytes of a string or binary
  std::size_t size = 0;                ///< string or binary bytes, array elements, map pairs

  std::string_view text() const noexcept { return {reinterpret_cast<const char*>(data), size}; }
};

/// The items of one message, read front to back.
class plain_items {
 public:
  explicit plain_items(std::span<const plain_item> items) noexcept : items_(items) {}
  /// The next item (null past the end), and moves past it.
  const plain_item* next() noexcept { return pos_ < items_.size() ? &items_[pos_++] : nullptr; }
  /// The next item, staying before it.
  const plain_item* peek() const noexcept { return pos_ < items_.size() ? &items_[pos_] : nullptr; }
  /// Moves past the next item and all it holds.
  bool skip() noexcept {
    const plain_item* it = next();
    return it && skip_children(*it);
  }
  /// Moves past what `it`, the item just read, holds.
  bool skip_children(const plain_item& it) noexcept {
    for (std::size_t left = children(it); left > 0; --left) {
      const plain_item* child = next();
      if (!child) return false;
      left += children(*child);
    }
    return true;
  }
  bool at_end() const noexcept { return pos_ == items_.size(); }

 private:
  static std::size_t children(const plain_item& it) noexcept {
    if (it.type == plain_item::kind::array) return it.size;
    if (it.type == plain_item::kind::map) return 2 * it.size;
    return 0;
  }
  std::span<const plain_item> items_;
  std::size_t pos_ = 0;
};

/// plain<T>::write(out, value) and plain<T>::read(in, value) for the types
/// listed at the top; `value` says whether T qualifies. A read returns false
/// for anything Convert<T>::from_value would refuse (it may leave `value`
/// half written). Specialized below and in libchan/fields.hpp.
template <class T, class Enable = void>
struct plain {
  static constexpr bool value = false;
};

template <class T>
inline constexpr bool is_plain_v = plain<T>::value;

template <>
struct plain<bool> {
  static constexpr bool value = true;
  static void write(plain_writer& out, bool b) { out.boolean(b); }
  static bool read(plain_items& in, bool& b) {
    const plain_item* it = in.next();
    if (!it || it->type != plain_item::kind::boolean) return false;
    b = it->i != 0;
    return true;
  }
};

template <class T>
struct plain<T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>>> {
  static constexpr bool value = true;
  static void write(plain_writer& out, T i) {
    if constexpr (std::is_signed_v<T>)
      out.int64(static_cast<std::int64_t>(i));
    else
      out.uint64(static_cast<std::uint64_t>(i));
  }
  // Either integer kind, when the number fits in T.
  static bool read(plain_items& in, T& i) {
    const plain_item* it = in.next();
    if (!it) return false;
    if (it->type == plain_item::kind::int64 && std::in_range<T>(it->i))
      i = static_cast<T>(it->i);
    else if (it->type == plain_item::kind::uint64 && std::in_range<T>(it->u))
      i = static_cast<T>(it->u);
    else
      return false;
    return true;
  }
};

template <class T>
struct plain<T, std::enable_if_t<std::is_same_v<T, double> || std::is_same_v<T, float>>> {
  static constexpr bool value = true;
  static void write(plain_writer& out, T d) { out.float64(static_cast<double>(d)); }
  // A float64 or an integer; a finite number beyond float's range is
  // refused rather than made infinite.
  static bool read(plain_items& in, T& out) {
    const plain_item* it = in.next();
    if (!it) return false;
    double d = 0;
    if (it->type == plain_item::kind::float64)
      d = it->d;
    else if (it->type == plain_item::kind::int64)
      d = static_cast<double>(it->i);
    else if (it->type == plain_item::kind::uint64)
      d = static_cast<double>(it->u);
    else
      return false;
    if constexpr (std::is_same_v<T, float>) {
      if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) return false;
    }
    out = static_cast<T>(d);
    return true;
  }
};

template <>
struct plain<std::string> {
  static constexpr bool value = true;
  static void write(plain_writer& out, const std::string& s) { out.string(s); }
  // A string, or binary bytes.
  static bool read(plain_items& in, std::string& s) {
    const plain_item* it = in.next();
    if (!it || (it->type != plain_item::kind::string && it->type != plain_item::kind::binary))
      return false;
    s.assign(it->text());
    return true;
  }
};

template <>
struct plain<Binary> {
  static constexpr bool value = true;
  static void write(plain_writer& out, const Binary& b) { out.binary(b.bytes); }
  // Binary bytes, a string, or nil (no bytes).
  static bool read(plain_items& in, Binary& b) {
    const plain_item* it = in.next();
    if (!it) return false;
    if (it->type == plain_item::kind::nil)
      b.bytes.clear();
    else if (it->type == plain_item::kind::binary || it->type == plain_item::kind::string)
      b.bytes.assign(it->data, it->data + it->size);
    else
      return false;
    return true;
  }
};

/// Sequences: std::vector (std::vector<bool> too) and std::array.
template <class Sequence, class Element>
struct plain_sequence {
  static constexpr bool value = is_plain_v<Element>;
  static void write(plain_writer& out, const Sequence& s) {
    out.array(s.size());
    for (const auto& e : s) plain<Element>::write(out, e);
  }
};

// nil reads as an empty vector.
template <class T, class A>
struct plain<std::vector<T, A>> : plain_sequence<std::vector<T, A>, T> {
  static bool read(plain_items& in, std::vector<T, A>& v) {
    const plain_item* it = in.next();
    v.clear();
    if (it && it->type == plain_item::kind::nil) return true;
    if (!it || it->type != plain_item::kind::array) return false;
    v.reserve(it->size);
    for (std::size_t k = 0; k < it->size; ++k) {
      T element{};
      if (!plain<T>::read(in, element)) return false;
      v.push_back(std::move(element));
    }
    return true;
  }
};

// Exactly N elements.
template <class T, std::size_t N>
struct plain<std::array<T, N>> : plain_sequence<std::array<T, N>, T> {
  static bool read(plain_items& in, std::array<T, N>& a) {
    const plain_item* it = in.next();
    if (!it || it->type != plain_item::kind::array || it->size != N) return false;
    for (auto& e : a)
      if (!plain<T>::read(in, e)) return false;
    return true;
  }
};

/// Maps, in the container's iteration order (as Convert writes them).
template <class M>
struct plain_map {
  static constexpr bool value =
      is_plain_v<typename M::key_type> && is_plain_v<typename M::mapped_type>;
  static void write(plain_writer& out, const M& m) {
    out.map(m.size());
    for (const auto& [k, v] : m) {
      plain<typename M::key_type>::write(out, k);
      plain<typename M::mapped_type>::write(out, v);
    }
  }
  // nil reads as an empty map; of a repeated key, the last value wins.
  static bool read(plain_items& in, M& m) {
    const plain_item* it = in.next();
    m.clear();
    if (it && it->type == plain_item::kind::nil) return true;
    if (!it || it->type != plain_item::kind::map) return false;
    for (std::size_t k = 0; k < it->size; ++k) {
      typename M::key_type key{};
      typename M::mapped_type mapped{};
      if (!plain<typename M::key_type>::read(in, key) ||
          !plain<typename M::mapped_type>::read(in, mapped))
        return false;
      m.insert_or_assign(std::move(key), std::move(mapped));
    }
    return true;
  }
};

template <class K, class V, class C, class A>
struct plain<std::map<K, V, C, A>> : plain_map<std::map<K, V, C, A>> {};

template <class K, class V, class H, class E, class A>
struct plain<std::unordered_map<K, V, H, E, A>> : plain_map<std::unordered_map<K, V, H, E, A>> {};

template <class T>
struct plain<std::optional<T>> {
  static constexpr bool value = is_plain_v<T>;
  static void write(plain_writer& out, const std::optional<T>& o) {
    if (o)
      plain<T>::write(out, *o);
    else
      out.nil();
  }
  static bool read(plain_items& in, std::optional<T>& o) {
    const plain_item* it = in.peek();
    if (it && it->type == plain_item::kind::nil) {
      in.next();
      o.reset();
      return true;
    }
    return plain<T>::read(in, o.emplace());
  }
};

/// Reads one whole message into the application's type; false if its
/// items do not fit (the message then takes the Value path).
class plain_destination {
 public:
  virtual bool read(plain_items& in) = 0;

 protected:
  ~plain_destination() = default;
};

/// Reads a message into `out`: engaged after a read that succeeded, empty
/// after one that did not.
template <class T>
class plain_reading final : public plain_destination {
 public:
  explicit plain_reading(std::optional<T>& out) noexcept : out_(out) {}
  bool read(plain_items& in) override {
    if (plain<T>::read(in, out_.emplace()) && in.at_end()) return true;
    out_.reset();
    return false;
  }

 private:
  std::optional<T>& out_;
};

/// `value` as a plain_message.
template <class T>
class plain_view final : public plain_message {
 public:
  explicit plain_view(const T& value) noexcept : value_(value) {}
  void write(plain_writer& out) const override { plain<T>::write(out, value_); }

 private:
  const T& value_;
};

}  // namespace libchan::detail
