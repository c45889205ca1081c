// TransportRegistry, URL schemes, and errors with words.
#include <algorithm>
#include <cctype>

#include "io/net.hpp"

namespace libchan {
namespace {

bool valid_scheme(std::string_view s) {
  if (s.empty() || !std::islower(static_cast<unsigned char>(s.front()))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::islower(u) || std::isdigit(u) || c == '+' || c == '-' || c == '.';
  });
}

}  // namespace

TransportRegistry TransportRegistry::defaults() {
  TransportRegistry r;
  r.add("tcp", detail::io::make_tcp_transport());
  r.add("unix", detail::io::make_unix_transport());
  r.add("ws", detail::io::make_ws_transport());
  r.add("wss", detail::io::make_wss_transport());
  r.add("tls", detail::io::make_tls_transport());
  return r;
}

void TransportRegistry::add(std::string scheme, std::shared_ptr<detail::io::transport> transport) {
  if (!valid_scheme(scheme))
    throw Error(errc::invalid_argument, "invalid URL scheme '" + scheme + "'");
  if (!transport) throw Error(errc::invalid_argument, "no transport given for '" + scheme + "'");
  transports_[std::move(scheme)] = std::move(transport);
}

bool TransportRegistry::remove(std::string_view scheme) {
  auto it = transports_.find(scheme);
  if (it == transports_.end()) return false;
  transports_.erase(it);
  return true;
}

std::shared_ptr<detail::io::transport> TransportRegistry::find(std::string_view scheme) const {
  auto it = transports_.find(scheme);
  return it == transports_.end() ? nullptr : it->second;
}

std::vector<std::string> TransportRegistry::schemes() const {
  std::vector<std::string> out;
  for (auto& [scheme, t] : transports_) out.push_back(scheme);
  return out;
}

namespace detail::io {

const TransportRegistry& default_registry() {
  static const TransportRegistry registry = TransportRegistry::defaults();
  return registry;
}

std::shared_ptr<transport> lookup(const TransportRegistry& registry, std::string_view url,
                                  std::string& address, failure& err) {
  auto invalid = [&](std::string what) {
    err = {make_error_code(errc::invalid_argument), std::move(what)};
    return nullptr;
  };
  auto sep = url.find("://");
  if (sep == std::string_view::npos)
    return invalid("URL '" + std::string(url) +
                   "' has no scheme: use scheme://address, e.g. tcp://host:port");
  std::string scheme(url.substr(0, sep));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  auto t = registry.find(scheme);
  if (!t) {
    std::string known;
    for (auto& s : registry.schemes()) known += (known.empty() ? "" : ", ") + s;
    return invalid("unsupported scheme '" + scheme +
                   "' (known: " + (known.empty() ? "none" : known) + ")");
  }
  address = std::string(url.substr(sep + 3));
  return t;
}

void report(const failure& f, std::error_code* ec) {
  if (ec) {
    *ec = f.ec;
    return;
  }
  if (!f.ec) return;
  // std::system_error appends ": " + the code's message; words that already
  // end with it (most do, e.g. "dial tcp://h:1: Connection refused") would
  // say it twice.
  std::string what = f.what;
  const std::string tail = ": " + f.ec.message();
  if (what.size() >= tail.size() && what.compare(what.size() - tail.size(), tail.size(), tail) == 0)
    what.resize(what.size() - tail.size());
  throw std::system_error(f.ec, what);
}

}  // namespace detail::io
}  // namespace libchan
