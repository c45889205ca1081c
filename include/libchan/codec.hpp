// Codecs turn Values into bytes and back. The protocol layer plugs in an
// ExtensionHook that maps channel ends, streams and descriptors to
// references on the wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
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
class Codec {
 public:
  virtual ~Codec() = default;

  /// A short name: "msgpack", "json".
  virtual std::string_view name() const noexcept = 0;

  /// Appends the encoding of `value` to `out`. Leaves go through `hook`,
  /// which may move resources out of `value`.
  virtual void encode(Value& value, std::vector<std::uint8_t>& out, ExtensionHook& hook,
                      std::error_code& ec) const = 0;

  /// Decodes the first value in `input`. Returns the bytes it used; 0 with
  /// no error means `input` holds only the start of a value (more bytes are
  /// needed). Errors: errc::decode_error for malformed input,
  /// errc::limit_exceeded for input beyond the limits.
  virtual std::size_t decode(std::span<const std::uint8_t> input, Value& out, ExtensionHook& hook,
                             std::error_code& ec) const = 0;

  /// Decodes `input`, which must hold exactly one complete value.
  Value decode_exact(std::span<const std::uint8_t> input, ExtensionHook& hook,
                     std::error_code& ec) const;
  /// Throwing conveniences with the plain extensions.
  std::vector<std::uint8_t> encode(Value& value) const;
  Value decode_exact(std::span<const std::uint8_t> input) const;
};

/// msgpack, the format of libchan's wire protocol.
std::unique_ptr<Codec> make_msgpack_codec(CodecLimits limits = {},
                                          IntegerStyle style = IntegerStyle::smallest_signed);

/// JSON, to show the format is pluggable and for human-facing tools.
std::unique_ptr<Codec> make_json_codec(CodecLimits limits = {});

}  // namespace libchan
