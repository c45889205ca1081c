#include "io/driver.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cstring>

#include "io/diagnostics.hpp"

namespace libchan::detail::io {
namespace {

std::atomic<std::size_t> drivers{0};
std::atomic<std::size_t> read_buffers{0};  // bytes, all drivers

// The driver calling into its session on this thread, if any: activity it
// reports then is its own doing, and it looks at the session right after.
thread_local session_driver* in_call = nullptr;

// Bytes handed to one write; larger output waits for the next one.
constexpr std::size_t max_write = 512u << 10;
constexpr std::size_t read_size = 64u << 10;
// A peer that streams fills every read: the reads grow, up to this, so that
// a bulk transfer takes fewer system calls and wake-ups.
constexpr std::size_t max_read_size = 512u << 10;
// Descriptors attached to one write (the kernel takes up to 253); more wait
// for the next one. The peer's max_unclaimed_fds must allow for them.
constexpr std::size_t max_fds_per_write = 64;

}  // namespace

std::size_t live_drivers() noexcept { return drivers.load(); }
std::size_t read_buffer_bytes() noexcept { return read_buffers.load(); }

session_driver::session_driver(std::unique_ptr<connection> conn, strand ex)
    : conn_(std::move(conn)),
      strand_(std::move(ex)),
      timer_(strand_),
      peer_address_(conn_->peer_address()),
      local_address_(conn_->local_address()),
      peer_identity_(conn_->peer_identity()),
      inline_reads_(conn_->can_read_now()),
      rbuf_(std::make_unique_for_overwrite<std::uint8_t[]>(read_size)),
      rcap_(read_size),
      read_size_(read_size) {
  ++drivers;
  read_buffers += rcap_;
}

session_driver::~session_driver() {
  --drivers;
  read_buffers -= rcap_;
}

std::shared_ptr<session_driver> session_driver::start(std::unique_ptr<connection> conn, strand ex,
                                                      const session::options& opts) {
  auto session_opts = opts;
  session_opts.pass_descriptors = opts.pass_descriptors && conn->can_pass_descriptors();
  auto d = std::make_shared<session_driver>(std::move(conn), std::move(ex));
  d->pass_fds_ = session_opts.pass_descriptors;
  d->session_ = session::channel_session::create(session_opts, d);
  boost::asio::post(d->strand_, [d] { d->pump(); });
  return d;
}

template <class Fn>
auto session_driver::call(Fn&& fn) {
  struct restore {
    session_driver* outer;
    ~restore() { in_call = outer; }
  } guard{std::exchange(in_call, this)};
  return fn();
}

void session_driver::on_activity() {
  // The driver looks at the session after each of its own calls anyway.
  if (in_call == this) return;
  // One round queued at a time is enough: it looks at everything.
  if (posted_.exchange(true, std::memory_order_acq_rel)) return;
  boost::asio::post(strand_, [self = shared_from_this()] {
    self->posted_.store(false, std::memory_order_release);
    self->pump();
  });
}

void session_driver::close() {
  // What send accepted goes out first, for as long as a silent peer may
  // take before keepalive gives up on it.
  auto linger = session_->opts().engine.keepalive_timeout;
  if (linger.count() <= 0) linger = default_close_flush;
  session_->close(std::chrono::steady_clock::now() + linger);
}

void session_driver::on_end(std::function<void(std::error_code)> fn) {
  boost::asio::post(strand_, [self = shared_from_this(), fn = std::move(fn)]() mutable {
    if (self->ended_)
      fn(self->session_->end_reason());
    else
      self->end_callbacks_.push_back(std::move(fn));
  });
}

std::string session_driver::end_message() const {
  auto text = session_->end_detail();
  std::lock_guard lock(io_error_mutex_);
  if (!io_error_.empty()) text += (text.empty() ? "" : ": ") + io_error_;
  return text;
}

void session_driver::pump() {
  if (closed_) return;
  if (!ended_) {
    std::lock_guard lock(read_mutex_);
    feed_input();
  }
  flush_output();
  if (!ended_ && session_->end_reason()) on_session_end();
  if (ended_) return maybe_finish();
  arm_keepalive();
  start_read();
}

std::size_t session_driver::feed_input() {
  std::size_t taken = 0;
  while (rpos_ < rend_) {
    auto input = std::span<const std::uint8_t>(rbuf_.get() + rpos_, rend_ - rpos_);
    std::size_t n = call([&] { return session_->feed(input); });
    rpos_ += n;
    taken += n;
    if (n == 0) break;  // held back, or an incomplete frame
  }
  if (rpos_ == rend_) rpos_ = rend_ = 0;
  return taken;
}

void session_driver::flush_now() {
  // Never from inside our own calls: the io thread writes next anyway.
  if (in_call == this || !conn_->can_write_now()) return;
  std::unique_lock lock(write_mutex_, std::try_to_lock);
  if (!lock || writing_ || no_more_writes_ || !inline_rest_.empty()) return;
  inline_views_.clear();
  inline_fd_numbers_.clear();
  const std::size_t chunks = take_write(inline_chunks_, inline_fds_);
  for (const auto& fd : inline_fds_) inline_fd_numbers_.push_back(fd.get());
  if (chunks == 0) return;
  std::size_t total = 0;
  for (std::size_t i = 0; i < chunks; ++i) {
    inline_views_.push_back(boost::asio::buffer(inline_chunks_[i]));
    total += inline_chunks_[i].size();
  }
  std::error_code ec;
  std::size_t written = conn_->write_now(inline_views_, inline_fd_numbers_, ec);
  // Descriptors went with the first byte; if none went, they go with the
  // rest. Ours close once sent.
  if (written > 0) inline_fds_.clear();
  if (written == total) return;
  // The socket took less (or failed): the io thread writes the rest, before
  // anything newer, and meets the failure itself if there was one.
  for (std::size_t i = 0; i < chunks; ++i) {
    const auto& c = inline_chunks_[i];
    const std::size_t skip = std::min(written, c.size());
    written -= skip;
    inline_rest_.insert(inline_rest_.end(), c.begin() + static_cast<std::ptrdiff_t>(skip), c.end());
  }
  lock.unlock();
  on_activity();
}

void session_driver::flush_output() {
  {
    std::lock_guard lock(write_mutex_);
    if (writing_ || io_failed_) return;
    // Held while this takes output, so that flush_now() stays out.
    writing_ = true;
    if (!inline_rest_.empty()) {
      rest_in_flight_ = std::exchange(inline_rest_, {});
      wfds_.swap(inline_fds_);  // those flush_now() could not send
    }
  }
  wviews_.clear();
  if (!rest_in_flight_.empty()) {
    // What flush_now() could not write goes first, on its own.
    wviews_.push_back(boost::asio::buffer(rest_in_flight_));
    session_->watch_output();
    return start_write();
  }
  for (int round = 0;; ++round) {
    // Taking output can release senders that waited for room: the take
    // completes them once it lets go of the session. Output that grows
    // while this write is out is watched from the same lock on: its
    // completion (on_write) comes back for it, and sends need not post.
    const std::size_t chunks =
        call([&] { return take_write(wchunks_, wfds_, session::output_watch::start); });
    for (std::size_t i = 0; i < chunks; ++i)
      if (!wchunks_[i].empty()) wviews_.push_back(boost::asio::buffer(wchunks_[i]));
    if (!wviews_.empty()) break;
    // Sends stop relying on us only once no output is left for us; output
    // that came meanwhile is taken once more (what cannot be taken now,
    // such as bytes held for descriptors, waits for the next call).
    if (session_->stop_watching_output() || round > 0) {
      std::lock_guard lock(write_mutex_);
      writing_ = false;
      return;
    }
  }
  start_write();
}

std::size_t session_driver::take_write(std::vector<std::vector<std::uint8_t>>& chunks,
                                       std::vector<session::outgoing_descriptor>& fds,
                                       session::output_watch watch) {
  if (!pass_fds_) return session_->take_output_chunks(chunks, max_write, watch);
  // With no descriptor waiting, chunks move, as above.
  if (auto n = session_->take_output_chunks_unless_descriptors(chunks, max_write, watch)) return *n;
  // Descriptors go with the first byte of a write: one buffer, whose bytes
  // take_output matches them to.
  chunks.resize(1);
  auto& bytes = chunks[0];
  bytes.clear();
  while (bytes.size() < max_write &&
         session_->take_output(bytes, max_write - bytes.size(), fds, max_fds_per_write, watch)) {
  }
  return bytes.empty() ? 0 : 1;
}

void session_driver::start_write() {
  auto done = [self = shared_from_this()](std::error_code ec, std::size_t) { self->on_write(ec); };
  if (wfds_.empty()) return conn_->async_write(wviews_, std::move(done));
  wfd_numbers_.clear();
  for (const auto& fd : wfds_) wfd_numbers_.push_back(fd.get());
  conn_->async_write_with_descriptors(wviews_, wfd_numbers_, std::move(done));
}

void session_driver::start_read() {
  if (reading_ || closed_ || eof_ || io_failed_) return;
  std::unique_lock lock(read_mutex_);
  if (ended_) {
    rpos_ = rend_ = 0;  // only listening for the peer's end of stream now
  } else {
    // Completions run inside our own calls (whose activity we do not hear)
    // may have made room: go round until input and output stand still.
    while (rpos_ < rend_) {
      bool moved = feed_input() > 0;
      if (moved) flush_output();
      if (rpos_ == rend_) break;
      // Backpressure: read on once the application takes data (on_activity).
      if (session_->input_paused()) return;
      if (!moved) break;  // an incomplete frame: read the rest of it
    }
    if (session_->end_reason()) {
      lock.unlock();
      return pump();  // that input ended the session
    }
  }
  if (inline_reads_ && pollers_ > 0) {
    // A waiting thread reads now; it hands reading back when it stops.
    parked_ = true;
    return;
  }
  reading_ = true;
  if (inline_reads_) {
    // Read what is there; wait only if nothing is. Either way the bytes are
    // read under read_mutex_, in order with those a waiting thread reads.
    std::error_code ec;
    const auto outcome = read_available(ec);
    lock.unlock();
    if (outcome == read_outcome::nothing) {
      conn_->async_wait_readable(
          [self = shared_from_this()](std::error_code e) { self->on_readable(e); });
    } else {
      // Like Asio's read that finds bytes waiting: completed through the
      // strand, not inside this call.
      boost::asio::post(strand_, [self = shared_from_this(), outcome, ec] {
        self->reading_ = false;
        self->after_read(outcome, ec);
      });
    }
    return;
  }
  make_room();
  asked_ = rcap_ - rend_;
  auto buffer = boost::asio::buffer(rbuf_.get() + rend_, asked_);
  lock.unlock();
  conn_->async_read_some(buffer, [self = shared_from_this()](std::error_code ec, std::size_t n) {
    self->on_read(ec, n);
  });
}

void session_driver::make_room() {
  // What is left is the start of a frame: keep it in front, read behind it.
  const std::size_t left = rend_ - rpos_;
  // The buffer keeps its size while a peer streams (a new one costs an
  // allocation, page faults and a copy), and goes back to read_size once
  // the reads have calmed down, so that an idle session keeps little.
  std::size_t cap =
      read_size_ == read_size ? read_size : std::clamp(rcap_, read_size_, max_read_size);
  if (cap < left + read_size_ / 4) {
    // A frame larger than the buffer: room for the rest of it, doubling,
    // so that the part already read is not copied over and over.
    cap = rcap_ >= left + read_size_ / 4 ? rcap_ : std::max(left + read_size_, 2 * rcap_);
  }
  if (cap != rcap_) {
    auto fresh = std::make_unique_for_overwrite<std::uint8_t[]>(cap);
    std::memcpy(fresh.get(), rbuf_.get() + rpos_, left);
    rbuf_ = std::move(fresh);
    read_buffers += cap;
    read_buffers -= rcap_;
    rcap_ = cap;
  } else if (rpos_ > 0 && left > 0) {
    std::memmove(rbuf_.get(), rbuf_.get() + rpos_, left);
  }
  rpos_ = 0;
  rend_ = left;
}

void session_driver::note_read(std::size_t n) {
  rend_ += n;
  // A full read: more is waiting, read more at once. A short one: the
  // stream has calmed down, give memory back step by step.
  if (n == asked_)
    read_size_ = std::min(read_size_ * 2, max_read_size);
  else if (n < asked_ / 8)
    read_size_ = std::max(read_size_ / 2, read_size);
}

session_driver::read_outcome session_driver::read_available(std::error_code& ec) {
  if (deferred_end_) {
    ec = *std::exchange(deferred_end_, std::nullopt);
    return read_outcome::end;
  }
  make_room();
  asked_ = rcap_ - rend_;
  const std::size_t n =
      conn_->read_now(boost::asio::buffer(rbuf_.get() + rend_, asked_), rfds_, ec);
  // Descriptors come with the first bytes that name them, or earlier. A
  // session that does not pass them closes any that come.
  if (!rfds_.empty() && pass_fds_ && !read_stop_)
    call([&] { session_->receive_descriptors(rfds_); });
  rfds_.clear();
  if (ec == std::errc::operation_would_block) {
    ec.clear();
    return read_outcome::nothing;
  }
  if (ec || n == 0) return read_outcome::end;
  if (!read_stop_) note_read(n);  // else only listening for the end
  return read_outcome::bytes;
}

void session_driver::on_readable(std::error_code ec) {
  reading_ = false;
  if (closed_) return;
  if (ec) return after_read(read_outcome::end, ec);
  pump();  // start_read() reads what came
}

void session_driver::on_read(std::error_code ec, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec || n == 0) return after_read(read_outcome::end, ec);
  if (!ended_) {
    std::lock_guard lock(read_mutex_);
    note_read(n);
  }
  pump();
}

void session_driver::after_read(read_outcome outcome, std::error_code ec) {
  if (closed_) return;
  if (outcome == read_outcome::end) {
    if (ec) {
      io_failed_ = true;
      std::lock_guard lock(io_error_mutex_);
      io_error_ = ec.message();
    }
    eof_ = true;
    {
      std::lock_guard lock(read_mutex_);
      read_stop_ = true;
    }
    if (!ended_) call([&] { session_->feed_eof(); });
  }
  pump();
}

void session_driver::read_while_waiting(const wait_target& w, steady_time deadline) {
  if (!inline_reads_ || in_call == this) return;
  {
    std::lock_guard lock(read_mutex_);
    // One thread reads at a time; the others sleep as usual.
    if (read_stop_ || pollers_ > 0) return;
    ++pollers_;  // the io thread stops reading at its next start_read()
  }
  // Hands reading back to the io thread if it parked meanwhile, and lets a
  // close_now() that waits for this thread go on.
  struct leave {
    session_driver& d;
    ~leave() {
      bool unpark = false;
      {
        std::lock_guard lock(d.read_mutex_);
        --d.pollers_;
        if (d.read_stop_) d.pollers_gone_.notify_all();
        unpark = std::exchange(d.parked_, false);
      }
      if (unpark) d.on_activity();
    }
  } guard{*this};
  // What the answer depends on goes out first (a request sent just before a
  // wait on a return channel, which flush_before_wait does not see).
  flush_now();
  const auto until = std::min(deadline, std::chrono::steady_clock::now() + inline_read_window);
  bool first = true;
  while (!w.ready()) {
    if (!first) {
      const auto now = std::chrono::steady_clock::now();
      if (now >= until) return;
      if (!conn_->poll_readable(std::chrono::ceil<std::chrono::milliseconds>(until - now))) return;
    }
    bool fed = false, ended = false, paused = false;
    {
      std::lock_guard lock(read_mutex_);
      if (read_stop_ || deferred_end_) return;
      // Input the io thread read before this thread came, first; the io
      // thread reads no more until this thread leaves.
      if (rpos_ < rend_) fed = feed_input() > 0;
      if (rpos_ < rend_ && session_->input_paused()) {
        paused = true;  // until the application takes some: the io thread resumes then
      } else if (!first || !fed) {
        std::error_code ec;
        switch (read_available(ec)) {
          case read_outcome::nothing:
            break;
          case read_outcome::end:
            deferred_end_ = ec;  // for the strand to meet, as its own read would have
            ended = true;
            break;
          case read_outcome::bytes:
            fed = feed_input() > 0 || fed;
            break;
        }
      }
    }
    first = false;
    if (fed) after_inline_feed(w.ready());
    if (ended || paused) return;  // the leaving guard wakes the io thread
  }
}

void session_driver::after_inline_feed(bool done_waiting) {
  // The io thread did not hear of our calls (in_call), so this thread does
  // what it would have: see to the output the input caused (window updates,
  // replies to SYN_STREAM), and hand over an end. A thread that waits on
  // writes it now. One that got what it waited for hands it to the io
  // thread instead: it usually answers first, and its next wait writes the
  // answer with that output in one go (a request's SYN_REPLY goes out with
  // the reply, not in a packet of its own that wakes the peer for nothing).
  if (done_waiting) return on_activity();
  flush_now();
  if (session_->end_reason()) on_activity();
}

void session_driver::on_write(std::error_code ec) {
  {
    std::lock_guard lock(write_mutex_);
    writing_ = false;
  }
  rest_in_flight_.clear();
  wfds_.clear();  // sent or not, they were given away
  // Written chunks go back to the session at the next write; an idle
  // session keeps no large ones.
  for (auto& c : wchunks_)
    if (c.capacity() > max_write) c = {};
  if (closed_) return;
  if (ec) {
    io_failed_ = true;
    {
      std::lock_guard lock(io_error_mutex_);
      io_error_ = ec.message();
    }
    // The peer can no longer hear us: the session is over.
    if (!ended_) call([&] { session_->feed_eof(); });
  }
  pump();
}

void session_driver::arm_keepalive() {
  if (!session_->deadline_may_have_moved()) return;
  auto deadline = session_->next_deadline();
  if (deadline == armed_) return;
  armed_ = deadline;
  ++timer_gen_;
  if (!deadline) {
    timer_.cancel();
    return;
  }
  timer_.expires_at(*deadline);
  timer_.async_wait([self = shared_from_this(), gen = timer_gen_](boost::system::error_code) {
    if (gen != self->timer_gen_ || self->closed_) return;
    self->armed_.reset();
    self->call([&] { self->session_->tick(std::chrono::steady_clock::now()); });
    self->pump();
  });
}

void session_driver::on_session_end() {
  ended_ = true;
  {
    std::lock_guard lock(read_mutex_);
    read_stop_ = true;
    rpos_ = rend_ = 0;  // input the session held back is moot now
  }
  auto reason = session_->end_reason();
  for (auto& fn : std::exchange(end_callbacks_, {})) fn(reason);
  // Bound the goodbye: a peer that neither reads nor closes must not keep
  // the socket open.
  armed_.reset();
  timer_.expires_after(close_linger);
  timer_.async_wait([self = shared_from_this(), gen = ++timer_gen_](boost::system::error_code) {
    if (gen == self->timer_gen_ && !self->closed_) self->close_now();
  });
}

void session_driver::maybe_finish() {
  if (closed_) return;
  if (io_failed_) return close_now();
  bool last_bytes_out = false;
  if (!shutdown_sent_) {
    std::lock_guard lock(write_mutex_);
    last_bytes_out = !writing_ && inline_rest_.empty() && session_->finished();
    if (last_bytes_out) no_more_writes_ = true;
  }
  if (last_bytes_out) {
    if (eof_) return close_now();
    // Our last bytes are out: send end of stream, then wait for the peer's,
    // so that closing with its data unread does not reset the connection
    // under bytes it has not read yet.
    shutdown_sent_ = true;
    conn_->async_shutdown([self = shared_from_this()](std::error_code ec) {
      if (ec && !self->closed_) self->close_now();
    });
  }
  if (shutdown_sent_ && eof_) return close_now();
  start_read();
}

void session_driver::close_now() {
  {
    // flush_now() must not write to a descriptor that may be reused.
    std::lock_guard lock(write_mutex_);
    no_more_writes_ = true;
  }
  {
    // A thread reading inline must be out of the socket before it closes
    // (its number may be reused at once).
    std::unique_lock lock(read_mutex_);
    read_stop_ = true;
    if (pollers_ > 0) {
      conn_->wake_pollers();
      pollers_gone_.wait(lock, [&] { return pollers_ == 0; });
    }
  }
  closed_ = true;
  ++timer_gen_;
  timer_.cancel();
  conn_->close();
}

}  // namespace libchan::detail::io
