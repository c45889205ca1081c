// Command-line flags that the libchan programs (chan-gateway, rexec-server,
// rexec-client) share: TLS files and options, and the wire dialect.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "libchan/libchan.hpp"

namespace tool_flags {

struct TlsFlags {
  std::string cert, key, ca, server_name;
  bool insecure = false;
};

/// Adds --cert, --key and --ca; for a dialing program also --server-name
/// and --insecure, whose help text calls the other end `peer` ("server",
/// "gateway"). A listener given --ca requires client certificates.
void add_tls_flags(CLI::App& app, TlsFlags& flags, bool dialing, std::string_view peer = "server");

/// The TlsOptions the flags describe (used by tls:// and wss:// URLs only).
libchan::TlsOptions tls_options(const TlsFlags& flags, bool dialing);

/// The dialect that "auto", "v0.1" or "v0.2" names; nothing for other text.
std::optional<libchan::Dialect> dialect_named(std::string_view text);

/// dialect_named() for --dialect; throws CLI::ValidationError for other text.
libchan::Dialect parse_dialect(const std::string& text);

}  // namespace tool_flags
