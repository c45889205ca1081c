// The conformance suite over two sessions joined back to back in memory,
// in each wire dialect.
#include "conformance/conformance.hpp"
#include "support/session_pair.hpp"

namespace {

template <libchan::detail::engine::dialect Wire>
struct BackToBack {
  test_support::session_pair pair{Wire};
  auto channel() { return pair.channel(); }
};

using V02 = BackToBack<libchan::detail::engine::dialect::v0_2>;
struct V01 : BackToBack<libchan::detail::engine::dialect::v0_1> {
  static constexpr bool no_time_type = true;
  static constexpr bool one_frame_per_message = true;
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(SessionsV02, Conformance, V02);
INSTANTIATE_TYPED_TEST_SUITE_P(SessionsV01, Conformance, V01);
}  // namespace conformance
