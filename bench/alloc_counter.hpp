// Counts the program's heap allocations (operator new is replaced in
// alloc_counter.cpp), so benchmarks can report them per operation.
#pragma once

#include <cstdint>

namespace bench {

/// Allocations through operator new by the calling thread so far.
std::uint64_t allocations() noexcept;

}  // namespace bench
