// What one SPDY stream of a session is to the application: a channel we
// receive on, a channel we send on, a byte stream, or (until a message names
// it) a stream whose meaning is not known yet. Every member function that
// is not an application entry point runs under the session's lock.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "session/byte_queue.hpp"
#include "session/channel_session.hpp"

namespace libchan::detail::session {

/// What a reference in a message makes of its stream.
enum class stream_role {
  unclaimed,  ///< opened by the peer, not named by any message yet
  inbound,    ///< a channel we receive on (we hold a Receiver)
  outbound,   ///< a channel we send on (we hold a Sender)
  bytes,      ///< a byte stream
};

class endpoint {
 public:
  endpoint(std::weak_ptr<channel_session> session, std::uint64_t ref, engine::stream_id id)
      : session_(std::move(session)), ref_(ref), id_(id) {}
  virtual ~endpoint() = default;

  virtual stream_role role() const noexcept = 0;
  virtual void on_data(std::span<const std::uint8_t> data) = 0;
  virtual void on_remote_close() = 0;
  /// The stream is gone (reset, both sides closed, or the session ended).
  virtual void on_closed(std::error_code ec) = 0;
  /// Received bytes held here (for diagnostics).
  virtual std::size_t buffered() const noexcept { return 0; }

  std::uint64_t ref() const noexcept { return ref_; }
  engine::stream_id id() const noexcept { return id_; }
  void bind(engine::stream_id id) noexcept { id_ = id; }
  bool bound() const noexcept { return id_ != 0; }
  std::shared_ptr<endpoint> self() const { return self_.lock(); }
  void set_self(const std::shared_ptr<endpoint>& s) { self_ = s; }
  std::shared_ptr<channel_session> session() const noexcept { return session_.lock(); }

  /// Writes held back until the stream is open (a Sender named by a message
  /// before the peer's SYN_STREAM arrived).
  using held_write = pending_write;
  std::deque<held_write>& held() noexcept { return held_; }
  /// Writes on the open stream that the engine had no room for yet, in
  /// order; the first may be partly taken. Their sends have not completed.
  std::deque<held_write>& blocked() noexcept { return blocked_; }
  /// Listed in the session's list of endpoints with blocked writes.
  bool waiting = false;

 protected:
  std::weak_ptr<channel_session> session_;
  std::weak_ptr<endpoint> self_;
  std::uint64_t ref_;
  engine::stream_id id_;
  std::deque<held_write> held_;
  std::deque<held_write> blocked_;
};

/// A stream the peer opened that no message has named yet: keeps what
/// arrives until one does.
class unclaimed_stream final : public endpoint {
 public:
  using endpoint::endpoint;
  stream_role role() const noexcept override { return stream_role::unclaimed; }
  void on_data(std::span<const std::uint8_t> data) override {
    data_.insert(data_.end(), data.begin(), data.end());
  }
  void on_remote_close() override { remote_closed_ = true; }
  void on_closed(std::error_code ec) override { closed_ = ec ? ec : make_error_code(errc::closed); }
  std::size_t buffered() const noexcept override { return data_.size(); }

  /// Hands what arrived so far to the endpoint that now owns the stream.
  void replay_into(endpoint& owner);

 private:
  std::vector<std::uint8_t> data_;
  bool remote_closed_ = false;
  std::optional<std::error_code> closed_;
};

/// A channel whose messages we receive.
class inbound_channel final : public endpoint, public receiver_impl<Value> {
 public:
  using endpoint::endpoint;
  stream_role role() const noexcept override { return stream_role::inbound; }
  void on_data(std::span<const std::uint8_t> data) override;
  void on_remote_close() override;
  void on_closed(std::error_code ec) override;
  std::size_t buffered() const noexcept override;

  void start_receive(receive_waiter<Value>& w, std::size_t index) override;
  bool try_receive(std::optional<Value>& out, std::error_code& ec) override;
  bool try_receive_plain(plain_destination& into, bool& read, std::optional<Value>& out,
                         std::error_code& ec) override;
  void help_wait(const wait_target& w, std::chrono::steady_clock::time_point deadline) override;
  void cancel_receive(receive_waiter<Value>& w) noexcept override;
  void cancel_all() override;
  void close_receive() noexcept override;

 private:
  struct message {
    Value value;
    std::size_t bytes = 0;  ///< consumed when taken
    std::size_t early = 0;  ///< consumed before it was whole (see release_partial)
    std::size_t raw = 0;    ///< if not 0: undecoded, its bytes at the front of raw_
    std::size_t fds = 0;    ///< descriptors in `value` (channel_session::buffer_descriptors)
  };
  struct waiting {
    receive_waiter<Value>* waiter;
    std::size_t index;
  };
  bool try_receive_into(plain_destination* into, bool& read, std::optional<Value>& out,
                        std::error_code& ec);
  // Hands ready messages (or the end, or the error) to waiters.
  void deliver(channel_session& s);
  // True and `out` set if a result is ready for one receive. With
  // `undecoded`, a plain message is copied there instead of decoded, for
  // the caller to decode once the lock is released (see decode_taken).
  bool take(channel_session& s, std::optional<Value>& out, std::error_code& ec,
            std::vector<std::uint8_t>* undecoded = nullptr);
  // Tells the engine the bytes of the messages taken so far were consumed.
  void release_taken(channel_session& s);
  // Consumes the unfinished message's bytes early when it is at the front
  // (fails the channel past the session's partial_budget()).
  void release_partial(channel_session& s);
  // Fails the channel for a bad or oversized message; resets its stream.
  void fail(channel_session& s, std::error_code ec, const std::string& detail);
  // Forgets an unfinished message, consuming its bytes.
  void drop_partial(channel_session& s);
  // Keeps the bytes of a plain message until it is taken.
  void keep_raw(std::span<const std::uint8_t> bytes);
  // Takes the plain message at the front: copied into `undecoded` if
  // given, else decoded into `out`.
  void take_raw(channel_session& s, std::size_t size, std::optional<Value>& out,
                std::error_code& ec, std::vector<std::uint8_t>* undecoded);
  // Forgets the `size` bytes of the plain message at the front of raw_.
  void drop_raw_front(std::size_t size);
  // The accounting of taking the message at the front of queue_.
  void pop_taken(channel_session& s);
  // Moves the plain messages at the front of queue_ (a batch) to the
  // messages taken ahead; false if the front is not one. Under both locks.
  bool take_ahead(channel_session& s);
  // The next message taken ahead, if any, read or decoded as decode_taken
  // does. Under ahead_mutex_.
  bool next_taken_ahead(plain_destination* into, bool& read, std::optional<Value>& out,
                        std::error_code& ec);
  // A taken plain message, read into `into` if given and it fits (`read`
  // set), else decoded into `out`.
  static void decode_taken(std::span<const std::uint8_t> bytes, const CodecLimits& limits,
                           plain_destination* into, bool& read, std::optional<Value>& out,
                           std::error_code& ec);
  static constexpr std::size_t consume_batch = 4096;
  // raw_'s capacity kept while no plain message waits.
  static constexpr std::size_t max_idle_raw = 64 * 1024;
  // A longer plain message is decoded on arrival, as others are: kept raw,
  // its bytes would be copied twice more (into raw_ and out again), which
  // costs more than the Value's allocations save.
  static constexpr std::size_t max_raw_message = 8 * 1024;

  std::vector<std::uint8_t> partial_;
  std::size_t partial_released_ = 0;  ///< its first bytes, consumed early
  std::size_t taken_ = 0;             ///< bytes of messages taken, not yet released
  std::deque<message> queue_;
  // Plain messages wait undecoded, so that the thread that takes one
  // allocates and frees its Value (see channel_session::measure_plain).
  // Their bytes, back to back; raw_front_ is the first not taken.
  std::vector<std::uint8_t> raw_;
  std::size_t raw_front_ = 0;
  std::deque<waiting> waiters_;

  // Plain messages taken from the session ahead of the application, so
  // that a receiver that finds many queued takes the session's lock (which
  // the io thread needs for the input) once per batch instead of once per
  // message. They keep their own lock: the application's receives take them
  // in order, one at a time. The session's lock is taken while holding
  // this one, never the other way around.
  std::mutex ahead_mutex_;
  std::vector<std::uint8_t> ahead_bytes_;  ///< back to back
  std::vector<std::size_t> ahead_sizes_;
  std::size_t ahead_next_ = 0;    ///< index in ahead_sizes_ of the next one
  std::size_t ahead_offset_ = 0;  ///< where it starts in ahead_bytes_
  CodecLimits ahead_limits_;
  std::atomic<bool> ahead_dropped_{false};  ///< set by close_receive()
  // A batch stops after this many messages or bytes.
  static constexpr std::size_t max_taken_ahead = 64;
  static constexpr std::size_t max_taken_ahead_bytes = 16 * 1024;
  // ahead_bytes_'s capacity kept once all were taken.
  static constexpr std::size_t max_idle_ahead = 4 * 1024;
  bool remote_closed_ = false;
  bool local_closed_ = false;
  std::error_code error_;
};

/// A channel we send messages on.
class outbound_channel final : public endpoint, public sender_impl<Value> {
 public:
  using endpoint::endpoint;
  stream_role role() const noexcept override { return stream_role::outbound; }
  void on_data(std::span<const std::uint8_t> data) override;
  void on_remote_close() override;
  void on_closed(std::error_code ec) override;

  void start_send(Value&& value, send_waiter& w) override;
  bool try_send(Value& value, std::error_code& ec) override;
  bool try_send_plain(const plain_message& message, std::error_code& ec) override;
  bool encodes_plain() const noexcept override { return true; }
  void close_send() noexcept override;

 private:
  // A send that completes at once (`attempt(session)` under the lock), or
  // false with nothing sent.
  template <class Attempt>
  bool try_send_with(Attempt&& attempt, std::error_code& ec);
  bool local_closed_ = false;
  bool remote_closed_ = false;
  std::error_code error_;
};

/// A byte stream carried by a SPDY stream.
class net_stream final : public endpoint, public stream_impl {
 public:
  using endpoint::endpoint;
  stream_role role() const noexcept override { return stream_role::bytes; }
  void on_data(std::span<const std::uint8_t> data) override;
  void on_remote_close() override;
  void on_closed(std::error_code ec) override;
  std::size_t buffered() const noexcept override { return input_.size(); }

  std::size_t read_some(std::span<std::byte> buffer, std::error_code& ec) override;
  void write(std::span<const std::byte> data, std::error_code& ec) override;
  void async_read_some(std::span<std::byte> buffer, io_handler done) override;
  /// Completes a waiting read that holds bytes; the session calls it once
  /// the input at hand is taken (finish_read_later). Under the lock.
  void finish_partial_read(channel_session& s);
  void async_write(std::span<const std::byte> data, io_handler done) override;
  void close_write() noexcept override;
  void close() noexcept override;
  void abandon_reads() override;

 private:
  // Copies buffered input into `buffer`; under the lock.
  std::size_t take_input(channel_session& s, std::span<std::byte> buffer);
  void wake_reader(channel_session& s);
  // Completes the waiting read with what it holds and what is buffered.
  void complete_read(channel_session& s);

  byte_queue input_;
  bool remote_closed_ = false;
  bool write_closed_ = false;
  bool reads_abandoned_ = false;  // what arrives is dropped (abandon_reads)
  std::error_code error_;
  struct pending_read {
    std::span<std::byte> buffer;
    io_handler done;
    std::size_t filled = 0;  // bytes already copied into `buffer`
  };
  std::optional<pending_read> pending_read_;
};

/// Makes the endpoint for `role` and registers its self pointer.
std::shared_ptr<endpoint> make_endpoint(stream_role role, std::weak_ptr<channel_session> session,
                                        std::uint64_t ref, engine::stream_id id);

}  // namespace libchan::detail::session
