// The uncompressed name/value block: a 32-bit pair count, then for each pair
// a 32-bit name length, the name, a 32-bit value length, the value.
#include "spdy/header_block.hpp"

#include <algorithm>
#include <limits>

#include "spdy/byte_order.hpp"

namespace libchan::detail::spdy {
namespace {

// Smallest encoding of one pair: two empty lengths.
constexpr std::size_t min_pair_size = 8;

std::string str(std::uint64_t v) { return std::to_string(v); }

failure block_error(errc code, std::string message) {
  return stream_failure(code, 0, rst_status::protocol_error, "spdy: " + std::move(message));
}

bool has_upper_case(std::string_view name) {
  return std::any_of(name.begin(), name.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// SPDY/3 2.6.10: a value is empty or NUL-separated parts, none of them empty.
bool valid_value(std::string_view value) {
  if (value.empty()) return true;
  if (value.front() == '\0' || value.back() == '\0') return false;
  return value.find(std::string_view("\0\0", 2)) == std::string_view::npos;
}

// What is wrong with a name/value pair, or an empty string.
std::string check_field(std::string_view name, std::string_view value) {
  if (name.empty()) return "empty header name";
  if (has_upper_case(name)) return "upper-case header name \"" + std::string(name) + "\"";
  if (!valid_value(value)) {
    return "header \"" + std::string(name) + "\" has an empty NUL-separated value";
  }
  return {};
}

// The first name that appears twice, or an empty view.
std::string_view first_duplicate(const header_list& headers) {
  std::vector<std::string_view> names;
  names.reserve(headers.size());
  for (const auto& h : headers) names.emplace_back(h.name);
  std::sort(names.begin(), names.end());
  const auto dup = std::adjacent_find(names.begin(), names.end());
  return dup == names.end() ? std::string_view{} : *dup;
}

void append_string(std::vector<std::uint8_t>& out, std::string_view s) {
  append_u32(out, static_cast<std::uint32_t>(s.size()));
  out.insert(out.end(), s.begin(), s.end());
}

}  // namespace

const std::string* find_header(const header_list& headers, std::string_view name) noexcept {
  for (const auto& h : headers) {
    if (h.name == name) return &h.value;
  }
  return nullptr;
}

void serialize_header_block(const header_list& headers, std::vector<std::uint8_t>& out) {
  constexpr std::size_t max32 = std::numeric_limits<std::uint32_t>::max();
  if (headers.size() > max32) throw Error(errc::invalid_argument, "spdy: too many headers");
  for (const auto& h : headers) {
    if (auto problem = check_field(h.name, h.value); !problem.empty()) {
      throw Error(errc::invalid_argument, "spdy: cannot send " + problem);
    }
    if (h.name.size() > max32 || h.value.size() > max32) {
      throw Error(errc::invalid_argument, "spdy: header \"" + h.name.substr(0, 64) +
                                              "\" is longer than a 32-bit length allows");
    }
  }
  if (auto dup = first_duplicate(headers); !dup.empty()) {
    throw Error(errc::invalid_argument, "spdy: cannot send duplicate header \"" + std::string(dup) +
                                            "\" (join the values with NUL)");
  }
  append_u32(out, static_cast<std::uint32_t>(headers.size()));
  for (const auto& h : headers) {
    append_string(out, h.name);
    append_string(out, h.value);
  }
}

std::optional<failure> parse_header_block(bytes_view block, const header_limits& limits,
                                          header_list& out) {
  out.clear();
  if (block.size() < 4) {
    return block_error(errc::protocol_error, "header block of " + str(block.size()) +
                                                 " bytes is too short for its pair count");
  }
  const std::uint64_t count = read_u32(block, 0);
  if (count > limits.max_headers) {
    return block_error(errc::limit_exceeded, "header block has " + str(count) +
                                                 " headers, more than max_headers (" +
                                                 str(limits.max_headers) + ")");
  }
  std::size_t at = 4;
  // Checked before reserving so a lying count cannot make us allocate.
  if (count * min_pair_size > block.size() - at) {
    return block_error(errc::protocol_error, "header block announces " + str(count) +
                                                 " headers but holds only " + str(block.size()) +
                                                 " bytes");
  }
  out.reserve(count);

  // Reads one length-prefixed string; false if it runs past the block.
  auto read_string = [&](std::string& s) {
    if (block.size() - at < 4) return false;
    const std::uint64_t n = read_u32(block, at);
    at += 4;
    if (n > block.size() - at) return false;
    s.assign(reinterpret_cast<const char*>(block.data() + at), n);
    at += n;
    return true;
  };

  for (std::uint64_t i = 0; i < count; ++i) {
    header_field h;
    if (!read_string(h.name)) {
      return block_error(errc::protocol_error,
                         "header name " + str(i + 1) + " runs past the end of the block");
    }
    if (!read_string(h.value)) {
      return block_error(errc::protocol_error, "value of header \"" + h.name.substr(0, 64) +
                                                   "\" runs past the end of the block");
    }
    if (auto problem = check_field(h.name, h.value); !problem.empty()) {
      return block_error(errc::protocol_error, problem);
    }
    out.push_back(std::move(h));
  }
  if (at != block.size()) {
    return block_error(errc::protocol_error,
                       str(block.size() - at) + " stray bytes after the last header");
  }
  if (auto dup = first_duplicate(out); !dup.empty()) {
    return block_error(errc::protocol_error, "duplicate header \"" + std::string(dup) + "\"");
  }
  return std::nullopt;
}

}  // namespace libchan::detail::spdy
