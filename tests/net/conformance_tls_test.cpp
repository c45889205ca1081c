// The conformance suite over tls://, with mutual authentication: the server
// requires a client certificate and both sides check the other's chain.
#include "conformance/conformance.hpp"
#include "net/net_support.hpp"
#include "support/test_certs.hpp"

namespace {

libchan::SessionOptions with_identity(const test_certs::identity& id) {
  libchan::SessionOptions o;
  o.tls.certificate_pem = id.certificate;
  o.tls.private_key_pem = id.private_key;
  o.tls.ca_pem = test_certs::pki().ca.certificate;
  return o;
}

libchan::SessionOptions server_options() {
  auto o = with_identity(test_certs::pki().server);
  o.tls.require_client_certificate = true;
  return o;
}

struct Tls {
  net_test::session_pair pair{"tls://127.0.0.1:0", with_identity(test_certs::pki().client),
                              server_options()};
  auto channel() { return pair.channel(); }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Tls, Conformance, Tls);
}  // namespace conformance
