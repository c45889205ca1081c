#include "allow_list.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <stdexcept>

namespace gateway {
namespace {

bool valid_port(std::string_view port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return ec == std::errc() && end == port.data() + port.size() && value <= 65535;
}

bool same_host(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

}  // namespace

std::optional<HostPort> parse_host_port(std::string_view text, bool allow_any_port) {
  HostPort out;
  std::string_view port;
  if (text.starts_with('[')) {
    auto close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    out.host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs brackets
  }
  if (out.host.empty()) return std::nullopt;
  if (!(allow_any_port && port == "*") && !valid_port(port)) return std::nullopt;
  // One spelling per port number: "06379" is "6379".
  out.port = port == "*" ? "*" : std::to_string(std::stoul(std::string(port)));
  return out;
}

void AllowList::add(std::string_view entry) {
  auto parsed = parse_host_port(entry, /*allow_any_port=*/true);
  if (!parsed)
    throw std::invalid_argument("'" + std::string(entry) +
                                "' is not HOST:PORT or HOST:* ([ADDRESS]:PORT for IPv6)");
  entries_.push_back(std::move(*parsed));
}

bool AllowList::allows(const HostPort& destination) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const HostPort& e) {
    return same_host(e.host, destination.host) && (e.port == "*" || e.port == destination.port);
  });
}

}  // namespace gateway
