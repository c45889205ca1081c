// Certificates for TLS tests, made at run time with OpenSSL (EC P-256 keys,
// SHA-256 signatures): nothing is stored in the repository and no openssl
// program is needed. Link the `libchan_test_certs` target to use it.
//
//   const auto& pki = test_certs::pki();           // made once per process
//   options.tls.certificate_pem = pki.server.certificate;
//   options.tls.private_key_pem = pki.server.private_key;
//   options.tls.ca_pem = pki.ca.certificate;
//
//   test_certs::pki_files files;                   // the same, as files
//   options.tls.ca_file = files.ca;
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace test_certs {

/// A certificate and its private key, both PEM (the key unencrypted PKCS#8).
struct identity {
  std::string certificate;
  std::string private_key;
};

/// What a certificate says about itself.
struct cert_spec {
  std::string common_name;
  std::string organization = "libchan tests";
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries ("127.0.0.1", "::1")
  bool server_auth = false;               // extendedKeyUsage serverAuth
  bool client_auth = false;               // extendedKeyUsage clientAuth
  /// Validity, relative to now: from `not_before` to `not_after`.
  std::chrono::seconds not_before = std::chrono::hours(-1);
  std::chrono::seconds not_after = std::chrono::hours(24);
};

/// A self-signed certificate authority named `common_name`. Throws
/// std::runtime_error (with OpenSSL's reason) if OpenSSL fails.
identity make_ca(const std::string& common_name);

/// A leaf certificate for `spec`, signed by `issuer` (a make_ca() result).
identity issue(const identity& issuer, const cert_spec& spec);

/// The usual set, O=libchan tests throughout.
struct test_pki {
  identity ca;        ///< CN=libchan test CA: signs everything below
  identity other_ca;  ///< CN=libchan other CA: unrelated, signs nothing here
  /// CN=localhost, SANs DNS:localhost, IP:127.0.0.1, IP:::1; serverAuth.
  identity server;
  /// CN=client-1; clientAuth.
  identity client;
  /// As `server`, but its validity ended a day ago.
  identity expired_server;
  /// Subjects as a TLS peer sees them (RFC 2253, most specific first).
  std::string server_subject = "CN=localhost,O=libchan tests";
  std::string client_subject = "CN=client-1,O=libchan tests";
};

/// The usual set, made on first use (thread-safe) and kept for the process.
const test_pki& pki();

/// The usual set written to PEM files in a fresh temporary directory, which
/// is removed with the object.
class pki_files {
 public:
  pki_files();
  ~pki_files();
  pki_files(const pki_files&) = delete;
  pki_files& operator=(const pki_files&) = delete;

  /// Writes `text` to a file named `name` in the directory; returns its path.
  std::string write(const std::string& name, const std::string& text) const;

  std::filesystem::path dir;
  std::string ca, other_ca;                      // certificates
  std::string server_certificate, server_key;    // pki().server
  std::string client_certificate, client_key;    // pki().client
  std::string expired_certificate, expired_key;  // pki().expired_server
};

}  // namespace test_certs
