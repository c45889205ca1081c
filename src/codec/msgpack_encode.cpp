// msgpack encoding of a Value through msgpack-cxx's packer. The packer picks
// the smallest forms for lengths; integer forms are chosen here, because
// Go libchan master and v0.1 differ on them (see IntegerStyle).
#include <bit>
#include <cstdint>
#include <limits>
#include <msgpack/pack.hpp>
#include <string>

#include "codec_detail.hpp"
#include "msgpack_detail.hpp"

namespace libchan::detail {
namespace {

// The packer's output stream.
struct ByteSink {
  std::vector<std::uint8_t>& out;
  void write(const char* data, std::size_t n) {
    auto* p = reinterpret_cast<const std::uint8_t*>(data);
    out.insert(out.end(), p, p + n);
  }
};

constexpr std::uint64_t max_length = std::numeric_limits<std::uint32_t>::max();

class Encoder {
 public:
  Encoder(std::vector<std::uint8_t>& out, ExtensionHook& hook, IntegerStyle style,
          std::error_code& ec, std::string* detail)
      : sink_{out}, packer_(sink_), hook_(hook), style_(style), ec_(ec), detail_(detail) {}

  // Returns false once an error is set.
  bool encode(Value& v) {
    auto& data = v.data();
    switch (v.kind()) {
      case Value::Kind::nil:
        packer_.pack_nil();
        return true;
      case Value::Kind::boolean:
        std::get<bool>(data) ? packer_.pack_true() : packer_.pack_false();
        return true;
      case Value::Kind::int64:
        pack_int(std::get<std::int64_t>(data));
        return true;
      case Value::Kind::uint64:
        packer_.pack_uint64(std::get<std::uint64_t>(data));
        return true;
      case Value::Kind::float64:
        pack_float64(std::get<double>(data));
        return true;
      case Value::Kind::string: {
        const auto& s = std::get<std::string>(data);
        if (!length_fits(s.size(), "string")) return false;
        packer_.pack_str(static_cast<std::uint32_t>(s.size()));
        packer_.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
        return true;
      }
      case Value::Kind::binary: {
        const auto& b = std::get<Binary>(data).bytes;
        if (!length_fits(b.size(), "binary")) return false;
        packer_.pack_bin(static_cast<std::uint32_t>(b.size()));
        packer_.pack_bin_body(reinterpret_cast<const char*>(b.data()),
                              static_cast<std::uint32_t>(b.size()));
        return true;
      }
      case Value::Kind::array: {
        auto& a = std::get<Value::Array>(data);
        if (!length_fits(a.size(), "array")) return false;
        packer_.pack_array(static_cast<std::uint32_t>(a.size()));
        for (auto& e : a)
          if (!encode(e)) return false;
        return true;
      }
      case Value::Kind::map: {
        auto& m = std::get<Value::Map>(data);
        if (!length_fits(m.size(), "map")) return false;
        packer_.pack_map(static_cast<std::uint32_t>(m.size()));
        for (auto& e : m)
          if (!encode(e.key) || !encode(e.value)) return false;
        return true;
      }
      default:
        return encode_leaf(v);
    }
  }

 private:
  void pack_int(std::int64_t i) {
    // The packer's own choice (smallest form, unsigned when >= 0) is Go
    // v0.1's; Go master keeps non-negative values >= 128 in signed forms.
    if (style_ == IntegerStyle::unsigned_when_nonnegative || i < 128) {
      packer_.pack_int64(i);
    } else if (i <= std::numeric_limits<std::int16_t>::max()) {
      packer_.pack_fix_int16(static_cast<std::int16_t>(i));
    } else if (i <= std::numeric_limits<std::int32_t>::max()) {
      packer_.pack_fix_int32(static_cast<std::int32_t>(i));
    } else {
      packer_.pack_fix_int64(i);
    }
  }

  // Always float64 (cb), as Go writes it: the packer's pack_double would
  // shrink integral doubles to integers.
  void pack_float64(double d) {
    char buf[9];
    buf[0] = static_cast<char>(0xcb);
    auto bits = std::bit_cast<std::uint64_t>(d);
    for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
    sink_.write(buf, sizeof buf);
  }

  bool encode_leaf(Value& leaf) {
    std::int8_t type = 0;
    payload_.clear();
    hook_.encode_leaf(leaf, type, payload_, ec_);
    if (ec_) {
      if (detail_) *detail_ = "msgpack: " + describe_encode_failure(hook_, leaf, ec_);
      return false;
    }
    if (!length_fits(payload_.size(), "extension payload")) return false;
    packer_.pack_ext(payload_.size(), type);
    packer_.pack_ext_body(reinterpret_cast<const char*>(payload_.data()),
                          static_cast<std::uint32_t>(payload_.size()));
    return true;
  }

  bool length_fits(std::size_t n, const char* what) {
    if (n <= max_length) return true;
    fail(ec_, detail_, errc::limit_exceeded,
         std::string("msgpack: ") + what + " of " + std::to_string(n) +
             " entries/bytes exceeds the format's 2^32-1 limit");
    return false;
  }

  ByteSink sink_;
  msgpack::packer<ByteSink> packer_;
  ExtensionHook& hook_;
  IntegerStyle style_;
  std::error_code& ec_;
  std::string* detail_;
  std::vector<std::uint8_t> payload_;
};

}  // namespace

void msgpack_encode(Value& value, std::vector<std::uint8_t>& out, ExtensionHook& hook,
                    IntegerStyle style, std::error_code& ec, std::string* detail) {
  ec.clear();
  if (detail) detail->clear();
  const std::size_t start = out.size();
  Encoder encoder(out, hook, style, ec, detail);
  if (!encoder.encode(value)) out.resize(start);
}

}  // namespace libchan::detail
