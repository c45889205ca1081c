// The msgpack codec's two halves, shared by its Codec class and the fuzzer.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "libchan/codec.hpp"
#include "libchan/detail/plain.hpp"

namespace libchan::detail {

/// Appends `value` to `out`; on failure restores `out` and sets `ec`.
void msgpack_encode(Value& value, std::vector<std::uint8_t>& out, ExtensionHook& hook,
                    IntegerStyle style, std::error_code& ec, std::string* detail);

/// Appends `message` to `out`, byte for byte as msgpack_encode would write
/// the Value it converts to. False, with `out` restored, for a length
/// beyond the format's limits.
bool msgpack_encode_plain(const plain_message& message, std::vector<std::uint8_t>& out,
                          IntegerStyle style);

/// Decodes the first value of `input` (see Codec::decode).
std::size_t msgpack_decode(std::span<const std::uint8_t> input, Value& out, ExtensionHook& hook,
                           const CodecLimits& limits, std::error_code& ec, std::string* detail);

/// The length of the first value of `input` if it is whole, holds no
/// extension type and keeps within `limits`; otherwise 0, and
/// msgpack_decode tells what it is (incomplete, refused, or one with
/// extension types). Builds nothing.
std::size_t msgpack_measure_plain(std::span<const std::uint8_t> input, const CodecLimits& limits);

/// The items of `bytes`, one value that msgpack_measure_plain() accepted,
/// in order (see plain_item); strings and binaries point into `bytes`.
/// False for a value it would refuse.
bool msgpack_plain_items(std::span<const std::uint8_t> bytes, std::vector<plain_item>& items);

}  // namespace libchan::detail
