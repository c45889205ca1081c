#include "alloc_counter.hpp"

#include <cstdlib>
#include <new>

namespace {
// Per thread: a locked increment on every allocation would weigh on what
// is being measured. The benchmarks that count allocate on one thread.
thread_local std::uint64_t count = 0;
}  // namespace

namespace bench {
std::uint64_t allocations() noexcept { return count; }
}  // namespace bench

void* operator new(std::size_t n) {
  ++count;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
