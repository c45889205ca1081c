// The visitor that msgpack-cxx's parser drives while decoding: it builds the
// Value tree directly and enforces the limits as it goes. Used only by
// msgpack_decode.cpp; a header so that the parser inlines every callback.
//
// Speed: each item is constructed once, in the slot where it ends up (the
// containers are reserved to their announced sizes, bounded by the bytes
// present), so no Value is moved or destroyed while building; containers
// are tracked by pointer, and the open-container stack lives inside the
// builder for the usual nesting depths.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <msgpack/null_visitor.hpp>
#include <new>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "codec_detail.hpp"

namespace libchan::detail {

// msgpack-cxx tells the visitor neither where an item starts, nor the form
// of a number, nor (until every byte is in) the declared length of a
// str/bin/ext. The builder keeps the offset of the next item itself: each
// callback knows its item's family, so the item's size follows from its
// first byte and the length msgpack-cxx passes. The parsing and the
// validation stay msgpack-cxx's.

// Bytes before the data of a str (fixstr a0-bf, str 8/16/32 d9-db).
inline std::size_t msgpack_str_header(std::uint8_t b) {
  return b <= 0xbf ? 1 : 1 + (std::size_t{1} << (b - 0xd9));
}
// bin 8/16/32 (c4-c6).
inline std::size_t msgpack_bin_header(std::uint8_t b) { return 1 + (std::size_t{1} << (b - 0xc4)); }
// fixarray/fixmap (80-9f), array/map 16 (dc, de), array/map 32 (dd, df).
inline std::size_t msgpack_container_header(std::uint8_t b) {
  return b <= 0x9f ? 1 : (b == 0xdc || b == 0xde) ? 3 : 5;
}

// Callbacks return false to stop the parser on a broken limit.
class MsgpackBuilder : public msgpack::null_visitor {
 public:
  struct PendingExt {
    std::int8_t type;
    std::size_t item_offset;
    std::size_t payload_offset;
    std::size_t payload_size;
  };

  MsgpackBuilder(std::span<const std::uint8_t> window, const CodecLimits& limits)
      : base_(window.data()), size_(window.size()), limits_(limits) {}
  MsgpackBuilder(const MsgpackBuilder&) = delete;
  MsgpackBuilder& operator=(const MsgpackBuilder&) = delete;

  void init() {}  // called by msgpack-cxx's context::init

  bool visit_nil() {
    ++next_;
    slot();  // already nil
    return true;
  }
  bool visit_boolean(bool b) {
    ++next_;
    fill<bool>(slot(), b);
    return true;
  }
  bool visit_positive_integer(std::uint64_t v) {
    // Positive fixints are Go ints; the uint forms (cc-cf) are Go uints
    // (keeping the kind makes re-encoding reproduce the bytes).
    const std::uint8_t b = base_[next_];
    if (b < 0x80) {
      ++next_;
      fill<std::int64_t>(slot(), static_cast<std::int64_t>(v));
    } else {
      next_ += 1 + (std::size_t{1} << (b - 0xcc));
      fill<std::uint64_t>(slot(), v);
    }
    return true;
  }
  // msgpack-cxx reports every int8..int64 form (d0-d3) here, whatever the
  // sign, and the negative fixints (e0-ff).
  bool visit_negative_integer(std::int64_t v) {
    const std::uint8_t b = base_[next_];
    next_ += b >= 0xe0 ? 1 : 1 + (std::size_t{1} << (b - 0xd0));
    fill<std::int64_t>(slot(), v);
    return true;
  }
  bool visit_float32(float f) {
    next_ += 5;
    fill<double>(slot(), static_cast<double>(f));
    return true;
  }
  bool visit_float64(double d) {
    next_ += 9;
    fill<double>(slot(), d);
    return true;
  }
  [[gnu::always_inline]] bool visit_str(const char* p, std::uint32_t n) {
    if (!string_fits(n)) return false;
    next_ += msgpack_str_header(base_[next_]) + n;
    if (n)
      fill<std::string>(slot(), p, std::size_t{n});
    else
      fill<std::string>(slot());
    return true;
  }
  bool visit_bin(const char* p, std::uint32_t n) {
    if (!string_fits(n)) return false;
    next_ += msgpack_bin_header(base_[next_]) + n;
    auto* b = reinterpret_cast<const std::uint8_t*>(p);
    if (n)
      fill<Binary>(slot(), Binary{std::vector<std::uint8_t>(b, b + n)});
    else
      fill<Binary>(slot());
    return true;
  }
  bool visit_ext(const char* p, std::uint32_t n) {
    // p is the type byte; n counts it, then the payload.
    if (!string_fits(n - 1)) return false;
    auto* type = reinterpret_cast<const std::uint8_t*>(p);
    const auto payload_offset = static_cast<std::size_t>(type + 1 - base_);
    exts_.push_back({static_cast<std::int8_t>(*type), next_, payload_offset, n - 1u});
    next_ = payload_offset + (n - 1u);
    fill<Fd>(slot());  // the placeholder (see extension_placeholder)
    return true;
  }

  bool start_array(std::uint32_t n) { return open(n, false); }
  bool start_map(std::uint32_t n) { return open(n, true); }
  bool start_map_key() {
    frames_[depth_ - 1].want_key = true;
    return true;
  }
  bool start_map_value() {
    frames_[depth_ - 1].want_key = false;
    return true;
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool end_map() {
    --depth_;
    return true;
  }

  void parse_error(std::size_t, std::size_t) { invalid_ = true; }
  void insufficient_bytes(std::size_t, std::size_t) { incomplete_ = true; }

  // After an incomplete parse: a declared length may already show that the
  // value breaks a limit. Returns false (with the error set) if so.
  bool check_pending();

  bool invalid() const { return invalid_; }
  bool incomplete() const { return incomplete_; }
  std::size_t offset() const { return next_; }
  errc error() const { return error_; }
  std::string& message() { return message_; }
  Value& root() { return root_; }
  const std::vector<PendingExt>& exts() const { return exts_; }

 private:
  // An open container: exactly one of the pointers is set. They stay valid
  // while the container is open, because only the innermost one grows.
  struct Frame {
    Value::Array* array;
    Value::Map* map;
    bool want_key;
  };

  // The nil Value the next item goes into.
  [[gnu::always_inline]] Value& slot() {
    if (depth_ == 0) return root_;
    Frame& top = frames_[depth_ - 1];
    if (top.array) return top.array->emplace_back();
    if (top.want_key) return top.map->emplace_back().key;
    return top.map->back().value;
  }

  // Builds alternative T of `nil_slot`'s variant in place. The slot holds
  // nil, whose destructor has nothing to do: constructing over it skips
  // std::variant's dispatch on the old index and any move of the new value.
  template <class T, class... Args>
  [[gnu::always_inline]] static void fill(Value& nil_slot, Args&&... args) {
    void* at = &nil_slot.data();
    if constexpr (std::is_nothrow_constructible_v<T, Args...>) {
      ::new (at) Value::Data(std::in_place_type<T>, std::forward<Args>(args)...);
    } else {
      try {
        ::new (at) Value::Data(std::in_place_type<T>, std::forward<Args>(args)...);
      } catch (...) {
        ::new (static_cast<void*>(&nil_slot)) Value();  // the tree stays destructible
        throw;
      }
    }
  }

  bool open(std::uint32_t n, bool is_map) {
    if (depth_ >= limits_.max_depth || n > limits_.max_elements - elements_) [[unlikely]]
      return refuse_container(n, is_map);
    const std::size_t body = next_ + msgpack_container_header(base_[next_]);
    // Every element takes at least one byte: a count that cannot fit is
    // refused now instead of waiting for bytes that may never come.
    const std::uint64_t min_bytes = std::uint64_t{n} * (is_map ? 2 : 1);
    if (body + min_bytes > limits_.max_message_size) [[unlikely]]
      return refuse_container(n, is_map);
    elements_ += n;
    // Reserve the announced size, but no more than the bytes present can
    // hold (always the announced size for a complete message).
    const std::size_t room = (size_ - body) / (is_map ? 2 : 1);
    const std::size_t reserve = std::min<std::size_t>(n, room);
    Value& s = slot();
    Frame f{};
    if (is_map) {
      fill<Value::Map>(s);
      f.map = std::get_if<Value::Map>(&s.data());
      f.map->reserve(reserve);
    } else {
      fill<Value::Array>(s);
      f.array = std::get_if<Value::Array>(&s.data());
      f.array->reserve(reserve);
    }
    if (depth_ == capacity_) [[unlikely]]
      grow_frames();
    frames_[depth_++] = f;
    next_ = body;
    return true;
  }

  [[gnu::noinline]] void grow_frames() {
    deep_frames_.resize(2 * capacity_);
    if (frames_ == local_frames_)
      std::copy(local_frames_, local_frames_ + depth_, &deep_frames_[0]);
    frames_ = deep_frames_.data();
    capacity_ = deep_frames_.size();
  }

  [[gnu::always_inline]] bool string_fits(std::uint64_t n) {
    if (n <= limits_.max_string_size) [[likely]]
      return true;
    return refuse_string(n);
  }

  // The slow paths, in msgpack_decode.cpp: they set the error and text.
  [[gnu::cold]] bool refuse_container(std::uint32_t n, bool is_map);
  [[gnu::cold]] bool refuse_string(std::uint64_t n);
  [[gnu::cold]] bool limit(std::string text);

  const std::uint8_t* base_;
  std::size_t size_;
  const CodecLimits& limits_;
  std::size_t next_ = 0;  // offset of the next item's first byte
  std::size_t elements_ = 0;
  Value root_;
  std::size_t depth_ = 0;
  std::size_t capacity_ = std::size(local_frames_);
  Frame* frames_ = local_frames_;
  Frame local_frames_[16];  // left uninitialized: written before read
  std::vector<Frame> deep_frames_;
  std::vector<PendingExt> exts_;
  errc error_{};
  std::string message_;
  bool invalid_ = false;
  bool incomplete_ = false;
};

}  // namespace libchan::detail
