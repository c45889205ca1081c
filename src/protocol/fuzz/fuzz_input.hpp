// The input layouts the SPDY fuzz targets and their seed corpus share.
#pragma once

#include <cstdint>

namespace libchan::detail::spdy::fuzz {

// frame_fuzz: one option byte, then bytes of one direction of a session.
inline constexpr std::uint8_t option_strict_reserved = 0x80;  // reject_reserved_bits
inline constexpr std::uint8_t option_small_data = 0x40;       // max_data_payload = 64
inline constexpr std::uint8_t option_small_control = 0x20;    // max_control_payload = 128
inline constexpr std::uint8_t option_chunk_mask = 0x1F;       // read size - 1; 0: all at once

// header_block_fuzz: one mode byte, then the mode's payload.
inline constexpr std::uint8_t mode_uncompressed = 0;  // one uncompressed block
inline constexpr std::uint8_t mode_compressed = 1;    // (16-bit length, compressed block)*

}  // namespace libchan::detail::spdy::fuzz
