// Header blocks from arbitrary bytes: an uncompressed block that parses must
// serialize back to the same bytes and survive our own zlib round trip; a
// series of compressed blocks goes through one decoder as a session's would.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "spdy/header_block.hpp"

namespace spdy = libchan::detail::spdy;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

void uncompressed(spdy::bytes_view block) {
  spdy::header_limits limits;
  spdy::header_list headers;
  if (spdy::parse_header_block(block, limits, headers)) return;
  // The layout has one spelling per header list.
  std::vector<std::uint8_t> again;
  spdy::serialize_header_block(headers, again);
  check(again.size() == block.size() && std::equal(again.begin(), again.end(), block.begin()));

  spdy::header_encoder encoder;
  std::vector<std::uint8_t> compressed;
  encoder.encode(headers, compressed);
  limits.max_compressed_size = compressed.size();
  limits.max_decompressed_size = block.size();
  spdy::header_decoder decoder(limits);
  spdy::header_list decoded;
  check(!decoder.decode(compressed, decoded));
  check(decoded == headers);
}

void compressed_series(spdy::bytes_view in) {
  spdy::header_limits limits;
  limits.max_decompressed_size = 16 * 1024;  // keeps runs fast; the logic is the same
  spdy::header_decoder decoder(limits);
  while (in.size() >= 2 && !decoder.broken()) {
    const std::size_t n = std::min<std::size_t>(in.size() - 2, (in[0] << 8) | in[1]);
    spdy::header_list headers;
    auto err = decoder.decode(in.subspan(2, n), headers);
    check(decoder.last_inflated_size() <= limits.max_decompressed_size + 1);
    check(!err || !err->message.empty());
    in = in.subspan(2 + n);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const spdy::bytes_view rest(data + 1, size - 1);
  if (data[0] == spdy::fuzz::mode_uncompressed) {
    uncompressed(rest);
  } else if (data[0] == spdy::fuzz::mode_compressed) {
    compressed_series(rest);
  }
  return 0;
}
