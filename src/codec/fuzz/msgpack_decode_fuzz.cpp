// libFuzzer target: the msgpack decoder on arbitrary bytes.
//
// Checks, besides the sanitizers' memory and UB checks: decoding never
// throws; with small limits it fails cleanly; a decoded value re-encodes to
// bytes that decode and re-encode to themselves; the hook sees nothing of a
// message that did not decode. The plain path agrees with the decoder: a
// value is measured as plain exactly when it decodes with no extension
// type, and reading it straight into a struct succeeds exactly when
// from_value does, with the same result.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "codec/msgpack_detail.hpp"
#include "libchan/codec.hpp"
#include "libchan/fields.hpp"
#include "libchan/libchan.hpp"

namespace {

using libchan::Value;

// Records extensions, hands out markers, and replays them when encoding.
class ReplayHook final : public libchan::ExtensionHook {
 public:
  struct Ext {
    std::int8_t type;
    std::vector<std::uint8_t> payload;
  };
  std::vector<Ext> exts;
  std::size_t replayed = 0;

  void encode_leaf(Value&, std::int8_t& type, std::vector<std::uint8_t>& payload,
                   std::error_code& ec) override {
    if (replayed >= exts.size()) {
      ec = libchan::errc::invalid_argument;
      return;
    }
    type = exts[replayed].type;
    payload = exts[replayed].payload;
    ++replayed;
  }

  Value decode_ext(std::int8_t type, std::span<const std::uint8_t> payload,
                   std::error_code&) override {
    exts.push_back({type, {payload.begin(), payload.end()}});
    return Value(libchan::Sender<Value>());
  }
};

void check(bool ok) {
  if (!ok) std::abort();
}

struct Inner {
  std::int16_t a = 0;
  std::optional<std::string> b;
  LIBCHAN_FIELDS(a, b)
};

// Keys of one letter, as a fuzzer finds them.
struct Shape {
  bool f = false;
  std::int64_t i = 0;
  std::uint8_t u = 0;
  float x = 0;
  double d = 0;
  std::string s;
  libchan::Binary y;
  std::vector<Inner> v;
  std::map<std::string, std::int32_t> m;
  std::array<bool, 2> p{};
  LIBCHAN_FIELDS(f, i, u, x, d, s, y, v, m, p)
};

std::vector<std::uint8_t> encode_shape(Shape shape) {
  static const auto codec = libchan::make_msgpack_codec();
  Value v = libchan::to_value(std::move(shape));
  std::vector<std::uint8_t> out;
  std::error_code ec;
  codec->encode(v, out, libchan::plain_extensions(), ec);
  check(!ec);
  return out;
}

// The plain path on `input` against the decoder with the same `limits`.
void check_plain(std::span<const std::uint8_t> input, const libchan::CodecLimits& limits,
                 const libchan::Codec& codec) {
  const std::size_t measured = libchan::detail::msgpack_measure_plain(input, limits);
  ReplayHook hook;
  Value value;
  std::error_code ec;
  const std::size_t used = codec.decode(input, value, hook, ec);
  const bool plain = !ec && used > 0 && hook.exts.empty();
  check(measured == (plain ? used : 0));
  if (!plain) return;

  auto bytes = input.first(measured);
  std::vector<libchan::detail::plain_item> items;
  check(libchan::detail::msgpack_plain_items(bytes, items));
  std::optional<Shape> direct;
  libchan::detail::plain_reading<Shape> into(direct);
  libchan::detail::plain_items in(items);
  const bool read = into.read(in);
  Shape converted;
  const bool ok = libchan::from_value(std::move(value), converted, ec);
  check(read == ok);
  if (read) check(encode_shape(std::move(*direct)) == encode_shape(std::move(converted)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto codec = libchan::make_msgpack_codec();
  static const auto small = [] {
    libchan::CodecLimits limits;
    limits.max_message_size = 4096;
    limits.max_depth = 8;
    limits.max_elements = 64;
    limits.max_string_size = 256;
    return libchan::make_msgpack_codec(limits);
  }();
  std::span<const std::uint8_t> input(data, size);

  ReplayHook hook;
  Value value;
  std::error_code ec;
  std::size_t used = codec->decode(input, value, hook, ec);
  check(used <= size);
  if (ec || used == 0) check(hook.exts.empty());

  {
    ReplayHook limited_hook;
    Value limited;
    std::error_code limited_ec;
    std::size_t n = small->decode(input, limited, limited_hook, limited_ec);
    check(n <= 4096);
    if (limited_ec || n == 0) check(limited_hook.exts.empty());
    // The plain extensions refuse most extensions, with an error code.
    Value plain;
    codec->decode(input, plain, libchan::plain_extensions(), limited_ec);
  }

  check_plain(input, libchan::CodecLimits{}, *codec);
  libchan::CodecLimits tight;
  tight.max_message_size = 4096;
  tight.max_depth = 8;
  tight.max_elements = 64;
  tight.max_string_size = 256;
  check_plain(input, tight, *small);

  if (ec || used == 0) return 0;
  // Canonical form: encoding is a fixed point after one round.
  std::vector<std::uint8_t> first;
  codec->encode(value, first, hook, ec);
  check(!ec && hook.replayed == hook.exts.size());
  ReplayHook again;
  Value second_value;
  check(codec->decode(first, second_value, again, ec) == first.size() && !ec);
  std::vector<std::uint8_t> second;
  codec->encode(second_value, second, again, ec);
  check(!ec && second == first);
  return 0;
}
