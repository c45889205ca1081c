// Pieces shared by the codecs: error reporting, the plain time extension,
// and deferred extension decoding.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <system_error>
#include <vector>

#include "libchan/codec.hpp"
#include "libchan/error.hpp"
#include "libchan/value.hpp"

namespace libchan::detail {

/// libchan's extension type for a time (ext 6 in Go libchan master).
inline constexpr std::int8_t time_ext_type = 6;
/// Its payload: int64 seconds then uint32 nanoseconds, big-endian.
inline constexpr std::size_t time_ext_size = 12;

/// Sets `ec` and, if asked for, the detail text. Always returns 0 so that
/// decoders can `return fail(...)`.
inline std::size_t fail(std::error_code& ec, std::string* detail, errc code, std::string text) {
  ec = code;
  if (detail) *detail = std::move(text);
  return 0;
}

/// The time `secs` seconds + `nanos` (0 to 999999999) nanoseconds after the
/// epoch, or false if the nanosecond clock cannot hold it.
inline bool time_from_parts(std::int64_t secs, std::int64_t nanos, Time& out) {
  // For negative seconds, borrow one second so that both terms are <= 0:
  // the earliest representable time has secs * 1e9 below INT64_MIN.
  if (secs < 0) {
    ++secs;
    nanos -= 1'000'000'000;
  }
  std::int64_t total = 0;
  if (__builtin_mul_overflow(secs, std::int64_t{1'000'000'000}, &total) ||
      __builtin_add_overflow(total, nanos, &total))
    return false;
  out = Time(std::chrono::nanoseconds(total));
  return true;
}

/// The 12-byte ext 6 payload of `t` (seconds floored, so that negative
/// times keep nanoseconds in [0, 1e9)).
std::vector<std::uint8_t> encode_time_ext(Time t);
/// Reads an ext 6 payload. Returns an empty string on success, else why it
/// is malformed.
std::string decode_time_ext(std::span<const std::uint8_t> payload, Time& out);

/// Why `hook` refused an extension (for detail texts). Knows the plain
/// extensions' reasons; for other hooks it states the error code.
std::string describe_decode_failure(const ExtensionHook& hook, std::int8_t type,
                                    std::span<const std::uint8_t> payload,
                                    const std::error_code& ec);
std::string describe_encode_failure(const ExtensionHook& hook, const Value& leaf,
                                    const std::error_code& ec);

/// Decoders put this in the tree where an extension goes, then replace it
/// once the whole message parsed: an empty descriptor cannot come out of a
/// parser, so it marks the slot unambiguously.
inline Value extension_placeholder() { return Value(Fd()); }

/// Replaces, in pre-order (the order of the bytes), each placeholder in
/// `root` with `make(i)` for i = 0, 1, ... Stops at the first `make` that
/// sets `ec`. `make` is `Value(std::size_t, std::error_code&)`.
template <class Make>
void fill_placeholders(Value& root, Make& make, std::size_t& next, std::error_code& ec) {
  switch (root.kind()) {
    case Value::Kind::fd:
      if (!std::get<Fd>(root.data())) {
        root = make(next, ec);
        ++next;
      }
      return;
    case Value::Kind::array:
      for (auto& e : root.as_array()) {
        fill_placeholders(e, make, next, ec);
        if (ec) return;
      }
      return;
    case Value::Kind::map:
      for (auto& e : root.as_map()) {
        fill_placeholders(e.key, make, next, ec);
        if (ec) return;
        fill_placeholders(e.value, make, next, ec);
        if (ec) return;
      }
      return;
    default:
      return;
  }
}

}  // namespace libchan::detail
