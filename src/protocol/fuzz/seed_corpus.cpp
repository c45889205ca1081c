// Writes seed corpora for the SPDY fuzz targets from captured sessions:
//   spdy_seed_corpus <captures-dir> <out-dir>
// For every *.bin direction file below <captures-dir>, using our own parser:
//   <out-dir>/frame/         each frame alone, and the first frames together
//   <out-dir>/header_block/  each inflated block, and the direction's series
//                            of compressed blocks
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz_input.hpp"
#include "spdy/frame_unpack.hpp"
#include "spdy/header_block.hpp"

namespace fs = std::filesystem;
namespace spdy = libchan::detail::spdy;
using bytes = std::vector<std::uint8_t>;

namespace {

// Enough of a session's start to carry several header blocks in sequence.
constexpr std::size_t prefix_size = 4096;

void write(const fs::path& path, std::uint8_t first, spdy::bytes_view body) {
  std::ofstream out(path, std::ios::binary);
  out.put(static_cast<char>(first));
  out.write(reinterpret_cast<const char*>(body.data()), static_cast<std::streamsize>(body.size()));
}

spdy::bytes_view header_block_of(const spdy::frame& f) {
  if (auto* s = std::get_if<spdy::syn_stream_frame>(&f)) return s->header_block;
  if (auto* r = std::get_if<spdy::syn_reply_frame>(&f)) return r->header_block;
  if (auto* h = std::get_if<spdy::headers_frame>(&f)) return h->header_block;
  return {};
}

// Splits one direction; returns the number of seeds written.
int split(const fs::path& file, const std::string& stem, const fs::path& out) {
  std::ifstream in(file, std::ios::binary);
  const bytes wire((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  spdy::frame_parser parser;
  spdy::header_decoder decoder;
  bytes series;
  int seeds = 0;
  std::size_t at = 0;
  for (int index = 0; at < wire.size(); ++index) {
    auto r = parser.parse(spdy::bytes_view(wire).subspan(at));
    if (r.status != spdy::unpack_status::frame_ready) break;
    const std::string name = stem + "_" + std::to_string(index);
    write(out / "frame" / name, 0, spdy::bytes_view(wire).subspan(at, r.consumed));
    ++seeds;
    if (auto block = header_block_of(r.value); !block.empty()) {
      series.push_back(static_cast<std::uint8_t>(block.size() >> 8));
      series.push_back(static_cast<std::uint8_t>(block.size()));
      series.insert(series.end(), block.begin(), block.end());
      spdy::header_list headers;
      if (!decoder.decode(block, headers)) {
        bytes plain;
        spdy::serialize_header_block(headers, plain);
        write(out / "header_block" / name, spdy::fuzz::mode_uncompressed, plain);
        ++seeds;
      }
    }
    at += r.consumed;
  }
  write(out / "frame" / (stem + "_prefix"), 0,
        spdy::bytes_view(wire).first(std::min(prefix_size, wire.size())));
  write(out / "header_block" / (stem + "_series"), spdy::fuzz::mode_compressed, series);
  return seeds + 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <captures-dir> <out-dir>\n", argv[0]);
    return 2;
  }
  const fs::path captures = argv[1], out = argv[2];
  fs::create_directories(out / "frame");
  fs::create_directories(out / "header_block");
  int seeds = 0;
  for (const auto& entry : fs::recursive_directory_iterator(captures)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".bin") continue;
    std::string stem = fs::relative(entry.path(), captures).replace_extension().string();
    for (char& c : stem) {
      if (c == '/') c = '_';
    }
    seeds += split(entry.path(), stem, out);
  }
  std::printf("%d seeds in %s\n", seeds, out.c_str());
  return seeds > 0 ? 0 : 1;
}
