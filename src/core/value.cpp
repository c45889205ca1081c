#include "libchan/value.hpp"

#include <cstdio>
#include <ctime>
#include <memory>
#include <sstream>

namespace libchan {
namespace {

template <class Alt>
const Alt& get_or_throw(const Value::Data& data, Value::Kind expected) {
  if (auto* p = std::get_if<Alt>(&data)) return *p;
  throw Error(errc::type_mismatch,
              std::string("expected ") + Value::kind_name(expected) + ", got " +
                  Value::kind_name(static_cast<Value::Kind>(data.index())));
}

[[noreturn]] void throw_mismatch(const char* expected, Value::Kind actual) {
  throw Error(errc::type_mismatch,
              std::string("expected ") + expected + ", got " + Value::kind_name(actual));
}

template <class Alt>
Alt take_or_throw(Value::Data& data, Value::Kind expected) {
  if (std::holds_alternative<std::monostate>(data)) return Alt();
  if (auto* p = std::get_if<Alt>(&data)) {
    Alt out = std::move(*p);
    data = std::monostate();
    return out;
  }
  throw_mismatch(Value::kind_name(expected), static_cast<Value::Kind>(data.index()));
}

void render(const Value& v, std::ostringstream& out) {
  switch (v.kind()) {
    case Value::Kind::nil:
      out << "nil";
      break;
    case Value::Kind::boolean:
      out << (v.as_bool() ? "true" : "false");
      break;
    case Value::Kind::int64:
      out << v.as_int();
      break;
    case Value::Kind::uint64:
      out << v.as_uint() << 'u';
      break;
    case Value::Kind::float64:
      out << v.as_double();
      break;
    case Value::Kind::string:
      out << '"' << v.as_string() << '"';
      break;
    case Value::Kind::binary:
      out << "bin[" << v.as_binary().bytes.size() << ']';
      break;
    case Value::Kind::array: {
      out << '[';
      const char* sep = "";
      for (const auto& e : v.as_array()) {
        out << sep;
        render(e, out);
        sep = ", ";
      }
      out << ']';
      break;
    }
    case Value::Kind::map: {
      out << '{';
      const char* sep = "";
      for (const auto& e : v.as_map()) {
        out << sep;
        render(e.key, out);
        out << ": ";
        render(e.value, out);
        sep = ", ";
      }
      out << '}';
      break;
    }
    case Value::Kind::time:
      out << to_rfc3339(v.as_time());
      break;
    default:
      out << '<' << Value::kind_name(v.kind()) << '>';
  }
}

}  // namespace

std::string to_rfc3339(Time t) {
  // Integer division, not chrono::floor: the subtraction there overflows
  // for times in the clock's first second.
  std::int64_t ns = t.time_since_epoch().count();
  std::int64_t secs = ns / 1000000000;
  std::int64_t nanos = ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --secs;
  }
  std::time_t tt = secs;
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(nanos));
  return buf;
}

const char* Value::kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::nil:
      return "nil";
    case Kind::boolean:
      return "bool";
    case Kind::int64:
      return "int64";
    case Kind::uint64:
      return "uint64";
    case Kind::float64:
      return "float64";
    case Kind::string:
      return "string";
    case Kind::binary:
      return "binary";
    case Kind::array:
      return "array";
    case Kind::map:
      return "map";
    case Kind::time:
      return "time";
    case Kind::sender:
      return "Sender";
    case Kind::receiver:
      return "Receiver";
    case Kind::stream:
      return "ByteStream";
    case Kind::fd:
      return "file descriptor";
  }
  return "unknown";
}

void Value::destroy_others() noexcept {
  // Destroying the active alternative in place is all the variant's own
  // destructor would do; its storage then goes with ours.
  if (auto* a = std::get_if<Array>(&data_))
    std::destroy_at(a);
  else if (auto* m = std::get_if<Map>(&data_))
    std::destroy_at(m);
  else
    data_.~Data();
}

bool Value::is_plain_data() const noexcept {
  switch (kind()) {
    case Kind::sender:
    case Kind::receiver:
    case Kind::stream:
    case Kind::fd:
      return false;
    case Kind::array:
      for (const auto& e : std::get<Array>(data_))
        if (!e.is_plain_data()) return false;
      return true;
    case Kind::map:
      for (const auto& e : std::get<Map>(data_))
        if (!e.key.is_plain_data() || !e.value.is_plain_data()) return false;
      return true;
    default:
      return true;
  }
}

bool Value::as_bool() const { return get_or_throw<bool>(data_, Kind::boolean); }

std::int64_t Value::as_int() const {
  if (auto* i = std::get_if<std::int64_t>(&data_)) return *i;
  if (auto* u = std::get_if<std::uint64_t>(&data_)) {
    if (*u > static_cast<std::uint64_t>(INT64_MAX))
      throw Error(errc::type_mismatch, std::to_string(*u) + " does not fit in int64");
    return static_cast<std::int64_t>(*u);
  }
  throw_mismatch("an integer", kind());
}

std::uint64_t Value::as_uint() const {
  if (auto* u = std::get_if<std::uint64_t>(&data_)) return *u;
  if (auto* i = std::get_if<std::int64_t>(&data_)) {
    if (*i < 0) throw Error(errc::type_mismatch, std::to_string(*i) + " does not fit in uint64");
    return static_cast<std::uint64_t>(*i);
  }
  throw_mismatch("an integer", kind());
}

double Value::as_double() const {
  if (auto* d = std::get_if<double>(&data_)) return *d;
  if (auto* i = std::get_if<std::int64_t>(&data_)) return static_cast<double>(*i);
  if (auto* u = std::get_if<std::uint64_t>(&data_)) return static_cast<double>(*u);
  throw_mismatch("a number", kind());
}

const std::string& Value::as_string() const {
  return get_or_throw<std::string>(data_, Kind::string);
}
const Binary& Value::as_binary() const { return get_or_throw<Binary>(data_, Kind::binary); }
const Value::Array& Value::as_array() const { return get_or_throw<Array>(data_, Kind::array); }
Value::Array& Value::as_array() {
  return const_cast<Array&>(std::as_const(*this).as_array());
}
const Value::Map& Value::as_map() const { return get_or_throw<Map>(data_, Kind::map); }
Value::Map& Value::as_map() { return const_cast<Map&>(std::as_const(*this).as_map()); }
Time Value::as_time() const { return get_or_throw<Time>(data_, Kind::time); }

Sender<Value> Value::take_sender() { return take_or_throw<Sender<Value>>(data_, Kind::sender); }
Receiver<Value> Value::take_receiver() {
  return take_or_throw<Receiver<Value>>(data_, Kind::receiver);
}
ByteStream Value::take_stream() { return take_or_throw<ByteStream>(data_, Kind::stream); }
Fd Value::take_fd() { return take_or_throw<Fd>(data_, Kind::fd); }

const Value* Value::find(std::string_view key) const noexcept {
  auto* map = std::get_if<Map>(&data_);
  if (!map) return nullptr;
  for (const auto& e : *map) {
    auto* s = std::get_if<std::string>(&e.key.data_);
    if (s && *s == key) return &e.value;
  }
  return nullptr;
}

Value* Value::find(std::string_view key) noexcept {
  return const_cast<Value*>(std::as_const(*this).find(key));
}

Value& Value::operator[](std::string_view key) {
  if (is_nil()) data_ = Map();
  if (auto* v = find(key)) return *v;
  auto& map = as_map();
  map.push_back({Value(key), Value()});
  return map.back().value;
}

void Value::push_back(Value v) {
  if (is_nil()) data_ = Array();
  as_array().push_back(std::move(v));
}

std::size_t Value::size() const noexcept {
  if (auto* a = std::get_if<Array>(&data_)) return a->size();
  if (auto* m = std::get_if<Map>(&data_)) return m->size();
  return 0;
}

Value Value::clone() const {
  switch (kind()) {
    case Kind::nil:
      return Value();
    case Kind::boolean:
      return Value(std::get<bool>(data_));
    case Kind::int64:
      return Value(std::get<std::int64_t>(data_));
    case Kind::uint64:
      return Value(std::get<std::uint64_t>(data_));
    case Kind::float64:
      return Value(std::get<double>(data_));
    case Kind::string:
      return Value(std::get<std::string>(data_));
    case Kind::binary:
      return Value(std::get<Binary>(data_));
    case Kind::time:
      return Value(std::get<Time>(data_));
    case Kind::array: {
      Array out;
      out.reserve(size());
      for (const auto& e : std::get<Array>(data_)) out.push_back(e.clone());
      return Value(std::move(out));
    }
    case Kind::map: {
      Map out;
      out.reserve(size());
      for (const auto& e : std::get<Map>(data_)) out.push_back({e.key.clone(), e.value.clone()});
      return Value(std::move(out));
    }
    default:
      throw Error(errc::type_mismatch,
                  std::string("cannot copy a value holding a ") + kind_name(kind()));
  }
}

bool operator==(const Value& a, const Value& b) noexcept {
  using K = Value::Kind;
  if (a.is_integer() && b.is_integer() && a.kind() != b.kind()) {
    const auto& s = a.kind() == K::int64 ? a : b;
    const auto& u = a.kind() == K::int64 ? b : a;
    auto sv = std::get<std::int64_t>(s.data_);
    return sv >= 0 && static_cast<std::uint64_t>(sv) == std::get<std::uint64_t>(u.data_);
  }
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case K::array:
      return std::get<Value::Array>(a.data_) == std::get<Value::Array>(b.data_);
    case K::map: {
      const auto& am = std::get<Value::Map>(a.data_);
      const auto& bm = std::get<Value::Map>(b.data_);
      if (am.size() != bm.size()) return false;
      for (std::size_t i = 0; i < am.size(); ++i)
        if (!(am[i].key == bm[i].key) || !(am[i].value == bm[i].value)) return false;
      return true;
    }
    case K::sender:
      return std::get<Sender<Value>>(a.data_).impl() == std::get<Sender<Value>>(b.data_).impl();
    case K::receiver:
      return std::get<Receiver<Value>>(a.data_).impl() ==
             std::get<Receiver<Value>>(b.data_).impl();
    case K::stream:
      return std::get<ByteStream>(a.data_).impl() == std::get<ByteStream>(b.data_).impl();
    case K::fd:
      return std::get<Fd>(a.data_).get() == std::get<Fd>(b.data_).get();
    case K::nil:
      return true;
    case K::boolean:
      return std::get<bool>(a.data_) == std::get<bool>(b.data_);
    case K::int64:
      return std::get<std::int64_t>(a.data_) == std::get<std::int64_t>(b.data_);
    case K::uint64:
      return std::get<std::uint64_t>(a.data_) == std::get<std::uint64_t>(b.data_);
    case K::float64:
      return std::get<double>(a.data_) == std::get<double>(b.data_);
    case K::string:
      return std::get<std::string>(a.data_) == std::get<std::string>(b.data_);
    case K::binary:
      return std::get<Binary>(a.data_) == std::get<Binary>(b.data_);
    case K::time:
      return std::get<Time>(a.data_) == std::get<Time>(b.data_);
  }
  return false;
}

std::string Value::to_string() const {
  std::ostringstream out;
  render(*this, out);
  return out.str();
}

}  // namespace libchan
