// In-process pipes: one thread sends a small struct, another receives it.
#include <benchmark/benchmark.h>

#include <string>
#include <thread>

#include "libchan/pipe.hpp"

namespace {

struct Small {
  std::int64_t seq = 0;
  std::string text;
};

void run_pipe(benchmark::State& state, std::size_t capacity) {
  auto [rx, tx] = libchan::buffered_pipe<Small>(capacity);
  std::thread consumer([&rx = rx] {
    std::int64_t sum = 0;
    while (auto m = rx.receive()) sum += m->seq;
    benchmark::DoNotOptimize(sum);
  });
  std::int64_t seq = 0;
  for (auto _ : state) tx.send(Small{++seq, "short text"});
  tx.close();
  consumer.join();
  state.SetItemsProcessed(state.iterations());
}

void BM_PipeUnbuffered(benchmark::State& state) { run_pipe(state, 0); }
void BM_PipeBuffered(benchmark::State& state) { run_pipe(state, 1024); }

BENCHMARK(BM_PipeUnbuffered)->UseRealTime();
BENCHMARK(BM_PipeBuffered)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
