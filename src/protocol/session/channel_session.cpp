#include "session/channel_session.hpp"

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
        s_.submit(ep, std::move(h.bytes), h.fin, h.whole_frame, std::move(h.done));
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
    if (ep->role() == stream_role::unclaimed) {
      // Still kept by ref: a later message may name it and read what came.
      ep->on_closed(ec);
      return;
    }
    ep->on_closed(ec);
  }

  void on_output_drained() override { s_.flush_blocked(); }

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
    auto receiver = std::make_shared<Receiver<Value>>(std::dynamic_pointer_cast<inbound_channel>(ep));
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
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(mutex_);
    work.swap(deferred_);
  }
  finish_unlocked(work);
}

void channel_session::finish_unlocked(std::vector<std::function<void()>>& work) {
  for (auto& fn : work) fn();
  if (auto hooks = hooks_.lock()) hooks->on_activity();
}

std::size_t channel_session::feed(std::span<const std::uint8_t> input) {
  std::size_t n = 0;
  run([&] {
    n = engine_->receive(input);
    if (fd_passing_ == fd_passing::undecided) watch_first_frame(input.first(n));
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
  std::vector<std::function<void()>> work;
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

void channel_session::tick(engine::steady_time now) {
  run([&] { engine_->tick(now); });
}

std::optional<engine::steady_time> channel_session::next_deadline() {
  std::lock_guard lock(mutex_);
  return engine_->next_deadline();
}

bool channel_session::finished() {
  std::lock_guard lock(mutex_);
  return ended_ && !engine_->want_write();
}

std::error_code channel_session::end_reason() {
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
    if (ended_) {
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

void channel_session::close() {
  run([&] {
    if (ended_) return;
    engine_->shutdown();
    end_session(make_error_code(errc::disconnected), "session closed");
  });
}

void channel_session::end_session(std::error_code ec, const std::string& detail) {
  if (ended_) return;
  ended_ = true;
  end_ec_ = ec;
  end_detail_ = detail;
  auto streams = std::exchange(streams_, {});
  auto awaited = std::exchange(awaited_, {});
  unclaimed_.clear();
  for (auto& [id, ep] : streams) ep->on_closed(ec);
  for (auto& [ref, ep] : awaited) {
    // Writes held for a stream the peer never opened fail with the session,
    // or their senders would wait forever.
    for (auto& h : std::exchange(ep->held(), {}))
      if (h.done) defer([done = std::move(h.done), ec] { done(ec); });
    ep->on_closed(ec);
  }
  for (auto& b : blocked_)
    if (b.done) defer([done = std::move(b.done), ec] { done(ec); });
  blocked_.clear();
  // Messages still waiting may hold channel ends of this session: they go
  // once the lock is released, with the descriptors nobody will write or
  // name now.
  for (auto& u : undecided_)
    if (u.done) defer([done = std::move(u.done), ec] { done(ec); });
  defer([waiting = std::make_shared<std::deque<undecided_send>>(std::move(undecided_))] {});
  undecided_.clear();
  outgoing_fds_.clear();
  unclaimed_fds_.clear();
  defer([tx = incoming_tx_.impl()] { tx->close_send(); });
}

// ---------------------------------------------------------------------------
// Writing

bool channel_session::try_submit(endpoint& ep, std::vector<std::uint8_t>& bytes, bool fin,
                                 bool whole_frame, std::error_code& ec) {
  ec.clear();
  if (whole_frame && !bytes.empty())
    engine_->submit_frame(ep.id(), bytes, fin, ec);
  else
    engine_->submit_data(ep.id(), bytes, fin, ec);
  // A full output queue is not a failure: wait for on_output_drained.
  return ec != errc::limit_exceeded;
}

void channel_session::submit(const std::shared_ptr<endpoint>& ep, std::vector<std::uint8_t> bytes,
                             bool fin, bool whole_frame,
                             std::function<void(std::error_code)> done) {
  auto finish = [this, &done](std::error_code ec) {
    if (done) defer([done = std::move(done), ec] { done(ec); });
  };
  if (ended_) return finish(end_error());
  if (!ep->bound()) {
    ep->held().push_back({std::move(bytes), fin, whole_frame, std::move(done)});
    return;
  }
  if (blocked_.empty()) {
    std::error_code ec;
    if (try_submit(*ep, bytes, fin, whole_frame, ec)) return finish(ec);
  }
  blocked_.push_back({ep, std::move(bytes), fin, whole_frame, std::move(done)});
}

void channel_session::flush_blocked() {
  while (!blocked_.empty()) {
    auto& b = blocked_.front();
    std::error_code ec;
    if (!try_submit(*b.ep, b.bytes, b.fin, b.whole_frame, ec)) return;
    if (b.done) defer([done = std::move(b.done), ec] { done(ec); });
    blocked_.pop_front();
  }
}

}  // namespace libchan::detail::session
