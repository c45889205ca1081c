// Messages of plain data written straight to the wire.
//
// A typed Sender<T> whose T holds only plain data (numbers, text, bytes,
// and vectors, arrays, optionals, maps and LIBCHAN_FIELDS structs of them)
// need not build a Value first: a network channel walks the T itself and
// encodes each item as it goes. The items and their order are exactly those
// of Convert<T>::to_value, so the bytes on the wire are the same.
//
// Channel ends, streams, descriptors, times and Value fields are not plain:
// they need the session's references, so such a T takes the Value path.
// Nor are enums, which an application may give a Convert of its own.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
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

/// plain<T>::write(out, value) for the types listed at the top; `value`
/// says whether T qualifies. Specialized below and in libchan/fields.hpp.
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
};

template <class T>
struct plain<T, std::enable_if_t<std::is_same_v<T, double> || std::is_same_v<T, float>>> {
  static constexpr bool value = true;
  static void write(plain_writer& out, T d) { out.float64(static_cast<double>(d)); }
};

template <>
struct plain<std::string> {
  static constexpr bool value = true;
  static void write(plain_writer& out, const std::string& s) { out.string(s); }
};

template <>
struct plain<Binary> {
  static constexpr bool value = true;
  static void write(plain_writer& out, const Binary& b) { out.binary(b.bytes); }
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

template <class T, class A>
struct plain<std::vector<T, A>> : plain_sequence<std::vector<T, A>, T> {};

template <class T, std::size_t N>
struct plain<std::array<T, N>> : plain_sequence<std::array<T, N>, T> {};

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
