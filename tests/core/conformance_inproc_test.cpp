// The conformance suite over in-process pipes.
#include "conformance/conformance.hpp"

namespace {

struct InProcess {
  std::pair<libchan::Sender<libchan::Value>, libchan::Receiver<libchan::Value>> channel() {
    auto [rx, tx] = libchan::buffered_pipe(16);
    return {std::move(tx), std::move(rx)};
  }
};

}  // namespace

namespace conformance {
INSTANTIATE_TYPED_TEST_SUITE_P(InProcess, Conformance, InProcess);
}
