// ByteStream: a stream of bytes that can travel inside a message.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>
#include <utility>

#include "libchan/detail/completion.hpp"
#include "libchan/error.hpp"
#include "libchan/fd.hpp"

namespace libchan {

namespace detail {

/// What a ByteStream end is backed by: an in-process buffer, a file
/// descriptor, or a stream of a network session.
class stream_impl : public std::enable_shared_from_this<stream_impl> {
 public:
  using io_handler = std::function<void(std::error_code, std::size_t)>;

  virtual ~stream_impl() = default;
  /// Blocks until at least one byte is read; 0 with no error is end of stream.
  virtual std::size_t read_some(std::span<std::byte> buffer, std::error_code& ec) = 0;
  /// Blocks until all of `data` is written.
  virtual void write(std::span<const std::byte> data, std::error_code& ec) = 0;
  /// Starts a read; `done` runs once, on any thread, never inside the call.
  /// The buffer must stay valid until then. The default runs read_some on a
  /// pool thread; implementations that can do better override it.
  virtual void async_read_some(std::span<std::byte> buffer, io_handler done);
  /// Starts writing all of `data`, which stays valid and unchanged until
  /// `done` runs.
  virtual void async_write(std::span<const std::byte> data, io_handler done);
  /// Sends end-of-stream to the reader on the other side. Idempotent.
  virtual void close_write() noexcept = 0;
  /// Releases both directions. Idempotent.
  virtual void close() noexcept = 0;
  /// Nobody will read this stream any more: a read in progress ends at once
  /// (with what it has read, or errc::closed), later reads fail with
  /// errc::closed, and what arrives from now on is dropped (or refused,
  /// where the stream cannot drop it). Idempotent; streams that cannot do
  /// this do nothing.
  virtual void abandon_reads() {}
  /// The descriptor behind this stream, or -1.
  virtual int native_handle() const noexcept { return -1; }
};

}  // namespace detail

/// One end of a byte stream: duplex, read-only or write-only.
///
/// Move-only. One thread may read while another writes; two concurrent
/// reads (or writes) on the same end are not allowed. Destroying an end
/// closes it.
class ByteStream {
 public:
  enum class Mode { duplex, read_only, write_only };

  ByteStream() noexcept = default;
  ByteStream(std::shared_ptr<detail::stream_impl> impl, Mode mode) noexcept
      : impl_(std::move(impl)), mode_(mode) {}
  ByteStream(ByteStream&&) noexcept = default;
  ByteStream& operator=(ByteStream&& other) noexcept {
    if (this != &other) {
      close();
      impl_ = std::move(other.impl_);
      mode_ = other.mode_;
    }
    return *this;
  }
  ~ByteStream() { close(); }

  /// A stream over an open descriptor (pipe, file, socket), taking ownership.
  static ByteStream from_fd(Fd fd, Mode mode = Mode::duplex);

  /// Reads at least one byte into `buffer`; returns 0 at end of stream.
  std::size_t read_some(std::span<std::byte> buffer, std::error_code& ec);
  std::size_t read_some(std::span<std::byte> buffer);
  /// Writes all of `data`.
  void write(std::span<const std::byte> data, std::error_code& ec);
  void write(std::span<const std::byte> data);
  void write(std::string_view text) { write(std::as_bytes(std::span(text.data(), text.size()))); }
  /// Reads until end of stream, at most `limit` bytes (errc::limit_exceeded past it).
  std::string read_all(std::size_t limit = 64u << 20);

  /// Starts a read; the handler gets `void(std::error_code, std::size_t)`.
  template <class CompletionToken>
  auto async_read_some(std::span<std::byte> buffer, CompletionToken&& token) {
    return detail::initiate<std::size_t>(token, [this, buffer](auto handler) {
      // std::function needs a copyable callable; the handler is move-only.
      auto shared =
          std::make_shared<detail::tracked_handler<decltype(handler)>>(std::move(handler));
      auto done = [shared](std::error_code ec, std::size_t n) { shared->post(ec, n); };
      if (auto ec = check(Mode::read_only)) return done(ec, 0);
      impl_->async_read_some(buffer, std::move(done));
    });
  }

  /// Starts writing all of `data`; the handler gets `void(std::error_code, std::size_t)`.
  /// `data` must stay valid, unchanged, until the handler runs (it may be
  /// written from where it is, without a copy).
  template <class CompletionToken>
  auto async_write(std::span<const std::byte> data, CompletionToken&& token) {
    return detail::initiate<std::size_t>(token, [this, data](auto handler) {
      // std::function needs a copyable callable; the handler is move-only.
      auto shared =
          std::make_shared<detail::tracked_handler<decltype(handler)>>(std::move(handler));
      auto done = [shared](std::error_code ec, std::size_t n) { shared->post(ec, n); };
      if (auto ec = check(Mode::write_only)) return done(ec, 0);
      impl_->async_write(data, std::move(done));
    });
  }

  /// Tells the reader on the other side that no more bytes come. Idempotent.
  void close_write() noexcept;
  /// Closes both directions. Idempotent.
  void close() noexcept;

  Mode mode() const noexcept { return mode_; }
  bool can_read() const noexcept { return impl_ && mode_ != Mode::write_only; }
  bool can_write() const noexcept { return impl_ && mode_ != Mode::read_only; }
  explicit operator bool() const noexcept { return impl_ != nullptr; }

  const std::shared_ptr<detail::stream_impl>& impl() const noexcept { return impl_; }
  /// Gives up the implementation without closing it.
  std::shared_ptr<detail::stream_impl> release() noexcept { return std::move(impl_); }

 private:
  // Empty, or errc::empty_handle / errc::wrong_direction for an operation
  // that needs `needed` (read_only: reading; write_only: writing).
  std::error_code check(Mode needed) const noexcept;

  std::shared_ptr<detail::stream_impl> impl_;
  Mode mode_ = Mode::duplex;
};

/// Two connected in-process duplex ends; each direction buffers up to
/// `buffer_size` bytes before a write blocks.
std::pair<ByteStream, ByteStream> stream_pair(std::size_t buffer_size = 256u << 10);

}  // namespace libchan
