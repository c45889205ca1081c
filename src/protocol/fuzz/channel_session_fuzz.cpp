// The whole libchan session layer (session/channel_session.hpp) as an
// acceptor fed arbitrary bytes (dialect detected from the input), with an
// application that takes every top-level channel and drains everything
// without blocking: messages, and the channels and byte streams inside them,
// recursively. After the input ends, every channel and stream must have
// ended (nothing waits forever) and the session must be finished; leaks
// and memory errors are the sanitizers' to find.
//
// Input: one option byte, then the bytes of the peer's direction. The
// framing layer's seed corpus (corpus/frame) has this layout and serves.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <vector>

#include "session/channel_session.hpp"

namespace session = libchan::detail::session;
namespace engine = libchan::detail::engine;
using libchan::Value;

namespace {

constexpr std::uint8_t option_small_limits = 0x80;  // tiny limits in every layer
constexpr std::uint8_t option_answer = 0x40;        // send on Senders, write to streams
constexpr std::uint8_t option_keepalive = 0x20;     // tick with a fake clock between reads
constexpr std::uint8_t option_chunk_mask = 0x1F;    // read size; 0: all at once

// Bounded work per input, whatever its size.
constexpr std::size_t max_feeds = 512;
constexpr int max_passes = 64;
constexpr int max_messages_per_pass = 256;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "channel_session_fuzz: check failed: %s\n", what);
  std::abort();
}
#define CHECK(x) check((x), #x)

struct counted_send final : libchan::detail::send_waiter {
  void complete(std::error_code) override { ++completions; }
  int completions = 0;
};

struct stream_reader {
  libchan::ByteStream stream;
  std::array<std::byte, 512> buffer{};
  bool busy = false;  // a read is pending in the session
  bool done = false;  // end of stream or an error
};

class application {
 public:
  application(session::channel_session& s, bool answer) : session_(s), answer_(answer) {}

  // Takes whatever is ready, never waiting. Returns true if anything moved.
  bool drain() {
    bool moved = false;
    for (int pass = 0; pass < max_passes; ++pass) {
      bool progress = take_channels();
      progress |= take_messages();
      progress |= read_streams();
      moved |= progress;
      if (!progress) break;
    }
    return moved;
  }

  // Nothing is left waiting: every channel and stream reached its end.
  bool idle() const { return receivers_.empty() && readers_.empty(); }

  void close_all() {
    for (auto& rx : receivers_) rx.close();
    for (auto& tx : senders_) tx.close();
    for (auto& r : readers_) r->stream.close();
  }

  std::deque<counted_send>& sends() { return sends_; }

 private:
  bool take_channels() {
    bool progress = false;
    for (;;) {
      std::optional<libchan::Receiver<Value>> rx;
      std::error_code ec;
      if (!session_.incoming().impl()->try_receive(rx, ec) || !rx) return progress;
      receivers_.push_back(std::move(*rx));
      progress = true;
    }
  }

  bool take_messages() {
    bool progress = false;
    // Index-based: nested receivers are appended while we go.
    for (std::size_t i = 0; i < receivers_.size();) {
      auto impl = receivers_[i].impl();
      bool ended = false;
      for (int k = 0; k < max_messages_per_pass; ++k) {
        std::optional<Value> v;
        std::error_code ec;
        if (!impl->try_receive(v, ec)) break;
        progress = true;
        if (!v) {
          ended = true;
          break;
        }
        take_ends(*v, 0);
      }
      if (ended) {
        receivers_.erase(receivers_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    return progress;
  }

  // Moves channel ends and streams out of a message, so they are drained
  // (and answered) too.
  void take_ends(Value& v, int depth) {
    if (depth > 256) return;
    switch (v.kind()) {
      case Value::Kind::array:
        for (auto& e : v.as_array()) take_ends(e, depth + 1);
        break;
      case Value::Kind::map:
        for (auto& e : v.as_map()) {
          take_ends(e.key, depth + 1);
          take_ends(e.value, depth + 1);
        }
        break;
      case Value::Kind::receiver:
        receivers_.push_back(v.take_receiver());
        break;
      case Value::Kind::sender: {
        auto tx = v.take_sender();
        if (answer_) tx.impl()->start_send(Value("pong"), sends_.emplace_back());
        senders_.push_back(std::move(tx));
        break;
      }
      case Value::Kind::stream: {
        auto r = std::make_unique<stream_reader>();
        r->stream = v.take_stream();
        if (answer_) {
          static constexpr std::array<std::byte, 3> hello{std::byte{'h'}, std::byte{'i'},
                                                          std::byte{'\n'}};
          r->stream.impl()->async_write(hello, [](std::error_code, std::size_t) {});
          r->stream.impl()->close_write();
        }
        readers_.push_back(std::move(r));
        break;
      }
      default:
        break;
    }
  }

  bool read_streams() {
    bool progress = false;
    for (auto& r : readers_) {
      // A read may complete inside the call; then start the next one.
      for (int k = 0; k < max_messages_per_pass && !r->busy && !r->done; ++k) {
        r->busy = true;
        stream_reader* raw = r.get();
        r->stream.impl()->async_read_some(raw->buffer, [raw](std::error_code ec, std::size_t n) {
          raw->busy = false;
          if (ec || n == 0) raw->done = true;
        });
        progress |= !r->busy;
      }
    }
    std::erase_if(readers_, [](const auto& r) { return r->done; });
    return progress;
  }

  session::channel_session& session_;
  bool answer_;
  std::deque<counted_send> sends_;  // stable addresses for the session
  std::vector<libchan::Receiver<Value>> receivers_;
  std::vector<libchan::Sender<Value>> senders_;
  std::vector<std::unique_ptr<stream_reader>> readers_;
};

session::options options_for(std::uint8_t options) {
  session::options opts;
  opts.engine.side = engine::role::acceptor;
  opts.engine.wire = engine::dialect::detect;
  if (options & option_small_limits) {
    auto& l = opts.engine.limits;
    l.max_frame_size = 1024;
    l.initial_window = 64;
    l.max_send_frame = 100;
    l.max_output_queue = 4096;
    l.max_concurrent_streams = 8;
    l.max_header_block = 512;
    l.max_header_block_decompressed = 2048;
    l.max_unconsumed = 2048;
    opts.max_pending_refs = 4;
    opts.accept_backlog = 2;
    opts.codec.max_message_size = 512;
    opts.codec.max_depth = 4;
    opts.codec.max_elements = 32;
    opts.codec.max_string_size = 128;
  }
  if (options & option_keepalive) opts.engine.keepalive_interval = std::chrono::milliseconds(10);
  return opts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t options = data[0];
  const std::span<const std::uint8_t> input(data + 1, size - 1);

  // No driver hooks: this loop is the driver, and it polls.
  auto s = session::channel_session::create(options_for(options), {});
  application app(*s, (options & option_answer) != 0);
  std::vector<std::uint8_t> output;
  if (options & option_answer) {
    std::error_code ec;
    auto tx = s->open_sender(ec);
    if (!ec) tx.impl()->start_send(Value("hello"), app.sends().emplace_back());
  }

  std::size_t chunk = options & option_chunk_mask;
  if (chunk == 0) chunk = input.size();
  chunk = std::max(chunk, input.size() / max_feeds + 1);
  engine::steady_time now{};
  std::vector<std::uint8_t> offered;
  std::size_t fed = 0;
  while (fed < input.size() || !offered.empty()) {
    const std::size_t n = std::min(chunk, input.size() - fed);
    offered.insert(offered.end(), input.begin() + static_cast<std::ptrdiff_t>(fed),
                   input.begin() + static_cast<std::ptrdiff_t>(fed + n));
    fed += n;
    const std::size_t taken = s->feed(offered);
    CHECK(taken <= offered.size());
    offered.erase(offered.begin(), offered.begin() + static_cast<std::ptrdiff_t>(taken));
    const bool moved = app.drain();
    output.clear();
    while (s->take_output(output)) output.clear();
    if (options & option_keepalive) {
      now += std::chrono::milliseconds(7);
      s->tick(now);
    }
    // All input offered and none taken: an incomplete frame, or data held
    // for a stream nobody named.
    if (fed == input.size() && taken == 0 && !moved) break;
  }

  // The connection ends: nothing may be left waiting.
  s->feed_eof();
  app.drain();
  CHECK(app.idle());
  CHECK(s->end_reason().value() != 0);
  app.close_all();
  s->close();
  while (s->take_output(output)) output.clear();
  CHECK(s->finished());
  // Every send completed, once: none is left blocked on a dead session.
  for (const auto& w : app.sends()) CHECK(w.completions == 1);
  return 0;
}
