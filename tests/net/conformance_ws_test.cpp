// The conformance suite inside WebSocket connections: ws (both dialects),
// and wss with mutual authentication.
#include "conformance/conformance.hpp"
#include "net/net_support.hpp"
#include "support/tls_options.hpp"

namespace {

struct Ws {
  net_test::session_pair pair{"ws://127.0.0.1:0/chan"};
  auto channel() { return pair.channel(); }
};

struct WsV01 {
  static constexpr bool no_time_type = true;
  static constexpr bool one_frame_per_message = true;
  static libchan::SessionOptions v01() {
    libchan::SessionOptions o;
    o.dialect = libchan::Dialect::v0_1;
    return o;
  }
  net_test::session_pair pair{"ws://127.0.0.1:0/", v01()};
  auto channel() { return pair.channel(); }
};

struct Wss {
  net_test::session_pair pair{"wss://127.0.0.1:0/chan",
                              test_certs::with_identity(test_certs::pki().client),
                              test_certs::mutual_auth_server()};
  auto channel() { return pair.channel(); }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Ws, Conformance, Ws);
INSTANTIATE_TYPED_TEST_SUITE_P(WsV01, Conformance, WsV01);
INSTANTIATE_TYPED_TEST_SUITE_P(Wss, Conformance, Wss);
}  // namespace conformance
