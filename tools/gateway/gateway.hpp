// chan-gateway's two roles: the gateway service, which connects to TCP
// destinations on an allow-list for libchan clients, and the local
// forwarder, which offers one such destination on a local TCP port.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "allow_list.hpp"
#include "libchan/libchan.hpp"

namespace gateway {

struct ServeOptions {
  std::string listen_url;
  AllowList allow;
  libchan::SessionOptions session;
  std::chrono::milliseconds connect_timeout{10000};
  /// Connections open at once, all clients together; more are refused.
  std::size_t max_connections = 1024;
};

struct ForwardOptions {
  HostPort listen;      // the local TCP address
  std::string via_url;  // the gateway
  std::string to;       // HOST:PORT asked of the gateway
  libchan::SessionOptions session;
  /// How long the gateway may take to answer a request.
  std::chrono::milliseconds reply_timeout{15000};
};

/// Run until the process is stopped; return an exit status on failure.
int serve(const ServeOptions& options);
int forward(const ForwardOptions& options);

/// Writes one line to stderr, whole, prefixed with "chan-gateway: ".
void log_line(const std::string& text);

}  // namespace gateway
