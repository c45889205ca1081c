#include "session/channel_session.hpp"

#include <algorithm>
#include <unordered_set>

#include "libchan/pipe.hpp"
#include "session/endpoints.hpp"

namespace libchan::detail::session {

using engine::dialect;

/// The engine's events, turned into endpoint calls. Runs under the lock.
class channel_session::events final : public engine::handler {
 public:
  explicit events(channel_session& s) : s_(s) {}

  void on_stream_open(const engine::stream_info& info) override {
    bool v01 = s_.engine_->wire_dialect() == dialect::v0_1;
    bool top_level = v01 ? info.parent_ref == 0u : (!info.parent_ref || *info.parent_ref == 0);
    if (top_level) return open_top_level(info);
    if (auto it = s_.awaited_.find(info.ref); it != s_.awaited_.end()) {
      auto ep = std::move(it->second);
      s_.awaited_.erase(it);
      ep->bind(info.id);
      s_.streams_[info.id] = ep;
      auto held = std::exchange(ep->held(), {});
      for (auto& h : held)
        s_.submit(ep, h.data(), h.fin, h.whole_frame, std::move(h.done), h.mark, h.is_borrowed);
      return;
    }
    if (pending() >= s_.opts_.max_pending_refs || s_.unclaimed_.count(info.ref)) {
      s_.note_error("stream " + std::to_string(info.id) + " (ref " + std::to_string(info.ref) +
                    ") refused: " +
                    (s_.unclaimed_.count(info.ref)
                         ? std::string("its ref is already pending")
                         : "max_pending_refs (" + std::to_string(s_.opts_.max_pending_refs) +
                               ") streams and references are pending"));
      s_.engine_->reset_stream(info.id, spdy::rst_status::refused_stream);
      return;
    }
    auto ep = make_endpoint(stream_role::unclaimed, s_.weak_from_this(), info.ref, info.id);
    s_.unclaimed_[info.ref] = ep;
    s_.streams_[info.id] = ep;
  }

  void on_data(engine::stream_id id, std::span<const std::uint8_t> data) override {
    auto it = s_.streams_.find(id);
    if (it == s_.streams_.end()) return s_.engine_->consume(id, data.size());
    auto ep = it->second;  // the endpoint may drop its table entry
    ep->on_data(data);
  }

  void on_remote_close(engine::stream_id id) override {
    if (auto it = s_.streams_.find(id); it != s_.streams_.end()) {
      auto ep = it->second;
      ep->on_remote_close();
    }
  }

  void on_stream_closed(engine::stream_id id, std::error_code ec,
                        const std::string& reason) override {
    // Our own resets were noted, with their cause, by whoever reset.
    if (ec && !reason.empty() && reason.rfind("reset locally", 0) != 0) s_.note_error(reason);
    auto it = s_.streams_.find(id);
    if (it == s_.streams_.end()) return;
    auto ep = std::move(it->second);
    s_.streams_.erase(it);
    // Writes that waited for room on it never will be taken.
    s_.fail_blocked(*ep, make_error_code(errc::closed));
    if (ep->role() == stream_role::unclaimed) {
      // Still kept by ref: a later message may name it and read what came.
      ep->on_closed(ec);
      return;
    }
    ep->on_closed(ec);
  }

  void on_output_drained() override { s_.retry_blocked(); }

  void on_stream_ready(engine::stream_id id) override {
    auto it = s_.streams_.find(id);
    if (it == s_.streams_.end() || !it->second->waiting) return;
    auto ep = it->second;
    if (s_.retrying_) {
      s_.retry_again_ = true;
      return;
    }
    s_.retrying_ = true;
    if (s_.retry(*ep)) ep->waiting = false;
    s_.retrying_ = false;
    std::erase_if(s_.waiting_, [](const auto& e) { return !e->waiting; });
    if (s_.retry_again_) s_.retry_blocked();
  }

  void on_settings(const spdy::settings_frame& f) override { s_.on_peer_settings(f); }

  void on_peer_error(engine::stream_id, std::error_code, const std::string& reason) override {
    s_.note_error(reason);
  }

  void on_session_end(std::error_code ec, const std::string& reason) override {
    // The engine reports the peer's GOAWAY as errc::closed; for the channels
    // of the session that is the session going away: errc::disconnected.
    if (!ec || ec == errc::closed) ec = make_error_code(errc::disconnected);
    s_.end_session(ec, reason);
  }

  std::size_t pending() const { return s_.unclaimed_.size() + s_.awaited_.size(); }

 private:
  void open_top_level(const engine::stream_info& info) {
    auto ep = make_endpoint(stream_role::inbound, s_.weak_from_this(), info.ref, info.id);
    s_.streams_[info.id] = ep;
    // Hand it over after the lock is released: whoever waits in accept may
    // call straight back into this session.
    auto receiver =
        std::make_shared<Receiver<Value>>(std::dynamic_pointer_cast<inbound_channel>(ep));
    s_.defer([weak = s_.weak_from_this(), receiver, id = info.id] {
      auto self = weak.lock();
      if (!self) return;
      std::error_code ec;
      if (self->incoming_tx_.impl()->try_send(*receiver, ec) && !ec) return;
      // Backlog full or session ended: refuse the channel.
      receiver->release();
      self->run([&] {
        self->note_error("top-level channel on stream " + std::to_string(id) +
                         " refused: accept_backlog (" + std::to_string(self->opts_.accept_backlog) +
                         ") channels not accepted");
        self->engine_->reset_stream(id, spdy::rst_status::refused_stream);
      });
    });
  }

  channel_session& s_;
};

// ---------------------------------------------------------------------------

std::shared_ptr<channel_session> channel_session::create(const options& opts,
                                                         std::weak_ptr<driver_hooks> hooks) {
  return std::shared_ptr<channel_session>(new channel_session(opts, std::move(hooks)));
}

channel_session::channel_session(const options& opts, std::weak_ptr<driver_hooks> hooks)
    : opts_(opts),
      hooks_(std::move(hooks)),
      events_(std::make_unique<events>(*this)),
      codec_v01_(make_msgpack_codec(opts.codec, IntegerStyle::unsigned_when_nonnegative)),
      codec_v02_(make_msgpack_codec(opts.codec, IntegerStyle::smallest_signed)) {
  auto engine_opts = opts.engine;
  if (opts.pass_descriptors) {
    engine_opts.extra_settings.push_back({descriptors::setting_id, 0, descriptors::version});
    fd_passing_ = fd_passing::undecided;
  }
  engine_ = std::make_unique<engine::spdy_session>(engine_opts, *events_);
  auto [rx, tx] = buffered_pipe<Receiver<Value>>(opts.accept_backlog);
  incoming_rx_ = std::move(rx);
  incoming_tx_ = std::move(tx);
}

channel_session::~channel_session() = default;

void channel_session::after_unlock() {
  work_list work;
  {
    std::lock_guard lock(mutex_);
    work.swap(deferred_);
  }
  finish_unlocked(work);
}

void channel_session::finish_unlocked(work_list& work) {
  for (auto& fn : work) fn();
  notify_driver();
}

void channel_session::notify_driver() {
  if (auto hooks = hooks_.lock()) hooks->on_activity();
}

channel_session::driver_state channel_session::driver_view() const noexcept {
  return {engine_->output_end(), engine_->receive_paused(), ended_};
}

void channel_session::watch_output() {
  std::lock_guard lock(mutex_);
  output_watched_ = true;
}

bool channel_session::stop_watching_output() {
  std::lock_guard lock(mutex_);
  output_watched_ = false;
  return engine_->output_offset() == engine_->output_end();
}

void channel_session::finish_partial_reads() {
  for (auto& stream : filling_) stream->finish_partial_read(*this);
  filling_.clear();
}

std::size_t channel_session::feed(std::span<const std::uint8_t> input) {
  std::size_t n = 0;
  run([&] {
    n = engine_->receive(input);
    if (fd_passing_ == fd_passing::undecided) watch_first_frame(input.first(n));
    finish_close();
  });
  return n;
}

void channel_session::feed_eof() {
  run([&] { engine_->receive_eof(); });
}

bool channel_session::input_paused() {
  std::lock_guard lock(mutex_);
  return engine_->receive_paused();
}

bool channel_session::take_output(std::vector<std::uint8_t>& out, std::size_t max) {
  work_list work;
  {
    owner_lock lock(*this);
    auto pending = engine_->pending_output();
    if (pending.empty()) return false;
    std::size_t n = std::min(pending.size(), max);
    out.insert(out.end(), pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    // Writing out may drain the queue and release blocked senders.
    engine_->consume_output(n);
    work.swap(deferred_);
  }
  if (!work.empty()) finish_unlocked(work);
  return true;
}

bool channel_session::take_output_chunk(std::vector<std::uint8_t>& out) {
  work_list work;
  {
    owner_lock lock(*this);
    if (engine_->take_output(out) == 0) return false;
    work.swap(deferred_);
  }
  if (!work.empty()) finish_unlocked(work);
  return true;
}

std::size_t channel_session::take_output_chunks(std::vector<std::vector<std::uint8_t>>& chunks,
                                                std::size_t max, output_watch watch) {
  work_list work;
  std::size_t n = 0;
  {
    owner_lock lock(*this);
    n = move_output_chunks(chunks, max);
    if (n > 0 && watch == output_watch::start) output_watched_ = true;
    work.swap(deferred_);
  }
  if (!work.empty()) finish_unlocked(work);
  return n;
}

std::optional<std::size_t> channel_session::take_output_chunks_unless_descriptors(
    std::vector<std::vector<std::uint8_t>>& chunks, std::size_t max, output_watch watch) {
  work_list work;
  std::size_t n = 0;
  {
    owner_lock lock(*this);
    if (!outgoing_fds_.empty()) return std::nullopt;
    // Every mark in the output names descriptors that went already.
    engine_->take_marks(new_marks_);
    new_marks_.clear();
    n = move_output_chunks(chunks, max);
    if (n > 0 && watch == output_watch::start) output_watched_ = true;
    work.swap(deferred_);
  }
  if (!work.empty()) finish_unlocked(work);
  return n;
}

std::size_t channel_session::move_output_chunks(std::vector<std::vector<std::uint8_t>>& chunks,
                                                std::size_t max) {
  std::size_t n = 0;
  for (std::size_t total = 0; total < max; ++n) {
    if (n == chunks.size()) chunks.emplace_back();
    const std::size_t got = engine_->take_output(chunks[n]);
    if (got == 0) break;
    total += got;
  }
  return n;
}

void channel_session::tick(engine::steady_time now) {
  run([&] {
    engine_->tick(now);
    // The keepalive deadline moves only here and in close().
    deadline_moved_.store(true, std::memory_order_release);
    finish_close();
    if (closing_ && !ended_ && close_deadline_ && now >= *close_deadline_) {
      // The peer kept its windows shut past the linger: drop what waits.
      std::string why =
          "session closed; data waiting for the peer's window dropped after the "
          "close deadline";
      note_error(why);
      engine_->shutdown();
      end_session(make_error_code(errc::disconnected), why);
    }
  });
}

std::optional<engine::steady_time> channel_session::next_deadline() {
  std::lock_guard lock(mutex_);
  auto deadline = engine_->next_deadline();
  if (closing_ && !ended_ && close_deadline_ && (!deadline || *close_deadline_ < *deadline))
    deadline = close_deadline_;
  return deadline;
}

bool channel_session::finished() {
  std::lock_guard lock(mutex_);
  return ended_ && !engine_->want_write();
}

std::error_code channel_session::end_reason() {
  // Asked by the driver after every event: no lock until there is an end.
  if (!end_published_.load(std::memory_order_acquire)) return {};
  std::lock_guard lock(mutex_);
  return end_ec_;
}

std::string channel_session::end_detail() {
  std::lock_guard lock(mutex_);
  return end_detail_;
}

channel_session::diagnostics channel_session::diagnose() {
  std::lock_guard lock(mutex_);
  diagnostics d;
  d.streams = streams_.size();
  d.engine_streams = engine_->open_streams();
  d.pending_refs = unclaimed_.size() + awaited_.size();
  // An endpoint may be listed both by stream id and by ref.
  std::unordered_set<const endpoint*> seen;
  auto add = [&](const std::shared_ptr<endpoint>& ep) {
    if (seen.insert(ep.get()).second) d.buffered_bytes += ep->buffered();
  };
  for (const auto& [id, ep] : streams_) add(ep);
  for (const auto& [ref, ep] : unclaimed_) add(ep);
  d.unconsumed = engine_->unconsumed_bytes();
  d.unclaimed_fds = unclaimed_fds_.size();
  d.outgoing_fds = outgoing_fds_.size();
  d.buffered_fds = buffered_fds_;
  d.pending_output = engine_->pending_output().size();
  d.last_error = last_error_;
  return d;
}

engine::dialect channel_session::wire_dialect() {
  std::lock_guard lock(mutex_);
  return engine_->wire_dialect();
}

bool channel_session::passes_descriptors() {
  std::lock_guard lock(mutex_);
  return fd_passing_ == fd_passing::on;
}

const Codec& channel_session::codec() const noexcept {
  return engine_->wire_dialect() == dialect::v0_1 ? *codec_v01_ : *codec_v02_;
}

std::error_code channel_session::end_error() const noexcept {
  return end_ec_ ? end_ec_ : make_error_code(errc::disconnected);
}

std::uint64_t channel_session::next_ref() {
  // v0.1: one counter for the session, odd refs on the dialing side and even
  // ones on the accepting side. v0.2: each side counts from 2 upward.
  if (engine_->wire_dialect() == dialect::v0_1) {
    bool dialer = opts_.engine.side == engine::role::dialer;
    if (last_ref_ == 0) return last_ref_ = dialer ? 1 : 2;
    return last_ref_ += 2;
  }
  return last_ref_ = last_ref_ < 2 ? 2 : last_ref_ + 1;
}

Sender<Value> channel_session::open_sender(std::error_code& ec) {
  std::shared_ptr<endpoint> ep;
  run([&] {
    if (ended_ || closing_) {
      ec = end_error();
      return;
    }
    auto ref = next_ref();
    std::optional<std::uint64_t> parent;
    if (engine_->wire_dialect() == dialect::v0_1) parent = 0;
    auto id = engine_->open_stream(ref, parent, 0, ec);
    if (ec) return;
    ep = make_endpoint(stream_role::outbound, weak_from_this(), ref, id);
    streams_[id] = ep;
  });
  if (!ep) return {};
  return Sender<Value>(std::dynamic_pointer_cast<outbound_channel>(ep));
}

void channel_session::close(std::optional<engine::steady_time> linger_until) {
  run([&] {
    if (ended_ || closing_) return;
    closing_ = true;
    close_deadline_ = linger_until;
    deadline_moved_.store(true, std::memory_order_release);
    const auto ec = make_error_code(errc::disconnected);
    // Sends not accepted yet fail now, as after the end; what `send`
    // accepted is written before the GOAWAY. A message partly taken goes
    // out whole (with the FIN behind it), or the peer would see it cut off.
    std::deque<std::shared_ptr<endpoint>> partial;
    for (auto& ep : std::exchange(waiting_, {})) {
      if (!ep->waiting || ep->blocked().empty() || ep->blocked().front().offset == 0) {
        fail_blocked(*ep, ec);
        continue;
      }
      auto w = std::move(ep->blocked().front());
      ep->blocked().pop_front();
      fail_blocked(*ep, ec);
      w.fin = ep->role() == stream_role::outbound || ep->role() == stream_role::bytes;
      ep->blocked().push_back(std::move(w));
      ep->waiting = true;
      partial.push_back(ep);
    }
    waiting_ = std::move(partial);
    for (auto& [ref, ep] : awaited_) {
      for (auto& h : std::exchange(ep->held(), {})) {
        release_mark(h.mark);
        complete_later(std::move(h.done), ec);
      }
    }
    for (auto& u : parked_) complete_later(std::move(u.done), ec);
    defer([waiting = std::make_shared<std::deque<parked_send>>(std::move(parked_))] {});
    parked_.clear();
    // Our channels and byte streams end cleanly behind their data. Ids
    // first: a FIN may close a stream, and its table entry, at once.
    std::vector<engine::stream_id> ids;
    for (const auto& [id, ep] : streams_)
      if (!ep->waiting && (ep->role() == stream_role::outbound || ep->role() == stream_role::bytes))
        ids.push_back(id);
    for (auto id : ids) {
      std::error_code ignored;  // already closed for sending: nothing to do
      engine_->submit_data(id, {}, true, ignored);
    }
    defer([tx = incoming_tx_.impl()] { tx->close_send(); });
    finish_close();
  });
}

bool channel_session::closing() {
  std::lock_guard lock(mutex_);
  return closing_ && !ended_;
}

void channel_session::finish_close() {
  if (!closing_ || ended_ || engine_->data_waiting()) return;
  if (std::any_of(waiting_.begin(), waiting_.end(), [](const auto& e) { return e->waiting; }))
    return;
  engine_->shutdown();
  end_session(make_error_code(errc::disconnected), "session closed");
}

void channel_session::end_session(std::error_code ec, const std::string& detail) {
  if (ended_) return;
  ended_ = true;
  end_ec_ = ec;
  end_detail_ = detail;
  end_published_.store(true, std::memory_order_release);
  auto streams = std::exchange(streams_, {});
  auto awaited = std::exchange(awaited_, {});
  unclaimed_.clear();
  for (auto& [id, ep] : streams) ep->on_closed(ec);
  for (auto& [ref, ep] : awaited) {
    // Writes held for a stream the peer never opened fail with the session,
    // or their senders would wait forever.
    for (auto& h : std::exchange(ep->held(), {})) complete_later(std::move(h.done), ec);
    ep->on_closed(ec);
  }
  for (auto& ep : std::exchange(waiting_, {})) fail_blocked(*ep, ec);
  // Messages still waiting may hold channel ends of this session: they go
  // once the lock is released, with the descriptors nobody will write or
  // name now.
  for (auto& u : parked_) complete_later(std::move(u.done), ec);
  defer([waiting = std::make_shared<std::deque<parked_send>>(std::move(parked_))] {});
  parked_.clear();
  outgoing_fds_.clear();
  outgoing_marks_.clear();
  placed_marks_.clear();
  unclaimed_fds_.clear();
  defer([tx = incoming_tx_.impl()] { tx->close_send(); });
}

// ---------------------------------------------------------------------------
// Writing

bool channel_session::try_submit(endpoint& ep, pending_write& w, std::error_code& ec) {
  ec.clear();
  auto rest = w.data().subspan(w.offset);
  const std::uint64_t mark = w.offset == 0 ? w.mark : 0;
  if (w.whole_frame && !rest.empty()) {
    engine_->submit_frame(ep.id(), rest, w.fin, ec, mark);
    if (!ec) w.offset = w.data().size();
  } else {
    w.offset += engine_->submit_some(ep.id(), rest, w.fin, ec, mark);
  }
  // No room is not a failure: wait for on_output_drained or on_stream_ready.
  if (ec && engine_->last_refusal_waits()) return false;
  if (ec) release_mark(mark);
  return true;
}

void channel_session::release_mark(std::uint64_t mark) {
  // Its message will not go out: its descriptors go with the next write.
  if (mark != 0) place_mark({mark, engine_->output_offset()});
}

void channel_session::submit(const std::shared_ptr<endpoint>& ep,
                             std::span<const std::uint8_t> bytes, bool fin, bool whole_frame,
                             completion done, std::uint64_t mark, bool borrowed) {
  auto finish = [this, &done, mark](std::error_code ec) {
    if (ec) release_mark(mark);
    complete_later(std::move(done), ec);
  };
  // What waits: the caller's bytes themselves when they outlive `done`.
  auto keep = [&](std::size_t taken) {
    pending_write w{{}, fin, whole_frame, std::move(done), taken, mark, {}, false};
    if (borrowed) {
      w.borrowed = bytes;
      w.is_borrowed = true;
    } else {
      w.bytes.assign(bytes.begin(), bytes.end());
    }
    return w;
  };
  if (ended_) return finish(end_error());
  // A closing session takes no new data, but lets channels end.
  if (closing_ && !(bytes.empty() && fin)) return finish(end_error());
  if (!ep->bound()) {
    ep->held().push_back(keep(0));
    return;
  }
  if (!ep->blocked().empty()) {
    ep->blocked().push_back(keep(0));
    return;
  }
  // Offered straight from `bytes`: copied only if the engine has no room.
  std::error_code ec;
  std::size_t taken = 0;
  if (whole_frame && !bytes.empty()) {
    engine_->submit_frame(ep->id(), bytes, fin, ec, mark);
    if (!ec) taken = bytes.size();
  } else {
    taken = engine_->submit_some(ep->id(), bytes, fin, ec, mark);
  }
  // No room is not a failure: wait for on_output_drained or on_stream_ready.
  if (!ec || !engine_->last_refusal_waits()) return finish(ec);
  ep->blocked().push_back(keep(taken));
  if (!ep->waiting) {
    ep->waiting = true;
    waiting_.push_back(ep);
  }
}

bool channel_session::retry(endpoint& ep) {
  while (!ep.blocked().empty()) {
    // Off the list while the engine runs: it may close the stream, and fail
    // the writes still listed, from inside the call.
    auto w = std::move(ep.blocked().front());
    ep.blocked().pop_front();
    std::error_code ec;
    if (!try_submit(ep, w, ec)) {
      if (streams_.count(ep.id()) == 0) {
        release_mark(w.offset == 0 ? w.mark : 0);
        complete_later(std::move(w.done), make_error_code(errc::closed));
        fail_blocked(ep, make_error_code(errc::closed));
        return true;
      }
      ep.blocked().push_front(std::move(w));
      return false;
    }
    complete_later(std::move(w.done), ec);
  }
  return true;
}

void channel_session::retry_blocked() {
  if (retrying_) {
    retry_again_ = true;
    return;
  }
  retrying_ = true;
  do {
    retry_again_ = false;
    auto eps = waiting_;  // retries may list more
    for (auto& ep : eps)
      if (ep->waiting && retry(*ep)) ep->waiting = false;
    std::erase_if(waiting_, [](const auto& e) { return !e->waiting; });
  } while (retry_again_);
  retrying_ = false;
}

void channel_session::fail_blocked(endpoint& ep, std::error_code ec) {
  for (auto& w : std::exchange(ep.blocked(), {})) {
    if (w.offset == 0) release_mark(w.mark);
    complete_later(std::move(w.done), ec);
  }
  ep.waiting = false;
  // Left in waiting_ until the next retry pass drops it.
}

}  // namespace libchan::detail::session
