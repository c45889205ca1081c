#include "json_lines.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <unordered_set>

#include "failure.hpp"
#include "libchan/codec.hpp"

namespace chancat {
namespace {

using libchan::Value;
using Json = nlohmann::ordered_json;

const libchan::Codec& json_codec() {
  static const auto codec = libchan::make_json_codec();
  return *codec;
}

// Plain data through the JSON codec; false if it cannot be encoded.
bool encode_plain(Value& v, std::vector<std::uint8_t>& out, std::string& detail) {
  std::error_code ec;
  out.clear();
  json_codec().encode(v, out, libchan::plain_extensions(), ec, &detail);
  return !ec;
}

// Strings that JSON cannot hold (not UTF-8) become Binary, bytes intact.
void bytes_for_bad_text(Value& v) {
  switch (v.kind()) {
    case Value::Kind::string: {
      Value alone(v.as_string());
      std::vector<std::uint8_t> out;
      std::string detail;
      if (!encode_plain(alone, out, detail)) {
        const auto& s = v.as_string();
        v = Value(libchan::Binary{{s.begin(), s.end()}});
      }
      return;
    }
    case Value::Kind::array:
      for (auto& e : v.as_array()) bytes_for_bad_text(e);
      return;
    case Value::Kind::map:
      for (auto& e : v.as_map()) {
        bytes_for_bad_text(e.key);
        bytes_for_bad_text(e.value);
      }
      return;
    default:
      return;
  }
}

// The JSON text of plain data.
std::string plain_text(Value& v) {
  std::vector<std::uint8_t> out;
  std::string detail;
  if (!encode_plain(v, out, detail)) {
    Value copy = v.clone();
    bytes_for_bad_text(copy);
    if (!encode_plain(copy, out, detail))
      throw Failure(Exit::data, "cannot show a message as JSON: " + detail);
  }
  return std::string(out.begin(), out.end());
}

class Renderer {
 public:
  explicit Renderer(const Placeholders& placeholders) : placeholders_(placeholders) {}

  Json render(Value& v) {
    if (v.is_plain_data()) return Json::parse(plain_text(v));
    switch (v.kind()) {
      case Value::Kind::array: {
        Json out = Json::array();
        for (auto& e : v.as_array()) out.push_back(render(e));
        return out;
      }
      case Value::Kind::map:
        return render_map(v.as_map());
      default:
        return placeholder(v);
    }
  }

 private:
  // The JSON codec's rule: an object when every key is a distinct string
  // not starting with "$", else {"$map": [[key, value], ...]}.
  static bool object_keys(const Value::Map& m) {
    std::unordered_set<std::string_view> seen;
    for (const auto& e : m) {
      if (!e.key.is_string()) return false;
      const auto& k = e.key.as_string();
      if ((!k.empty() && k[0] == '$') || !seen.insert(k).second) return false;
    }
    return true;
  }

  Json render_map(Value::Map& m) {
    Json out = Json::object();
    if (object_keys(m)) {
      for (auto& e : m)
        out.get_ref<Json::object_t&>().emplace_back(e.key.as_string(), render(e.value));
      return out;
    }
    Json pairs = Json::array();
    for (auto& e : m) pairs.push_back(Json::array({render(e.key), render(e.value)}));
    out.get_ref<Json::object_t&>().emplace_back("$map", std::move(pairs));
    return out;
  }

  Json placeholder(const Value& leaf) {
    Placeholder p;
    if (auto it = placeholders_.find(&leaf); it != placeholders_.end()) p = it->second;
    Json out = Json::object();
    auto& obj = out.get_ref<Json::object_t&>();
    switch (leaf.kind()) {
      case Value::Kind::sender:
        obj.emplace_back("$chan", p.id);
        obj.emplace_back("dir", "send");
        break;
      case Value::Kind::receiver:
        obj.emplace_back("$chan", p.id);
        obj.emplace_back("dir", "recv");
        break;
      case Value::Kind::stream: {
        const auto& s = std::get<libchan::ByteStream>(leaf.data());
        obj.emplace_back("$stream", p.id);
        obj.emplace_back("dir", s.can_read() && s.can_write() ? "duplex"
                                : s.can_read()                ? "read"
                                                              : "write");
        if (!p.file.empty()) obj.emplace_back("file", p.file);
        break;
      }
      default:
        obj.emplace_back("$fd", p.id);
        if (!p.file.empty()) obj.emplace_back("file", p.file);
        break;
    }
    return out;
  }

  const Placeholders& placeholders_;
};

// Channel ends and streams as the dialect's extension types, referenced by
// placeholder id: the message as a peer would have encoded it.
class PlaceholderRefs final : public libchan::ExtensionHook {
 public:
  PlaceholderRefs(const Placeholders& placeholders, bool v01)
      : placeholders_(placeholders), v01_(v01) {}

  void encode_leaf(Value& leaf, std::int8_t& type, std::vector<std::uint8_t>& payload,
                   std::error_code& ec) override {
    if (leaf.kind() == Value::Kind::time)
      return libchan::plain_extensions().encode_leaf(leaf, type, payload, ec);
    std::uint64_t id = 0;
    if (auto it = placeholders_.find(&leaf); it != placeholders_.end()) id = it->second.id;
    payload.clear();
    // Extension codes: see docs/protocol.md, "Extension types". We are the
    // receiver of the message.
    switch (leaf.kind()) {
      case Value::Kind::sender:
        type = v01_ ? 1 : 4;
        if (v01_) payload.push_back(0x02);  // the encoder kept the Receiver
        break;
      case Value::Kind::receiver:
        type = v01_ ? 1 : 5;
        if (v01_) payload.push_back(0x01);  // the encoder kept the Sender
        break;
      case Value::Kind::stream: {
        const auto& s = std::get<libchan::ByteStream>(leaf.data());
        type = v01_ ? 2 : s.can_read() && s.can_write() ? 1 : s.can_write() ? 2 : 3;
        break;
      }
      default:
        type = v01_ ? 2 : 1;  // a descriptor travels as a duplex stream
        break;
    }
    int bytes = id > 0xFFFFFFFFu ? 8 : 4;
    for (int i = bytes - 1; i >= 0; --i)
      payload.push_back(static_cast<std::uint8_t>(id >> (8 * i)));
  }

  Value decode_ext(std::int8_t, std::span<const std::uint8_t>, std::error_code& ec) override {
    ec = libchan::errc::not_supported;
    return {};
  }

 private:
  const Placeholders& placeholders_;
  bool v01_;
};

}  // namespace

std::optional<Value> parse_message(std::string_view text, std::string& error) {
  std::error_code ec;
  std::string detail;
  auto bytes = std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  Value v = json_codec().decode_exact(bytes, libchan::plain_extensions(), ec, &detail);
  if (ec) {
    error = one_line(detail.empty() ? ec.message() : detail);
    // nlohmann's exception id says nothing to a user.
    if (auto at = error.find("[json.exception."); at != std::string::npos) {
      if (auto end = error.find("] ", at); end != std::string::npos) error.erase(at, end + 2 - at);
    }
    return std::nullopt;
  }
  return v;
}

std::string to_json_line(Value& message, const Placeholders& placeholders) {
  if (message.is_plain_data()) return plain_text(message);
  // A string that is not UTF-8 can still hide in a key; replace its bad bytes.
  return Renderer(placeholders)
      .render(message)
      .dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string to_msgpack_hex(Value& message, const Placeholders& placeholders,
                           libchan::Dialect dialect) {
  bool v01 = dialect == libchan::Dialect::v0_1;
  auto codec =
      libchan::make_msgpack_codec({}, v01 ? libchan::IntegerStyle::unsigned_when_nonnegative
                                          : libchan::IntegerStyle::smallest_signed);
  PlaceholderRefs refs(placeholders, v01);
  std::vector<std::uint8_t> bytes;
  std::error_code ec;
  std::string detail;
  codec->encode(message, bytes, refs, ec, &detail);
  if (ec) throw Failure(Exit::data, "cannot encode a message as msgpack: " + detail);
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (auto b : bytes) {
    hex.push_back(digits[b >> 4]);
    hex.push_back(digits[b & 15]);
  }
  return hex;
}

std::optional<std::string> LineReader::next() {
  for (;;) {
    auto begin = buffer_.begin() + static_cast<std::ptrdiff_t>(start_);
    auto nl = std::find(begin, buffer_.end(), '\n');
    if (nl != buffer_.end() || (eof_ && begin != buffer_.end())) {
      std::string line(begin, nl);
      start_ = static_cast<std::size_t>(nl - buffer_.begin()) + (nl != buffer_.end() ? 1 : 0);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      ++line_number_;
      return line;
    }
    if (eof_) return std::nullopt;
    if (buffer_.size() - start_ > max_line_)
      throw Failure(Exit::data, "stdin line " + std::to_string(line_number_ + 1) +
                                    " is longer than " + std::to_string(max_line_) + " bytes");
    // Drop what was consumed, then read more behind what is left.
    buffer_.erase(buffer_.begin(), begin);
    start_ = 0;
    std::size_t old = buffer_.size();
    buffer_.resize(old + 65536);
    ssize_t n;
    do {
      n = ::read(fd_, buffer_.data() + old, 65536);
    } while (n < 0 && errno == EINTR);
    if (n < 0) throw Failure(Exit::data, std::string("reading stdin: ") + std::strerror(errno));
    buffer_.resize(old + static_cast<std::size_t>(n));
    if (n == 0) eof_ = true;
  }
}

}  // namespace chancat
