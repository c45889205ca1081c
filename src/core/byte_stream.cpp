#include "libchan/byte_stream.hpp"

#include "platform/fd_stream.hpp"

namespace libchan {

ByteStream ByteStream::from_fd(Fd fd, Mode mode) {
  if (!fd) throw Error(errc::invalid_argument, "ByteStream::from_fd: no descriptor");
  return ByteStream(detail::make_fd_stream(std::move(fd)), mode);
}

std::error_code ByteStream::check(Mode needed) const noexcept {
  if (!impl_) return errc::empty_handle;
  if (mode_ != Mode::duplex && mode_ != needed) return errc::wrong_direction;
  return {};
}

std::size_t ByteStream::read_some(std::span<std::byte> buffer, std::error_code& ec) {
  if ((ec = check(Mode::read_only))) return 0;
  return impl_->read_some(buffer, ec);
}

std::size_t ByteStream::read_some(std::span<std::byte> buffer) {
  std::error_code ec;
  auto n = read_some(buffer, ec);
  throw_if(ec);
  return n;
}

void ByteStream::write(std::span<const std::byte> data, std::error_code& ec) {
  if ((ec = check(Mode::write_only))) return;
  impl_->write(data, ec);
}

void ByteStream::write(std::span<const std::byte> data) {
  std::error_code ec;
  write(data, ec);
  throw_if(ec);
}

std::string ByteStream::read_all(std::size_t limit) {
  std::string out;
  std::byte chunk[16384];
  for (;;) {
    std::size_t n = read_some(chunk);
    if (n == 0) return out;
    if (out.size() + n > limit)
      throw Error(errc::limit_exceeded,
                  "ByteStream::read_all: stream longer than " + std::to_string(limit) + " bytes");
    out.append(reinterpret_cast<const char*>(chunk), n);
  }
}

void ByteStream::close_write() noexcept {
  if (impl_ && mode_ != Mode::read_only) impl_->close_write();
}

void ByteStream::close() noexcept {
  if (auto impl = std::exchange(impl_, nullptr)) impl->close();
}

}  // namespace libchan
