// Text forms used by the JSON codec: base64 and RFC 3339 times.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "libchan/value.hpp"

namespace libchan::detail {

/// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::span<const std::uint8_t> bytes);
/// Strict: standard alphabet, padding required, no whitespace.
std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text);

/// Parses RFC 3339 ("2024-01-02T03:04:05.123456789Z", 0 to 9 fraction
/// digits, Z or a numeric offset). Empty on malformed text or a time beyond
/// the nanosecond clock's range (years 1678 to 2261).
std::optional<Time> parse_rfc3339(std::string_view text);

}  // namespace libchan::detail
