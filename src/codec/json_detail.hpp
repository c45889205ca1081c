// The JSON codec's two halves (the mapping is described in json_codec.cpp).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "libchan/codec.hpp"

namespace libchan::detail {

void json_encode(Value& value, std::vector<std::uint8_t>& out, ExtensionHook& hook,
                 std::error_code& ec, std::string* detail);

std::size_t json_decode(std::span<const std::uint8_t> input, Value& out, ExtensionHook& hook,
                        const CodecLimits& limits, std::error_code& ec, std::string* detail);

}  // namespace libchan::detail
