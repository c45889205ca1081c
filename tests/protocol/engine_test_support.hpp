// Helpers for the session engine tests: a handler that records events, a
// scripted peer that writes frames, output decoding, and engines wired back
// to back in memory or to a scripted peer.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/spdy_session.hpp"
#include "spdy/frame.hpp"
#include "spdy/header_block.hpp"
#include "spdy_test_support.hpp"

namespace engine_test {

namespace spdy = libchan::detail::spdy;
namespace engine = libchan::detail::engine;
using engine::stream_id;
using spdy_test::bytes;

inline std::string text_of(std::span<const std::uint8_t> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

inline bytes bytes_of(std::string_view s) { return bytes(s.begin(), s.end()); }

/// Every event of one engine, in order, plus per-stream summaries.
class recorder : public engine::handler {
 public:
  struct closed_event {
    stream_id id;
    std::error_code ec;
    std::string reason;
  };

  std::vector<engine::stream_info> opened;
  std::map<stream_id, std::string> data;
  std::map<stream_id, std::vector<std::size_t>> frame_sizes;
  std::vector<stream_id> remote_closed;
  std::vector<closed_event> closed;
  std::vector<closed_event> peer_errors;
  std::vector<std::pair<std::error_code, std::string>> session_end;
  int drained = 0;
  std::vector<std::string> log;  // "open 1", "data 1 5", "fin 1", "closed 1", "end"

  /// Consume every byte as it arrives (like a fast application).
  bool auto_consume = true;
  engine::spdy_session* session = nullptr;
  /// Run inside the events, to test calls back into the engine.
  std::function<void(const engine::stream_info&)> on_open_hook;
  std::function<void(stream_id, std::span<const std::uint8_t>)> on_data_hook;
  std::function<void(stream_id)> on_remote_close_hook;
  std::function<void()> on_drained_hook;

  void on_stream_open(const engine::stream_info& info) override {
    opened.push_back(info);
    log.push_back("open " + std::to_string(info.id));
    if (on_open_hook) on_open_hook(info);
  }
  void on_data(stream_id id, std::span<const std::uint8_t> d) override {
    data[id] += text_of(d);
    frame_sizes[id].push_back(d.size());
    log.push_back("data " + std::to_string(id) + " " + std::to_string(d.size()));
    if (auto_consume && session) session->consume(id, d.size());
    if (on_data_hook) on_data_hook(id, d);
  }
  void on_remote_close(stream_id id) override {
    remote_closed.push_back(id);
    log.push_back("fin " + std::to_string(id));
    if (on_remote_close_hook) on_remote_close_hook(id);
  }
  void on_stream_closed(stream_id id, std::error_code ec, const std::string& reason) override {
    closed.push_back({id, ec, reason});
    log.push_back("closed " + std::to_string(id));
  }
  void on_output_drained() override {
    ++drained;
    if (on_drained_hook) on_drained_hook();
  }
  void on_session_end(std::error_code ec, const std::string& reason) override {
    session_end.emplace_back(ec, reason);
    log.push_back("end");
  }
  void on_peer_error(stream_id id, std::error_code ec, const std::string& reason) override {
    peer_errors.push_back({id, ec, reason});
  }

  const closed_event* closed_of(stream_id id) const {
    for (const auto& c : closed) {
      if (c.id == id) return &c;
    }
    return nullptr;
  }
};

/// An engine with its recorder, everything it wrote, and the driver's
/// input buffer (bytes offered but not yet taken).
struct endpoint {
  explicit endpoint(engine::options opts) : session(opts, events) { events.session = &session; }

  recorder events;
  engine::spdy_session session;
  bytes written;  // every byte the engine produced, in order
  bytes input;    // offered, not yet taken

  /// Takes all pending output (as a driver writing it all would).
  bytes drain() {
    bytes now;
    while (!session.pending_output().empty()) {
      auto out = session.pending_output();
      now.insert(now.end(), out.begin(), out.end());
      session.consume_output(out.size());
    }
    written.insert(written.end(), now.begin(), now.end());
    return now;
  }

  /// Offers `more` after what is still buffered; returns bytes taken.
  std::size_t feed(spdy::bytes_view more) {
    input.insert(input.end(), more.begin(), more.end());
    const std::size_t n = session.receive(input);
    input.erase(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(n));
    return n;
  }
  std::size_t feed(const bytes& more) { return feed(spdy::bytes_view(more)); }

  /// All frames written so far, decoded with one header decoder.
  std::vector<spdy_test::read_frame> frames() const { return spdy_test::read_all(written); }
};

inline engine::options make_options(engine::role side,
                                    engine::dialect wire = engine::dialect::v0_2) {
  engine::options o;
  o.side = side;
  o.wire = wire;
  return o;
}

/// Moves output between two endpoints until neither has anything to say.
/// `max_write` splits writes, as a socket would.
inline void pump(endpoint& a, endpoint& b, std::size_t max_write = 0, int max_rounds = 1000000) {
  for (int round = 0; round < max_rounds; ++round) {
    bool progress = false;
    for (auto [from, to] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
      auto out = from->session.pending_output();
      if (!out.empty()) {
        const std::size_t n = max_write ? std::min(max_write, out.size()) : out.size();
        bytes chunk(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
        from->session.consume_output(n);
        from->written.insert(from->written.end(), chunk.begin(), chunk.end());
        to->feed(chunk);
        progress = true;
      } else if (!to->input.empty() && to->feed(bytes{}) > 0) {
        progress = true;
      }
    }
    if (!progress) return;
  }
  ADD_FAILURE() << "pump did not settle";
}

/// Writes frames as a scripted peer would, with its own header compressor.
struct peer_writer {
  spdy::header_encoder encoder;
  bytes out;

  bytes block(const spdy::header_list& h) {
    bytes b;
    encoder.encode(h, b);
    return b;
  }
  peer_writer& syn_stream(stream_id id, const spdy::header_list& h, std::uint8_t flags = 0,
                          stream_id assoc = 0) {
    const bytes b = block(h);
    spdy::pack(out, spdy::syn_stream_frame{id, assoc, 0, 0, flags, b});
    return *this;
  }
  peer_writer& channel(stream_id id, std::uint64_t ref, std::uint8_t flags = 0) {
    return syn_stream(id, {{"libchan-ref", std::to_string(ref)}}, flags);
  }
  peer_writer& syn_reply(stream_id id, const spdy::header_list& h = {{":status", "200"}},
                         std::uint8_t flags = 0) {
    const bytes b = block(h);
    spdy::pack(out, spdy::syn_reply_frame{id, flags, b});
    return *this;
  }
  peer_writer& headers(stream_id id, const spdy::header_list& h, std::uint8_t flags = 0) {
    const bytes b = block(h);
    spdy::pack(out, spdy::headers_frame{id, flags, b});
    return *this;
  }
  peer_writer& data(stream_id id, std::string_view payload, std::uint8_t flags = 0) {
    const bytes b = bytes_of(payload);
    spdy::pack(out, spdy::data_frame{id, flags, b});
    return *this;
  }
  peer_writer& fin(stream_id id) { return data(id, "", spdy::flags::fin); }
  peer_writer& rst(stream_id id, spdy::rst_status s) {
    spdy::pack(out, spdy::rst_stream_frame{id, s});
    return *this;
  }
  peer_writer& settings_window(std::uint32_t window) {
    spdy::settings_frame f;
    f.entries.push_back(
        {static_cast<std::uint32_t>(spdy::setting_id::initial_window_size), 0, window});
    spdy::pack(out, f);
    return *this;
  }
  peer_writer& window_update(stream_id id, std::uint32_t delta) {
    spdy::pack(out, spdy::window_update_frame{id, delta});
    return *this;
  }
  peer_writer& ping(std::uint32_t id) {
    spdy::pack(out, spdy::ping_frame{id});
    return *this;
  }
  peer_writer& goaway(stream_id last_good, spdy::goaway_status s = spdy::goaway_status::ok) {
    spdy::pack(out, spdy::goaway_frame{last_good, s});
    return *this;
  }
  bytes take() { return std::exchange(out, {}); }
};

/// Copies of the frames of one type among decoded frames (their spans
/// point into the bytes that were decoded).
template <class F>
std::vector<F> frames_of(const std::vector<spdy_test::read_frame>& frames) {
  std::vector<F> out;
  for (const auto& f : frames) {
    if (const auto* p = std::get_if<F>(&f.value)) out.push_back(*p);
  }
  return out;
}

/// Header lists compared without regard to order (Go sends random order).
inline spdy::header_list sorted(spdy::header_list h) {
  std::sort(h.begin(), h.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  return h;
}

/// Deterministic, not repetitive test data.
inline std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

/// A dialer and an acceptor (dialect detected) wired back to back.
struct pair_fixture {
  explicit pair_fixture(engine::options dialer_opts = make_options(engine::role::dialer),
                        engine::options acceptor_opts = make_options(engine::role::acceptor,
                                                                     engine::dialect::detect))
      : dialer(dialer_opts), acceptor(acceptor_opts) {}

  endpoint dialer;
  endpoint acceptor;

  void submit(endpoint& e, stream_id id, std::string_view text, bool fin) {
    const bytes b = bytes_of(text);
    std::error_code ec;
    e.session.submit_data(id, b, fin, ec);
    ASSERT_FALSE(ec) << e.session.last_error();
  }
};

/// An acceptor fed by a scripted peer, its SETTINGS already written away.
struct acceptor_fixture {
  explicit acceptor_fixture(engine::options opts = make_options(engine::role::acceptor,
                                                                engine::dialect::detect))
      : e(opts) {
    e.drain();
  }
  endpoint e;
  peer_writer peer;

  void send() { e.feed(peer.take()); }

  // Frames written since the last call, decoded in sequence with all the
  // earlier ones (one zlib stream).
  std::vector<spdy_test::read_frame> answers() {
    const std::size_t before = seen;
    e.drain();
    auto all = e.frames();
    seen = all.size();
    return std::vector<spdy_test::read_frame>(all.begin() + static_cast<std::ptrdiff_t>(before),
                                              all.end());
  }

  void expect_rst(stream_id id, spdy::rst_status status) {
    const auto frames = answers();
    ASSERT_EQ(frames.size(), 1u);
    const auto* r = std::get_if<spdy::rst_stream_frame>(&frames[0].value);
    ASSERT_NE(r, nullptr) << spdy::frame_name(frames[0].value);
    EXPECT_EQ(r->stream, id);
    EXPECT_EQ(r->status, status) << spdy::rst_status_name(r->status);
  }

  void expect_alive() {
    EXPECT_TRUE(e.events.session_end.empty()) << e.events.session_end.front().second;
    EXPECT_TRUE(e.session.want_read());
  }

  // A session error: GOAWAY PROTOCOL_ERROR, reported once, nothing read after.
  void expect_fatal(libchan::errc code, std::string_view words) {
    ASSERT_EQ(e.events.session_end.size(), 1u);
    EXPECT_EQ(e.events.session_end[0].first, code);
    EXPECT_NE(e.events.session_end[0].second.find(words), std::string::npos)
        << e.events.session_end[0].second;
    const auto frames = answers();
    ASSERT_FALSE(frames.empty());
    const auto* g = std::get_if<spdy::goaway_frame>(&frames.back().value);
    ASSERT_NE(g, nullptr);
    EXPECT_EQ(g->status, spdy::goaway_status::protocol_error);
    EXPECT_FALSE(e.session.want_read());
    EXPECT_FALSE(e.session.want_write()) << "done once the GOAWAY is written";
    EXPECT_EQ(e.session.receive(peer_writer{}.ping(1).take()), 0u);
  }

  std::size_t seen = 2;  // the SETTINGS and the PING behind it
};

}  // namespace engine_test
