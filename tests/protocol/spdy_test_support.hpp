// Helpers shared by the SPDY framing tests: capture files, hex, frame lists.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "spdy/frame.hpp"
#include "spdy/frame_unpack.hpp"
#include "spdy/header_block.hpp"

namespace spdy_test {

namespace spdy = libchan::detail::spdy;
using bytes = std::vector<std::uint8_t>;

inline std::string capture_path(const std::string& relative) {
  return std::string(LIBCHAN_TEST_DATA) + "/captures/" + relative;
}

inline bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline bytes from_hex(std::string_view hex) {
  bytes out;
  auto nibble = [](char c) -> std::uint8_t {
    if (c >= '0' && c <= '9') return static_cast<std::uint8_t>(c - '0');
    return static_cast<std::uint8_t>((c | 0x20) - 'a' + 10);
  };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    if (hex[i] == ' ') {
      --i;
      continue;
    }
    out.push_back(static_cast<std::uint8_t>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
  return out;
}

inline spdy::bytes_view view(const bytes& b) { return {b.data(), b.size()}; }

/// One frame read from a byte stream, with its header block inflated.
struct read_frame {
  std::size_t offset = 0;
  std::size_t size = 0;
  spdy::frame value;  // views into the input buffer
  spdy::header_list headers;
};

/// The header block span of a frame, if it has one.
inline const spdy::bytes_view* header_block_of(const spdy::frame& f) {
  if (auto* s = std::get_if<spdy::syn_stream_frame>(&f)) return &s->header_block;
  if (auto* r = std::get_if<spdy::syn_reply_frame>(&f)) return &r->header_block;
  if (auto* h = std::get_if<spdy::headers_frame>(&f)) return &h->header_block;
  return nullptr;
}

/// Reads every frame of one direction, with one header decoder for all its
/// header blocks, as a session would. Fails the test on any error, and on an
/// incomplete last frame unless `tail` is given to receive its size.
inline std::vector<read_frame> read_all(spdy::bytes_view in, std::size_t* tail = nullptr,
                                        spdy::frame_limits limits = {}) {
  std::vector<read_frame> frames;
  spdy::frame_parser parser(limits);
  spdy::header_decoder decoder;
  std::size_t at = 0;
  while (at < in.size()) {
    auto r = parser.parse(in.subspan(at));
    if (r.status == spdy::unpack_status::need_more) {
      if (tail == nullptr) ADD_FAILURE() << "truncated frame at offset " << at;
      break;
    }
    if (r.status == spdy::unpack_status::error) {
      ADD_FAILURE() << "at offset " << at << ": " << r.error.message;
      break;
    }
    read_frame f{at, r.consumed, r.value, {}};
    if (auto* block = header_block_of(f.value)) {
      if (auto err = decoder.decode(*block, f.headers)) {
        ADD_FAILURE() << "header block at offset " << at << ": " << err->message;
        break;
      }
    }
    frames.push_back(std::move(f));
    at += r.consumed;
  }
  if (tail != nullptr) *tail = in.size() - at;
  return frames;
}

/// "name: value, name: value" in block order, as the capture listings print them.
inline std::string header_text(const spdy::header_list& headers) {
  std::string s;
  for (const auto& h : headers) {
    if (!s.empty()) s += ", ";
    s += h.name + ": " + h.value;
  }
  return s;
}

}  // namespace spdy_test
