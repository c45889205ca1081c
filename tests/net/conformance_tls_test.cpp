// The conformance suite over tls://, with mutual authentication: the server
// requires a client certificate and both sides check the other's chain.
#include "conformance/conformance.hpp"
#include "net/net_support.hpp"
#include "support/tls_options.hpp"

namespace {

struct Tls {
  net_test::session_pair pair{"tls://127.0.0.1:0",
                              test_certs::with_identity(test_certs::pki().client),
                              test_certs::mutual_auth_server()};
  auto channel() { return pair.channel(); }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Tls, Conformance, Tls);
}  // namespace conformance
