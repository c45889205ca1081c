// Watches the test binary's heap allocations (operator new is replaced in
// alloc_probe.cpp), to prove that hostile length headers allocate nothing
// big.
#pragma once

#include <cstddef>

namespace codec_test {

/// Starts watching: forgets the largest allocation seen so far.
void reset_largest_allocation() noexcept;
/// The largest single allocation since the last reset, in bytes.
std::size_t largest_allocation() noexcept;

}  // namespace codec_test
