// JSON decoding: nlohmann's SAX parser drives a builder that makes the
// Value tree directly, enforcing the limits and turning the "$" objects of
// the mapping (see json_codec.cpp) back into values.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "codec_detail.hpp"
#include "json_detail.hpp"
#include "json_text.hpp"

namespace libchan::detail {
namespace {

using Json = nlohmann::json;

std::string num(std::uint64_t n) { return std::to_string(n); }

class Builder final : public nlohmann::json_sax<Json> {
 public:
  struct PendingExt {
    std::int8_t type;
    std::vector<std::uint8_t> payload;
  };

  explicit Builder(const CodecLimits& limits) : limits_(limits) {}

  bool null() override { return emit(Value()); }
  bool boolean(bool b) override { return emit(Value(b)); }
  bool number_integer(number_integer_t i) override { return emit(Value(std::int64_t{i})); }
  bool number_unsigned(number_unsigned_t u) override {
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return emit(Value(static_cast<std::int64_t>(u)));
    return emit(Value(std::uint64_t{u}));
  }
  bool number_float(number_float_t d, const string_t&) override { return emit(Value(d)); }
  // Base64 text is longer than its bytes, so checking text also bounds
  // $bin and $ext payloads.
  bool string(string_t& s) override {
    if (!string_fits(s.size(), "string")) return false;
    return emit(Value(std::move(s)));
  }
  bool binary(binary_t&) override { return error(errc::decode_error, "binary in JSON text"); }

  bool start_object(std::size_t) override { return open(true); }
  bool key(string_t& k) override {
    if (!string_fits(k.size(), "key") || !count_element()) return false;
    frames_.back().value.as_map().push_back({Value(std::move(k)), Value()});
    return true;
  }
  bool end_object() override {
    Value v = std::move(frames_.back().value);
    frames_.pop_back();
    if (!special_form(v)) return false;
    return emit(std::move(v));
  }
  bool start_array(std::size_t) override { return open(false); }
  bool end_array() override {
    Value v = std::move(frames_.back().value);
    frames_.pop_back();
    return emit(std::move(v));
  }

  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    // The lexer counts reading the end of input as one more character.
    if (position > input_size_) {
      incomplete_ = true;
    } else {
      error(errc::decode_error, std::string(ex.what()));
    }
    return false;
  }

  void set_input_size(std::size_t n) { input_size_ = n; }
  bool incomplete() const { return incomplete_; }
  errc code() const { return code_; }
  std::string& message() { return message_; }
  Value& root() { return root_; }
  std::vector<PendingExt>& exts() { return exts_; }

 private:
  struct Frame {
    Value value;
    bool is_map;
  };

  bool emit(Value v) {
    if (frames_.empty()) {
      root_ = std::move(v);
      return true;
    }
    Frame& top = frames_.back();
    if (top.is_map) {
      top.value.as_map().back().value = std::move(v);
      return true;
    }
    if (!count_element()) return false;
    top.value.as_array().push_back(std::move(v));
    return true;
  }

  bool open(bool is_map) {
    if (frames_.size() >= limits_.max_depth)
      return error(errc::limit_exceeded,
                   "nesting deeper than max_depth (" + num(limits_.max_depth) + ")");
    frames_.push_back({is_map ? Value(Value::Map()) : Value(Value::Array()), is_map});
    return true;
  }

  bool count_element() {
    if (++elements_ <= limits_.max_elements) return true;
    return error(errc::limit_exceeded,
                 "more than max_elements (" + num(limits_.max_elements) + ") elements");
  }

  bool string_fits(std::size_t n, const char* what) {
    if (n <= limits_.max_string_size) return true;
    return error(errc::limit_exceeded, std::string(what) + " of " + num(n) +
                                           " bytes exceeds max_string_size (" +
                                           num(limits_.max_string_size) + ")");
  }

  bool error(errc code, std::string text) {
    code_ = code;
    message_ = "json: " + std::move(text);
    return false;
  }

  // Replaces a just-finished object that is one of the "$" forms by its
  // value. False (with the error set) for a malformed one.
  bool special_form(Value& v) {
    auto& m = v.as_map();
    bool reserved = false;
    for (const auto& e : m)
      if (const auto& k = e.key.as_string(); !k.empty() && k[0] == '$') reserved = true;
    if (!reserved) return true;
    const std::string& k0 = m[0].key.as_string();
    const Value& v0 = m[0].value;
    if (m.size() == 1 && v0.is_string()) {
      const std::string& text = v0.as_string();
      if (k0 == "$bin") {
        auto bytes = base64_decode(text);
        if (!bytes) return error(errc::decode_error, "$bin does not hold valid base64");
        v = Value(Binary{std::move(*bytes)});
        return true;
      }
      if (k0 == "$time") {
        auto t = parse_rfc3339(text);
        if (!t) return error(errc::decode_error, "$time \"" + text + "\" is not an RFC 3339 time");
        v = Value(*t);
        return true;
      }
      if (k0 == "$float") {
        double d = text == "NaN"         ? std::numeric_limits<double>::quiet_NaN()
                   : text == "Infinity"  ? std::numeric_limits<double>::infinity()
                   : text == "-Infinity" ? -std::numeric_limits<double>::infinity()
                                         : 0.0;
        if (d == 0.0)
          return error(errc::decode_error, "$float \"" + text + "\" is not NaN or ±Infinity");
        v = Value(d);
        return true;
      }
    }
    if (m.size() == 1 && k0 == "$map" && v0.is_array()) return map_form(v);
    if (m.size() == 2) {
      const std::size_t t = k0 == "$ext" ? 0 : 1;
      const auto& type = m[t].value;
      const auto& data = m[1 - t].value;
      if (m[t].key.as_string() == "$ext" && m[1 - t].key.as_string() == "data") {
        if (!type.is_integer() || type.as_double() < -128 || type.as_double() > 127 ||
            !data.is_string())
          return error(errc::decode_error,
                       "$ext needs an extension type (-128 to 127) and base64 \"data\"");
        auto bytes = base64_decode(data.as_string());
        if (!bytes) return error(errc::decode_error, "$ext data is not valid base64");
        exts_.push_back({static_cast<std::int8_t>(type.as_int()), std::move(*bytes)});
        v = extension_placeholder();
        return true;
      }
    }
    return error(errc::decode_error,
                 "keys starting with \"$\" are reserved for $bin, $time, $float, $map and $ext "
                 "objects; write such a map as {\"$map\": [[key, value], ...]}");
  }

  bool map_form(Value& v) {
    Value::Map out;
    auto& pairs = v.as_map()[0].value.as_array();
    out.reserve(pairs.size());
    for (auto& p : pairs) {
      if (!p.is_array() || p.size() != 2)
        return error(errc::decode_error, "$map entries must be [key, value] pairs");
      auto& kv = p.as_array();
      out.push_back({std::move(kv[0]), std::move(kv[1])});
    }
    v = Value(std::move(out));
    return true;
  }

  const CodecLimits& limits_;
  std::size_t input_size_ = 0;
  std::size_t elements_ = 0;
  std::vector<Frame> frames_;
  Value root_;
  std::vector<PendingExt> exts_;
  errc code_{};
  std::string message_;
  bool incomplete_ = false;
};

}  // namespace

std::size_t json_decode(std::span<const std::uint8_t> input, Value& out, ExtensionHook& hook,
                        const CodecLimits& limits, std::error_code& ec, std::string* detail) {
  ec.clear();
  if (detail) detail->clear();
  // JSON is not self-delimiting (is "12" complete?), so the input is one
  // whole document; it cannot be longer than the limit.
  if (input.size() > limits.max_message_size)
    return fail(ec, detail, errc::limit_exceeded,
                "json: document of " + num(input.size()) + " bytes exceeds max_message_size (" +
                    num(limits.max_message_size) + ")");
  if (input.empty()) return 0;
  Builder builder(limits);
  builder.set_input_size(input.size());
  auto* first = reinterpret_cast<const char*>(input.data());
  bool ok = Json::sax_parse(first, first + input.size(), &builder);
  if (!ok) {
    if (builder.code() != errc{})
      return fail(ec, detail, builder.code(), std::move(builder.message()));
    if (builder.incomplete()) return 0;
    return fail(ec, detail, errc::decode_error, "json: the document could not be parsed");
  }
  Value& root = builder.root();
  if (!builder.exts().empty()) {
    auto make = [&](std::size_t i, std::error_code& e) {
      const auto& x = builder.exts()[i];
      Value v = hook.decode_ext(x.type, x.payload, e);
      if (e && detail) *detail = "json: " + describe_decode_failure(hook, x.type, x.payload, e);
      return v;
    };
    std::size_t next = 0;
    fill_placeholders(root, make, next, ec);
    if (ec) return 0;
  }
  out = std::move(root);
  return input.size();
}

}  // namespace libchan::detail
