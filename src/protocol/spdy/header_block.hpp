// SPDY/3 name/value header blocks: the uncompressed layout (32-bit counts and
// lengths) and the per-direction zlib contexts that compress them with the
// SPDY/3 dictionary. zlib stays out of this header (it is linked PRIVATE).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spdy/protocol.hpp"

namespace libchan::detail::spdy {

struct header_field {
  std::string name;   ///< lower case, not empty
  std::string value;  ///< may be empty or hold NUL-separated values, kept as received

  friend bool operator==(const header_field&, const header_field&) = default;
};

/// Headers in wire order. Names are unique within a block.
using header_list = std::vector<header_field>;

/// The value of `name`, or nullptr.
const std::string* find_header(const header_list& headers, std::string_view name) noexcept;

/// Bounds on what a header decoder accepts. Every limit has a named default;
/// input beyond one fails with errc::limit_exceeded and a message naming it.
struct header_limits {
  /// The largest block after inflating. Inflating stops one byte past it, so
  /// a zlib bomb costs at most this much memory and time.
  static constexpr std::size_t default_max_decompressed_size = 64 * 1024;
  /// The largest compressed block accepted.
  static constexpr std::size_t default_max_compressed_size = 64 * 1024;
  /// The most name/value pairs in one block.
  static constexpr std::size_t default_max_headers = 256;

  std::size_t max_decompressed_size = default_max_decompressed_size;
  std::size_t max_compressed_size = default_max_compressed_size;
  std::size_t max_headers = default_max_headers;
};

/// Appends the uncompressed block for `headers`. Throws
/// libchan::Error(errc::invalid_argument) for an empty, upper-case or
/// duplicate name, a value that starts or ends with NUL or holds an empty
/// NUL-separated part, or a length beyond 32 bits.
void serialize_header_block(const header_list& headers, std::vector<std::uint8_t>& out);

/// Parses an uncompressed block into `out` (replacing its contents). Returns
/// nothing on success. Failures are stream-scoped with stream 0: the caller
/// knows which stream carried the block and sets it.
std::optional<failure> parse_header_block(bytes_view block, const header_limits& limits,
                                          header_list& out);

namespace zlib_detail {
struct stream_state;
struct stream_state_deleter {
  void operator()(stream_state* s) const noexcept;
};
using stream_ptr = std::unique_ptr<stream_state, stream_state_deleter>;
}  // namespace zlib_detail

/// The compressing side of one direction of a session: one zlib stream for
/// the whole session, each block ended by a sync flush. Single-threaded.
class header_encoder {
 public:
  /// Throws std::bad_alloc when zlib cannot allocate its state.
  header_encoder();

  /// Serializes and compresses `headers`, appending the compressed block to
  /// `out`. Throws as serialize_header_block() does.
  void encode(const header_list& headers, std::vector<std::uint8_t>& out);

 private:
  zlib_detail::stream_ptr z_;
  std::vector<std::uint8_t> scratch_;
};

/// The inflating side of one direction of a session. Blocks must be given in
/// the order they arrived. Single-threaded.
class header_decoder {
 public:
  /// Throws std::bad_alloc when zlib cannot allocate its state.
  explicit header_decoder(header_limits limits = {});

  /// Inflates and parses one block into `out`. Returns nothing on success.
  /// A failure of the zlib stream or a size limit is session-scoped and
  /// leaves the decoder broken (every later call fails): the shared context
  /// is out of step. A well-inflated but invalid block (duplicate, empty or
  /// upper-case names, lengths beyond the block, too many headers) is
  /// stream-scoped, with stream 0 for the caller to fill in.
  std::optional<failure> decode(bytes_view block, header_list& out);

  const header_limits& limits() const noexcept { return limits_; }
  /// Bytes produced by inflating during the last decode() call.
  std::size_t last_inflated_size() const noexcept { return last_inflated_; }
  /// Compressed bytes zlib consumed during the last decode() call.
  std::size_t last_input_used() const noexcept { return last_input_used_; }
  bool broken() const noexcept { return broken_; }

 private:
  std::optional<failure> inflate_block(bytes_view block);

  header_limits limits_;
  zlib_detail::stream_ptr z_;
  std::vector<std::uint8_t> plain_;
  std::size_t last_inflated_ = 0;
  std::size_t last_input_used_ = 0;
  bool broken_ = false;
};

}  // namespace libchan::detail::spdy
