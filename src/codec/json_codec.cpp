// The JSON codec. Mapping of a Value to JSON:
//
//   nil, bool, string        null, true/false, string (must be UTF-8)
//   int64, uint64            number; decoding gives int64, or uint64 above
//                            INT64_MAX (JSON has one number type)
//   float64                  number with a fraction or exponent (1.0, not 1);
//                            NaN and infinities as {"$float": "NaN"},
//                            "Infinity", "-Infinity"
//   array                    array
//   map, string keys         object, key order kept; when a key starts with
//                            "$" or repeats, the general form below
//   map, other keys          {"$map": [[key, value], ...]}
//   Binary                   {"$bin": "<base64>"}
//   time                     {"$time": "2024-01-02T03:04:05.123456789Z"}
//                            (RFC 3339; decoding takes 0-9 fraction digits
//                            and any offset)
//   sender, receiver,        the hook's extension: {"$ext": type,
//   stream, fd               "data": "<base64 payload>"}
//
// Objects with a key starting with "$" are reserved for these forms: on
// decoding, one that is not exactly one of them is an error, so the mapping
// is unambiguous both ways.
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>

#include "codec_detail.hpp"
#include "json_detail.hpp"
#include "json_text.hpp"

namespace libchan {
namespace detail {
namespace {

using Json = nlohmann::ordered_json;

class JsonEncoder {
 public:
  JsonEncoder(ExtensionHook& hook, std::error_code& ec, std::string* detail)
      : hook_(hook), ec_(ec), detail_(detail) {}

  // Returns false once an error is set.
  bool encode(Value& v, Json& out) {
    auto& data = v.data();
    switch (v.kind()) {
      case Value::Kind::nil:
        out = nullptr;
        return true;
      case Value::Kind::boolean:
        out = std::get<bool>(data);
        return true;
      case Value::Kind::int64:
        out = std::get<std::int64_t>(data);
        return true;
      case Value::Kind::uint64:
        out = std::get<std::uint64_t>(data);
        return true;
      case Value::Kind::float64:
        out = float_json(std::get<double>(data));
        return true;
      case Value::Kind::string:
        out = std::get<std::string>(data);
        return true;
      case Value::Kind::binary:
        out = Json::object();
        out.get_ref<Json::object_t&>().emplace_back("$bin",
                                                    base64_encode(std::get<Binary>(data).bytes));
        return true;
      case Value::Kind::time:
        out = Json::object();
        out.get_ref<Json::object_t&>().emplace_back("$time", to_rfc3339(std::get<Time>(data)));
        return true;
      case Value::Kind::array: {
        out = Json::array();
        auto& arr = out.get_ref<Json::array_t&>();
        auto& a = std::get<Value::Array>(data);
        arr.reserve(a.size());
        for (auto& e : a)
          if (!encode(e, arr.emplace_back())) return false;
        return true;
      }
      case Value::Kind::map:
        return encode_map(std::get<Value::Map>(data), out);
      default:
        return encode_leaf(v, out);
    }
  }

 private:
  static Json float_json(double d) {
    if (std::isfinite(d)) return d;
    Json j = Json::object();
    const char* text = std::isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
    j.get_ref<Json::object_t&>().emplace_back("$float", text);
    return j;
  }

  static bool plain_object_keys(const Value::Map& m) {
    std::unordered_set<std::string_view> seen;
    seen.reserve(m.size());
    for (const auto& e : m) {
      auto* k = std::get_if<std::string>(&e.key.data());
      if (!k || (!k->empty() && (*k)[0] == '$') || !seen.insert(*k).second) return false;
    }
    return true;
  }

  bool encode_map(Value::Map& m, Json& out) {
    out = Json::object();
    auto& obj = out.get_ref<Json::object_t&>();
    if (plain_object_keys(m)) {
      // Keys are known to be unique, so append to ordered_map's vector
      // directly: its own insert searches linearly (quadratic for big maps).
      obj.reserve(m.size());
      for (auto& e : m) {
        auto& slot = obj.emplace_back(std::get<std::string>(e.key.data()), Json()).second;
        if (!encode(e.value, slot)) return false;
      }
      return true;
    }
    Json pairs = Json::array();
    auto& arr = pairs.get_ref<Json::array_t&>();
    arr.reserve(m.size());
    for (auto& e : m) {
      Json pair = Json::array({nullptr, nullptr});
      if (!encode(e.key, pair[0]) || !encode(e.value, pair[1])) return false;
      arr.push_back(std::move(pair));
    }
    obj.emplace_back("$map", std::move(pairs));
    return true;
  }

  bool encode_leaf(Value& leaf, Json& out) {
    std::int8_t type = 0;
    std::vector<std::uint8_t> payload;
    hook_.encode_leaf(leaf, type, payload, ec_);
    if (ec_) {
      if (detail_) *detail_ = "json: " + describe_encode_failure(hook_, leaf, ec_);
      return false;
    }
    out = Json::object();
    auto& obj = out.get_ref<Json::object_t&>();
    obj.emplace_back("$ext", type);
    obj.emplace_back("data", base64_encode(payload));
    return true;
  }

  ExtensionHook& hook_;
  std::error_code& ec_;
  std::string* detail_;
};

class JsonCodec final : public Codec {
 public:
  explicit JsonCodec(CodecLimits limits) : limits_(limits) {}

  std::string_view name() const noexcept override { return "json"; }

 protected:
  void do_encode(Value& value, std::vector<std::uint8_t>& out, ExtensionHook& hook,
                 std::error_code& ec, std::string* detail) const override {
    json_encode(value, out, hook, ec, detail);
  }

  std::size_t do_decode(std::span<const std::uint8_t> input, Value& out, ExtensionHook& hook,
                        std::error_code& ec, std::string* detail) const override {
    return json_decode(input, out, hook, limits_, ec, detail);
  }

 private:
  CodecLimits limits_;
};

}  // namespace

void json_encode(Value& value, std::vector<std::uint8_t>& out, ExtensionHook& hook,
                 std::error_code& ec, std::string* detail) {
  ec.clear();
  if (detail) detail->clear();
  Json doc;
  if (!JsonEncoder(hook, ec, detail).encode(value, doc)) return;
  std::string text;
  try {
    text = doc.dump();
  } catch (const Json::type_error& e) {
    // The one failure of dump(): a string that is not UTF-8.
    fail(ec, detail, errc::not_supported,
         std::string("json: a string is not valid UTF-8 (send bytes as Binary): ") + e.what());
    return;
  }
  out.insert(out.end(), text.begin(), text.end());
}

}  // namespace detail

std::unique_ptr<Codec> make_json_codec(CodecLimits limits) {
  return std::make_unique<detail::JsonCodec>(limits);
}

}  // namespace libchan
