// The non-virtual conveniences of Codec, shared by every format.
#include <string>

#include "codec_detail.hpp"

namespace libchan {
namespace {

// Collects extensions instead of resolving them, so that decode_exact can
// reject trailing bytes before the real hook sees anything.
class DeferringHook final : public ExtensionHook {
 public:
  struct Ext {
    std::int8_t type;
    std::vector<std::uint8_t> payload;
  };
  std::vector<Ext> exts;

  void encode_leaf(Value&, std::int8_t&, std::vector<std::uint8_t>&, std::error_code& ec) override {
    ec = errc::not_supported;  // decoding only
  }

  Value decode_ext(std::int8_t type, std::span<const std::uint8_t> payload,
                   std::error_code&) override {
    exts.push_back({type, {payload.begin(), payload.end()}});
    return detail::extension_placeholder();
  }
};

}  // namespace

Value Codec::decode_exact(std::span<const std::uint8_t> input, ExtensionHook& hook,
                          std::error_code& ec, std::string* detail) const {
  DeferringHook deferred;
  Value value;
  std::size_t used = decode(input, value, deferred, ec, detail);
  if (ec) return Value();
  std::string prefix(name());
  if (used == 0) {
    detail::fail(ec, detail, errc::decode_error,
                 prefix + ": truncated input: " + std::to_string(input.size()) +
                     " bytes end inside a value");
    return Value();
  }
  if (used < input.size()) {
    detail::fail(ec, detail, errc::decode_error,
                 prefix + ": " + std::to_string(input.size() - used) +
                     " trailing bytes after the value (which ends at offset " +
                     std::to_string(used) + ")");
    return Value();
  }
  if (deferred.exts.empty()) return value;
  auto make = [&](std::size_t i, std::error_code& e) {
    auto& ext = deferred.exts[i];
    Value v = hook.decode_ext(ext.type, ext.payload, e);
    if (e && detail)
      *detail = prefix + ": " + detail::describe_decode_failure(hook, ext.type, ext.payload, e);
    return v;
  };
  std::size_t next = 0;
  detail::fill_placeholders(value, make, next, ec);
  if (ec) return Value();
  return value;
}

std::vector<std::uint8_t> Codec::encode(Value& value) const {
  std::vector<std::uint8_t> out;
  std::error_code ec;
  std::string why;
  encode(value, out, plain_extensions(), ec, &why);
  if (ec) throw Error(ec, why);
  return out;
}

Value Codec::decode_exact(std::span<const std::uint8_t> input) const {
  std::error_code ec;
  std::string why;
  Value v = decode_exact(input, plain_extensions(), ec, &why);
  if (ec) throw Error(ec, why);
  return v;
}

}  // namespace libchan
