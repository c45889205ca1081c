// Session options carrying the generated test certificates (test_certs).
#pragma once

#include "libchan/session.hpp"
#include "support/test_certs.hpp"

namespace test_certs {

/// Presents `id` and trusts the test CA.
inline libchan::SessionOptions with_identity(const identity& id) {
  libchan::SessionOptions o;
  o.tls.certificate_pem = id.certificate;
  o.tls.private_key_pem = id.private_key;
  o.tls.ca_pem = pki().ca.certificate;
  return o;
}

/// A listener with the server certificate that requires a client's.
inline libchan::SessionOptions mutual_auth_server() {
  auto o = with_identity(pki().server);
  o.tls.require_client_certificate = true;
  return o;
}

}  // namespace test_certs
