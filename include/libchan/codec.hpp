// Codecs turn Values into bytes and back. The protocol layer plugs in an
// ExtensionHook that maps channel ends, streams and descriptors to
// references on the wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "libchan/value.hpp"

namespace libchan {

/// Bounds on what a decoder accepts. Every limit has a named default; input
/// beyond one fails with errc::limit_exceeded and a message naming it.
struct CodecLimits {
  static constexpr std::size_t default_max_message_size = 16u << 20;
  static constexpr std::size_t default_max_depth = 64;
  static constexpr std::size_t default_max_elements = 1u << 20;
  static constexpr std::size_t default_max_string_size = 16u << 20;

  /// Encoded bytes of one message.
  std::size_t max_message_size = default_max_message_size;
  /// Nesting of arrays and maps.
  std::size_t max_depth = default_max_depth;
  /// Array elements plus map entries in one message, all levels together.
  std::size_t max_elements = default_max_elements;
  /// Length of one string, binary or extension payload.
  std::size_t max_string_size = default_max_string_size;
};

/// How integers >= 0 held as int64 are written. Go libchan master writes a
/// Go `int` in the smallest signed form (200 -> int16); v0.1.0 and jschan
/// always use the unsigned forms (200 -> uint8). uint64 values always use the
/// smallest unsigned form.
enum class IntegerStyle { smallest_signed, unsigned_when_nonnegative };

/// Maps the leaves that are not plain data (times, channel ends, streams,
/// descriptors) to msgpack extension values and back.
class ExtensionHook {
 public:
  virtual ~ExtensionHook() = default;

  /// Encodes `leaf` (kind time, sender, receiver, stream or fd) as an
  /// extension. May move the resource out of `leaf` (a channel end handed to
  /// the session). Sets `ec` if the leaf cannot travel here.
  virtual void encode_leaf(Value& leaf, std::int8_t& type, std::vector<std::uint8_t>& payload,
                           std::error_code& ec) = 0;

  /// Builds the value for an extension read off the wire. Called only after
  /// the whole message decoded cleanly, once per extension, in the order they
  /// appear in the bytes.
  virtual Value decode_ext(std::int8_t type, std::span<const std::uint8_t> payload,
                           std::error_code& ec) = 0;
};

/// The hook used when no session is involved: times travel as libchan's
/// ext 6 (int64 seconds, uint32 nanoseconds, big-endian); channel ends,
/// streams and descriptors fail with errc::not_supported.
ExtensionHook& plain_extensions() noexcept;

/// The interface every serialization format implements.
///
/// Error codes carry no text, so every call that reports through
/// `std::error_code` also takes an optional `detail`: when not null, it
/// receives a human-readable description of the failure ("msgpack: string of
/// 70000 bytes exceeds max_string_size (65536)"), and is cleared on success.
/// The throwing conveniences put that text in Error::what().
///
/// A codec object holds only its configuration: calls may run on several
/// threads at once.
class Codec {
 public:
  virtual ~Codec() = default;

  /// A short name: "msgpack", "json".
  virtual std::string_view name() const noexcept = 0;

  /// Appends the encoding of `value` to `out`. Leaves go through `hook`,
  /// which may move resources out of `value` (also when encoding fails
  /// later). On failure `out` is left as it was.
  void encode(Value& value, std::vector<std::uint8_t>& out, ExtensionHook& hook,
              std::error_code& ec, std::string* detail = nullptr) const {
    do_encode(value, out, hook, ec, detail);
  }

  /// Decodes the first value in `input`. Returns the bytes it used; 0 with
  /// no error means `input` holds only the start of a value (more bytes are
  /// needed). Errors: errc::decode_error for malformed input,
  /// errc::limit_exceeded for input beyond the limits — reported as soon as
  /// a declared length shows it, without waiting for the bytes. `hook` is
  /// called only once the whole value decoded cleanly; `out` is assigned
  /// only on success.
  std::size_t decode(std::span<const std::uint8_t> input, Value& out, ExtensionHook& hook,
                     std::error_code& ec, std::string* detail = nullptr) const {
    return do_decode(input, out, hook, ec, detail);
  }

  /// Decodes `input`, which must hold exactly one complete value (a cut
  /// value or trailing bytes are errc::decode_error; the hook is then not
  /// called).
  Value decode_exact(std::span<const std::uint8_t> input, ExtensionHook& hook, std::error_code& ec,
                     std::string* detail = nullptr) const;
  /// Throwing conveniences with the plain extensions; they throw Error with
  /// the detail text.
  std::vector<std::uint8_t> encode(Value& value) const;
  Value decode_exact(std::span<const std::uint8_t> input) const;

 protected:
  /// What implementations provide; the contracts are those of encode and
  /// decode above. `detail` may be null.
  virtual void do_encode(Value& value, std::vector<std::uint8_t>& out, ExtensionHook& hook,
                         std::error_code& ec, std::string* detail) const = 0;
  virtual std::size_t do_decode(std::span<const std::uint8_t> input, Value& out,
                                ExtensionHook& hook, std::error_code& ec,
                                std::string* detail) const = 0;
};

/// msgpack, the format of libchan's wire protocol.
std::unique_ptr<Codec> make_msgpack_codec(CodecLimits limits = {},
                                          IntegerStyle style = IntegerStyle::smallest_signed);

/// JSON, to show the format is pluggable and for human-facing tools. The
/// input of decode is one whole document (JSON is not self-delimiting); a
/// document cut short decodes as incomplete. Mapping: nil, bool, string,
/// array as themselves; int64/uint64 as integers (decoded as int64, or uint64
/// above INT64_MAX); float64 as a number with a fraction or exponent, NaN and
/// infinities as {"$float": "NaN" | "Infinity" | "-Infinity"}; a map with
/// distinct string keys, none starting with "$", as an object in key order;
/// any other map as {"$map": [[key, value], ...]}; Binary as
/// {"$bin": "<base64>"}; a time as {"$time": "<RFC 3339, nanoseconds>"};
/// other leaves through the hook as {"$ext": type, "data": "<base64>"}.
/// Objects with a "$" key that are not one of these forms do not decode.
std::unique_ptr<Codec> make_json_codec(CodecLimits limits = {});

}  // namespace libchan
