// The libchan layer over the SPDY engine: which stream is which channel or
// byte stream, references in messages, both dialects, and the channel ends
// the application holds. Still no sockets and no clock: a driver feeds bytes
// in and writes bytes out (the io layer, or an in-memory link in tests).
//
// Threading: channel ends are used from any thread. Every call into the
// engine happens under the session's mutex; completions of application
// waiters and calls to the driver's hook run after it is released.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/container/small_vector.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/spdy_session.hpp"
#include "libchan/channel.hpp"
#include "libchan/codec.hpp"
#include "libchan/value.hpp"
#include "session/descriptors.hpp"
#include "session/session_mutex.hpp"

namespace libchan::detail::session {

struct options {
  engine::options engine;
  CodecLimits codec;
  /// Streams named by a message but not opened yet, plus streams opened but
  /// not named yet, at once. Go gives up after 10 other registrations; we
  /// accept any order up to this bound.
  std::size_t max_pending_refs = 1024;
  /// Top-level channels opened by the peer and not yet accepted.
  std::size_t accept_backlog = 128;
  /// Announce that we take descriptors as descriptors, and pass ours so
  /// once the peer announced the same (docs/protocol.md). Only for a driver
  /// whose connection can pass them and that uses the descriptor forms of
  /// take_output() and receive_descriptors().
  bool pass_descriptors = false;
  /// Descriptors one message may carry, sent or received.
  std::size_t max_fds_per_message = 16;
  /// Descriptors received and not yet named by a message; past it the
  /// oldest are closed, and a message naming one fails its channel.
  std::size_t max_unclaimed_fds = 256;
  /// Descriptors sent and not yet written to the connection; senders of
  /// more wait. Each one is open in this process until written.
  std::size_t max_queued_fds = 256;
  /// Descriptors in received messages the application has not taken yet:
  /// at this many the session stops reading the connection until it takes
  /// some (the kernel keeps the rest in the socket, outside this process).
  std::size_t max_buffered_fds = 512;
};

/// What the session tells its driver. Called with no lock held, from the
/// thread that caused it (an application thread or the driver itself).
class driver_hooks {
 public:
  virtual ~driver_hooks() = default;
  /// Output is pending, or input refused earlier can be offered again.
  virtual void on_activity() = 0;
  /// A thread is about to wait for input: if the connection allows, write
  /// pending output from that thread now rather than after the io thread
  /// woke up (a request goes out before its sender sleeps on the reply).
  virtual void flush_now() {}
  /// A thread is about to sleep until `w` is ready, which input will make
  /// it: if the connection allows, read and feed input from that thread
  /// until then (or until `deadline`, or for a while) rather than waking an
  /// io thread that would wake this one.
  virtual void read_while_waiting(const wait_target& /*w*/, engine::steady_time /*deadline*/) {}
};

class endpoint;
class net_stream;

/// A send's completion, called with its result once the lock is released.
using completion = std::function<void(std::error_code)>;

/// Work for after the session's lock is released: a function, or a
/// completion with its result. The two are kept apart so that completing a
/// send allocates nothing (a lambda holding both would not fit
/// std::function's small buffer).
struct deferred_work {
  std::function<void()> run;
  completion done;
  std::error_code result;
  void operator()() {
    if (run)
      run();
    else if (done)
      done(result);
  }
};
/// Inline room for the work of one locked call, which is rarely more.
using work_list = boost::container::small_vector<deferred_work, 4>;

/// Whether a take of output also starts watching it (see
/// channel_session::watch_output).
enum class output_watch { unchanged, start };

/// Bytes for one stream that the engine has not taken (all) yet.
struct pending_write {
  std::vector<std::uint8_t> bytes;  ///< a copy, unless `borrowed`
  bool fin;
  bool whole_frame;
  completion done;
  std::size_t offset = 0;  ///< bytes the engine took already
  std::uint64_t mark = 0;  ///< names the descriptors of the message, if any
  /// The caller's bytes, valid until `done` runs (a byte-stream write).
  std::span<const std::uint8_t> borrowed;
  bool is_borrowed = false;

  std::span<const std::uint8_t> data() const noexcept {
    return is_borrowed ? borrowed : std::span<const std::uint8_t>(bytes);
  }
};

class channel_session : public std::enable_shared_from_this<channel_session> {
 public:
  /// The session keeps only a weak reference to `hooks`: a driver that goes
  /// away first is simply not called any more.
  static std::shared_ptr<channel_session> create(const options& opts,
                                                 std::weak_ptr<driver_hooks> hooks);
  ~channel_session();
  channel_session(const channel_session&) = delete;
  channel_session& operator=(const channel_session&) = delete;

  // ---- driver side ----
  /// Offers input; returns how much was taken (see spdy_session::receive).
  std::size_t feed(std::span<const std::uint8_t> input);
  void feed_eof();
  /// True while feed() holds input back until the application takes what
  /// it has (resume after on_activity). When feed() took less and this is
  /// false, the rest is an incomplete frame: offer it again with more bytes.
  bool input_paused();
  /// Appends up to `max` bytes of pending output to `out` and marks them
  /// written; false if there was none.
  bool take_output(std::vector<std::uint8_t>& out, std::size_t max = SIZE_MAX);
  /// Replaces `out` with the next chunk of pending output, moved rather
  /// than copied (out's old storage goes back to the session for reuse),
  /// and marks it written; false if there was none.
  bool take_output_chunk(std::vector<std::uint8_t>& out);
  /// As take_output_chunk(), for as many chunks as fit `max` bytes (at least
  /// one), under one lock: into chunks[0], chunks[1], ... (added as needed).
  /// Returns how many.
  /// With output_watch::start, a take that finds output also starts
  /// watching it (see watch_output) under the same lock: the driver's write
  /// round then takes the lock once, not once more to watch.
  std::size_t take_output_chunks(std::vector<std::vector<std::uint8_t>>& chunks, std::size_t max,
                                 output_watch watch = output_watch::unchanged);
  /// As take_output_chunks(), on a connection that carries descriptors:
  /// nothing is taken and the result is empty while a descriptor waits for
  /// a write, whose bytes must then go through take_output(out, max, fds,
  /// max_fds). Without descriptors, writes move chunks instead of copying.
  std::optional<std::size_t> take_output_chunks_unless_descriptors(
      std::vector<std::vector<std::uint8_t>>& chunks, std::size_t max,
      output_watch watch = output_watch::unchanged);
  /// As take_output(out, max), for one write that can carry descriptors:
  /// also moves the descriptors the taken bytes may name into `fds`, which
  /// must go with this write (attached to its first byte), at most `max_fds`
  /// in all. `out` and `fds` hold this write's bytes and descriptors so far;
  /// false once the write is full. Destroying the descriptors after the
  /// write closes the sender's copies.
  bool take_output(std::vector<std::uint8_t>& out, std::size_t max,
                   std::vector<outgoing_descriptor>& fds, std::size_t max_fds,
                   output_watch watch = output_watch::unchanged);
  /// The driver is writing what it took and will take output again when
  /// the write completes, whatever happens meanwhile: until then, sends
  /// that only add output do not tell it (see run_sending).
  void watch_output();
  /// The driver stops taking output on its own (a take found none). False
  /// if output arrived since, unwatched: the driver takes it instead.
  bool stop_watching_output();
  /// Descriptors that arrived with the bytes about to be fed (or earlier
  /// ones): taken in order, for messages to name. Takes them all.
  void receive_descriptors(std::vector<Fd>& fds);
  void tick(engine::steady_time now);
  std::optional<engine::steady_time> next_deadline();
  /// True if next_deadline() may have moved since the last call that
  /// returned true: after tick() and close(). Takes no lock, so that the
  /// driver can ask after every event.
  bool deadline_may_have_moved() noexcept {
    return deadline_moved_.exchange(false, std::memory_order_acq_rel);
  }
  /// True once the session ended and its last output was taken.
  bool finished();
  /// Why it ended: empty while it runs; errc::disconnected after a close
  /// or the peer's GOAWAY; the cause after a failure. end_detail() has text.
  std::error_code end_reason();
  std::string end_detail();

  // ---- application side ----
  /// Opens a top-level channel to the peer (Go's NewSendChannel).
  Sender<Value> open_sender(std::error_code& ec);
  /// The top-level channels the peer opens, in order (Go's
  /// WaitReceiveChannel); the end once the session ends.
  Receiver<Receiver<Value>>& incoming() noexcept { return incoming_rx_; }
  /// Closes the session gracefully: new sends, and sends still waiting to
  /// be accepted, fail with errc::disconnected (but a message partly
  /// written already is finished); channels we send on get
  /// their FIN; what `send` accepted is written, though it may wait for the
  /// peer's window, until `linger_until` at most (checked by tick()). Then
  /// GOAWAY, and every pending operation fails with errc::disconnected.
  /// Without a deadline it waits as long as the data does.
  void close(std::optional<engine::steady_time> linger_until = std::nullopt);
  /// True from close() until the session ended.
  bool closing();
  engine::dialect wire_dialect();
  /// True once both sides announced descriptor passing.
  bool passes_descriptors();

  /// For tests and diagnostics: what the session holds on the peer's
  /// behalf right now, and why the last stream or channel failed.
  struct diagnostics {
    std::size_t streams = 0;         ///< streams with an endpoint
    std::size_t engine_streams = 0;  ///< streams the engine keeps open
    std::size_t pending_refs = 0;    ///< unnamed streams + names without a stream
    std::size_t buffered_bytes = 0;  ///< received bytes the session's endpoints hold
    std::uint64_t unconsumed = 0;    ///< the engine's count, bounded by max_unconsumed
    std::size_t unclaimed_fds = 0;   ///< descriptors received, named by no message yet
    std::size_t outgoing_fds = 0;    ///< descriptors waiting for a write
    std::size_t buffered_fds = 0;    ///< in received messages not taken yet
    std::size_t pending_output = 0;  ///< bytes queued for the connection
    std::string last_error;          ///< naming the limit, when one was broken
  };
  diagnostics diagnose();

  // ---- for the endpoints of this session ----
  /// Runs `fn` under the lock, then the deferred completions and the hook.
  /// Re-entered by the thread that holds the lock (a channel end dropped
  /// inside the engine or the codec, e.g. with the endpoint that queued
  /// it), `fn` runs at once: the outer call finishes the work.
  template <class Fn>
  void run(Fn&& fn) {
    locked_run(fn, tell::always);
  }
  /// As run(), for calls that only take from the session (receiving): the
  /// driver hears of it only if the call changed what the driver acts on
  /// (output, paused input, the end), so that a receive does not wake the
  /// io thread for nothing.
  template <class Fn>
  void run_taking(Fn&& fn) {
    locked_run(fn, tell::if_changed);
  }
  /// As run_taking(), for sends: while the driver is writing, a send tells
  /// it nothing, since the write's completion takes the new output and
  /// looks at the rest (see watch_output). A streaming sender then posts
  /// to the io thread only when it has gone idle.
  template <class Fn>
  void run_sending(Fn&& fn) {
    locked_run(fn, tell::unless_output_watched);
  }
  /// Before a thread waits for input on one of our channels: lets the
  /// driver write pending output from it (driver_hooks::flush_now). Not
  /// under the lock.
  void flush_before_wait() {
    if (owner_.load(std::memory_order_relaxed) == std::this_thread::get_id()) return;
    if (auto hooks = hooks_.lock()) hooks->flush_now();
  }
  /// Descriptors named by the messages decoded so far (see
  /// buffer_descriptors). Under the lock.
  std::uint64_t descriptors_claimed() const noexcept { return fds_claimed_; }
  /// A received message holding `n` descriptors waits for the application
  /// (buffer), or left (unbuffer): input holds at max_buffered_fds, so that
  /// a receiver that does not keep up cannot run out of descriptors. Under
  /// the lock.
  void buffer_descriptors(std::size_t n);
  void unbuffer_descriptors(std::size_t n);
  /// Before a thread sleeps until `w` is ready, which only input can make
  /// it: lets the driver read from that thread meanwhile
  /// (driver_hooks::read_while_waiting). Not under the lock.
  void read_before_wait(const wait_target& w, engine::steady_time deadline) {
    if (owner_.load(std::memory_order_relaxed) == std::this_thread::get_id()) return;
    if (auto hooks = hooks_.lock()) hooks->read_while_waiting(w, deadline);
  }
  /// Runs deferred work and tells the driver; call after releasing the lock.
  void after_unlock();
  void finish_unlocked(work_list& work);
  /// Completes the reads listed by finish_read_later. Under the lock.
  void finish_partial_reads();
  /// Queues work for after the lock is released. Call under the lock.
  void defer(std::function<void()> fn) { deferred_.push_back({std::move(fn), nullptr, {}}); }
  /// Queues `done(result)` for after the lock is released, if there is a
  /// `done`. Call under the lock.
  void complete_later(completion done, std::error_code result) {
    if (done) deferred_.push_back({nullptr, std::move(done), result});
  }
  /// Completes `stream`'s partly filled read when the current call is done
  /// (the rest of the input at hand may fill it first). Under the lock.
  void finish_read_later(std::shared_ptr<net_stream> stream) {
    filling_.push_back(std::move(stream));
  }
  /// Records why a stream or channel failed, for diagnose(). Under the lock.
  void note_error(std::string why) { last_error_ = std::move(why); }
  /// Bytes a channel consumes before the application took them: the start
  /// of a message that is not whole yet while the channel holds no whole
  /// one (a message may be larger than the peer's window). They no longer
  /// count toward max_unconsumed, so all channels together may hold at most
  /// partial_budget() of them until taken: false, with nothing counted,
  /// past it. Under the lock.
  bool hold_early(std::size_t n) noexcept {
    if (n > partial_budget() - std::min(early_bytes_, partial_budget())) return false;
    early_bytes_ += n;
    return true;
  }
  void drop_early(std::size_t n) noexcept { early_bytes_ -= std::min(n, early_bytes_); }
  std::size_t partial_budget() const noexcept {
    return std::max(opts_.engine.limits.max_unconsumed, opts_.codec.max_message_size);
  }
  engine::spdy_session& engine() noexcept { return *engine_; }
  const Codec& codec() const noexcept;
  const options& opts() const noexcept { return opts_; }
  bool ended() const noexcept { return ended_; }
  /// The error every operation gets once the session ended.
  std::error_code end_error() const noexcept;

  /// Queues bytes on a stream, in order per stream, waiting while the output
  /// is full or the stream is not open yet; `bytes` are copied only if they
  /// must wait, and not even then when `borrowed` (they stay valid until
  /// `done` runs: a byte-stream write). `whole_frame`: v0.1 messages travel
  /// as exactly one DATA frame. `done` is deferred. Under the lock.
  /// `mark`: the message names descriptors (see take_output).
  void submit(const std::shared_ptr<endpoint>& ep, std::span<const std::uint8_t> bytes, bool fin,
              bool whole_frame, completion done, std::uint64_t mark = 0, bool borrowed = false);
  /// Encodes `value` for the channel `parent` and submits it. Under the lock.
  void send_message(const std::shared_ptr<endpoint>& parent, Value value, completion done);
  /// Sends `value` on `parent` if that completes at once with no stream to
  /// open: plain data, and Fds when descriptors pass, with room in the
  /// output. False, with `value` untouched, when send_message() must do it.
  /// Under the lock.
  bool try_send_message(endpoint& parent, Value& value);
  /// As try_send_message(), for a message of plain data encoded straight
  /// from the application's type (see libchan/detail/plain.hpp). False,
  /// with nothing sent, when the Value path must do it. Under the lock.
  bool try_send_plain(endpoint& parent, const plain_message& message);
  /// Decodes the next message from `input` for channel `parent`; see
  /// Codec::decode. Under the lock.
  std::size_t decode_message(endpoint& parent, std::span<const std::uint8_t> input, Value& out,
                             std::error_code& ec, std::string& detail);
  /// The length of the next message of `input` if it is whole, holds only
  /// plain data (no references, times or descriptors) and keeps within the
  /// codec's limits; 0 otherwise. Such a message can wait undecoded, to be
  /// decoded by the thread that takes it.
  std::size_t measure_plain(std::span<const std::uint8_t> input) const;
  /// Decodes a message that measure_plain() accepted with `limits`.
  static void decode_plain(std::span<const std::uint8_t> bytes, const CodecLimits& limits,
                           Value& out, std::error_code& ec, std::string& detail);
  /// Reads a message that measure_plain() accepted straight into the
  /// application's type; false if it does not fit.
  static bool read_plain(std::span<const std::uint8_t> bytes, plain_destination& into);
  /// Sends a channel's FIN behind its messages that wait for the peer's
  /// SETTINGS (see send_message). Under the lock.
  void close_channel(const std::shared_ptr<endpoint>& ep);

 private:
  class events;
  class encoder;
  class decoder;
  friend class events;
  friend class encoder;
  friend class decoder;

  channel_session(const options& opts, std::weak_ptr<driver_hooks> hooks);
  /// The session lock, with this thread marked as its holder (see run()).
  /// Every locked section that may reach the engine's handlers takes it so.
  class owner_lock {
   public:
    explicit owner_lock(channel_session& s) : lock_(s.mutex_), owner_(s.owner_) {
      owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    }
    ~owner_lock() { owner_.store({}, std::memory_order_relaxed); }
    owner_lock(const owner_lock&) = delete;
    owner_lock& operator=(const owner_lock&) = delete;

   private:
    std::lock_guard<session_mutex> lock_;
    std::atomic<std::thread::id>& owner_;
  };
  enum class tell { always, if_changed, unless_output_watched };
  template <class Fn>
  void locked_run(Fn& fn, tell how) {
    if (owner_.load(std::memory_order_relaxed) == std::this_thread::get_id()) {
      fn();
      return;
    }
    work_list work;
    bool news = true;
    {
      owner_lock lock(*this);
      // A send while the driver watches the output needs no telling at
      // all: the write in flight comes back (on_write) and looks at
      // everything. Only the driver stops watching, under this lock.
      const bool quiet = how == tell::unless_output_watched && output_watched_;
      const bool compare = how != tell::always && !quiet;
      driver_state before{};
      if (compare) before = driver_view();
      fn();
      if (!filling_.empty()) finish_partial_reads();
      if (quiet)
        news = false;
      else if (compare)
        news = driver_view() != before;
      if (!deferred_.empty()) work.swap(deferred_);
    }
    for (auto& f : work) f();
    if (news) notify_driver();
  }
  /// What the driver acts on, to tell whether a call changed it. Under the
  /// lock.
  struct driver_state {
    std::uint64_t output_end;  ///< all output ever queued
    bool input_paused;
    bool ended;
    bool operator==(const driver_state&) const = default;
  };
  driver_state driver_view() const noexcept;
  /// A message for `parent` may be queued at once: nothing waits before it.
  bool sends_at_once(endpoint& parent) const;
  /// Queues one encoded message on `parent`'s stream in the session's
  /// dialect; `mark` names its descriptors (0: none).
  void submit_message(const endpoint& parent, std::span<const std::uint8_t> bytes,
                      std::uint64_t mark, std::error_code& ec);
  void notify_driver();
  std::uint64_t next_ref();
  void end_session(std::error_code ec, const std::string& detail);
  /// Retries the blocked writes of every waiting endpoint, in order.
  void retry_blocked();
  /// Offers `ep`'s blocked writes again; true once none is left.
  bool retry(endpoint& ep);
  /// Fails `ep`'s blocked writes with `ec`.
  void fail_blocked(endpoint& ep, std::error_code ec);
  /// Offers the rest of `w` to the engine; false if it must wait.
  bool try_submit(endpoint& ep, pending_write& w, std::error_code& ec);
  /// Ends a closing session once nothing accepted waits any more.
  void finish_close();
  /// The descriptors of a message that will not be written go with the
  /// next write: the peer numbers descriptors in the order they arrive.
  void release_mark(std::uint64_t mark);
  std::shared_ptr<endpoint> claim_ref(std::uint64_t ref, int kind, std::error_code& ec);

  // Descriptor passing (descriptors.cpp). Whether the peer takes
  // descriptors is known from its first frame: SETTINGS with our entry, or
  // anything else. Messages holding descriptors wait until then.
  enum class fd_passing { off, undecided, on };
  void decide_descriptors(bool on);
  /// True while a message naming descriptors must park: until the peer's
  /// first frame, and while max_queued_fds are queued for output.
  bool must_park_descriptors() const;
  /// Sends the parked messages that no longer have to wait.
  void resume_parked();
  /// Queues one of our descriptors behind those sent before, for the
  /// message marked `mark` (see outgoing_marks_), and numbers it.
  void queue_descriptor(outgoing_descriptor descriptor, std::uint64_t mark);
  void watch_first_frame(std::span<const std::uint8_t> taken);
  void on_peer_settings(const spdy::settings_frame& f);
  /// The received descriptor `index` (errc::protocol_error if it was not
  /// received, or named before), for a message naming it.
  Fd claim_descriptor(std::uint64_t index, std::error_code& ec, std::string& why);

  options opts_;
  std::weak_ptr<driver_hooks> hooks_;
  session_mutex mutex_;
  std::atomic<std::thread::id> owner_{};  ///< the thread inside run(), if any
  std::unique_ptr<events> events_;
  std::unique_ptr<engine::spdy_session> engine_;
  std::unique_ptr<Codec> codec_v01_;
  std::unique_ptr<Codec> codec_v02_;
  work_list deferred_;
  std::vector<std::shared_ptr<net_stream>> filling_;  // see finish_read_later
  /// Reused for each message's encoding: the engine copies it into its
  /// output, or submit() copies it when it must wait. Not kept past this
  /// size, so that one large message does not hold memory for good.
  std::vector<std::uint8_t> encode_buffer_;
  static constexpr std::size_t max_kept_encode_buffer = 64u << 10;
  std::vector<std::uint8_t> take_encode_buffer();
  void return_encode_buffer(std::vector<std::uint8_t>&& bytes);
  bool ended_ = false;
  bool output_watched_ = false;  // see watch_output
  std::error_code end_ec_;
  std::atomic<bool> end_published_{false};  // end_ec_ is set
  std::atomic<bool> deadline_moved_{true};  // see deadline_may_have_moved
  std::string end_detail_;
  std::string last_error_;
  std::size_t early_bytes_ = 0;  // see hold_early()
  std::uint64_t last_ref_ = 0;

  // Streams by SPDY id; streams the peer opened that no message named yet,
  // and names from messages whose stream has not been opened yet, by ref.
  std::unordered_map<engine::stream_id, std::shared_ptr<endpoint>> streams_;
  std::map<std::uint64_t, std::shared_ptr<endpoint>> unclaimed_;
  std::map<std::uint64_t, std::shared_ptr<endpoint>> awaited_;

  // Endpoints with blocked writes, in the order they blocked. Each stream
  // waits on its own: one out of window does not hold up the others.
  std::deque<std::shared_ptr<endpoint>> waiting_;
  bool retrying_ = false;
  bool retry_again_ = false;
  bool closing_ = false;
  std::optional<engine::steady_time> close_deadline_;

  fd_passing fd_passing_ = fd_passing::off;
  std::uint8_t first_frame_[4] = {};
  std::size_t first_frame_bytes_ = 0;
  /// Sends that wait, in the order they were made: for the peer's first
  /// frame (whether descriptors pass), or for room among the descriptors
  /// queued for output (max_queued_fds). No value: a channel's FIN.
  struct parked_send {
    std::shared_ptr<endpoint> ep;
    std::shared_ptr<Value> value;
    completion done;
  };
  std::deque<parked_send> parked_;
  std::uint64_t fds_sent_ = 0;  ///< indexes given to our descriptors
  // Descriptors not written yet, in index order, each with the mark of the
  // message naming it (marks never decrease); where marked messages start in
  // the output, in output order (offsets never decrease). A write carries the
  // descriptors of the messages that start in it, and every one before them,
  // but no more.
  std::deque<outgoing_descriptor> outgoing_fds_;
  std::deque<std::uint64_t> outgoing_marks_;
  std::deque<engine::spdy_session::output_mark> placed_marks_;
  /// Records where marked message `m` starts, unless its descriptors went.
  void place_mark(engine::spdy_session::output_mark m);
  /// Moves whole output chunks into chunks[0], chunks[1], ... up to `max`
  /// bytes (at least one chunk); under the lock.
  std::size_t move_output_chunks(std::vector<std::vector<std::uint8_t>>& chunks, std::size_t max);
  /// How many of outgoing_fds_ must go with a write ending before `end`, if
  /// at most `enough` (more means: cut the write).
  std::size_t descriptors_due(std::uint64_t end, std::size_t enough) const;
  std::vector<engine::spdy_session::output_mark> new_marks_;
  std::uint64_t next_mark_ = 1;
  std::uint64_t fds_received_ = 0;
  std::map<std::uint64_t, Fd> unclaimed_fds_;
  std::uint64_t fds_claimed_ = 0;
  std::optional<std::uint64_t> last_dropped_fd_;  // see receive_descriptors
  std::size_t buffered_fds_ = 0;                  // see buffer_descriptors

  Receiver<Receiver<Value>> incoming_rx_;
  Sender<Receiver<Value>> incoming_tx_;
};

}  // namespace libchan::detail::session
