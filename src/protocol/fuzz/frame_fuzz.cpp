// Feeds arbitrary bytes to the frame parser the way a session would, in
// reads of a fuzzed size, and checks what it reports: every frame re-packs
// to bytes that unpack to the same frame, and consumed counts stay in bounds.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "spdy/frame_unpack.hpp"
#include "spdy/header_block.hpp"

namespace spdy = libchan::detail::spdy;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

spdy::bytes_view header_block_of(const spdy::frame& f) {
  if (auto* s = std::get_if<spdy::syn_stream_frame>(&f)) return s->header_block;
  if (auto* r = std::get_if<spdy::syn_reply_frame>(&f)) return r->header_block;
  if (auto* h = std::get_if<spdy::headers_frame>(&f)) return h->header_block;
  return {};
}

// pack(unpack(pack(f))) == pack(f), and the whole packed frame is used.
void check_round_trip(const spdy::frame& f, const spdy::frame_limits& limits) {
  std::vector<std::uint8_t> once;
  spdy::pack_frame(once, f);  // throws (and fails the run) if a parsed value cannot be packed
  auto again = spdy::unpack_frame(once, limits);
  check(again.status == spdy::unpack_status::frame_ready);
  check(again.consumed + again.skip == once.size());
  check(again.value.index() == f.index());
  std::vector<std::uint8_t> twice;
  spdy::pack_frame(twice, again.value);
  check(twice == once);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace opt = spdy::fuzz;
  if (size == 0) return 0;
  const std::uint8_t options = data[0];
  spdy::frame_limits limits;
  limits.reject_reserved_bits = (options & opt::option_strict_reserved) != 0;
  if (options & opt::option_small_data) limits.max_data_payload = 64;
  if (options & opt::option_small_control) limits.max_control_payload = 128;
  const std::size_t chunk = options & opt::option_chunk_mask;
  const spdy::bytes_view input(data + 1, size - 1);

  spdy::frame_parser parser(limits);
  spdy::header_decoder decoder;
  std::vector<std::uint8_t> buffer;
  std::size_t fed = 0;
  while (fed < input.size()) {
    const std::size_t n = chunk == 0 ? input.size() : std::min(chunk, input.size() - fed);
    buffer.insert(buffer.end(), input.begin() + fed, input.begin() + fed + n);
    fed += n;
    for (;;) {
      auto r = parser.parse(buffer);
      check(r.consumed <= buffer.size());
      check(r.skip == 0);
      if (r.status == spdy::unpack_status::error && r.error.fatal()) return 0;
      if (r.status == spdy::unpack_status::frame_ready) {
        check_round_trip(r.value, limits);
        if (auto block = header_block_of(r.value); !block.empty() && !decoder.broken()) {
          spdy::header_list headers;
          (void)decoder.decode(block, headers);
        }
      }
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(r.consumed));
      if (r.status == spdy::unpack_status::need_more) break;
    }
  }
  return 0;
}
