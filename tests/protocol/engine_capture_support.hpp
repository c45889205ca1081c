// Reading captured sessions for the engine tests: what one direction
// holds (read with the framing layer alone) and feeding it in the captured
// read sizes.
#pragma once

#include <set>
#include <sstream>

#include "engine_test_support.hpp"

namespace engine_test {

/// What one direction of a captured session holds, read with the framing
/// layer alone: the yardstick for what an engine must report.
struct direction_facts {
  struct syn {
    stream_id id;
    stream_id assoc;
    std::uint8_t flags;
    spdy::header_list headers;
  };
  std::vector<syn> syns;
  std::map<stream_id, spdy::header_list> replies;
  std::map<stream_id, std::string> data;
  std::map<stream_id, std::vector<std::size_t>> frame_sizes;
  std::set<stream_id> fins;
  std::vector<std::pair<stream_id, spdy::rst_status>> resets;
  std::vector<spdy::goaway_frame> goaways;
  std::vector<spdy::settings_frame> settings;
  /// Bytes up to the end of the last complete frame: a capture may end in
  /// the middle of one (the peer hung up while writing).
  std::size_t complete = 0;
};

/// Every complete frame of `wire`, header blocks inflated; a truncated
/// last frame is left out and `complete` says where it starts.
inline std::vector<spdy_test::read_frame> read_complete(const bytes& wire, std::size_t& complete) {
  std::vector<spdy_test::read_frame> frames;
  spdy::frame_parser parser;
  spdy::header_decoder decoder;
  std::size_t at = 0;
  while (at < wire.size()) {
    auto r = parser.parse(spdy::bytes_view(wire).subspan(at));
    if (r.status == spdy::unpack_status::need_more) break;
    if (r.status == spdy::unpack_status::error) {
      ADD_FAILURE() << "at offset " << at << ": " << r.error.message;
      break;
    }
    spdy_test::read_frame f{at, r.consumed, r.value, {}};
    if (auto* block = spdy_test::header_block_of(f.value)) {
      if (auto err = decoder.decode(*block, f.headers)) {
        ADD_FAILURE() << "header block at offset " << at << ": " << err->message;
        break;
      }
    }
    frames.push_back(std::move(f));
    at += r.consumed;
  }
  complete = at;
  return frames;
}

inline direction_facts facts_of(const bytes& wire) {
  direction_facts facts;
  for (const auto& f : read_complete(wire, facts.complete)) {
    if (const auto* s = std::get_if<spdy::syn_stream_frame>(&f.value)) {
      facts.syns.push_back({s->stream, s->associated, s->flags, f.headers});
      if (s->fin()) facts.fins.insert(s->stream);
    } else if (const auto* r = std::get_if<spdy::syn_reply_frame>(&f.value)) {
      facts.replies[r->stream] = f.headers;
      if (r->fin()) facts.fins.insert(r->stream);
    } else if (const auto* d = std::get_if<spdy::data_frame>(&f.value)) {
      if (!d->payload.empty()) {
        facts.data[d->stream] += text_of(d->payload);
        facts.frame_sizes[d->stream].push_back(d->payload.size());
      }
      if (d->fin()) facts.fins.insert(d->stream);
    } else if (const auto* x = std::get_if<spdy::rst_stream_frame>(&f.value)) {
      facts.resets.emplace_back(x->stream, x->status);
    } else if (const auto* g = std::get_if<spdy::goaway_frame>(&f.value)) {
      facts.goaways.push_back(*g);
    } else if (const auto* st = std::get_if<spdy::settings_frame>(&f.value)) {
      facts.settings.push_back(*st);
    }
  }
  return facts;
}

/// The read sizes of one direction ("C->S" or "S->C") from chunks.log.
inline std::vector<std::size_t> chunk_sizes(const std::string& folder, const std::string& dir) {
  std::istringstream in(spdy_test::read_text(spdy_test::capture_path(folder + "/chunks.log")));
  std::vector<std::size_t> sizes;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string t, d;
    std::size_t offset = 0, length = 0;
    if (fields >> t >> d >> offset >> length && d == dir) sizes.push_back(length);
  }
  return sizes;
}

/// Feeds `wire` in the given read sizes (then whatever is left), keeping
/// untaken bytes like a driver; fails the test if more than `left_over`
/// bytes (a truncated last frame) are left untaken.
inline void feed_in_chunks(endpoint& e, const bytes& wire, const std::vector<std::size_t>& sizes,
                           std::size_t left_over = 0) {
  std::size_t at = 0;
  for (std::size_t n : sizes) {
    if (at >= wire.size()) break;
    n = std::min(n, wire.size() - at);
    e.feed(spdy::bytes_view(wire).subspan(at, n));
    at += n;
  }
  if (at < wire.size()) e.feed(spdy::bytes_view(wire).subspan(at));
  EXPECT_EQ(e.input.size(), left_over) << "bytes not taken";
}

inline void feed_bytewise(endpoint& e, const bytes& wire, std::size_t left_over = 0) {
  feed_in_chunks(e, wire, std::vector<std::size_t>(wire.size(), 1), left_over);
}

}  // namespace engine_test
