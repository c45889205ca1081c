// What the soak's halves share: the messages between client and server,
// the checksum both compute over byte streams, and printf into a string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "libchan/libchan.hpp"

namespace soak {

using Stats = std::map<std::string, std::int64_t>;

struct Reply {
  std::int64_t id = 0;         // the channel's id and the request's sequence
  std::int64_t seq = 0;        //   number, echoed
  std::uint64_t len = 0;       // bytes the server read from the request's stream
  std::uint64_t sum = 0;       // and their checksum
  libchan::ByteStream data;    // "echo": the same bytes back
  std::optional<Stats> stats;  // "stats": the server's counters
  LIBCHAN_FIELDS(id, seq, len, sum, data, stats)
};

struct Request {
  std::string op;  // "ping", "sum", "echo" or "stats"
  std::int64_t id = 0;
  std::int64_t seq = 0;  // 0, 1, 2, ... on each channel
  std::uint64_t len = 0;
  libchan::ByteStream data;
  libchan::Sender<Reply> ret;
  LIBCHAN_FIELDS(op, id, seq, len, data, ret)
};

constexpr std::uint64_t fnv_basis = 0xcbf29ce484222325ull;

inline std::uint64_t fnv1a(std::uint64_t h, std::span<const std::byte> data) {
  for (auto b : data) h = (h ^ std::to_integer<std::uint64_t>(b)) * 0x100000001b3ull;
  return h;
}

// Reads a stream to its end: byte count and checksum; with `keep`, also
// appends the bytes to it.
std::pair<std::uint64_t, std::uint64_t> drain(libchan::ByteStream& s, std::error_code& ec,
                                              std::vector<std::byte>* keep = nullptr);

// printf into a string (of at most 1023 characters).
std::string format(const char* fmt, ...);

}  // namespace soak
