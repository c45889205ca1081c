// msgpack decoding: msgpack-cxx's visitor parser drives MsgpackBuilder
// (msgpack_builder.hpp), which makes the Value tree directly, enforcing the
// limits as it goes. This file holds the driver and the slow paths.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <msgpack/parse.hpp>
#include <msgpack/unpack.hpp>  // parse.hpp needs its definitions
#include <msgpack/unpack_exception.hpp>
#include <string>

#include "codec_detail.hpp"
#include "msgpack_builder.hpp"
#include "msgpack_detail.hpp"

namespace libchan::detail {
namespace {

std::string num(std::uint64_t n) { return std::to_string(n); }

std::uint64_t load_be(const std::uint8_t* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// The whole extent of the item at `p` as far as its header tells: the
// header (type byte and length field) and the payload after it. Used only
// after an incomplete parse, to refuse a declared size early.
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

// msgpack-cxx's parser, driving one of the visitors: MsgpackBuilder,
// PlainMeasurer or ItemLister. Its container stack is a std::vector reserved
// on construction; keeping one parser per thread and visitor (reset on each
// call) saves that allocation on every message. The visitor stays per call:
// nothing here calls out while the parser is in use, so the thread's parser
// cannot be re-entered.
template <class Visitor>
class Parser : public msgpack::detail::context<Parser<Visitor>> {
 public:
  Visitor& visitor() const { return *visitor_; }

  // What msgpack::parse does (parse_imp), minus building the parser:
  // PARSE_SUCCESS means one whole value of `used` bytes, which may be
  // followed by more.
  msgpack::parse_return run(std::span<const std::uint8_t> window, std::size_t& used,
                            Visitor& visitor) {
    visitor_ = &visitor;
    this->init();
    used = 0;
    return this->execute(reinterpret_cast<const char*>(window.data()), window.size(), used);
  }

 private:
  Visitor* visitor_ = nullptr;
};

// Checks a value without building it: the depth, element and string
// limits, and that no extension type occurs (a reference or a time needs
// the hook). Any refusal stops the parser; the caller then decodes the
// value the usual way, which says why.
class PlainMeasurer : public msgpack::null_visitor {
 public:
  explicit PlainMeasurer(const CodecLimits& limits) : limits_(limits) {}
  void init() {}
  bool visit_str(const char*, std::uint32_t n) { return n <= limits_.max_string_size; }
  bool visit_bin(const char*, std::uint32_t n) { return n <= limits_.max_string_size; }
  bool visit_ext(const char*, std::uint32_t) { return false; }
  bool start_array(std::uint32_t n) { return open(n); }
  bool start_map(std::uint32_t n) { return open(n); }
  bool end_array() { return --depth_, true; }
  bool end_map() { return --depth_, true; }
  void parse_error(std::size_t, std::size_t) {}
  void insufficient_bytes(std::size_t, std::size_t) {}

 private:
  bool open(std::uint32_t n) {
    if (depth_ >= limits_.max_depth || n > limits_.max_elements - elements_) return false;
    ++depth_;
    elements_ += n;
    return true;
  }
  const CodecLimits& limits_;
  std::size_t depth_ = 0;
  std::size_t elements_ = 0;
};

// Lists the items of a plain value in order, for plain<T>::read.
class ItemLister : public msgpack::null_visitor {
 public:
  explicit ItemLister(std::vector<plain_item>& items) : items_(items) {}
  void init() {}
  bool visit_nil() { return add(plain_item::kind::nil), true; }
  bool visit_boolean(bool b) { return add(plain_item::kind::boolean).i = b, true; }
  bool visit_positive_integer(std::uint64_t v) {
    if (v <= static_cast<std::uint64_t>(INT64_MAX)) {
      add(plain_item::kind::int64).i = static_cast<std::int64_t>(v);
    } else {
      add(plain_item::kind::uint64).u = v;
    }
    return true;
  }
  bool visit_negative_integer(std::int64_t v) { return add(plain_item::kind::int64).i = v, true; }
  bool visit_float32(float f) { return add(plain_item::kind::float64).d = f, true; }
  bool visit_float64(double d) { return add(plain_item::kind::float64).d = d, true; }
  bool visit_str(const char* p, std::uint32_t n) { return bytes(plain_item::kind::string, p, n); }
  bool visit_bin(const char* p, std::uint32_t n) { return bytes(plain_item::kind::binary, p, n); }
  bool visit_ext(const char*, std::uint32_t) { return false; }
  bool start_array(std::uint32_t n) { return add(plain_item::kind::array).size = n, true; }
  bool start_map(std::uint32_t n) { return add(plain_item::kind::map).size = n, true; }
  void parse_error(std::size_t, std::size_t) {}
  void insufficient_bytes(std::size_t, std::size_t) {}

 private:
  plain_item& add(plain_item::kind k) {
    auto& item = items_.emplace_back();
    item.type = k;
    return item;
  }
  bool bytes(plain_item::kind k, const char* p, std::uint32_t n) {
    auto& item = add(k);
    item.data = reinterpret_cast<const std::uint8_t*>(p);
    item.size = n;
    return true;
  }
  std::vector<plain_item>& items_;
};

}  // namespace

bool MsgpackBuilder::check_pending() {
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

bool MsgpackBuilder::refuse_container(std::uint32_t n, bool is_map) {
  const std::string what = is_map ? "map" : "array";
  const char* items = is_map ? " entries" : " elements";
  if (depth_ >= limits_.max_depth)
    return limit(what + " at offset " + num(next_) + " nests deeper than max_depth (" +
                 num(limits_.max_depth) + ")");
  if (n > limits_.max_elements - elements_)
    return limit(what + " of " + num(n) + items + " at offset " + num(next_) +
                 " takes the message over max_elements (" + num(limits_.max_elements) + ")");
  return limit(what + " of " + num(n) + items + " cannot fit in max_message_size (" +
               num(limits_.max_message_size) + ")");
}

bool MsgpackBuilder::refuse_string(std::uint64_t n) {
  return limit(std::string(sized_kind(base_[next_])) + " of " + num(n) + " bytes at offset " +
               num(next_) + " exceeds max_string_size (" + num(limits_.max_string_size) + ")");
}

bool MsgpackBuilder::limit(std::string text) {
  error_ = errc::limit_exceeded;
  message_ = "msgpack: " + std::move(text);
  return false;
}

std::size_t msgpack_decode(std::span<const std::uint8_t> input, Value& out, ExtensionHook& hook,
                           const CodecLimits& limits, std::error_code& ec, std::string* detail) {
  ec.clear();
  if (detail) detail->clear();
  if (input.empty()) return 0;
  // Never look past max_message_size: a value that needs more is refused.
  auto window = input.first(std::min(input.size(), limits.max_message_size));
  MsgpackBuilder builder(window, limits);
  std::size_t used = 0;
  bool ok = false;
  try {
    thread_local Parser<MsgpackBuilder> parser;
    auto ret = parser.run(window, used, builder);
    if (ret == msgpack::PARSE_CONTINUE) builder.insufficient_bytes(used - 1, used);
    ok = ret == msgpack::PARSE_SUCCESS;
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

std::size_t msgpack_measure_plain(std::span<const std::uint8_t> input, const CodecLimits& limits) {
  if (input.empty()) return 0;
  auto window = input.first(std::min(input.size(), limits.max_message_size));
  PlainMeasurer measurer(limits);
  std::size_t used = 0;
  try {
    thread_local Parser<PlainMeasurer> parser;
    return parser.run(window, used, measurer) == msgpack::PARSE_SUCCESS ? used : 0;
  } catch (const msgpack::unpack_error&) {
    return 0;
  }
}

bool msgpack_plain_items(std::span<const std::uint8_t> bytes, std::vector<plain_item>& items) {
  items.clear();
  if (bytes.empty()) return false;
  ItemLister lister(items);
  std::size_t used = 0;
  try {
    thread_local Parser<ItemLister> parser;
    return parser.run(bytes, used, lister) == msgpack::PARSE_SUCCESS && used == bytes.size();
  } catch (const msgpack::unpack_error&) {
    return false;
  }
}

}  // namespace libchan::detail
