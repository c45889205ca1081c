// spdy_session: the input side. One frame at a time from the parser, each
// answered by the rules of SPDY/3 and of the libchan dialects.
#include <algorithm>
#include <string>
#include <utility>

#include "engine/session_impl.hpp"
#include "engine/stream_headers.hpp"

namespace libchan::detail::engine {
namespace {

std::string str(std::uint64_t v) { return std::to_string(v); }

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

std::size_t spdy_session::impl::receive(bytes_view input) {
  if (failed || eof || in_receive) return 0;
  // New bytes are a sign of life; the unfinished frame offered again at
  // every pass is not, or a peer that sends half a frame and goes silent
  // would hold the keepalive off forever. Input offered while backpressure
  // keeps us from taking it counts too: then the peer is not the one stuck.
  if (input.size() > left_last_time || (!input.empty() && paused())) activity = true;
  in_receive = true;
  struct reset_flag {
    bool& flag;
    ~reset_flag() { flag = false; }
  } guard{in_receive};

  std::size_t used = 0;
  while (used < input.size() && !failed && !eof && !paused()) {
    auto r = parser.parse(input.subspan(used));
    used += r.consumed;
    if (r.status == spdy::unpack_status::need_more) break;
    if (r.status == spdy::unpack_status::error) {
      on_failure(r.error);
    } else {
      dispatch(r.value);
    }
    // A peer that keeps asking (PING, SYN_STREAM, bad frames) and never
    // reads the answers would make them pile up without bound.
    if (out.reply_bytes() > opts.limits.max_output_queue && !failed) {
      fail(errc::limit_exceeded,
           "peer does not read: answers queued exceed max_output_queue (" +
               str(opts.limits.max_output_queue) + " bytes)",
           spdy::goaway_status::protocol_error);
    }
  }
  left_last_time = input.size() - used;
  return used;
}

void spdy_session::impl::dispatch(const spdy::frame& f) {
  std::visit(overloaded{
                 [this](const spdy::data_frame& d) { on_data(d); },
                 [this](const spdy::syn_stream_frame& s) { on_syn_stream(s); },
                 [this](const spdy::syn_reply_frame& s) { on_syn_reply(s); },
                 [this](const spdy::rst_stream_frame& r) { on_rst_stream(r); },
                 [this](const spdy::settings_frame& s) { on_settings(s); },
                 [this](const spdy::ping_frame& p) { on_ping(p); },
                 [this](const spdy::goaway_frame& g) { on_goaway(g); },
                 [this](const spdy::headers_frame& h) { on_headers(h); },
                 [this](const spdy::window_update_frame& w) { on_window_update(w); },
                 // SPDY/3 says to ignore both; libchan has no use for certificates.
                 [](const spdy::credential_frame&) {},
                 [](const spdy::unknown_control_frame&) {},
             },
             f);
}

void spdy_session::impl::on_failure(const spdy::failure& f) {
  if (f.fatal()) {
    fail(f.code, rename_limits(f.message), f.goaway);
  } else {
    stream_error(f.stream, f.rst, f.code, rename_limits(f.message));
  }
}

bool spdy_session::impl::inflate(bytes_view block, std::optional<spdy::failure>& bad) {
  // Every block goes through the one inflater, even for frames we then
  // reject: the zlib context is shared by the whole direction.
  bad = decoder.decode(block, headers);
  if (bad && bad->fatal()) {
    fail(bad->code, rename_limits(bad->message), bad->goaway);
    return false;
  }
  if (bad) bad->message = rename_limits(bad->message);
  return true;
}

bool spdy_session::impl::peer_parity(stream_id id) const noexcept {
  // The dialer (SPDY client) uses odd ids for streams and pings.
  return (id % 2 == 1) == (opts.side == role::acceptor);
}

void spdy_session::impl::on_data(const spdy::data_frame& f) {
  const stream_id id = f.stream;
  const auto n = static_cast<std::uint32_t>(f.payload.size());
  // SPDY/3.1: every DATA payload counts against the session window, on
  // whatever stream it arrives; what we drop goes straight back.
  const bool enforce_session = peer_session_flow_control && peer_knows_our_windows;
  const bool counted = n > 0 && session_recv.receive(n, !enforce_session);
  if (n > 0 && !counted) {
    fail(errc::protocol_error,
         "FLOW_CONTROL_ERROR: DATA of " + str(n) + " bytes on stream " + str(id) +
             " overruns the session receive window (session_window = " +
             str(static_cast<std::uint64_t>(session_recv.size())) + " bytes, " +
             str(static_cast<std::uint64_t>(std::max<std::int64_t>(0, session_recv.available()))) +
             " left)",
         spdy::goaway_status::protocol_error);
    return;
  }
  auto it = streams.find(id);
  if (it == streams.end()) {
    if (counted) release_session(n);
    stream_error(id, spdy::rst_status::invalid_stream, errc::protocol_error,
                 "DATA on unknown stream " + str(id));
    return;
  }
  stream& s = it->second;
  if (!s.peer_can_send()) {
    if (counted) release_session(n);
    stream_error(id, spdy::rst_status::stream_already_closed, errc::protocol_error,
                 "DATA on stream " + str(id) + " after the peer's FIN");
    return;
  }
  if (n > 0) {
    // Peers without flow control (Go), and any peer before it has seen our
    // SETTINGS, may run past the window: it counts everything then, goes
    // negative, and max_unconsumed bounds the memory.
    if (!s.recv.receive(n, !enforce_stream_windows())) {
      if (counted) release_session(n);
      stream_error(id, spdy::rst_status::flow_control_error, errc::protocol_error,
                   "DATA of " + str(n) + " bytes on stream " + str(id) +
                       " overruns its receive window (" + str(s.recv.available()) + " bytes left)");
      return;
    }
    s.unconsumed += n;
    unconsumed += n;
    events.on_data(id, f.payload);
  }
  if (f.fin()) remote_fin(id);
}

void spdy_session::impl::on_syn_stream(const spdy::syn_stream_frame& f) {
  std::optional<spdy::failure> bad;
  if (!inflate(f.header_block, bad)) return;
  const stream_id id = f.stream;
  if (!peer_parity(id)) {
    stream_error(id, spdy::rst_status::protocol_error, errc::protocol_error,
                 "SYN_STREAM " + str(id) + " has the wrong parity (the " +
                     (opts.side == role::acceptor ? "dialer opens odd" : "acceptor opens even") +
                     " stream ids)");
    return;
  }
  if (id <= last_peer_id) {
    stream_error(id, spdy::rst_status::protocol_error, errc::protocol_error,
                 "SYN_STREAM " + str(id) + " is not above the peer's previous stream id " +
                     str(last_peer_id));
    return;
  }
  last_peer_id = id;
  if (bad) {
    stream_error(id, bad->rst, bad->code, "SYN_STREAM " + str(id) + ": " + bad->message);
    return;
  }
  if (wire == dialect::detect) wire = detect_dialect(headers);
  if (goaway_sent) {
    stream_error(id, spdy::rst_status::refused_stream, errc::closed,
                 "SYN_STREAM " + str(id) + " after our GOAWAY");
    return;
  }
  if (streams.size() >= opts.limits.max_concurrent_streams) {
    stream_error(id, spdy::rst_status::refused_stream, errc::limit_exceeded,
                 "SYN_STREAM " + str(id) + " refused: max_concurrent_streams (" +
                     str(opts.limits.max_concurrent_streams) + ") streams are open");
    return;
  }
  std::string why;
  const auto refs = read_stream_refs(headers, why);
  if (!refs) {
    why = "SYN_STREAM " + str(id) + ": " + why;
    if (wire == dialect::v0_1) {
      // Go v0.1.0's answer to a stream it cannot use.
      std::vector<std::uint8_t> block;
      encoder.encode(reply_headers(wire, 400), block);
      queue_frame(spdy::syn_reply_frame{id, spdy::flags::fin, block}, true);
      events.on_peer_error(id, make_error_code(errc::protocol_error),
                           why + " (answered status 400)");
    } else {
      stream_error(id, spdy::rst_status::protocol_error, errc::protocol_error, why);
    }
    return;
  }

  last_good_peer_id = id;
  const stream_info info{id, refs->ref, refs->parent_ref, f.associated, true, f.unidirectional()};
  auto [it, inserted] = streams.try_emplace(id, info, peer_initial_window,
                                            static_cast<std::int32_t>(opts.limits.initial_window));
  if (f.unidirectional()) {
    // A one-way stream (server push): we may not send, so no reply either.
    it->second.state = stream_state::half_closed_local;
  } else {
    // At once: Go drops DATA on its streams until their SYN_REPLY arrives.
    std::vector<std::uint8_t> block;
    encoder.encode(reply_headers(wire, 200), block);
    queue_frame(spdy::syn_reply_frame{id, 0, block}, true);
  }
  events.on_stream_open(info);
  if (f.fin()) remote_fin(id);
}

void spdy_session::impl::on_syn_reply(const spdy::syn_reply_frame& f) {
  std::optional<spdy::failure> bad;
  if (!inflate(f.header_block, bad)) return;
  const stream_id id = f.stream;
  if (peer_parity(id)) {
    stream_error(id, spdy::rst_status::protocol_error, errc::protocol_error,
                 "SYN_REPLY for stream " + str(id) + ", which the peer opened itself");
    return;
  }
  auto it = streams.find(id);
  if (it == streams.end()) {
    if (id < next_id) return;  // ours, already closed or reset: a late reply
    stream_error(id, spdy::rst_status::protocol_error, errc::protocol_error,
                 "SYN_REPLY for stream " + str(id) + ", which was never opened");
    return;
  }
  if (bad) {
    stream_error(id, bad->rst, bad->code, "SYN_REPLY " + str(id) + ": " + bad->message);
    return;
  }
  if (it->second.replied) {
    stream_error(id, spdy::rst_status::stream_in_use, errc::protocol_error,
                 "second SYN_REPLY for stream " + str(id));
    return;
  }
  it->second.replied = true;
  // Reply headers mean nothing to Go, except v0.1's "status: 400": the peer
  // could not use the stream.
  const std::string* status = spdy::find_header(headers, "status");
  if (status == nullptr) status = spdy::find_header(headers, ":status");
  if (status != nullptr && !status->empty() && (*status)[0] != '2') {
    stream_error(id, spdy::rst_status::cancel, errc::protocol_error,
                 "peer refused stream " + str(id) + " (status " + status->substr(0, 32) + ")");
    return;
  }
  if (f.fin()) remote_fin(id);
}

void spdy_session::impl::on_rst_stream(const spdy::rst_stream_frame& f) {
  // Never answered: a reset for a stream we no longer know is a race.
  close_stream(f.stream, make_error_code(errc::closed),
               "reset by peer: " + spdy::rst_status_name(f.status));
}

void spdy_session::impl::start_flow_control() {
  if (peer_flow_control) return;
  peer_flow_control = true;
  // Our session window starts at SPDY/3.1's 64 KiB, as the peer assumes:
  // open it to its configured size, adding what was consumed meanwhile.
  const auto target = static_cast<std::int32_t>(
      std::max<std::uint32_t>(opts.limits.session_window, spdy::default_initial_window_size));
  const auto grow = static_cast<std::uint32_t>(target - session_recv.size());
  session_recv.resize(target);
  if (const std::uint32_t delta = grow + session_recv.take_update(); delta > 0) {
    queue_frame(spdy::window_update_frame{0, delta}, false);
  }
  // What was consumed before goes back to the peer now, so a peer that
  // kept count all along finds its windows open.
  for (auto& [id, s] : streams) {
    if (!s.peer_can_send()) continue;
    if (const std::uint32_t delta = s.recv.take_update(); delta > 0) {
      queue_frame(spdy::window_update_frame{id, delta}, false);
    }
  }
}

void spdy_session::impl::on_settings(const spdy::settings_frame& f) {
  start_flow_control();
  if (const auto* e = f.find(spdy::setting_id::initial_window_size)) {
    if (auto err = spdy::check_initial_window_setting(e->value)) {
      fail(err->code, err->message, err->goaway);
      return;
    }
    const auto next = static_cast<std::int32_t>(e->value);
    std::vector<stream_id> overflow;
    for (auto& [id, s] : streams) {
      if (!s.send.apply_initial_change(peer_initial_window, next)) overflow.push_back(id);
    }
    peer_initial_window = next;
    for (stream_id id : overflow) {
      stream_error(id, spdy::rst_status::flow_control_error, errc::protocol_error,
                   "SETTINGS_INITIAL_WINDOW_SIZE " + str(e->value) +
                       " pushes the send window of stream " + str(id) + " above 2^31-1");
    }
  }
  if (const auto* e = f.find(spdy::setting_id::max_concurrent_streams)) {
    peer_max_streams = e->value;
  }
  flush_all();
  wake_refused();
  events.on_settings(f);
}

void spdy_session::impl::on_ping(const spdy::ping_frame& f) {
  // Ids of the peer's parity are its pings; ours come back as answers,
  // and any input already counts as a sign of life.
  if (peer_parity(f.id)) {
    queue_frame(spdy::ping_frame{f.id}, true);
  } else if (f.id == settings_ping_id) {
    peer_knows_our_windows = true;
  }
}

void spdy_session::impl::on_goaway(const spdy::goaway_frame& f) {
  if (peer_goaway) return;
  peer_goaway = true;
  const std::string reason = "peer sent GOAWAY (status " + spdy::goaway_status_name(f.status) + ")";
  if (!end_reported) {
    end_reported = true;
    events.on_session_end(make_error_code(errc::closed), reason);
  }
  // Streams we opened above last-good never reached the peer's handler;
  // the others may still finish.
  const stream_id last = f.last_good;
  fail_streams(make_error_code(errc::closed),
               reason + ": stream not processed (last good stream " + str(last) + ")",
               [last](const stream& s) { return !s.info.remote && s.info.id > last; });
}

void spdy_session::impl::on_headers(const spdy::headers_frame& f) {
  std::optional<spdy::failure> bad;
  if (!inflate(f.header_block, bad)) return;
  auto it = streams.find(f.stream);
  if (it == streams.end()) return;  // Go ignores these too
  if (bad) {
    stream_error(f.stream, bad->rst, bad->code, "HEADERS " + str(f.stream) + ": " + bad->message);
    return;
  }
  // The headers mean nothing to libchan, but a FIN still half-closes.
  if (f.fin()) remote_fin(f.stream);
}

void spdy_session::impl::on_window_update(const spdy::window_update_frame& f) {
  start_flow_control();
  if (f.stream == 0) return on_session_window_update(f.delta);
  auto it = streams.find(f.stream);
  if (it == streams.end()) return;
  if (!it->second.send.grow(f.delta)) {
    stream_error(f.stream, spdy::rst_status::flow_control_error, errc::protocol_error,
                 "WINDOW_UPDATE of " + str(f.delta) + " pushes the send window of stream " +
                     str(f.stream) + " above 2^31-1");
    return;
  }
  flush(f.stream);
  // A stream refused with nothing queued waits for its window alone.
  wake_refused();
}

void spdy_session::impl::on_session_window_update(std::uint32_t delta) {
  // SPDY/3.1's session window: no libchan peer we know sends it, but a peer
  // that does announces one, and from now on we keep within it.
  peer_session_flow_control = true;
  if (session_send + delta > spdy::max_window_size) {
    fail(errc::protocol_error,
         "WINDOW_UPDATE of " + str(delta) + " pushes the session send window above 2^31-1",
         spdy::goaway_status::protocol_error);
    return;
  }
  session_send += delta;
  // In the order they ran out; one that runs out again goes to the back.
  for (stream_id id : std::exchange(session_waiters, {})) {
    auto it = streams.find(id);
    if (it == streams.end()) continue;
    it->second.waits_for_session = false;
    flush(id);
  }
  wake_refused();
}

void spdy_session::impl::remote_fin(stream_id id) {
  auto it = streams.find(id);
  if (it == streams.end()) return;
  stream& s = it->second;
  if (s.state == stream_state::open) {
    s.state = stream_state::half_closed_remote;
  } else if (s.state == stream_state::half_closed_local) {
    s.state = stream_state::closing;
  } else {
    return;
  }
  events.on_remote_close(id);
  finish_if_done(id);
}

}  // namespace libchan::detail::engine
