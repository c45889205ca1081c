#include "engine/stream_headers.hpp"

#include <limits>

namespace libchan::detail::engine {

std::optional<std::uint64_t> parse_decimal(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  constexpr std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (max - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<stream_refs> read_stream_refs(const spdy::header_list& headers, std::string& why) {
  const std::string* ref = spdy::find_header(headers, ref_header);
  if (ref == nullptr) {
    why = "no libchan-ref header";
    return std::nullopt;
  }
  stream_refs out;
  if (auto v = parse_decimal(*ref)) {
    out.ref = *v;
  } else {
    why = "libchan-ref \"" + ref->substr(0, 32) + "\" is not a decimal number";
    return std::nullopt;
  }
  // jschan sends an empty parent for byte streams: the same as none.
  if (const std::string* parent = spdy::find_header(headers, parent_ref_header);
      parent != nullptr && !parent->empty()) {
    out.parent_ref = parse_decimal(*parent);
    if (!out.parent_ref) {
      why = "libchan-parent-ref \"" + parent->substr(0, 32) + "\" is not a decimal number";
      return std::nullopt;
    }
  }
  return out;
}

spdy::header_list stream_headers(std::uint64_t ref, std::optional<std::uint64_t> parent_ref) {
  spdy::header_list headers;
  headers.push_back({std::string(ref_header), std::to_string(ref)});
  if (parent_ref) headers.push_back({std::string(parent_ref_header), std::to_string(*parent_ref)});
  return headers;
}

spdy::header_list reply_headers(dialect wire, int status) {
  // Go never reads reply headers; these are what each Go version sends.
  return {{wire == dialect::v0_1 ? "status" : ":status", std::to_string(status)}};
}

dialect detect_dialect(const spdy::header_list& headers) noexcept {
  const std::string* parent = spdy::find_header(headers, parent_ref_header);
  return parent != nullptr && *parent == "0" ? dialect::v0_1 : dialect::v0_2;
}

}  // namespace libchan::detail::engine
