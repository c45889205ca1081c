#include "soak/messages.hpp"

#include <cstdarg>
#include <cstdio>

namespace soak {

std::pair<std::uint64_t, std::uint64_t> drain(libchan::ByteStream& s, std::error_code& ec,
                                              std::vector<std::byte>* keep) {
  std::vector<std::byte> buf(16u << 10);
  std::uint64_t n = 0, h = fnv_basis;
  for (;;) {
    std::size_t got = s.read_some(buf, ec);
    if (ec || got == 0) break;
    std::span<const std::byte> part(buf.data(), got);
    h = fnv1a(h, part);
    n += got;
    if (keep) keep->insert(keep->end(), part.begin(), part.end());
  }
  return {n, h};
}

std::string format(const char* fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  return buf;
}

}  // namespace soak
