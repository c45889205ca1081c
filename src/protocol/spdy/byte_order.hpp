// Big-endian reads and appends: SPDY puts every integer in network order.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace libchan::detail::spdy {

inline std::uint16_t read_u16(std::span<const std::uint8_t> in, std::size_t at) noexcept {
  return static_cast<std::uint16_t>((in[at] << 8) | in[at + 1]);
}

inline std::uint32_t read_u24(std::span<const std::uint8_t> in, std::size_t at) noexcept {
  return (std::uint32_t{in[at]} << 16) | (std::uint32_t{in[at + 1]} << 8) | in[at + 2];
}

inline std::uint32_t read_u32(std::span<const std::uint8_t> in, std::size_t at) noexcept {
  return (std::uint32_t{in[at]} << 24) | (std::uint32_t{in[at + 1]} << 16) |
         (std::uint32_t{in[at + 2]} << 8) | in[at + 3];
}

inline void append_u8(std::vector<std::uint8_t>& out, std::uint8_t v) { out.push_back(v); }

inline void append_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

inline void append_u24(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

inline void append_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 24));
  out.push_back(static_cast<std::uint8_t>(v >> 16));
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}

}  // namespace libchan::detail::spdy
