// Encode and decode of a small message shaped like the Go libchan Request
// (about 100 bytes of msgpack), with each codec. Decode and round trip
// include freeing the decoded Value, as a receiver would.
#include <benchmark/benchmark.h>

#include "libchan/codec.hpp"

namespace {

using libchan::Value;

Value make_request() {
  return libchan::make_map("Message", "hello from the codec benchmark", "Seq", 4242, "Ret", nullptr,
                           "Stream", nullptr, "Recv", nullptr, "Args",
                           libchan::make_array("-l", "-a", "/var/tmp"), "Count", 200);
}

void encode(benchmark::State& state, const libchan::Codec& codec) {
  Value request = make_request();
  std::vector<std::uint8_t> out;
  std::error_code ec;
  for (auto _ : state) {
    out.clear();
    codec.encode(request, out, libchan::plain_extensions(), ec);
    benchmark::DoNotOptimize(out.data());
  }
  if (ec) state.SkipWithError(ec.message().c_str());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
  state.counters["message_bytes"] = static_cast<double>(out.size());
}

void decode(benchmark::State& state, const libchan::Codec& codec) {
  Value request = make_request();
  const auto bytes = codec.encode(request);
  std::error_code ec;
  for (auto _ : state) {
    Value v;
    std::size_t used = codec.decode(bytes, v, libchan::plain_extensions(), ec);
    benchmark::DoNotOptimize(used);
    benchmark::DoNotOptimize(v);
  }
  if (ec) state.SkipWithError(ec.message().c_str());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes.size()));
  state.counters["message_bytes"] = static_cast<double>(bytes.size());
}

void round_trip(benchmark::State& state, const libchan::Codec& codec) {
  Value request = make_request();
  std::vector<std::uint8_t> out;
  std::error_code ec;
  for (auto _ : state) {
    out.clear();
    codec.encode(request, out, libchan::plain_extensions(), ec);
    Value v;
    benchmark::DoNotOptimize(codec.decode(out, v, libchan::plain_extensions(), ec));
  }
  if (ec) state.SkipWithError(ec.message().c_str());
}

const auto msgpack = libchan::make_msgpack_codec();
const auto json = libchan::make_json_codec();

void BM_MsgpackEncode(benchmark::State& state) { encode(state, *msgpack); }
void BM_MsgpackDecode(benchmark::State& state) { decode(state, *msgpack); }
void BM_MsgpackRoundTrip(benchmark::State& state) { round_trip(state, *msgpack); }
void BM_JsonEncode(benchmark::State& state) { encode(state, *json); }
void BM_JsonDecode(benchmark::State& state) { decode(state, *json); }
void BM_JsonRoundTrip(benchmark::State& state) { round_trip(state, *json); }

BENCHMARK(BM_MsgpackEncode);
BENCHMARK(BM_MsgpackDecode);
BENCHMARK(BM_MsgpackRoundTrip);
BENCHMARK(BM_JsonEncode);
BENCHMARK(BM_JsonDecode);
BENCHMARK(BM_JsonRoundTrip);

}  // namespace

BENCHMARK_MAIN();
