// LIBCHAN_FIELDS: makes a struct travel as a msgpack map keyed by field name,
// the way Go's libchan sends a struct.
//
//   struct Reply {
//     std::string text;
//     LIBCHAN_FIELDS(text)
//   };
//
//   struct Request {
//     std::string op;                  // key "op"
//     int seq = 0;                     // key "Seq": a (member, "key") pair renames it,
//     std::vector<std::string> args;   //   like Go's `msgpack:"Seq"` tag
//     libchan::Sender<Reply> ret;      // channel ends, streams, fds and times are fields too
//     std::optional<libchan::Time> when;
//     LIBCHAN_FIELDS(op, (seq, "Seq"), args, ret, when)
//   };
//
//   libchan::Value v = libchan::to_value(std::move(request));   // {"op": ..., "Seq": ..., ...}
//   auto back = libchan::from_value<Request>(std::move(v));
//
// Writing: a map with the keys in the order listed. Reading: a map; keys that
// name no field are skipped, fields whose key is missing keep their default,
// and a key with nil leaves an optional or a handle empty (and a vector or map
// empty). nil for the whole struct changes nothing, like an empty map.
//
// The macro goes inside the struct body, in any access section; the fields
// may be private. It is never implied: a struct without it has no Convert.
// A struct that derives from one with LIBCHAN_FIELDS needs its own (it may
// list the base's members). Up to 86 fields.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>
#include <type_traits>
#include <utility>

#include "libchan/convert.hpp"
#include "libchan/detail/plain.hpp"
#include "libchan/value.hpp"

namespace libchan::detail {

/// A string literal as a template argument.
template <std::size_t N>
struct field_key {
  char text[N];
  constexpr field_key(const char (&s)[N]) { std::copy_n(s, N, text); }
  constexpr std::string_view view() const { return {text, N - 1}; }
};

/// One field: its map key and a pointer to the member.
template <field_key Key, auto Member>
struct field {
  static constexpr std::string_view key = Key.view();
  static constexpr auto member = Member;
};

/// What LIBCHAN_FIELDS declares, as a type: the struct and its fields.
template <class Self, class... Fields>
struct field_list {
  using self = Self;
  static constexpr std::size_t size = sizeof...(Fields);
  static constexpr std::array<std::string_view, size> keys{Fields::key...};

  static consteval bool keys_unique() {
    for (std::size_t i = 0; i < size; ++i)
      for (std::size_t j = i + 1; j < size; ++j)
        if (keys[i] == keys[j]) return false;
    return true;
  }
};

/// The one place that calls into the struct (LIBCHAN_FIELDS befriends it).
/// The type comes from a member function's signature, not from an alias
/// template, whose access would be checked where it is used.
struct fields_access {
  template <class T>
  static auto list_of() -> decltype(std::declval<const T&>().libchan_fields_());
};

template <class T>
using field_list_of = decltype(fields_access::list_of<T>());

template <class T>
consteval bool declares_fields() {
  if constexpr (requires { fields_access::list_of<T>(); })
    return std::is_same_v<typename field_list_of<T>::self, T>;
  else
    return false;
}

/// T declares LIBCHAN_FIELDS itself (not only through a base class).
template <class T>
concept has_fields = declares_fields<T>();

template <class T, class List = field_list_of<T>>
struct fields_convert;

template <class T, class... Fields>
struct fields_convert<T, field_list<T, Fields...>> {
  using list = field_list<T, Fields...>;
  static_assert(list::keys_unique(), "LIBCHAN_FIELDS: two fields have the same key");

  template <class F>
  using member_type = std::remove_cvref_t<decltype(std::declval<T&>().*F::member)>;

  static Value to_value(T&& obj) {
    Value::Map m;
    m.reserve(list::size);
    (m.push_back({Value(Fields::key),
                  Convert<member_type<Fields>>::to_value(std::move(obj.*Fields::member))}),
     ...);
    return Value(std::move(m));
  }

  static void from_value(Value&& v, T& out, ConvertPath& path) {
    if (v.is_nil()) return;
    auto* m = std::get_if<Value::Map>(&v.data());
    if (!m) path.mismatch("map", v);
    for (auto& e : *m) {
      auto* key = std::get_if<std::string>(&e.key.data());
      if (!key) continue;
      // Field names are few and short: a linear search beats a hash here.
      auto found = std::find(list::keys.begin(), list::keys.end(), *key);
      if (found == list::keys.end()) continue;
      read_field(static_cast<std::size_t>(found - list::keys.begin()), std::move(e.value), out,
                 path, std::index_sequence_for<Fields...>());
    }
  }

 private:
  template <std::size_t... I>
  static void read_field(std::size_t index, Value&& v, T& out, ConvertPath& path,
                         std::index_sequence<I...>) {
    // Runs the conversion of the one field whose position is `index`.
    (void)((index == I && (read_one<Fields>(std::move(v), out, path), true)) || ...);
  }

  template <class F>
  static void read_one(Value&& v, T& out, ConvertPath& path) {
    auto scope = path.field(F::key);
    Convert<member_type<F>>::from_value(std::move(v), out.*F::member, path);
  }
};

/// A struct is plain data when all its fields are: a map of its keys in
/// order, as fields_convert::to_value makes it.
template <class T, class List = field_list_of<T>>
struct plain_fields;

template <class T, class... Fields>
struct plain_fields<T, field_list<T, Fields...>> {
  template <class F>
  using member_type = std::remove_cvref_t<decltype(std::declval<T&>().*F::member)>;

  static constexpr bool value = (is_plain_v<member_type<Fields>> && ...);
  static void write(plain_writer& out, const T& obj) {
    out.map(sizeof...(Fields));
    ((out.string(Fields::key), plain<member_type<Fields>>::write(out, obj.*Fields::member)), ...);
  }
  // As fields_convert::from_value: nil leaves the struct as it is; entries
  // whose key is not one of the fields' are skipped.
  static bool read(plain_items& in, T& obj) {
    const plain_item* it = in.next();
    if (it && it->type == plain_item::kind::nil) return true;
    if (!it || it->type != plain_item::kind::map) return false;
    for (std::size_t k = 0; k < it->size; ++k) {
      const plain_item* key = in.next();
      if (!key) return false;
      std::size_t index = sizeof...(Fields);
      if (key->type == plain_item::kind::string) {
        constexpr std::array<std::string_view, sizeof...(Fields)> keys{Fields::key...};
        index = static_cast<std::size_t>(std::find(keys.begin(), keys.end(), key->text()) -
                                         keys.begin());
      } else if (!in.skip_children(*key)) {
        return false;
      }
      if (index == sizeof...(Fields)) {
        if (!in.skip()) return false;
      } else if (!read_field(index, in, obj, std::index_sequence_for<Fields...>())) {
        return false;
      }
    }
    return true;
  }

 private:
  template <std::size_t... I>
  static bool read_field(std::size_t index, plain_items& in, T& obj, std::index_sequence<I...>) {
    bool ok = false;
    (void)((index == I && (ok = plain<member_type<Fields>>::read(in, obj.*Fields::member), true)) ||
           ...);
    return ok;
  }
};

template <class T>
struct plain<T, std::enable_if_t<has_fields<T>>> : plain_fields<T> {};

}  // namespace libchan::detail

namespace libchan {

/// Structs that declare LIBCHAN_FIELDS.
template <class T>
requires detail::has_fields<T>
struct Convert<T> : detail::fields_convert<T> {
};

}  // namespace libchan

// ---- the macro ------------------------------------------------------------

/// Declares the fields of the enclosing struct; see the top of this file.
/// Each argument is a member name (its key is the name) or a parenthesized
/// (member, "key") pair.
#define LIBCHAN_FIELDS(...)                                                    \
  friend struct ::libchan::detail::fields_access;                              \
  auto libchan_fields_() const {                                               \
    using LibchanSelf_ = ::std::remove_cvref_t<decltype(*this)>;               \
    return ::libchan::detail::field_list<LibchanSelf_ LIBCHAN_DETAIL_FOR_EACH( \
        LIBCHAN_DETAIL_FIELD, __VA_ARGS__)>{};                                 \
  }

// One field: `, field<"key", &Self::member>`. A parenthesized argument is a
// (member, "key") pair; anything else is a member named like its key.
#define LIBCHAN_DETAIL_FIELD(arg) \
  LIBCHAN_DETAIL_CAT(LIBCHAN_DETAIL_FIELD_PAREN_, LIBCHAN_DETAIL_IS_PARENTHESIZED(arg))(arg)
#define LIBCHAN_DETAIL_FIELD_PAREN_0(member) LIBCHAN_DETAIL_FIELD_KEYED(member, #member)
#define LIBCHAN_DETAIL_FIELD_PAREN_1(pair) LIBCHAN_DETAIL_FIELD_KEYED pair
#define LIBCHAN_DETAIL_FIELD_KEYED(member, key) \
  , ::libchan::detail::field<key, &LibchanSelf_::member>

// 1 if `arg` starts with a parenthesis, else 0. `PROBE arg` is a macro call
// only when arg is parenthesized, and then it adds an argument that moves
// the 1 into second place.
#define LIBCHAN_DETAIL_IS_PARENTHESIZED(arg) \
  LIBCHAN_DETAIL_SECOND(LIBCHAN_DETAIL_PAREN_PROBE arg, 0, ~)
#define LIBCHAN_DETAIL_PAREN_PROBE(...) ~, 1
#define LIBCHAN_DETAIL_SECOND(...) LIBCHAN_DETAIL_SECOND_(__VA_ARGS__)
#define LIBCHAN_DETAIL_SECOND_(first, second, ...) second

#define LIBCHAN_DETAIL_CAT(a, b) LIBCHAN_DETAIL_CAT_(a, b)
#define LIBCHAN_DETAIL_CAT_(a, b) a##b

// macro(x) for each argument x. Each step leaves the name of the next step
// unexpanded (it is not followed by a parenthesis yet), so one rescan runs
// one step; LIBCHAN_DETAIL_RESCAN rescans enough for 86 arguments.
#define LIBCHAN_DETAIL_FOR_EACH(macro, ...) \
  __VA_OPT__(LIBCHAN_DETAIL_RESCAN(LIBCHAN_DETAIL_FOR_EACH_STEP(macro, __VA_ARGS__)))
#define LIBCHAN_DETAIL_FOR_EACH_STEP(macro, first, ...) \
  macro(first) __VA_OPT__(LIBCHAN_DETAIL_FOR_EACH_NEXT LIBCHAN_DETAIL_PARENS(macro, __VA_ARGS__))
#define LIBCHAN_DETAIL_FOR_EACH_NEXT() LIBCHAN_DETAIL_FOR_EACH_STEP
#define LIBCHAN_DETAIL_PARENS ()

#define LIBCHAN_DETAIL_RESCAN(...) \
  LIBCHAN_DETAIL_RESCAN3(          \
      LIBCHAN_DETAIL_RESCAN3(LIBCHAN_DETAIL_RESCAN3(LIBCHAN_DETAIL_RESCAN3(__VA_ARGS__))))
#define LIBCHAN_DETAIL_RESCAN3(...) \
  LIBCHAN_DETAIL_RESCAN2(           \
      LIBCHAN_DETAIL_RESCAN2(LIBCHAN_DETAIL_RESCAN2(LIBCHAN_DETAIL_RESCAN2(__VA_ARGS__))))
#define LIBCHAN_DETAIL_RESCAN2(...) \
  LIBCHAN_DETAIL_RESCAN1(           \
      LIBCHAN_DETAIL_RESCAN1(LIBCHAN_DETAIL_RESCAN1(LIBCHAN_DETAIL_RESCAN1(__VA_ARGS__))))
#define LIBCHAN_DETAIL_RESCAN1(...) __VA_ARGS__
