// Helpers shared by the codec tests.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "libchan/codec.hpp"

namespace codec_test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes from_hex(std::string_view hex) {
  Bytes out;
  std::string digits;
  for (char c : hex)
    if (c != ' ') digits.push_back(c);
  if (digits.size() % 2) throw std::invalid_argument("odd hex length");
  for (std::size_t i = 0; i < digits.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
  return out;
}

inline std::string to_hex(const Bytes& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (auto b : bytes) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 15]);
  }
  return out;
}

inline Bytes text_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

/// One message of a captured session (tests/data/codec/*-messages.txt).
struct CapturedMessage {
  std::string direction;
  int stream = 0;
  Bytes bytes;
};

inline std::vector<CapturedMessage> load_messages(const std::string& name) {
  std::ifstream in(std::string(LIBCHAN_TEST_DATA) + "/codec/" + name);
  if (!in) throw std::runtime_error("cannot open " + name);
  std::vector<CapturedMessage> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    CapturedMessage m;
    std::string hex;
    fields >> m.direction >> m.stream >> hex;
    m.bytes = from_hex(hex);
    out.push_back(std::move(m));
  }
  return out;
}

/// Records every extension it decodes and hands out an empty Sender as the
/// marker; encoding a marker re-emits the recorded extensions in order.
/// Times go through the plain extensions.
class RecordingHook : public libchan::ExtensionHook {
 public:
  struct Ext {
    std::int8_t type;
    Bytes payload;
    bool operator==(const Ext&) const = default;
  };
  std::vector<Ext> decoded;
  std::size_t decode_calls = 0;
  std::size_t next_to_encode = 0;

  void encode_leaf(libchan::Value& leaf, std::int8_t& type, std::vector<std::uint8_t>& payload,
                   std::error_code& ec) override {
    if (leaf.kind() == libchan::Value::Kind::time) {
      libchan::plain_extensions().encode_leaf(leaf, type, payload, ec);
      return;
    }
    if (next_to_encode >= decoded.size()) {
      ec = libchan::errc::invalid_argument;
      return;
    }
    type = decoded[next_to_encode].type;
    payload = decoded[next_to_encode].payload;
    ++next_to_encode;
  }

  libchan::Value decode_ext(std::int8_t type, std::span<const std::uint8_t> payload,
                            std::error_code& ec) override {
    ++decode_calls;
    if (type == 6) return libchan::plain_extensions().decode_ext(type, payload, ec);
    decoded.push_back({type, Bytes(payload.begin(), payload.end())});
    return libchan::Value(libchan::Sender<libchan::Value>());
  }
};

}  // namespace codec_test
