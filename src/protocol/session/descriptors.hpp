// Descriptors that travel as descriptors (SCM_RIGHTS) over connections that
// can pass them: the wire constants of the extension (docs/protocol.md,
// "Descriptor passing"), and what a descriptor on its way out holds on to.
// The bytes and the descriptors themselves are the driver's business.
#pragma once

#include <cstdint>
#include <memory>

#include "libchan/byte_stream.hpp"
#include "libchan/fd.hpp"

namespace libchan {
class Value;
}

namespace libchan::detail::session {

namespace descriptors {

/// The SETTINGS entry announcing that we take descriptors: a private id
/// far above SPDY/3's 1-8 (ids are 24 bits), and the version as its value.
inline constexpr std::uint32_t setting_id = 0xFD0001;
inline constexpr std::uint32_t version = 1;

/// The extension type naming a received descriptor, in both dialects
/// (v0.2 uses 1-6, v0.1 1, 2, 4 and 5).
inline constexpr std::int8_t ext_type = 32;

/// The first payload byte: what the receiver makes of the descriptor. The
/// index into the descriptors received on the connection follows (4 or 8
/// bytes, big-endian).
enum class form : std::uint8_t {
  fd = 0,                 ///< an Fd
  duplex_stream = 1,      ///< ByteStream::from_fd, duplex
  read_only_stream = 2,   ///< ... read-only
  write_only_stream = 3,  ///< ... write-only
};

}  // namespace descriptors

/// A descriptor on its way to the peer: the number to attach to a write and
/// what keeps it open until that write has completed. Sending moves
/// ownership, so destroying it closes the sender's copy: the Fd, or the
/// ByteStream the descriptor came from.
class outgoing_descriptor {
 public:
  explicit outgoing_descriptor(Fd fd) noexcept : fd_(std::move(fd)), number_(fd_.get()) {}
  explicit outgoing_descriptor(std::shared_ptr<stream_impl> stream) noexcept
      : stream_(std::move(stream)), number_(stream_->native_handle()) {}
  outgoing_descriptor(outgoing_descriptor&&) noexcept = default;
  // Assigning over one would have to close it first; nothing needs that.
  outgoing_descriptor& operator=(outgoing_descriptor&&) = delete;
  ~outgoing_descriptor() {
    if (stream_) stream_->close();
  }

  int get() const noexcept { return number_; }

 private:
  Fd fd_;
  std::shared_ptr<stream_impl> stream_;
  int number_;
};

/// True if `v` holds an Fd, or a ByteStream over a descriptor, at any depth.
bool holds_descriptor(const Value& v) noexcept;

}  // namespace libchan::detail::session
