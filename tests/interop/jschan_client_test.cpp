// jschan 0.2.1's client (jschan_client.js, Node.js) against our server over
// SPDY/3 on TCP: directly (the listener detects dialect v0.1), and through
// the dialect_bridge example to our server speaking v0.2.
#include <gtest/gtest.h>

#include "interop/interop_support.hpp"

namespace {

TEST(JschanClient, TalksToOurServer) {
  INTEROP_REQUIRE_JSCHAN();
  interop::echo_service service(libchan::listen("tcp://127.0.0.1:0"));
  interop::run_jschan_client(interop::port_of(service.address()));
  EXPECT_EQ(service.plain_seen(), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(service.last_dialect(), libchan::Dialect::v0_1);
}

// Every channel jschan opens, the return channels and the byte stream nested
// in its messages cross the bridge into a v0.2 session.
TEST(JschanClient, ThroughBridgeToOurV02Server) {
  INTEROP_REQUIRE_JSCHAN();
  libchan::SessionOptions v02;
  v02.dialect = libchan::Dialect::v0_2;
  interop::echo_service service(libchan::listen("tcp://127.0.0.1:0", v02));
  interop::bridge_process bridge({}, service.address());
  interop::run_jschan_client(interop::port_of(bridge.url));
  EXPECT_EQ(service.plain_seen(), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(service.last_dialect(), libchan::Dialect::v0_2);
  EXPECT_EQ(bridge.child->terminate(std::chrono::seconds(10)), 0)
      << interop::describe(*bridge.child);
}

}  // namespace
