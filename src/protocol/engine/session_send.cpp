// spdy_session: the output side. Streams we open, data we send within the
// peer's window, what the application consumed, resets.
//
// Data goes straight into the output in submission order, across streams:
// Go's receiver can deadlock when a byte stream's data overtakes the
// message naming it. Only a stream that is out of window (peers that do
// flow control: its own window, or the SPDY/3.1 session window) keeps its
// data in its own queue until a WINDOW_UPDATE.
#include <algorithm>
#include <string>

#include "engine/session_impl.hpp"
#include "engine/stream_headers.hpp"

namespace libchan::detail::engine {
namespace {

std::string str(std::uint64_t v) { return std::to_string(v); }

}  // namespace

void spdy_session::impl::refuse_call(std::error_code& ec, errc code, std::string why) {
  ec = make_error_code(code);
  error_text = std::move(why);
}

stream_id spdy_session::impl::open_stream(std::uint64_t ref,
                                          std::optional<std::uint64_t> parent_ref,
                                          stream_id associated, std::error_code& ec) {
  ec.clear();
  if (failed || eof) {
    refuse_call(ec, errc::closed, "the session ended");
    return 0;
  }
  if (goaway_sent || peer_goaway) {
    refuse_call(ec, errc::closed,
                goaway_sent ? "the session is shutting down" : "the peer sent GOAWAY");
    return 0;
  }
  if (streams.size() >= opts.limits.max_concurrent_streams) {
    refuse_call(ec, errc::limit_exceeded,
                "too many open streams (max_concurrent_streams = " +
                    str(opts.limits.max_concurrent_streams) + ")");
    return 0;
  }
  if (peer_max_streams != std::numeric_limits<std::uint32_t>::max()) {
    const auto ours = std::count_if(streams.begin(), streams.end(),
                                    [](const auto& e) { return !e.second.info.remote; });
    if (static_cast<std::uint64_t>(ours) >= peer_max_streams) {
      refuse_call(ec, errc::limit_exceeded,
                  "too many open streams (the peer's SETTINGS_MAX_CONCURRENT_STREAMS = " +
                      str(peer_max_streams) + ")");
      return 0;
    }
  }
  if (next_id > spdy::max_stream_id) {
    refuse_call(ec, errc::limit_exceeded, "stream ids exhausted (2^31-1)");
    return 0;
  }
  if (associated > spdy::max_stream_id) {
    refuse_call(ec, errc::invalid_argument, "associated stream id above 2^31-1");
    return 0;
  }
  const stream_id id = next_id;
  next_id += 2;
  std::vector<std::uint8_t> block;
  encoder.encode(stream_headers(ref, parent_ref), block);
  queue_frame(spdy::syn_stream_frame{id, associated, 0, 0, 0, block}, false);
  streams.try_emplace(id, stream_info{id, ref, parent_ref, associated, false, false},
                      peer_initial_window, static_cast<std::int32_t>(opts.limits.initial_window));
  return id;
}

std::size_t spdy_session::impl::stream_queue_cap() const noexcept {
  return std::max<std::size_t>(opts.limits.max_output_queue / 16, 1);
}

std::size_t spdy_session::impl::submit(stream_id id, bytes_view data, bool fin, bool whole,
                                       bool partial, std::uint64_t mark, std::error_code& ec) {
  ec.clear();
  refusal_waits = false;
  auto it = streams.find(id);
  if (it == streams.end()) {
    refuse_call(ec, errc::closed, "stream " + str(id) + " is not open");
    return 0;
  }
  stream& s = it->second;
  if (!s.we_can_send()) {
    refuse_call(ec, errc::closed, "stream " + str(id) + " is closed for sending");
    return 0;
  }
  if (whole && data.size() > spdy::max_frame_length) {
    refuse_call(ec, errc::limit_exceeded,
                "DATA frame of " + str(data.size()) + " bytes exceeds the SPDY limit (" +
                    str(spdy::max_frame_length) + " bytes)");
    return 0;
  }
  if (whole && peer_flow_control &&
      static_cast<std::int64_t>(data.size()) >
          std::max<std::int64_t>(peer_initial_window, s.send.size())) {
    refuse_call(ec, errc::limit_exceeded,
                "DATA frame of " + str(data.size()) + " bytes exceeds the peer's window (" +
                    str(static_cast<std::uint64_t>(peer_initial_window)) + " bytes)");
    return 0;
  }
  if (data.empty() && !fin) return 0;

  // What can go out now, and what would wait for the peer's window.
  std::size_t now = data.size();
  if (peer_flow_control) {
    const std::size_t avail = s.queue.empty() ? send_allowance(s) : 0;
    now = whole ? (avail >= data.size() ? data.size() : 0) : std::min(data.size(), avail);
  }
  const std::size_t wait = data.size() - now;
  // The output is shared by every stream and drained by the connection:
  // when it is full, everybody waits (a lone FIN is always taken).
  if (now > 0 && !out.empty() && out.size() + now > opts.limits.max_output_queue) {
    output_blocked = true;
    refusal_waits = true;
    refuse_call(
        ec, errc::limit_exceeded,
        "output queue full (max_output_queue = " + str(opts.limits.max_output_queue) + " bytes)");
    return 0;
  }
  // Data waiting for a window has its own budget, so that a stalled stream
  // cannot hold up the others: a share per stream, and max_output_queue for
  // all of them. A stream with nothing waiting may always queue one
  // submission when nothing else waits.
  if (wait > 0) {
    const bool stream_full = s.queued > 0 && s.queued + wait > stream_queue_cap();
    const bool session_full = pending > 0 && pending + wait > opts.limits.max_output_queue;
    if (stream_full || session_full) {
      refusal_waits = true;
      if (!s.refused) {
        s.refused = true;
        refused.push_back(id);
      }
      const std::string why =
          stream_full ? "stream " + str(id) + " waits for the peer's window with " + str(s.queued) +
                            " bytes queued (max_output_queue / 16 = " + str(stream_queue_cap()) +
                            " bytes per stream)"
                      : "data waiting for the peer's windows fills max_output_queue (" +
                            str(opts.limits.max_output_queue) + " bytes)";
      if (!partial || whole || now == 0) {
        refuse_call(ec, errc::limit_exceeded, why);
        return 0;
      }
      // Only what fits the window now; the caller offers the rest later.
      bool fin_done = false;
      if (mark != 0) marks.push_back({mark, out.end_offset()});
      const std::size_t done = emit(s, data.first(now), false, false, fin_done, mark);
      refuse_call(ec, errc::limit_exceeded, why);
      return done;
    }
  }

  bool fin_done = false;
  std::size_t done = 0;
  const std::uint64_t at = out.end_offset();
  if (s.queue.empty()) done = emit(s, data, fin, whole, fin_done, mark);
  if (mark != 0 && done > 0) marks.push_back({mark, at});
  if (done < data.size() || (fin && !fin_done)) {
    const bytes_view rest = data.subspan(done);
    if (!joins_last_pending(s, rest, fin, whole, done == 0 ? mark : 0)) {
      pending_data item;
      if (done == 0) item.mark = mark;
      item.bytes.assign(rest.begin(), rest.end());
      item.fin = fin;
      item.whole = whole;
      s.queue.push_back(std::move(item));
    }
    s.queued += rest.size();
    pending += rest.size();
  }
  if (fin) {
    s.state =
        s.state == stream_state::open ? stream_state::half_closed_local : stream_state::closing;
    finish_if_done(id);
  }
  return data.size();
}

bool spdy_session::impl::joins_last_pending(stream& s, bytes_view rest, bool fin, bool whole,
                                            std::uint64_t mark) {
  // A sender that outruns the peer's window queues one small message after
  // another: they share a buffer instead of taking an allocation each. Only
  // plain stream data joins: a v0.1 message is a frame of its own, a mark
  // is reported at its item's first byte, and nothing follows a FIN.
  if (s.queue.empty() || fin || whole || mark != 0) return false;
  pending_data& last = s.queue.back();
  if (last.fin || last.whole || last.bytes.size() + rest.size() > max_joined_pending) return false;
  last.bytes.insert(last.bytes.end(), rest.begin(), rest.end());
  return true;
}

void spdy_session::impl::wake_refused() {
  if (refused.empty()) return;
  // Each may be refused again, and listed anew.
  for (stream_id id : std::exchange(refused, {})) {
    auto it = streams.find(id);
    if (it == streams.end() || !it->second.refused) continue;
    it->second.refused = false;
    events.on_stream_ready(id);
  }
}

std::size_t spdy_session::impl::emit(stream& s, bytes_view data, bool fin, bool whole,
                                     bool& fin_done, std::uint64_t mark) {
  fin_done = false;
  if (data.empty()) {
    if (fin) {
      write_data(s, {}, true);
      fin_done = true;
    }
    return 0;
  }
  const std::size_t max_frame = max_send_frame();
  std::size_t off = 0;
  while (off < data.size()) {
    std::size_t n = data.size() - off;
    if (!whole) n = std::min(n, max_frame);
    if (peer_flow_control) {
      const std::size_t avail = send_allowance(s);
      if (whole ? avail < n : avail == 0) {
        // A whole frame larger than any session window the peer will ever
        // open waits for good: a peer can't tell us its largest window.
        if (peer_session_flow_control && session_send < static_cast<std::int64_t>(whole ? n : 1))
          wait_for_session(s);
        break;
      }
      n = std::min(n, avail);
    }
    const bool last = off + n == data.size();
    // A message naming descriptors starts a frame: the peer decodes a
    // frame once it is whole, and holds the descriptors that came with its
    // first bytes until then (a frame of many such messages would make it
    // hold the descriptors of all of them).
    write_data(s, data.subspan(off, n), last && fin, !whole && (mark == 0 || off > 0));
    off += n;
  }
  fin_done = fin && off == data.size();
  return off;
}

void spdy_session::impl::write_data(stream& s, bytes_view payload, bool fin, bool joinable) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  // Windows are counted exactly even for peers without flow control (they
  // may go negative), so a peer that turns out to do it finds them true.
  if (peer_flow_control) {
    s.send.consume(n);
  } else {
    s.send.consume_unchecked(n);
  }
  session_send -= n;  // counted exactly, even before the peer enforces it
  const stream_id id = s.info.id;
  // Joined to the stream's frame before it, when that is still queued last:
  // never for a message that must be a frame of its own (v0.1).
  if (joinable && !fin && n > 0 && out.extend_data(id, payload, max_send_frame())) return;
  out.append_data(id, fin, payload, [&](std::vector<std::uint8_t>& v) {
    spdy::pack_data_header(v, id, fin ? spdy::flags::fin : 0, n);
  });
}

std::uint32_t spdy_session::impl::send_allowance(const stream& s) const noexcept {
  const std::uint32_t avail = s.send.available();
  if (!peer_session_flow_control) return avail;
  return static_cast<std::uint32_t>(std::clamp<std::int64_t>(session_send, 0, avail));
}

void spdy_session::impl::wait_for_session(stream& s) {
  if (s.waits_for_session) return;
  s.waits_for_session = true;
  session_waiters.push_back(s.info.id);
}

void spdy_session::impl::flush(stream_id id) {
  auto it = streams.find(id);
  if (it == streams.end()) return;
  stream& s = it->second;
  const std::size_t before = pending;
  while (!s.queue.empty()) {
    pending_data& item = s.queue.front();
    const bytes_view rest = bytes_view(item.bytes).subspan(item.offset);
    // A whole frame larger than any window the peer will open would wait
    // forever (its SETTINGS shrank the window after we queued it).
    if (item.whole && peer_flow_control && rest.size() > s.send.available() &&
        static_cast<std::int64_t>(rest.size()) > peer_initial_window) {
      queue_rst(id, spdy::rst_status::internal_error);
      close_stream(id, make_error_code(errc::limit_exceeded),
                   "DATA frame of " + str(rest.size()) +
                       " bytes can never fit the peer's window (" +
                       str(static_cast<std::uint64_t>(peer_initial_window)) + " bytes)");
      return;
    }
    bool fin_done = false;
    const std::uint64_t at = out.end_offset();
    const std::size_t n =
        emit(s, rest, item.fin, item.whole, fin_done, item.offset == 0 ? item.mark : 0);
    if (item.mark != 0 && item.offset == 0 && n > 0) marks.push_back({item.mark, at});
    item.offset += n;
    s.queued -= n;
    pending -= n;
    if (item.offset < item.bytes.size() || (item.fin && !fin_done)) break;
    s.queue.pop_front();
  }
  const bool moved = pending < before;
  finish_if_done(id);
  // Room for waiting data, or a window, opened: refused senders may retry.
  if (moved) wake_refused();
}

void spdy_session::impl::flush_all() {
  std::vector<stream_id> ids;
  for (const auto& [id, s] : streams) {
    if (!s.queue.empty()) ids.push_back(id);
  }
  for (stream_id id : ids) flush(id);
}

void spdy_session::impl::consume(stream_id id, std::size_t n) {
  auto it = streams.find(id);
  if (it == streams.end()) {
    auto c = closed_unconsumed.find(id);
    if (c == closed_unconsumed.end()) return;
    const std::uint64_t m = std::min<std::uint64_t>(n, c->second);
    c->second -= m;
    unconsumed -= m;
    if (c->second == 0) closed_unconsumed.erase(c);
    release_session(m);
    return;
  }
  stream& s = it->second;
  const std::uint64_t m = std::min<std::uint64_t>(n, s.unconsumed);
  s.unconsumed -= m;
  unconsumed -= m;
  // The part that was counted against our window goes back to it.
  std::uint64_t counted = std::min<std::uint64_t>(m, s.recv.buffered());
  while (counted > 0) {
    const auto k = static_cast<std::uint32_t>(std::min<std::uint64_t>(counted, 0x7FFFFFFF));
    s.recv.consume(k);
    counted -= k;
  }
  // Go ignores WINDOW_UPDATE: keep the wire like Go's for peers like it.
  if (peer_flow_control && s.peer_can_send()) {
    if (const std::uint32_t delta = s.recv.take_update(); delta > 0) {
      queue_frame(spdy::window_update_frame{id, delta}, false);
    }
  }
  release_session(m);
}

void spdy_session::impl::release_session(std::uint64_t n) {
  // Every received byte is counted (see on_data); the min() only guards
  // against a caller consuming more than arrived.
  std::uint64_t counted = std::min<std::uint64_t>(n, session_recv.buffered());
  while (counted > 0) {
    const auto k = static_cast<std::uint32_t>(std::min<std::uint64_t>(counted, 0x7FFFFFFF));
    session_recv.consume(k);
    counted -= k;
  }
  if (!peer_flow_control) return;
  if (const std::uint32_t delta = session_recv.take_update(); delta > 0) {
    queue_frame(spdy::window_update_frame{0, delta}, false);
  }
}

void spdy_session::impl::reset(stream_id id, spdy::rst_status status) {
  if (streams.count(id) == 0) return;
  queue_rst(id, status);
  close_stream(id, make_error_code(errc::closed),
               "reset locally: " + spdy::rst_status_name(status));
}

}  // namespace libchan::detail::engine
