// The conformance suite over real sockets: TCP (both dialects), and Unix
// sockets by path and in the abstract namespace.
#include "conformance/conformance.hpp"
#include "net/net_support.hpp"

namespace {

struct Tcp {
  net_test::session_pair pair{"tcp://127.0.0.1:0"};
  auto channel() { return pair.channel(); }
};

struct TcpV01 {
  static constexpr bool no_time_type = true;
  static constexpr bool one_frame_per_message = true;
  static libchan::SessionOptions v01() {
    libchan::SessionOptions o;
    o.dialect = libchan::Dialect::v0_1;
    return o;
  }
  net_test::session_pair pair{"tcp://127.0.0.1:0", v01()};
  auto channel() { return pair.channel(); }
};

struct Unix {
  net_test::temp_dir dir;
  net_test::session_pair pair{"unix://" + dir.file("conformance.sock")};
  auto channel() { return pair.channel(); }
};

struct UnixAbstract {
  net_test::session_pair pair{"unix://@libchan-conformance-" + std::to_string(::getpid())};
  auto channel() { return pair.channel(); }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(Tcp, Conformance, Tcp);
INSTANTIATE_TYPED_TEST_SUITE_P(TcpV01, Conformance, TcpV01);
INSTANTIATE_TYPED_TEST_SUITE_P(Unix, Conformance, Unix);
INSTANTIATE_TYPED_TEST_SUITE_P(UnixAbstract, Conformance, UnixAbstract);
}  // namespace conformance
