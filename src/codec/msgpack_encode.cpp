// msgpack encoding of a Value through msgpack-cxx's packer. The packer picks
// the smallest forms for lengths; integer forms are chosen here, because
// Go libchan master and v0.1 differ on them (see IntegerStyle).
//
// Speed: the packer writes into a cursor over a buffer of the thread's
// (geometric growth), so each write is a bounds check and a small copy, and
// the message is appended to `out` in one copy at the end; no per-item
// allocation. A long string or binary goes to `out` directly, so that its
// bytes are copied once.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <msgpack/pack.hpp>
#include <string>

#include "codec_detail.hpp"
#include "msgpack_detail.hpp"

namespace libchan::detail {
namespace {

// Enough for the typical message in one go; bigger ones grow by doubling.
constexpr std::size_t initial_room = 256;
// A larger buffer is given back after the message that needed it.
constexpr std::size_t max_kept_room = 1u << 20;
// A body this long skips the buffer: copying it twice costs more than the
// extra append.
constexpr std::size_t direct_body = 512;

// The thread's encoding buffer. Resizing `out` itself would zero the room
// ahead of the cursor first, which cost more than copying a small message
// once (70% of the plain encoder's time for 64-byte messages).
struct Scratch {
  std::unique_ptr<std::uint8_t[]> bytes;
  std::size_t size = 0;
  bool busy = false;  // a hook that encodes while an encoding runs gets its own
};

// The packer's output stream: a raw cursor into a buffer, appended to `out`
// by finish() or ahead of a long body.
class Sink {
 public:
  explicit Sink(std::vector<std::uint8_t>& out) : out_(out), start_(out.size()) {
    static thread_local Scratch shared;
    scratch_ = shared.busy ? &own_ : &shared;
    scratch_->busy = true;
    if (scratch_->size < initial_room) replace(initial_room, 0);
    pos_ = scratch_->bytes.get();
    end_ = pos_ + scratch_->size;
  }
  ~Sink() {
    scratch_->busy = false;
    if (scratch_->size > max_kept_room) *scratch_ = Scratch{};
  }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  void write(const char* data, std::size_t n) {
    if (static_cast<std::size_t>(end_ - pos_) < n) [[unlikely]]
      grow(n);
    std::memcpy(pos_, data, n);
    pos_ += n;
  }

  // A str/bin/ext body: short ones (the usual keys and words) are copied
  // inline with two overlapping moves instead of a call to memcpy.
  void write_body(const char* data, std::size_t n) {
    if (n >= direct_body) return write_direct(data, n);
    if (n > 16 || static_cast<std::size_t>(end_ - pos_) < n) {
      if (n) write(data, n);
      return;
    }
    if (n >= 8) {
      copy_fixed<8>(pos_, data);
      copy_fixed<8>(pos_ + n - 8, data + n - 8);
    } else if (n >= 4) {
      copy_fixed<4>(pos_, data);
      copy_fixed<4>(pos_ + n - 4, data + n - 4);
    } else if (n) {
      pos_[0] = static_cast<std::uint8_t>(data[0]);
      pos_[n / 2] = static_cast<std::uint8_t>(data[n / 2]);
      pos_[n - 1] = static_cast<std::uint8_t>(data[n - 1]);
    }
    pos_ += n;
  }

  void finish() { flush(); }
  void discard() { out_.resize(start_); }

 private:
  void flush() {
    out_.insert(out_.end(), scratch_->bytes.get(), pos_);
    pos_ = scratch_->bytes.get();
  }

  [[gnu::noinline]] void write_direct(const char* data, std::size_t n) {
    flush();
    out_.insert(out_.end(), data, data + n);
  }

  [[gnu::noinline]] void grow(std::size_t n) {
    const std::size_t used = static_cast<std::size_t>(pos_ - scratch_->bytes.get());
    replace(std::max(used + n, 2 * scratch_->size), used);
    pos_ = scratch_->bytes.get() + used;
    end_ = scratch_->bytes.get() + scratch_->size;
  }

  // A buffer of `size` bytes holding the first `used` of the current one.
  void replace(std::size_t size, std::size_t used) {
    auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(size);  // not zeroed
    if (used) std::memcpy(bigger.get(), scratch_->bytes.get(), used);
    scratch_->bytes = std::move(bigger);
    scratch_->size = size;
  }

  template <std::size_t N>
  static void copy_fixed(std::uint8_t* to, const char* from) {
    std::memcpy(to, from, N);  // a fixed size: one load and one store
  }

  std::vector<std::uint8_t>& out_;
  const std::size_t start_;  // out_'s size before this message
  Scratch own_;
  Scratch* scratch_;
  std::uint8_t* pos_;
  std::uint8_t* end_;
};

constexpr std::uint64_t max_length = std::numeric_limits<std::uint32_t>::max();

void pack_integer(msgpack::packer<Sink>& packer, IntegerStyle style, std::int64_t i) {
  // The packer's own choice (smallest form, unsigned when >= 0) is Go
  // v0.1's; Go master keeps non-negative values >= 128 in signed forms.
  if (style == IntegerStyle::unsigned_when_nonnegative || i < 128) {
    packer.pack_int64(i);
  } else if (i <= std::numeric_limits<std::int16_t>::max()) {
    packer.pack_fix_int16(static_cast<std::int16_t>(i));
  } else if (i <= std::numeric_limits<std::int32_t>::max()) {
    packer.pack_fix_int32(static_cast<std::int32_t>(i));
  } else {
    packer.pack_fix_int64(i);
  }
}

// Always float64 (cb), as Go writes it: the packer's pack_double would
// shrink integral doubles to integers.
void pack_always_float64(Sink& sink, double d) {
  char buf[9];
  buf[0] = static_cast<char>(0xcb);
  auto bits = std::bit_cast<std::uint64_t>(d);
  for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
  sink.write(buf, sizeof buf);
}

class Encoder {
 public:
  Encoder(Sink& sink, ExtensionHook& hook, IntegerStyle style, std::error_code& ec,
          std::string* detail)
      : sink_(sink), packer_(sink), hook_(hook), style_(style), ec_(ec), detail_(detail) {}

  // Returns false once an error is set. Scalars are written inline here;
  // only containers and extension leaves cost a call.
  [[gnu::always_inline]] bool encode(Value& v) {
    auto& data = v.data();
    switch (v.kind()) {
      case Value::Kind::nil:
        packer_.pack_nil();
        return true;
      case Value::Kind::boolean:
        *std::get_if<bool>(&data) ? packer_.pack_true() : packer_.pack_false();
        return true;
      case Value::Kind::int64:
        pack_int(*std::get_if<std::int64_t>(&data));
        return true;
      case Value::Kind::uint64:
        packer_.pack_uint64(*std::get_if<std::uint64_t>(&data));
        return true;
      case Value::Kind::float64:
        pack_float64(*std::get_if<double>(&data));
        return true;
      case Value::Kind::string: {
        const auto& s = *std::get_if<std::string>(&data);
        if (s.size() > max_length) return too_long(s.size(), "string");
        packer_.pack_str(static_cast<std::uint32_t>(s.size()));
        sink_.write_body(s.data(), s.size());
        return true;
      }
      case Value::Kind::array:
      case Value::Kind::map:
        return encode_container(v);
      default:
        return encode_other(v);
    }
  }

 private:
  bool encode_container(Value& v) {
    if (auto* a = std::get_if<Value::Array>(&v.data())) {
      if (a->size() > max_length) return too_long(a->size(), "array");
      packer_.pack_array(static_cast<std::uint32_t>(a->size()));
      for (auto& e : *a)
        if (!encode(e)) return false;
      return true;
    }
    auto& m = *std::get_if<Value::Map>(&v.data());
    if (m.size() > max_length) return too_long(m.size(), "map");
    packer_.pack_map(static_cast<std::uint32_t>(m.size()));
    for (auto& e : m)
      if (!encode(e.key) || !encode(e.value)) return false;
    return true;
  }

  // Binary and the extension leaves (times, channel ends, streams, fds).
  [[gnu::noinline]] bool encode_other(Value& v) {
    if (auto* bin = std::get_if<Binary>(&v.data())) {
      const auto& b = bin->bytes;
      if (b.size() > max_length) return too_long(b.size(), "binary");
      packer_.pack_bin(static_cast<std::uint32_t>(b.size()));
      sink_.write_body(reinterpret_cast<const char*>(b.data()), b.size());
      return true;
    }
    return encode_leaf(v);
  }

  void pack_int(std::int64_t i) { pack_integer(packer_, style_, i); }
  void pack_float64(double d) { pack_always_float64(sink_, d); }

  bool encode_leaf(Value& leaf) {
    std::int8_t type = 0;
    payload_.clear();
    hook_.encode_leaf(leaf, type, payload_, ec_);
    if (ec_) {
      if (detail_) *detail_ = "msgpack: " + describe_encode_failure(hook_, leaf, ec_);
      return false;
    }
    if (payload_.size() > max_length) return too_long(payload_.size(), "extension payload");
    packer_.pack_ext(payload_.size(), type);
    sink_.write_body(reinterpret_cast<const char*>(payload_.data()), payload_.size());
    return true;
  }

  [[gnu::cold]] bool too_long(std::size_t n, const char* what) {
    fail(ec_, detail_, errc::limit_exceeded,
         std::string("msgpack: ") + what + " of " + std::to_string(n) +
             " entries/bytes exceeds the format's 2^32-1 limit");
    return false;
  }

  Sink& sink_;
  msgpack::packer<Sink> packer_;
  ExtensionHook& hook_;
  IntegerStyle style_;
  std::error_code& ec_;
  std::string* detail_;
  std::vector<std::uint8_t> payload_;  // allocates only once a leaf needs it
};

// Writes a plain message item by item, exactly as Encoder writes the Value
// that Convert would have made of it.
class PlainEncoder final : public plain_writer {
 public:
  PlainEncoder(Sink& sink, IntegerStyle style) : sink_(sink), packer_(sink), style_(style) {}

  bool ok() const noexcept { return ok_; }

  void nil() override { packer_.pack_nil(); }
  void boolean(bool b) override { b ? packer_.pack_true() : packer_.pack_false(); }
  void int64(std::int64_t i) override { pack_integer(packer_, style_, i); }
  void uint64(std::uint64_t u) override { packer_.pack_uint64(u); }
  void float64(double d) override { pack_always_float64(sink_, d); }
  void string(std::string_view s) override {
    if (!fits(s.size())) return;
    packer_.pack_str(static_cast<std::uint32_t>(s.size()));
    sink_.write_body(s.data(), s.size());
  }
  void binary(std::span<const std::uint8_t> b) override {
    if (!fits(b.size())) return;
    packer_.pack_bin(static_cast<std::uint32_t>(b.size()));
    sink_.write_body(reinterpret_cast<const char*>(b.data()), b.size());
  }
  void array(std::size_t n) override {
    if (fits(n)) packer_.pack_array(static_cast<std::uint32_t>(n));
  }
  void map(std::size_t n) override {
    if (fits(n)) packer_.pack_map(static_cast<std::uint32_t>(n));
  }

 private:
  // Beyond the format: the caller takes the Value path, which says so.
  bool fits(std::size_t n) {
    if (n > max_length) ok_ = false;
    return ok_;
  }

  Sink& sink_;
  msgpack::packer<Sink> packer_;
  IntegerStyle style_;
  bool ok_ = true;
};

}  // namespace

bool msgpack_encode_plain(const plain_message& message, std::vector<std::uint8_t>& out,
                          IntegerStyle style) {
  Sink sink(out);
  PlainEncoder encoder(sink, style);
  message.write(encoder);
  if (encoder.ok())
    sink.finish();
  else
    sink.discard();
  return encoder.ok();
}

void msgpack_encode(Value& value, std::vector<std::uint8_t>& out, ExtensionHook& hook,
                    IntegerStyle style, std::error_code& ec, std::string* detail) {
  ec.clear();
  if (detail) detail->clear();
  Sink sink(out);
  Encoder encoder(sink, hook, style, ec, detail);
  if (encoder.encode(value))
    sink.finish();
  else
    sink.discard();
}

}  // namespace libchan::detail
