// msgpack decoding: msgpack-cxx's visitor parser drives a builder that
// makes the Value tree directly, enforcing the limits as it goes.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <msgpack/null_visitor.hpp>
#include <msgpack/parse.hpp>
#include <msgpack/unpack.hpp>  // parse.hpp needs its definitions
#include <msgpack/unpack_exception.hpp>
#include <string>

#include "codec_detail.hpp"
#include "msgpack_detail.hpp"

namespace libchan::detail {
namespace {

std::string num(std::uint64_t n) { return std::to_string(n); }

std::uint64_t load_be(const std::uint8_t* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// How many bytes an item takes before its children: the header (type byte
// and length field) and the payload after it (number bytes, str/bin bytes,
// ext type byte + data). msgpack-cxx tells the builder neither the form of
// a number nor, until every byte is in, the declared length of a
// str/bin/ext, so the builder reads item headers itself for those two
// things; the parsing and validation stay msgpack-cxx's.
struct Extent {
  std::size_t header = 1;
  std::uint64_t payload = 0;
  bool sized = false;  // a str, bin or ext (payload bounded by max_string_size)
};

// False while the header is not complete.
bool item_extent(const std::uint8_t* p, std::size_t avail, Extent& e) {
  if (avail == 0) return false;
  const std::uint8_t b = p[0];
  auto with_length = [&](std::size_t len_bytes, std::uint64_t extra) {
    if (avail < 1 + len_bytes) return false;
    e = {1 + len_bytes, load_be(p + 1, len_bytes) + extra, true};
    return true;
  };
  if (b >= 0xa0 && b <= 0xbf) {
    e = {1, static_cast<std::uint64_t>(b & 0x1f), true};
    return true;
  }
  switch (b) {
    case 0xc4:  // bin 8/16/32
    case 0xd9:  // str 8/16/32
      return with_length(1, 0);
    case 0xc5:
    case 0xda:
      return with_length(2, 0);
    case 0xc6:
    case 0xdb:
      return with_length(4, 0);
    case 0xc7:  // ext 8/16/32: the length excludes the type byte
      return with_length(1, 1);
    case 0xc8:
      return with_length(2, 1);
    case 0xc9:
      return with_length(4, 1);
    case 0xdc:  // array/map 16/32: the children follow
    case 0xde:
      e = {3, 0, false};
      return true;
    case 0xdd:
    case 0xdf:
      e = {5, 0, false};
      return true;
    case 0xcc:
    case 0xd0:
      e = {1, 1, false};
      return true;
    case 0xcd:
    case 0xd1:
      e = {1, 2, false};
      return true;
    case 0xca:
    case 0xce:
    case 0xd2:
      e = {1, 4, false};
      return true;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      e = {1, 8, false};
      return true;
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:  // fixext 1/2/4/8/16
      e = {1, 1 + (std::uint64_t{1} << (b - 0xd4)), true};
      return true;
    default:  // fixint, fixmap, fixarray, nil, bool (and the invalid 0xc1)
      e = {1, 0, false};
      return true;
  }
}

bool is_ext(std::uint8_t b) { return (b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8); }

const char* sized_kind(std::uint8_t b) {
  if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb)) return "string";
  if (b >= 0xc4 && b <= 0xc6) return "binary";
  return "extension payload";
}

// The visitor. Callbacks return false to stop the parser on a broken limit.
class Builder : public msgpack::null_visitor {
 public:
  struct PendingExt {
    std::int8_t type;
    std::size_t item_offset;
    std::size_t payload_offset;
    std::size_t payload_size;
  };

  Builder(std::span<const std::uint8_t> window, const CodecLimits& limits)
      : base_(window.data()), size_(window.size()), limits_(limits) {}

  bool visit_nil() { return emit_scalar(Value()); }
  bool visit_boolean(bool b) { return emit_scalar(Value(b)); }
  bool visit_positive_integer(std::uint64_t v) {
    // Positive fixints are Go ints; the uint forms are Go uints (keeping the
    // kind makes re-encoding reproduce the bytes).
    bool uint_form = base_[next_] >= 0xcc && base_[next_] <= 0xcf;
    return emit_scalar(uint_form ? Value(v) : Value(static_cast<std::int64_t>(v)));
  }
  // msgpack-cxx reports every int8..int64 form here, whatever the sign.
  bool visit_negative_integer(std::int64_t v) { return emit_scalar(Value(v)); }
  bool visit_float32(float f) { return emit_scalar(Value(static_cast<double>(f))); }
  bool visit_float64(double d) { return emit_scalar(Value(d)); }
  bool visit_str(const char* p, std::uint32_t n) {
    if (!string_fits(n)) return false;
    return emit_scalar(Value(n ? std::string(p, n) : std::string()));
  }
  bool visit_bin(const char* p, std::uint32_t n) {
    if (!string_fits(n)) return false;
    auto* b = reinterpret_cast<const std::uint8_t*>(p);
    return emit_scalar(
        Value(Binary{n ? std::vector<std::uint8_t>(b, b + n) : std::vector<std::uint8_t>()}));
  }
  bool visit_ext(const char* p, std::uint32_t n) {
    // n counts the type byte, then the payload.
    if (!string_fits(n - 1)) return false;
    auto* type = reinterpret_cast<const std::uint8_t*>(p);
    exts_.push_back({static_cast<std::int8_t>(*type), next_,
                     static_cast<std::size_t>(type + 1 - base_), n - 1u});
    return emit_scalar(extension_placeholder());
  }

  bool start_array(std::uint32_t n) { return open(n, false); }
  bool start_map(std::uint32_t n) { return open(n, true); }
  bool start_map_key() {
    frames_.back().want_key = true;
    return true;
  }
  bool start_map_value() {
    frames_.back().want_key = false;
    return true;
  }
  bool end_array() { return close(); }
  bool end_map() { return close(); }

  void parse_error(std::size_t, std::size_t) { invalid_ = true; }
  void insufficient_bytes(std::size_t, std::size_t) { incomplete_ = true; }

  // After an incomplete parse: a declared length may already show that the
  // value breaks a limit. Returns false (with the error set) if so.
  bool check_pending() {
    Extent e;
    if (next_ >= size_ || !item_extent(base_ + next_, size_ - next_, e)) return true;
    if (e.sized) {
      // An ext's payload length counts its type byte.
      std::uint64_t n = is_ext(base_[next_]) ? e.payload - 1 : e.payload;
      if (!string_fits(n)) return false;
    }
    std::uint64_t needed = next_ + e.header + e.payload;
    if (needed > limits_.max_message_size)
      return limit("message of at least " + num(needed) + " bytes exceeds max_message_size (" +
                   num(limits_.max_message_size) + ")");
    return true;
  }

  bool invalid() const { return invalid_; }
  bool incomplete() const { return incomplete_; }
  std::size_t offset() const { return next_; }
  errc error() const { return error_; }
  std::string& message() { return message_; }
  Value& root() { return root_; }
  const std::vector<PendingExt>& exts() const { return exts_; }

 private:
  struct Frame {
    Value value;
    bool is_map;
    bool want_key = false;
  };

  // Moves the cursor past the item that starts there.
  void step() {
    Extent e;
    item_extent(base_ + next_, size_ - next_, e);
    next_ += e.header + static_cast<std::size_t>(e.payload);
  }

  bool emit_scalar(Value v) {
    step();
    return emit(std::move(v));
  }

  bool emit(Value v) {
    if (frames_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Frame& top = frames_.back();
    if (!top.is_map) {
      top.value.as_array().push_back(std::move(v));
    } else if (top.want_key) {
      top.value.as_map().push_back({std::move(v), Value()});
    } else {
      top.value.as_map().back().value = std::move(v);
    }
    return true;
  }

  bool open(std::uint32_t n, bool is_map) {
    const char* what = is_map ? "map" : "array";
    if (frames_.size() >= limits_.max_depth)
      return limit(std::string(what) + " at offset " + num(next_) +
                   " nests deeper than max_depth (" + num(limits_.max_depth) + ")");
    if (n > limits_.max_elements - elements_)
      return limit(std::string(what) + " of " + num(n) + (is_map ? " entries" : " elements") +
                   " at offset " + num(next_) + " takes the message over max_elements (" +
                   num(limits_.max_elements) + ")");
    elements_ += n;
    Extent e;
    item_extent(base_ + next_, size_ - next_, e);
    const std::size_t body = next_ + e.header;
    // Every element takes at least one byte: a count that cannot fit is
    // refused now instead of waiting for bytes that may never come.
    const std::uint64_t min_bytes = std::uint64_t{n} * (is_map ? 2 : 1);
    if (body + min_bytes > limits_.max_message_size)
      return limit(std::string(what) + " of " + num(n) + (is_map ? " entries" : " elements") +
                   " cannot fit in max_message_size (" + num(limits_.max_message_size) + ")");
    // Reserve no more than the bytes present can hold.
    const std::size_t room = static_cast<std::size_t>((size_ - body) / (is_map ? 2 : 1));
    const std::size_t reserve = std::min<std::size_t>(n, room);
    if (is_map) {
      Value::Map m;
      m.reserve(reserve);
      frames_.push_back({Value(std::move(m)), true});
    } else {
      Value::Array a;
      a.reserve(reserve);
      frames_.push_back({Value(std::move(a)), false});
    }
    next_ = body;
    return true;
  }

  bool close() {
    Value v = std::move(frames_.back().value);
    frames_.pop_back();
    return emit(std::move(v));
  }

  bool string_fits(std::uint64_t n) {
    if (n <= limits_.max_string_size) return true;
    return limit(std::string(sized_kind(base_[next_])) + " of " + num(n) + " bytes at offset " +
                 num(next_) + " exceeds max_string_size (" + num(limits_.max_string_size) + ")");
  }

  bool limit(std::string text) {
    error_ = errc::limit_exceeded;
    message_ = "msgpack: " + std::move(text);
    return false;
  }

  const std::uint8_t* base_;
  std::size_t size_;
  const CodecLimits& limits_;
  std::size_t next_ = 0;  // offset of the next item's first byte
  std::size_t elements_ = 0;
  std::vector<Frame> frames_;
  Value root_;
  std::vector<PendingExt> exts_;
  errc error_{};
  std::string message_;
  bool invalid_ = false;
  bool incomplete_ = false;
};

}  // namespace

std::size_t msgpack_decode(std::span<const std::uint8_t> input, Value& out, ExtensionHook& hook,
                           const CodecLimits& limits, std::error_code& ec, std::string* detail) {
  ec.clear();
  if (detail) detail->clear();
  if (input.empty()) return 0;
  // Never look past max_message_size: a value that needs more is refused.
  auto window = input.first(std::min(input.size(), limits.max_message_size));
  Builder builder(window, limits);
  std::size_t used = 0;
  bool ok = false;
  try {
    ok = msgpack::parse(reinterpret_cast<const char*>(window.data()), window.size(), used, builder);
  } catch (const msgpack::unpack_error& e) {
    return fail(ec, detail, errc::decode_error, std::string("msgpack: ") + e.what());
  }
  if (!ok) {
    if (builder.error() != errc{})
      return fail(ec, detail, builder.error(), std::move(builder.message()));
    if (builder.invalid()) {
      char byte[8];
      std::snprintf(byte, sizeof byte, "0x%02x", window[builder.offset()]);
      return fail(ec, detail, errc::decode_error,
                  std::string("msgpack: invalid byte ") + byte + " at offset " +
                      std::to_string(builder.offset()));
    }
    if (!builder.incomplete())
      return fail(ec, detail, errc::decode_error,
                  "msgpack: the parser stopped at offset " + std::to_string(builder.offset()));
    if (!builder.check_pending())
      return fail(ec, detail, builder.error(), std::move(builder.message()));
    if (window.size() >= limits.max_message_size)
      return fail(ec, detail, errc::limit_exceeded,
                  "msgpack: message longer than max_message_size (" +
                      std::to_string(limits.max_message_size) + ")");
    return 0;  // incomplete: wait for more bytes
  }

  Value& root = builder.root();
  if (!builder.exts().empty()) {
    auto make = [&](std::size_t i, std::error_code& e) {
      const auto& x = builder.exts()[i];
      auto payload = window.subspan(x.payload_offset, x.payload_size);
      Value v = hook.decode_ext(x.type, payload, e);
      if (e && detail)
        *detail = "msgpack: " + describe_decode_failure(hook, x.type, payload, e) + " (at offset " +
                  std::to_string(x.item_offset) + ")";
      return v;
    };
    std::size_t next = 0;
    fill_placeholders(root, make, next, ec);
    if (ec) return 0;
  }
  out = std::move(root);
  return used;
}

}  // namespace libchan::detail
