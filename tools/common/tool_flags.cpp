#include "tool_flags.hpp"

namespace tool_flags {

void add_tls_flags(CLI::App& app, TlsFlags& flags, bool dialing, std::string_view peer) {
  app.add_option("--cert", flags.cert, "PEM certificate chain to present")
      ->check(CLI::ExistingFile);
  app.add_option("--key", flags.key, "PEM private key of --cert")->check(CLI::ExistingFile);
  if (dialing) {
    const std::string peers = "the " + std::string(peer) + "'s certificate";
    app.add_option("--ca", flags.ca, "PEM CA certificates to trust (default: the system's)")
        ->check(CLI::ExistingFile);
    app.add_option("--server-name", flags.server_name,
                   "name expected in " + peers + " (default: the URL's host)");
    app.add_flag("--insecure", flags.insecure, "do not verify " + peers + " (for tests only)");
  } else {
    app.add_option("--ca", flags.ca, "PEM CA certificates: require client certificates they signed")
        ->check(CLI::ExistingFile);
  }
}

libchan::TlsOptions tls_options(const TlsFlags& flags, bool dialing) {
  libchan::TlsOptions tls;
  tls.certificate_file = flags.cert;
  tls.private_key_file = flags.key;
  tls.ca_file = flags.ca;
  tls.server_name = flags.server_name;
  tls.verify_peer = !flags.insecure;
  tls.require_client_certificate = !dialing && !flags.ca.empty();
  return tls;
}

std::optional<libchan::Dialect> dialect_named(std::string_view text) {
  if (text == "auto") return libchan::Dialect::automatic;
  if (text == "v0.1") return libchan::Dialect::v0_1;
  if (text == "v0.2") return libchan::Dialect::v0_2;
  return std::nullopt;
}

libchan::Dialect parse_dialect(const std::string& text) {
  if (auto dialect = dialect_named(text)) return *dialect;
  throw CLI::ValidationError("--dialect", "expected auto, v0.1 or v0.2, not '" + text + "'");
}

}  // namespace tool_flags
