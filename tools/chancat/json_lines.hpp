// Messages as JSON lines. Input goes through libchan's JSON codec, so its
// mapping ($bin, $time, $map, $float) is chancat's; output uses the same
// mapping and shows channel ends, byte streams and descriptors as
// placeholders ({"$chan": N, "dir": "send"}, {"$stream": N, ...}).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "libchan/session.hpp"
#include "libchan/value.hpp"

namespace chancat {

/// Parses one message. Nothing if `text` is not one; `error` says why.
std::optional<libchan::Value> parse_message(std::string_view text, std::string& error);

/// How one channel end, stream or descriptor of a received message shows.
struct Placeholder {
  std::uint64_t id = 0;
  std::string file;  ///< where --save writes a stream; empty if not saved
};
/// Placeholders by the address of the leaf they stand for.
using Placeholders = std::unordered_map<const libchan::Value*, Placeholder>;

/// `message` as one line of JSON, without the newline. Strings that are not
/// UTF-8 show as {"$bin": ...}, so that no byte is lost.
std::string to_json_line(libchan::Value& message, const Placeholders& placeholders);

/// `message` encoded as msgpack, in lower-case hex. Channel ends and streams
/// are the dialect's extension types, with placeholder ids as references.
std::string to_msgpack_hex(libchan::Value& message, const Placeholders& placeholders,
                           libchan::Dialect dialect);

/// Reads lines from a descriptor, each at most `max_line` bytes.
class LineReader {
 public:
  LineReader(int fd, std::size_t max_line) : fd_(fd), max_line_(max_line) {}
  /// The next line without its line break; nothing at the end of input.
  /// Throws Failure(Exit::data) for a line that is too long, or a read error.
  std::optional<std::string> next();
  /// The number of the line next() returned last, from 1.
  std::size_t line_number() const noexcept { return line_number_; }

 private:
  int fd_;
  std::size_t max_line_;
  std::vector<char> buffer_;
  std::size_t start_ = 0;
  bool eof_ = false;
  std::size_t line_number_ = 0;
};

}  // namespace chancat
