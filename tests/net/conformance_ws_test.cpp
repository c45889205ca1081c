// The conformance suite inside WebSocket connections: ws (both dialects),
// and wss with mutual authentication.
#include "conformance/conformance.hpp"
#include "net/net_support.hpp"
#include "support/test_certs.hpp"

namespace {

struct Ws {
  net_test::session_pair pair{"ws://127.0.0.1:0/chan"};
  auto channel() { return pair.channel(); }
};

struct WsV01 {
  static constexpr bool no_time_type = true;
  static libchan::SessionOptions v01() {
    libchan::SessionOptions o;
    o.dialect = libchan::Dialect::v0_1;
    return o;
  }
  net_test::session_pair pair{"ws://127.0.0.1:0/", v01()};
  auto channel() { return pair.channel(); }
};

libchan::SessionOptions with_identity(const test_certs::identity& id) {
  libchan::SessionOptions o;
  o.tls.certificate_pem = id.certificate;
  o.tls.private_key_pem = id.private_key;
  o.tls.ca_pem = test_certs::pki().ca.certificate;
  return o;
}

libchan::SessionOptions wss_server() {
  auto o = with_identity(test_certs::pki().server);
  o.tls.require_client_certificate = true;
  return o;
}

struct Wss {
  net_test::session_pair pair{"wss://127.0.0.1:0/chan", with_identity(test_certs::pki().client),
                              wss_server()};
  auto channel() { return pair.channel(); }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Ws, Conformance, Ws);
INSTANTIATE_TYPED_TEST_SUITE_P(WsV01, Conformance, WsV01);
INSTANTIATE_TYPED_TEST_SUITE_P(Wss, Conformance, Wss);
}  // namespace conformance
