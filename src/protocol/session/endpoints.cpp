#include "session/endpoints.hpp"

#include <cstring>
#include <utility>

namespace libchan::detail::session {
namespace {

// Whether a call only takes from the session (receiving), which tells the
// driver less (see channel_session::run_taking).
enum class access { any, taking, sending };

// Runs `fn(session)` under the session's lock, or reports the session gone.
template <class Fn>
bool with_session(const std::weak_ptr<channel_session>& weak, Fn&& fn, access how = access::any) {
  auto s = weak.lock();
  if (!s) return false;
  auto body = [&] { fn(*s); };
  if (how == access::taking)
    s->run_taking(body);
  else if (how == access::sending)
    s->run_sending(body);
  else
    s->run(body);
  return true;
}

// A blocking read of a byte stream, which the session may help along by
// reading the connection on the waiting thread.
class read_wait final : public wait_target {
 public:
  void complete(std::error_code ec, std::size_t n) {
    ec_ = ec;
    n_ = n;
    signal_.notify();
  }
  bool ready() const noexcept override { return signal_.ready(); }
  std::size_t wait(std::error_code& ec) {
    signal_.wait();
    ec = ec_;
    return n_;
  }

 private:
  blocking_signal signal_;
  std::error_code ec_;
  std::size_t n_ = 0;
};

// Deferred work is a std::function, which must be copyable; values are not.
std::shared_ptr<std::optional<Value>> shared(std::optional<Value>&& v) {
  return std::make_shared<std::optional<Value>>(std::move(v));
}

}  // namespace

std::shared_ptr<endpoint> make_endpoint(stream_role role, std::weak_ptr<channel_session> session,
                                        std::uint64_t ref, engine::stream_id id) {
  std::shared_ptr<endpoint> ep;
  switch (role) {
    case stream_role::unclaimed:
      ep = std::make_shared<unclaimed_stream>(std::move(session), ref, id);
      break;
    case stream_role::inbound:
      ep = std::make_shared<inbound_channel>(std::move(session), ref, id);
      break;
    case stream_role::outbound:
      ep = std::make_shared<outbound_channel>(std::move(session), ref, id);
      break;
    case stream_role::bytes:
      ep = std::make_shared<net_stream>(std::move(session), ref, id);
      break;
  }
  ep->set_self(ep);
  return ep;
}

void unclaimed_stream::replay_into(endpoint& owner) {
  if (!data_.empty()) owner.on_data(data_);
  if (remote_closed_) owner.on_remote_close();
  if (closed_) owner.on_closed(*closed_);
}

// ---------------------------------------------------------------------------
// inbound_channel

void inbound_channel::on_data(std::span<const std::uint8_t> data) {
  auto s = session();
  if (!s) return;
  if (local_closed_ || error_) return s->engine().consume(id_, data.size());
  // Whole messages in one frame are decoded straight from the frame; only
  // the unfinished tail of a message is copied.
  bool direct = partial_.empty();
  if (!direct) partial_.insert(partial_.end(), data.begin(), data.end());
  std::span<const std::uint8_t> input = direct ? data : std::span<const std::uint8_t>(partial_);
  // The first `released` bytes of what is left of the input were consumed
  // early (see release_partial).
  std::size_t released = partial_released_;
  std::size_t used = 0;
  while (used < input.size()) {
    auto rest = input.subspan(used);
    std::size_t n = s->measure_plain(rest.first(std::min(rest.size(), max_raw_message)));
    if (n > 0) {
      keep_raw(rest.first(n));
      queue_.emplace_back().raw = n;
    } else {
      // Decoded straight into its place in the queue; dropped again if the
      // message is not whole yet.
      auto& m = queue_.emplace_back();
      std::error_code ec;
      std::string detail;
      const std::uint64_t claimed = s->descriptors_claimed();
      n = s->decode_message(*this, rest, m.value, ec, detail);
      if (ec || n == 0) {
        queue_.pop_back();
      } else {
        m.fds = static_cast<std::size_t>(s->descriptors_claimed() - claimed);
        s->buffer_descriptors(m.fds);
      }
      if (!ec && n == 0 && rest.size() > s->opts().codec.max_message_size) {
        ec = errc::limit_exceeded;
        detail = "message exceeds max_message_size (" +
                 std::to_string(s->opts().codec.max_message_size) + " bytes)";
      }
      if (ec) {
        s->engine().consume(id_, rest.size() - released);
        s->drop_early(released);
        partial_released_ = 0;
        fail(*s, ec, detail);
        return deliver(*s);
      }
      if (n == 0) break;
    }
    used += n;
    // What was consumed early is consumed no more when the message is taken.
    auto& m = queue_.back();
    m.early = std::min(n, released);
    m.bytes = n - m.early;
    released -= m.early;
  }
  if (direct)
    partial_.assign(input.begin() + static_cast<std::ptrdiff_t>(used), input.end());
  else
    partial_.erase(partial_.begin(), partial_.begin() + static_cast<std::ptrdiff_t>(used));
  partial_released_ = released;
  if (queue_.empty()) release_partial(*s);
  deliver(*s);
}

void inbound_channel::keep_raw(std::span<const std::uint8_t> bytes) {
  // Once half of the buffer has been taken, the rest moves to its start:
  // each byte moves at most once on average.
  if (raw_front_ > 0 && raw_front_ >= raw_.size() / 2) {
    raw_.erase(raw_.begin(), raw_.begin() + static_cast<std::ptrdiff_t>(raw_front_));
    raw_front_ = 0;
  }
  raw_.insert(raw_.end(), bytes.begin(), bytes.end());
}

void inbound_channel::take_raw(channel_session& s, std::size_t size, std::optional<Value>& out,
                               std::error_code& ec, std::vector<std::uint8_t>* undecoded) {
  auto bytes = std::span<const std::uint8_t>(raw_).subspan(raw_front_, size);
  if (undecoded) {
    undecoded->assign(bytes.begin(), bytes.end());
  } else {
    bool read = false;
    decode_taken(bytes, s.opts().codec, nullptr, read, out, ec);
    // measure_plain() and the decoder disagree: a bug, but this channel's
    // alone.
    if (ec) fail(s, ec, "msgpack: a measured message did not decode");
  }
  drop_raw_front(size);
}

void inbound_channel::drop_raw_front(std::size_t size) {
  raw_front_ += size;
  if (raw_front_ == raw_.size()) {
    // Nothing waits: start again at the front, and give back a buffer
    // that a burst made large.
    raw_front_ = 0;
    raw_.clear();
    if (raw_.capacity() > max_idle_raw) raw_ = {};
  }
}

void inbound_channel::decode_taken(std::span<const std::uint8_t> bytes, const CodecLimits& limits,
                                   plain_destination* into, bool& read, std::optional<Value>& out,
                                   std::error_code& ec) {
  read = into && channel_session::read_plain(bytes, *into);
  if (read) return;
  std::string detail;
  channel_session::decode_plain(bytes, limits, out.emplace(), ec, detail);
  if (ec) out.reset();
}

void inbound_channel::release_partial(channel_session& s) {
  // Only for the message at the front: with none whole in the queue, the
  // peer's window could otherwise close on a message larger than it for
  // good. Behind whole messages, it waits for the application to take them.
  const std::size_t n = partial_.size() - partial_released_;
  if (n == 0 || error_) return;
  if (!s.hold_early(n)) {
    s.engine().consume(id_, n);
    s.drop_early(partial_released_);
    partial_released_ = 0;
    return fail(s, errc::limit_exceeded,
                "unfinished messages of all channels exceed " + std::to_string(s.partial_budget()) +
                    " bytes (the larger of max_unconsumed and max_message_size)");
  }
  partial_released_ += n;
  s.engine().consume(id_, n);
}

void inbound_channel::fail(channel_session& s, std::error_code ec, const std::string& detail) {
  // A bad message costs this channel, not the session. The caller
  // consumed its unfinished message and delivers the error.
  s.note_error("channel on stream " + std::to_string(id_) + ": " + detail);
  error_ = ec;
  partial_.clear();
  s.engine().reset_stream(id_, spdy::rst_status::protocol_error);
}

void inbound_channel::drop_partial(channel_session& s) {
  s.drop_early(partial_released_);
  if (bound()) s.engine().consume(id_, partial_.size() - partial_released_);
  partial_released_ = 0;
  partial_.clear();
}

void inbound_channel::on_remote_close() {
  auto s = session();
  if (!s) return;
  remote_closed_ = true;
  if (!partial_.empty() && !error_) error_ = errc::decode_error;  // a message was cut off
  drop_partial(*s);
  // The receiving side closes its half at the end of the channel.
  if (bound()) s->submit(self(), {}, true, false, nullptr);
  deliver(*s);
}

void inbound_channel::on_closed(std::error_code ec) {
  auto s = session();
  if (ec && !remote_closed_ && !error_) error_ = ec;
  remote_closed_ = true;
  if (s) {
    drop_partial(*s);
    deliver(*s);
  }
}

std::size_t inbound_channel::buffered() const noexcept {
  std::size_t n = partial_.size();
  for (const auto& m : queue_) n += m.bytes + m.early;
  return n;
}

bool inbound_channel::take(channel_session& s, std::optional<Value>& out, std::error_code& ec,
                           std::vector<std::uint8_t>* undecoded) {
  if (!queue_.empty()) {
    ec.clear();
    if (queue_.front().raw != 0)
      take_raw(s, queue_.front().raw, out, ec, undecoded);
    else
      out = std::move(queue_.front().value);
    pop_taken(s);
    return true;
  }
  if (error_) {
    out.reset();
    ec = error_;
    return true;
  }
  if (local_closed_) {
    out.reset();
    ec = errc::closed;
    return true;
  }
  if (remote_closed_) {
    out.reset();
    ec.clear();
    return true;
  }
  return false;
}

void inbound_channel::pop_taken(channel_session& s) {
  taken_ += queue_.front().bytes;
  s.drop_early(queue_.front().early);
  s.unbuffer_descriptors(queue_.front().fds);
  queue_.pop_front();
  // The unfinished message behind it is at the front now.
  if (queue_.empty() && !partial_.empty()) release_partial(s);
  // The engine hears of taken bytes in batches: each call may queue a
  // WINDOW_UPDATE, and the peer needs one per window half anyway.
  if (queue_.empty() || taken_ >= consume_batch) release_taken(s);
}

bool inbound_channel::take_ahead(channel_session& s) {
  if (queue_.empty() || queue_.front().raw == 0) return false;
  ahead_bytes_.clear();
  ahead_sizes_.clear();
  ahead_next_ = 0;
  ahead_offset_ = 0;
  ahead_limits_ = s.opts().codec;
  // Plain messages wait back to back in raw_: a batch is copied at once.
  const std::size_t from = raw_front_;
  std::size_t total = 0;
  while (!queue_.empty() && queue_.front().raw != 0 && ahead_sizes_.size() < max_taken_ahead &&
         total < max_taken_ahead_bytes) {
    const std::size_t size = queue_.front().raw;
    ahead_sizes_.push_back(size);
    total += size;
    pop_taken(s);
  }
  const auto first = raw_.begin() + static_cast<std::ptrdiff_t>(from);
  ahead_bytes_.assign(first, first + static_cast<std::ptrdiff_t>(total));
  drop_raw_front(total);
  return true;
}

bool inbound_channel::next_taken_ahead(plain_destination* into, bool& read,
                                       std::optional<Value>& out, std::error_code& ec) {
  if (ahead_next_ == ahead_sizes_.size()) return false;
  if (ahead_dropped_.load(std::memory_order_acquire)) {
    ahead_next_ = ahead_sizes_.size();
    return false;
  }
  const std::size_t size = ahead_sizes_[ahead_next_++];
  const auto bytes = std::span<const std::uint8_t>(ahead_bytes_).subspan(ahead_offset_, size);
  ahead_offset_ += size;
  ec.clear();
  decode_taken(bytes, ahead_limits_, into, read, out, ec);
  // An idle channel keeps no batch-sized buffer: sessions may hold many.
  if (ahead_next_ == ahead_sizes_.size() && ahead_bytes_.capacity() > max_idle_ahead)
    ahead_bytes_ = {};
  return true;
}

void inbound_channel::release_taken(channel_session& s) {
  if (taken_ > 0 && bound()) s.engine().consume(id_, taken_);
  taken_ = 0;
}

void inbound_channel::deliver(channel_session& s) {
  while (!waiters_.empty()) {
    auto w = waiters_.front();
    std::optional<Value> out;
    std::error_code ec;
    if (queue_.empty() && !error_ && !remote_closed_ && !local_closed_) return;
    waiters_.pop_front();
    if (!w.waiter->claim()) continue;
    // A waiter that reads plain messages into its own type gets the bytes
    // of one, read once the lock is released, as try_receive_into does.
    const bool raw = !queue_.empty() && queue_.front().raw != 0;
    auto undecoded =
        raw && w.waiter->plain_target() ? std::make_shared<std::vector<std::uint8_t>>() : nullptr;
    take(s, out, ec, undecoded.get());
    if (undecoded && !undecoded->empty()) {
      s.defer([w, undecoded, limits = s.opts().codec] {
        bool read = false;
        std::optional<Value> value;
        std::error_code e;
        decode_taken(*undecoded, limits, w.waiter->plain_target(), read, value, e);
        if (read)
          w.waiter->complete_read(w.index);
        else
          w.waiter->complete(w.index, e, std::move(value));
      });
      continue;
    }
    s.defer(
        [w, ec, v = shared(std::move(out))] { w.waiter->complete(w.index, ec, std::move(*v)); });
  }
}

void inbound_channel::start_receive(receive_waiter<Value>& w, std::size_t index) {
  // Held until the waiter is listed: no batch is taken ahead of it meanwhile.
  std::unique_lock hold(ahead_mutex_);
  if (ahead_next_ < ahead_sizes_.size() && !ahead_dropped_.load(std::memory_order_acquire)) {
    if (!w.claim()) return;
    bool read = false;
    std::optional<Value> value;
    std::error_code ec;
    next_taken_ahead(w.plain_target(), read, value, ec);
    hold.unlock();
    if (read)
      w.complete_read(index);
    else
      w.complete(index, ec, std::move(value));
    return;
  }
  bool output_waits = false;
  bool alive = with_session(
      session_,
      [&](channel_session& s) {
        waiters_.push_back({&w, index});
        deliver(s);
        output_waits = !s.engine().pending_output().empty();
      },
      access::taking);
  hold.unlock();
  if (!alive && w.claim()) w.complete(index, errc::disconnected, std::nullopt);
  // The answer this thread may be waiting for needs our request out first.
  if (output_waits) {
    if (auto s = session_.lock()) s->flush_before_wait();
  }
}

void inbound_channel::help_wait(const wait_target& w,
                                std::chrono::steady_clock::time_point deadline) {
  // Input is what usually completes a receive: the driver may read it on
  // this thread.
  if (auto s = session_.lock()) s->read_before_wait(w, deadline);
}

bool inbound_channel::try_receive(std::optional<Value>& out, std::error_code& ec) {
  bool read = false;
  return try_receive_into(nullptr, read, out, ec);
}

bool inbound_channel::try_receive_plain(plain_destination& into, bool& read,
                                        std::optional<Value>& out, std::error_code& ec) {
  read = false;
  return try_receive_into(&into, read, out, ec);
}

bool inbound_channel::try_receive_into(plain_destination* into, bool& read,
                                       std::optional<Value>& out, std::error_code& ec) {
  std::lock_guard hold(ahead_mutex_);
  if (next_taken_ahead(into, read, out, ec)) return true;
  bool ready = false;
  bool ahead = false;
  bool alive = with_session(
      session_,
      [&](channel_session& s) {
        if (!waiters_.empty()) return;
        // A plain message is taken with those behind it and read once the
        // lock is released, so that the io thread waits for neither.
        ahead = !ahead_dropped_.load(std::memory_order_relaxed) && take_ahead(s);
        if (!ahead) ready = take(s, out, ec);
      },
      access::taking);
  if (ahead) return next_taken_ahead(into, read, out, ec);
  if (!alive) {
    ec = errc::disconnected;
    out.reset();
    return true;
  }
  return ready;
}

void inbound_channel::cancel_receive(receive_waiter<Value>& w) noexcept {
  with_session(
      session_,
      [&](channel_session&) {
        std::erase_if(waiters_, [&](const waiting& x) { return x.waiter == &w; });
      },
      access::taking);
}

void inbound_channel::cancel_all() {
  with_session(session_, [&](channel_session& s) {
    for (auto& w : std::exchange(waiters_, {}))
      if (w.waiter->claim())
        s.defer([w] { w.waiter->complete(w.index, errc::cancelled, std::nullopt); });
  });
}

void inbound_channel::close_receive() noexcept {
  // Not under ahead_mutex_: this may run while a receive of another channel
  // holds its own (dropping a message that held this end).
  ahead_dropped_.store(true, std::memory_order_release);
  with_session(session_, [&](channel_session& s) {
    if (local_closed_) return;
    local_closed_ = true;
    std::size_t unread = std::exchange(taken_, 0);
    for (auto& m : queue_) {
      unread += m.bytes;
      s.drop_early(m.early);
      s.unbuffer_descriptors(m.fds);
    }
    // Unread messages may hold channel ends of this very session: destroy
    // them once the lock is released.
    s.defer([dropped = std::make_shared<std::deque<message>>(std::move(queue_))] {});
    queue_.clear();
    raw_ = {};
    raw_front_ = 0;
    drop_partial(s);
    if (bound()) {
      s.engine().consume(id_, unread);
      // Tell the sender nobody listens any more.
      if (!remote_closed_) s.engine().reset_stream(id_, spdy::rst_status::cancel);
    }
    for (auto& w : std::exchange(waiters_, {}))
      if (w.waiter->claim())
        s.defer([w] { w.waiter->complete(w.index, errc::closed, std::nullopt); });
  });
}

// ---------------------------------------------------------------------------
// outbound_channel

void outbound_channel::on_data(std::span<const std::uint8_t> data) {
  // Nothing flows towards the sending end of a channel; drop it.
  if (auto s = session()) s->engine().consume(id_, data.size());
}

void outbound_channel::on_remote_close() {
  // The receiving side finished its half; ours stays open (SPDY half-close).
  // A receiver that goes away resets the stream instead.
  remote_closed_ = true;
}

void outbound_channel::on_closed(std::error_code ec) {
  remote_closed_ = true;
  if (!error_) error_ = ec ? ec : make_error_code(errc::closed);
}

void outbound_channel::start_send(Value&& value, send_waiter& w) {
  bool alive = with_session(session_, [&](channel_session& s) {
    std::error_code ec;
    if (error_)
      ec = error_;
    else if (local_closed_)
      ec = errc::closed;
    if (ec) return s.defer([&w, ec] { w.complete(ec); });
    s.send_message(self(), std::move(value), [&w](std::error_code e) { w.complete(e); });
  });
  if (!alive) w.complete(errc::disconnected);
}

template <class Attempt>
bool outbound_channel::try_send_with(Attempt&& attempt, std::error_code& ec) {
  bool sent = false;
  with_session(
      session_,
      [&](channel_session& s) {
        if (!error_ && !local_closed_) sent = attempt(s);
      },
      access::sending);
  if (sent) ec.clear();
  return sent;
}

bool outbound_channel::try_send(Value& value, std::error_code& ec) {
  return try_send_with([&](channel_session& s) { return s.try_send_message(*this, value); }, ec);
}

bool outbound_channel::try_send_plain(const plain_message& message, std::error_code& ec) {
  return try_send_with([&](channel_session& s) { return s.try_send_plain(*this, message); }, ec);
}

void outbound_channel::close_send() noexcept {
  with_session(session_, [&](channel_session& s) {
    if (local_closed_ || error_) return;
    local_closed_ = true;
    s.close_channel(self());
  });
}

// ---------------------------------------------------------------------------
// net_stream

void net_stream::on_data(std::span<const std::uint8_t> data) {
  auto s = session();
  if (!s) return;
  if (reads_abandoned_) {
    if (bound()) s->engine().consume(id_, data.size());
    return;
  }
  if (pending_read_ && input_.empty()) {
    // A reader waits: straight into its buffer, the rest queued behind. A
    // read the frame does not fill completes once the session has taken the
    // input at hand, whose next frames may fill it: the reader wakes once a
    // batch, not once a frame.
    auto& r = *pending_read_;
    const std::size_t n = std::min(r.buffer.size() - r.filled, data.size());
    std::memcpy(r.buffer.data() + r.filled, data.data(), n);
    if (n > 0 && bound()) s->engine().consume(id_, n);
    if (r.filled == 0 && n > 0 && n < r.buffer.size())
      s->finish_read_later(std::static_pointer_cast<net_stream>(self()));
    r.filled += n;
    data = data.subspan(n);
    if (r.filled == r.buffer.size()) complete_read(*s);
  }
  input_.append(data);
  wake_reader(*s);
}

void net_stream::finish_partial_read(channel_session& s) {
  if (pending_read_ && pending_read_->filled > 0) complete_read(s);
}

void net_stream::on_remote_close() {
  remote_closed_ = true;
  if (auto s = session()) wake_reader(*s);
}

void net_stream::on_closed(std::error_code ec) {
  if (ec && !remote_closed_) error_ = ec;
  remote_closed_ = true;
  write_closed_ = true;
  if (auto s = session()) wake_reader(*s);
}

std::size_t net_stream::take_input(channel_session& s, std::span<std::byte> buffer) {
  std::size_t n = input_.take(buffer);
  if (n > 0 && bound()) s.engine().consume(id_, n);
  return n;
}

void net_stream::wake_reader(channel_session& s) {
  if (!pending_read_) return;
  if (input_.empty() && !remote_closed_) return;
  complete_read(s);
}

void net_stream::complete_read(channel_session& s) {
  auto r = std::move(*pending_read_);
  pending_read_.reset();
  // The error, if any, once every byte before it was read.
  std::error_code ec = r.filled == 0 && input_.empty() ? error_ : std::error_code();
  std::size_t n = r.filled + take_input(s, r.buffer.subspan(r.filled));
  s.defer([done = std::move(r.done), ec, n] { done(ec, n); });
}

std::size_t net_stream::read_some(std::span<std::byte> buffer, std::error_code& ec) {
  auto s = session();
  ec.clear();
  if (!s) {
    ec = errc::disconnected;
    return 0;
  }
  std::size_t n = 0;
  bool ready = false;
  // The driver hears of it if the consumed bytes let it read again.
  s->run_taking([&] {
    if (reads_abandoned_) {
      ready = true;
      ec = errc::closed;
    } else if (!input_.empty() || remote_closed_) {
      ready = true;
      if (input_.empty() && error_) ec = error_;
      n = take_input(*s, buffer);
    }
  });
  if (ready) return n;
  // Nothing buffered: wait as a pending read, so that the next data goes
  // straight into `buffer`, read from the connection by this thread when
  // the driver can (as a blocking receive does) rather than by the io
  // thread, which would then wake this one.
  read_wait waiter;
  async_read_some(buffer, [&](std::error_code e, std::size_t got) { waiter.complete(e, got); });
  if (!waiter.ready()) s->read_before_wait(waiter, std::chrono::steady_clock::time_point::max());
  return waiter.wait(ec);
}

void net_stream::async_read_some(std::span<std::byte> buffer, io_handler done) {
  bool alive = with_session(
      session_,
      [&](channel_session& s) {
        if (reads_abandoned_) return s.defer([done = std::move(done)] { done(errc::closed, 0); });
        pending_read_.emplace(pending_read{buffer, std::move(done)});
        wake_reader(s);
      },
      access::taking);
  if (!alive) done(errc::disconnected, 0);
}

void net_stream::async_write(std::span<const std::byte> data, io_handler done) {
  bool alive = with_session(session_, [&](channel_session& s) {
    if (write_closed_) return s.defer([done] { done(errc::closed, 0); });
    auto p = reinterpret_cast<const std::uint8_t*>(data.data());
    std::size_t n = data.size();
    // The writer keeps `data` until `done`: what must wait is not copied.
    s.submit(
        self(), {p, n}, false, false, [done, n](std::error_code ec) { done(ec, ec ? 0 : n); }, 0,
        true);
  });
  if (!alive) done(errc::disconnected, 0);
}

void net_stream::write(std::span<const std::byte> data, std::error_code& ec) {
  blocking_send waiter;
  async_write(data, [&](std::error_code e, std::size_t) { waiter.complete(e); });
  ec = waiter.wait();
}

void net_stream::close_write() noexcept {
  with_session(session_, [&](channel_session& s) {
    if (write_closed_) return;
    write_closed_ = true;
    s.submit(self(), {}, true, false, nullptr);
  });
}

void net_stream::abandon_reads() {
  with_session(
      session_,
      [&](channel_session& s) {
        reads_abandoned_ = true;
        // What was not read gives its window back, as what comes later will.
        if (bound()) s.engine().consume(id_, input_.size());
        input_.clear();
        if (!pending_read_) return;
        auto r = std::move(*pending_read_);
        pending_read_.reset();
        // What it read already is the reader's; otherwise it read nothing.
        const std::error_code ec = r.filled > 0 ? std::error_code() : errc::closed;
        s.defer([done = std::move(r.done), ec, n = r.filled] { done(ec, n); });
      },
      access::taking);
}

void net_stream::close() noexcept {
  with_session(session_, [&](channel_session& s) {
    if (!write_closed_) {
      write_closed_ = true;
      s.submit(self(), {}, true, false, nullptr);
    }
    if (!remote_closed_ && bound()) s.engine().reset_stream(id_, spdy::rst_status::cancel);
    if (bound()) s.engine().consume(id_, input_.size());
    input_.clear();
  });
}

}  // namespace libchan::detail::session
