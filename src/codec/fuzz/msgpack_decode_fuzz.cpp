// libFuzzer target: the msgpack decoder on arbitrary bytes.
//
// Checks, besides the sanitizers' memory and UB checks: decoding never
// throws; with small limits it fails cleanly; a decoded value re-encodes to
// bytes that decode and re-encode to themselves; the hook sees nothing of a
// message that did not decode.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "libchan/codec.hpp"

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
