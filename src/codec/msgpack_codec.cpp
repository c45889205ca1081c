// The msgpack Codec: libchan's wire format.
#include "libchan/codec.hpp"
#include "msgpack_detail.hpp"

namespace libchan {
namespace {

class MsgpackCodec final : public Codec {
 public:
  MsgpackCodec(CodecLimits limits, IntegerStyle style) : limits_(limits), style_(style) {}

  std::string_view name() const noexcept override { return "msgpack"; }

 protected:
  void do_encode(Value& value, std::vector<std::uint8_t>& out, ExtensionHook& hook,
                 std::error_code& ec, std::string* detail) const override {
    detail::msgpack_encode(value, out, hook, style_, ec, detail);
  }

  std::size_t do_decode(std::span<const std::uint8_t> input, Value& out, ExtensionHook& hook,
                        std::error_code& ec, std::string* detail) const override {
    return detail::msgpack_decode(input, out, hook, limits_, ec, detail);
  }

 private:
  CodecLimits limits_;
  IntegerStyle style_;
};

}  // namespace

std::unique_ptr<Codec> make_msgpack_codec(CodecLimits limits, IntegerStyle style) {
  return std::make_unique<MsgpackCodec>(limits, style);
}

}  // namespace libchan
