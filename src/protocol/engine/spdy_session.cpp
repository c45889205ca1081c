// spdy_session: construction, lifecycle (stream close, session failure,
// GOAWAY), keepalive and the public surface that forwards to the impl.
#include <algorithm>
#include <string>

#include "engine/session_impl.hpp"

namespace libchan::detail::engine {
namespace {

std::string str(std::uint64_t v) { return std::to_string(v); }

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

spdy::frame_limits frame_limits_for(const limits& l, std::string& control_limit_name) {
  spdy::frame_limits f;
  f.max_data_payload = std::min(l.max_frame_size, spdy::max_frame_length);
  // Control frames carry header blocks: SYN_STREAM adds 10 bytes to one.
  // Buffering more than that before failing buys nothing.
  const std::size_t control =
      std::max<std::size_t>(l.max_header_block + 10, 1024);  // room for SETTINGS
  if (control < f.max_data_payload) {
    f.max_control_payload = static_cast<std::uint32_t>(control);
    control_limit_name = "max_header_block + 10";
  } else {
    f.max_control_payload = f.max_data_payload;
    control_limit_name = "max_frame_size";
  }
  return f;
}

spdy::header_limits header_limits_for(const limits& l) {
  spdy::header_limits h;
  h.max_compressed_size = l.max_header_block;
  h.max_decompressed_size = l.max_header_block_decompressed;
  return h;
}

}  // namespace

spdy_session::impl::impl(const options& o, handler& h)
    : opts(o),
      events(h),
      wire(o.wire),
      parser(frame_limits_for(o.limits, control_limit_name)),
      decoder(header_limits_for(o.limits)),
      next_id(o.side == role::dialer ? 1 : 2),
      next_ping_id(o.side == role::dialer ? 1 : 2) {
  if (o.side == role::dialer && o.wire == dialect::detect) {
    throw Error(errc::invalid_argument, "spdy_session: only the acceptor can detect the dialect");
  }
  if (o.limits.initial_window > static_cast<std::uint32_t>(spdy::max_window_size)) {
    throw Error(errc::invalid_argument, "spdy_session: limits.initial_window above 2^31-1");
  }
  if (o.limits.session_window > static_cast<std::uint32_t>(spdy::max_window_size)) {
    throw Error(errc::invalid_argument, "spdy_session: limits.session_window above 2^31-1");
  }
  // Our receive window, announced first thing. Go ignores it; jschan and
  // we honour it.
  spdy::settings_frame settings;
  settings.entries.push_back({static_cast<std::uint32_t>(spdy::setting_id::initial_window_size), 0,
                              o.limits.initial_window});
  settings.entries.insert(settings.entries.end(), o.extra_settings.begin(), o.extra_settings.end());
  queue_frame(settings, false);
  settings_ping_id = take_ping_id();
  queue_frame(spdy::ping_frame{settings_ping_id}, false);
}

std::uint32_t spdy_session::impl::take_ping_id() noexcept {
  const std::uint32_t id = next_ping_id;
  // Our ids keep our parity, wrapping inside 31 bits.
  next_ping_id += 2;
  if (next_ping_id > spdy::max_stream_id) next_ping_id = opts.side == role::dialer ? 1 : 2;
  return id;
}

bool spdy_session::impl::session_open() const noexcept {
  return !failed && !eof && !goaway_sent && !(peer_goaway && streams.empty());
}

bool spdy_session::impl::paused() const noexcept {
  // With nothing unconsumed there is always progress, whatever the limit.
  return held || (unconsumed > 0 && unconsumed >= opts.limits.max_unconsumed);
}

void spdy_session::impl::queue_frame(const spdy::frame& f, bool reply) {
  out.append([&f](std::vector<std::uint8_t>& v) { spdy::pack_frame(v, f); }, reply);
}

void spdy_session::impl::queue_rst(stream_id id, spdy::rst_status status) {
  queue_frame(spdy::rst_stream_frame{id, status}, true);
}

std::string spdy_session::impl::rename_limits(std::string message) const {
  // The framing layer names its own knobs; the user sets ours.
  replace_all(message, "max_data_payload", "max_frame_size");
  replace_all(message, "max_control_payload", control_limit_name);
  replace_all(message, "max_decompressed_size", "max_header_block_decompressed");
  replace_all(message, "max_compressed_size", "max_header_block");
  return message;
}

void spdy_session::impl::close_stream(stream_id id, std::error_code ec, const std::string& reason) {
  auto it = streams.find(id);
  if (it == streams.end()) return;
  stream& s = it->second;
  pending -= s.queued;
  const bool freed = s.queued > 0;
  drop_marks(s);
  if (s.waits_for_session) std::erase(session_waiters, id);
  if (s.refused) std::erase(refused, id);
  if (s.unconsumed > 0) closed_unconsumed[id] += s.unconsumed;
  streams.erase(it);
  events.on_stream_closed(id, ec, reason);
  check_drained();
  if (freed) wake_refused();
}

void spdy_session::impl::drop_marks(const stream& s) {
  for (const auto& item : s.queue)
    if (item.mark != 0 && item.offset == 0) marks.push_back({item.mark, 0});
}

void spdy_session::impl::finish_if_done(stream_id id) {
  auto it = streams.find(id);
  if (it == streams.end()) return;
  if (it->second.state == stream_state::closing && it->second.queue.empty()) {
    close_stream(id, {}, "");
  }
}

void spdy_session::impl::stream_error(stream_id id, spdy::rst_status status, errc code,
                                      const std::string& reason) {
  if (id == 0) {  // no stream to reset: the framing layer sees to this, but be sure
    fail(code, reason, spdy::goaway_status::protocol_error);
    return;
  }
  queue_rst(id, status);
  const std::string text = reason + " (answered RST_STREAM " + spdy::rst_status_name(status) + ")";
  if (streams.count(id) != 0) {
    close_stream(id, make_error_code(code), text);
  } else {
    events.on_peer_error(id, make_error_code(code), text);
  }
}

void spdy_session::impl::fail_streams(std::error_code ec, const std::string& reason,
                                      const std::function<bool(const stream&)>& which) {
  // Ids first: handlers may open, reset or close streams meanwhile.
  std::vector<stream_id> ids;
  for (const auto& [id, s] : streams) {
    if (which(s)) ids.push_back(id);
  }
  for (stream_id id : ids) close_stream(id, ec, reason);
}

void spdy_session::impl::fail(errc code, const std::string& reason, spdy::goaway_status status) {
  if (failed) return;
  failed = true;
  // Queued data will never be allowed out now; the GOAWAY goes right after
  // what is already in the output.
  for (auto& [id, s] : streams) {
    drop_marks(s);
    s.queue.clear();
    s.queued = 0;
    s.waits_for_session = false;
  }
  pending = 0;
  session_waiters.clear();
  refused.clear();
  if (!goaway_sent) {
    goaway_sent = true;
    queue_frame(spdy::goaway_frame{last_good_peer_id, status}, false);
  }
  const auto ec = make_error_code(code);
  if (!end_reported) {
    end_reported = true;
    events.on_session_end(ec, reason);
  }
  fail_streams(ec, reason, [](const stream&) { return true; });
}

void spdy_session::impl::check_drained() {
  if (output_blocked && out.size() < opts.limits.max_output_queue / 2) {
    output_blocked = false;
    events.on_output_drained();
  }
}

void spdy_session::impl::keepalive(steady_time now) {
  if (opts.keepalive_interval.count() <= 0 || failed || eof || goaway_sent) return;
  if (!ticked || activity) {
    ticked = true;
    activity = false;
    last_activity = now;
    ping_sent.reset();
    return;
  }
  if (ping_sent) {
    if (now - *ping_sent >= opts.keepalive_timeout) {
      fail(errc::disconnected,
           "peer did not answer PING within " + str(opts.keepalive_timeout.count()) + " ms",
           spdy::goaway_status::internal_error);
    }
    return;
  }
  if (now - last_activity >= opts.keepalive_interval) {
    queue_frame(spdy::ping_frame{take_ping_id()}, false);
    ping_sent = now;
  }
}

// --- the public surface ---

spdy_session::spdy_session(const options& opts, handler& events)
    : impl_(std::make_unique<impl>(opts, events)) {}

spdy_session::~spdy_session() = default;

std::size_t spdy_session::receive(std::span<const std::uint8_t> input) {
  return impl_->receive(input);
}

void spdy_session::receive_eof() {
  impl& m = *impl_;
  if (m.eof) return;
  m.eof = true;
  const std::string reason = "connection closed by peer";
  const auto ec = make_error_code(errc::disconnected);
  if (!m.end_reported) {
    m.end_reported = true;
    m.events.on_session_end(ec, reason);
  }
  m.fail_streams(ec, reason, [](const stream&) { return true; });
}

bool spdy_session::receive_paused() const noexcept { return impl_->paused(); }

void spdy_session::hold_input(bool on) noexcept { impl_->held = on; }

std::span<const std::uint8_t> spdy_session::pending_output() const noexcept {
  return impl_->out.front();
}

void spdy_session::consume_output(std::size_t n) {
  impl_->out.consume(n);
  impl_->check_drained();
}

std::size_t spdy_session::take_output(std::vector<std::uint8_t>& out) {
  const std::size_t n = impl_->out.take_front(out);
  if (n > 0) impl_->check_drained();
  return n;
}

bool spdy_session::want_read() const noexcept { return impl_->session_open(); }

bool spdy_session::want_write() const noexcept {
  return !impl_->out.empty() || impl_->session_open();
}

stream_id spdy_session::open_stream(std::uint64_t ref, std::optional<std::uint64_t> parent_ref,
                                    stream_id associated, std::error_code& ec) {
  return impl_->open_stream(ref, parent_ref, associated, ec);
}

void spdy_session::submit_data(stream_id id, std::span<const std::uint8_t> data, bool fin,
                               std::error_code& ec, std::uint64_t mark) {
  impl_->submit(id, data, fin, false, false, mark, ec);
}

std::size_t spdy_session::submit_some(stream_id id, std::span<const std::uint8_t> data, bool fin,
                                      std::error_code& ec, std::uint64_t mark) {
  return impl_->submit(id, data, fin, false, true, mark, ec);
}

void spdy_session::submit_frame(stream_id id, std::span<const std::uint8_t> data, bool fin,
                                std::error_code& ec, std::uint64_t mark) {
  impl_->submit(id, data, fin, true, false, mark, ec);
}

void spdy_session::take_marks(std::vector<output_mark>& out) {
  out.insert(out.end(), impl_->marks.begin(), impl_->marks.end());
  impl_->marks.clear();
}

std::uint64_t spdy_session::output_offset() const noexcept { return impl_->out.front_offset(); }

std::uint64_t spdy_session::output_end() const noexcept { return impl_->out.end_offset(); }

bool spdy_session::last_refusal_waits() const noexcept { return impl_->refusal_waits; }

bool spdy_session::data_waiting() const noexcept {
  const impl& m = *impl_;
  if (m.pending > 0) return true;
  return std::any_of(m.streams.begin(), m.streams.end(),
                     [](const auto& e) { return !e.second.queue.empty(); });
}

void spdy_session::consume(stream_id id, std::size_t n) { impl_->consume(id, n); }

void spdy_session::reset_stream(stream_id id, spdy::rst_status status) { impl_->reset(id, status); }

void spdy_session::shutdown() {
  impl& m = *impl_;
  if (m.goaway_sent || m.eof) return;
  m.goaway_sent = true;
  m.queue_frame(spdy::goaway_frame{m.last_good_peer_id, spdy::goaway_status::ok}, false);
}

void spdy_session::tick(steady_time now) { impl_->keepalive(now); }

std::optional<steady_time> spdy_session::next_deadline() const noexcept {
  const impl& m = *impl_;
  if (m.opts.keepalive_interval.count() <= 0 || m.failed || m.eof || m.goaway_sent) {
    return std::nullopt;
  }
  if (!m.ticked) return steady_time{};  // at once: the first tick starts the clock
  if (m.ping_sent) return *m.ping_sent + m.opts.keepalive_timeout;
  return m.last_activity + m.opts.keepalive_interval;
}

dialect spdy_session::wire_dialect() const noexcept { return impl_->wire; }

bool spdy_session::peer_does_flow_control() const noexcept { return impl_->peer_flow_control; }

bool spdy_session::peer_does_session_flow_control() const noexcept {
  return impl_->peer_session_flow_control;
}

std::uint64_t spdy_session::unconsumed_bytes() const noexcept { return impl_->unconsumed; }

std::size_t spdy_session::open_streams() const noexcept { return impl_->streams.size(); }

const std::string& spdy_session::last_error() const noexcept { return impl_->error_text; }

}  // namespace libchan::detail::engine
