// The plain extensions (times only) and the texts that explain why a hook
// refused a value.
#include <cstdint>
#include <string>

#include "codec_detail.hpp"

namespace libchan {
namespace detail {
namespace {

class PlainExtensions final : public ExtensionHook {
 public:
  void encode_leaf(Value& leaf, std::int8_t& type, std::vector<std::uint8_t>& payload,
                   std::error_code& ec) override {
    if (leaf.kind() != Value::Kind::time) {
      ec = errc::not_supported;
      return;
    }
    type = time_ext_type;
    payload = encode_time_ext(leaf.as_time());
  }

  Value decode_ext(std::int8_t type, std::span<const std::uint8_t> payload,
                   std::error_code& ec) override {
    Time t;
    if (type != time_ext_type || !decode_time_ext(payload, t).empty()) {
      ec = errc::decode_error;
      return Value();
    }
    return Value(t);
  }
};

PlainExtensions plain_instance;

std::uint64_t load_be(std::span<const std::uint8_t> bytes) {
  std::uint64_t v = 0;
  for (auto b : bytes) v = (v << 8) | b;
  return v;
}

void store_be(std::uint64_t v, std::size_t n, std::vector<std::uint8_t>& out) {
  for (std::size_t i = n; i-- > 0;) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

bool is_plain(const ExtensionHook& hook) { return &hook == &plain_instance; }

}  // namespace

std::vector<std::uint8_t> encode_time_ext(Time t) {
  // Floor, not truncation: -0.5 s is second -1 + 500000000 ns, as Go has
  // it. Plain integers, because chrono::floor overflows in the clock's first
  // second (it converts the floored seconds back to nanoseconds).
  const std::int64_t ns = t.time_since_epoch().count();
  std::int64_t secs = ns / 1'000'000'000;
  std::int64_t nanos = ns % 1'000'000'000;
  if (nanos < 0) {
    secs -= 1;
    nanos += 1'000'000'000;
  }
  std::vector<std::uint8_t> out;
  out.reserve(time_ext_size);
  store_be(static_cast<std::uint64_t>(secs), 8, out);
  store_be(static_cast<std::uint64_t>(nanos), 4, out);
  return out;
}

std::string decode_time_ext(std::span<const std::uint8_t> payload, Time& out) {
  if (payload.size() != time_ext_size)
    return "payload of " + std::to_string(payload.size()) + " bytes, expected 12";
  auto secs = static_cast<std::int64_t>(load_be(payload.first(8)));
  auto nanos = static_cast<std::int64_t>(load_be(payload.subspan(8)));
  if (nanos >= 1'000'000'000) return "nanoseconds " + std::to_string(nanos) + " out of range";
  if (!time_from_parts(secs, nanos, out))
    return "seconds " + std::to_string(secs) + " beyond the nanosecond clock's range";
  return {};
}

std::string describe_decode_failure(const ExtensionHook& hook, std::int8_t type,
                                    std::span<const std::uint8_t> payload,
                                    const std::error_code& ec) {
  if (is_plain(hook)) {
    if (type != time_ext_type) return "unknown extension type " + std::to_string(type);
    Time ignored;
    return "malformed time extension: " + decode_time_ext(payload, ignored);
  }
  return "extension type " + std::to_string(type) + " (" + std::to_string(payload.size()) +
         "-byte payload) refused: " + ec.message();
}

std::string describe_encode_failure(const ExtensionHook& hook, const Value& leaf,
                                    const std::error_code& ec) {
  std::string kind = Value::kind_name(leaf.kind());
  if (is_plain(hook)) return "a " + kind + " cannot travel without a session (only times can)";
  return "cannot encode a " + kind + ": " + ec.message();
}

}  // namespace detail

ExtensionHook& plain_extensions() noexcept { return detail::plain_instance; }

}  // namespace libchan
