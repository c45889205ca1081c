#include "spdy/dictionary.hpp"

#include <array>
#include <string_view>

namespace libchan::detail::spdy {
namespace {

// The specification prints the dictionary as bytes. It is made of header
// names and common values, each preceded by its 32-bit big-endian length,
// followed by status lines, dates and content types with no lengths. Kept
// here in that readable form and assembled at compile time; a test checks
// the result against the Adler-32 the specification implies.
constexpr std::string_view length_prefixed[] = {
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
};

constexpr std::string_view unprefixed =
    "100101201202205206300302303304305306307"
    "402405406407408409410411412413414415416417"
    "502504505"
    "203 Non-Authoritative Information"
    "204 No Content"
    "301 Moved Permanently"
    "400 Bad Request"
    "401 Unauthorized"
    "403 Forbidden"
    "404 Not Found"
    "500 Internal Server Error"
    "501 Not Implemented"
    "503 Service Unavailable"
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec "
    "00:00:00 "
    "Mon, Tue, Wed, Thu, Fri, Sat, Sun, "
    "GMT"
    "chunked,"
    "text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,"
    "text/plain,text/javascript,"
    "public"
    "private"
    "max-age="
    "gzip,deflate,sdch"
    "charset=utf-8"
    "charset=iso-8859-1,utf-,*,enq=0.";

constexpr std::size_t assembled_size() {
  std::size_t n = unprefixed.size();
  for (auto word : length_prefixed) n += 4 + word.size();
  return n;
}

static_assert(assembled_size() == spdy3_dictionary_size);

constexpr std::array<std::uint8_t, spdy3_dictionary_size> assemble() {
  std::array<std::uint8_t, spdy3_dictionary_size> out{};
  std::size_t at = 0;
  for (auto word : length_prefixed) {
    const auto n = static_cast<std::uint32_t>(word.size());
    out[at++] = static_cast<std::uint8_t>(n >> 24);
    out[at++] = static_cast<std::uint8_t>(n >> 16);
    out[at++] = static_cast<std::uint8_t>(n >> 8);
    out[at++] = static_cast<std::uint8_t>(n);
    for (char c : word) out[at++] = static_cast<std::uint8_t>(c);
  }
  for (char c : unprefixed) out[at++] = static_cast<std::uint8_t>(c);
  return out;
}

constexpr auto dictionary = assemble();

}  // namespace

std::span<const std::uint8_t> spdy3_dictionary() noexcept { return dictionary; }

}  // namespace libchan::detail::spdy
