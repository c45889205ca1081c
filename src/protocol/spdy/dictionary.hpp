// The zlib dictionary SPDY/3 header compression starts from (section 2.6.10.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace libchan::detail::spdy {

inline constexpr std::size_t spdy3_dictionary_size = 1423;
/// zlib's id for the dictionary: a peer's header stream names it.
inline constexpr std::uint32_t spdy3_dictionary_adler32 = 0xe3c6a7c2;

/// The 1423 dictionary bytes; static storage.
std::span<const std::uint8_t> spdy3_dictionary() noexcept;

}  // namespace libchan::detail::spdy
