// Which TCP destinations the gateway may connect to.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gateway {

/// A host and port as written: "db.local:6379", "[::1]:80", "10.0.0.5:*".
struct HostPort {
  std::string host;  // without brackets
  std::string port;  // digits, or "*" in an allow-list entry
};

/// Splits "host:port" / "[v6]:port"; empty if malformed. `allow_any_port`
/// accepts "*" as the port.
std::optional<HostPort> parse_host_port(std::string_view text, bool allow_any_port = false);

/// The destinations a gateway serves. Empty (the default) allows nothing.
/// Hosts are compared as written, ignoring case: no name is resolved to
/// decide, so "localhost:6379" does not allow "127.0.0.1:6379".
class AllowList {
 public:
  /// Adds "host:port" or "host:*"; throws std::invalid_argument if malformed.
  void add(std::string_view entry);
  bool allows(const HostPort& destination) const;
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<HostPort> entries_;
};

}  // namespace gateway
