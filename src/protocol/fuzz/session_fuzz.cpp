// Feeds arbitrary bytes to an acceptor session engine (dialect detected
// from the input) in reads of a fuzzed size, with a handler that consumes
// everything and answers on the streams it is given (echo, close, reset,
// nested streams), so input can reach every path of the engine. Checks
// that counts stay in bounds, that a failed session takes no more input,
// and that everything the engine wrote is well-formed SPDY/3.
//
// Input: one option byte, then the bytes of the peer's direction. The
// framing layer's seed corpus (corpus/frame) has this layout and serves.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "engine/spdy_session.hpp"
#include "spdy/frame_unpack.hpp"
#include "spdy/header_block.hpp"

namespace engine = libchan::detail::engine;
namespace spdy = libchan::detail::spdy;

namespace {

constexpr std::uint8_t option_small_limits = 0x80;  // max_frame_size 1024, tiny windows and queues
constexpr std::uint8_t option_open_first = 0x40;    // we open a stream and send before reading
constexpr std::uint8_t option_keepalive = 0x20;     // tick with a fake clock between reads
constexpr std::uint8_t option_chunk_mask = 0x1F;    // read size - 1; 0: all at once

void check(bool ok) {
  if (!ok) std::abort();
}

class answering_handler final : public engine::handler {
 public:
  engine::spdy_session* session = nullptr;

  void on_stream_open(const engine::stream_info& info) override {
    std::error_code ec;
    if (info.ref % 5 == 3) {
      session->reset_stream(info.id, spdy::rst_status::cancel);
    } else if (info.ref % 5 == 4) {
      const auto id = session->open_stream(info.ref + 1, info.ref, info.id, ec);
      if (!ec) session->submit_data(id, {}, true, ec);
    }
  }
  void on_data(engine::stream_id id, std::span<const std::uint8_t> data) override {
    session->consume(id, data.size());
    std::error_code ec;
    session->submit_data(id, data.first(std::min<std::size_t>(data.size(), 100)), false, ec);
  }
  void on_remote_close(engine::stream_id id) override {
    std::error_code ec;
    session->submit_data(id, {}, true, ec);
  }
  void on_stream_closed(engine::stream_id, std::error_code, const std::string&) override {}
  void on_session_end(std::error_code, const std::string&) override { ++ended; }

  int ended = 0;
};

// Everything the engine wrote must parse, header blocks included.
void check_output(const std::vector<std::uint8_t>& out) {
  spdy::frame_parser parser;
  spdy::header_decoder decoder;
  spdy::header_list headers;
  std::size_t at = 0;
  while (at < out.size()) {
    auto r = parser.parse(spdy::bytes_view(out).subspan(at));
    check(r.status == spdy::unpack_status::frame_ready);
    const spdy::bytes_view* block = nullptr;
    if (auto* s = std::get_if<spdy::syn_stream_frame>(&r.value)) block = &s->header_block;
    if (auto* s = std::get_if<spdy::syn_reply_frame>(&r.value)) block = &s->header_block;
    if (block != nullptr) check(!decoder.decode(*block, headers));
    at += r.consumed;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t options = data[0];
  const spdy::bytes_view input(data + 1, size - 1);

  engine::options opts;
  opts.side = engine::role::acceptor;
  opts.wire = engine::dialect::detect;
  if (options & option_small_limits) {
    opts.limits.max_frame_size = 1024;
    opts.limits.initial_window = 64;
    opts.limits.max_send_frame = 100;
    opts.limits.max_output_queue = 4096;
    opts.limits.max_concurrent_streams = 8;
    opts.limits.max_header_block = 512;
    opts.limits.max_header_block_decompressed = 2048;
  }
  if (options & option_keepalive) opts.keepalive_interval = std::chrono::milliseconds(10);

  answering_handler handler;
  engine::spdy_session session(opts, handler);
  handler.session = &session;

  std::vector<std::uint8_t> written;
  auto drain = [&] {
    while (!session.pending_output().empty()) {
      const auto out = session.pending_output();
      written.insert(written.end(), out.begin(), out.end());
      session.consume_output(out.size());
    }
  };
  if (options & option_open_first) {
    std::error_code ec;
    const auto id = session.open_stream(2, std::nullopt, 0, ec);
    const std::vector<std::uint8_t> hello(300, 'h');
    if (!ec) session.submit_data(id, hello, false, ec);
  }

  const std::size_t chunk =
      (options & option_chunk_mask) == 0 ? input.size() : (options & option_chunk_mask);
  engine::steady_time now{};
  std::vector<std::uint8_t> buffer;
  std::size_t fed = 0;
  while (fed < input.size()) {
    const std::size_t n = std::min(chunk, input.size() - fed);
    buffer.insert(buffer.end(), input.begin() + fed, input.begin() + fed + n);
    fed += n;
    const std::size_t taken = session.receive(buffer);
    check(taken <= buffer.size());
    buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(taken));
    // The handler consumes everything: receive never holds back.
    check(!session.receive_paused());
    if (options & option_keepalive) {
      now += std::chrono::milliseconds(7);
      session.tick(now);
    }
    drain();
  }
  session.receive_eof();
  if (!buffer.empty()) check(session.receive(buffer) == 0);
  drain();
  check(handler.ended <= 1);
  check(!session.want_read());
  check(!session.want_write());
  check_output(written);
  return 0;
}
