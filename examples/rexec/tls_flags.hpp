// The TLS command-line flags shared by rexec-server and rexec-client.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "libchan/libchan.hpp"

namespace remote_exec {

struct TlsFlags {
  std::string cert, key, ca, server_name;
  bool insecure = false;
};

/// Adds --cert, --key and --ca; for a dialing program also --server-name
/// and --insecure. A listener given --ca requires client certificates.
void add_tls_flags(CLI::App& app, TlsFlags& flags, bool dialing);

/// The TlsOptions the flags describe (used by tls:// and wss:// URLs only).
libchan::TlsOptions tls_options(const TlsFlags& flags, bool dialing);

/// Parses "auto", "v0.1" or "v0.2" (--dialect); throws CLI::ValidationError.
libchan::Dialect parse_dialect(const std::string& text);

}  // namespace remote_exec
