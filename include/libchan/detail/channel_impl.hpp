// The interfaces behind Sender<T> and Receiver<T>. In-process pipes and
// network sessions implement them; the public handles only forward.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>

namespace libchan::detail {

class plain_message;      // libchan/detail/plain.hpp
class plain_destination;  // libchan/detail/plain.hpp

/// One party waiting for a message. A waiter may be registered with several
/// channels at once (select); exactly one of them wins it through claim().
template <class T>
class receive_waiter {
 public:
  /// Called with the channel's lock held. Returns true if the caller now owns
  /// the right to complete this waiter; false once another channel has it.
  virtual bool claim() noexcept = 0;

  /// Called exactly once after a successful claim, with no channel lock held.
  /// `index` is the value given at registration. An empty `value` with no
  /// error is the end of the channel.
  virtual void complete(std::size_t index, std::error_code ec, std::optional<T> value) = 0;

  /// A waiter that reads plain messages straight into a type of its own
  /// (see plain.hpp) returns its reader: a channel that holds such a
  /// message undecoded reads it there after the claim, with no channel
  /// lock held, and calls complete_read() instead of complete(). A message
  /// the reader refuses comes through complete() as usual. Null: values
  /// only.
  virtual plain_destination* plain_target() noexcept { return nullptr; }
  virtual void complete_read(std::size_t index) { (void)index; }

 protected:
  ~receive_waiter() = default;
};

/// A sender waiting for room (or, in a rendezvous pipe, for a receiver).
class send_waiter {
 public:
  /// Called exactly once, with no channel lock held.
  virtual void complete(std::error_code ec) = 0;

 protected:
  ~send_waiter() = default;
};

/// A deadline of any clock as a point of the steady clock.
template <class Clock, class Duration>
std::chrono::steady_clock::time_point steady_deadline(
    std::chrono::time_point<Clock, Duration> deadline) {
  using steady = std::chrono::steady_clock;
  if constexpr (std::is_same_v<Clock, steady>) {
    return std::chrono::time_point_cast<steady::duration>(deadline);
  } else {
    return steady::now() + std::chrono::duration_cast<steady::duration>(deadline - Clock::now());
  }
}

/// What a blocking call sleeps on, as seen by a channel that can help it
/// along (receiver_impl::help_wait).
class wait_target {
 public:
  /// True once the wait is over; any thread.
  virtual bool ready() const noexcept = 0;

 protected:
  ~wait_target() = default;
};

/// What can do a blocking wait's work on the waiting thread; the part of
/// receiver_impl that does not depend on its type.
class wait_helper {
 public:
  /// A blocking receive registered a waiter and is about to sleep until
  /// `w` is ready: the channel may first do, on the calling thread, the
  /// work that would complete it elsewhere (a network session reads its
  /// connection instead of waking an io thread that would). Returns when
  /// `w` is ready, when `deadline` passed or when it has nothing to do; the
  /// caller then sleeps as usual. Never completes anything but through the
  /// usual path.
  virtual void help_wait(const wait_target& /*w*/,
                         std::chrono::steady_clock::time_point /*deadline*/) {}

 protected:
  ~wait_helper() = default;
};

/// The receiving side of one channel.
template <class T>
class receiver_impl : public wait_helper {
 public:
  virtual ~receiver_impl() = default;

  /// Completes `w` now if a message (or the end) is ready and w.claim()
  /// succeeds; otherwise registers it. Never calls `w` under a lock held by
  /// the caller; may call it before returning.
  virtual void start_receive(receive_waiter<T>& w, std::size_t index) = 0;

  /// Takes a message or the end without waiting, if one is ready: returns
  /// true and sets `out` (empty at the end) and `ec`. The blocking calls try
  /// this first, to skip setting up a waiter.
  virtual bool try_receive(std::optional<T>& out, std::error_code& ec) {
    (void)out;
    (void)ec;
    return false;
  }

  /// As try_receive, but a message of plain data that this end kept
  /// undecoded may be read straight into the application's type (see
  /// plain.hpp): then `read` is set and `out` stays empty. A message that
  /// `into` refuses comes out in `out` as usual.
  virtual bool try_receive_plain(plain_destination& into, bool& read, std::optional<T>& out,
                                 std::error_code& ec) {
    (void)into;
    read = false;
    return try_receive(out, ec);
  }

  /// Removes `w` if still registered. After return the channel no longer
  /// refers to `w`. Does not complete it.
  virtual void cancel_receive(receive_waiter<T>& w) noexcept = 0;

  /// Completes every registered waiter with errc::cancelled.
  virtual void cancel_all() = 0;

  /// The receiving end is gone: pending and later sends fail with
  /// errc::closed and queued messages are dropped. Idempotent.
  virtual void close_receive() noexcept = 0;
};

/// The sending side of one channel.
template <class T>
class sender_impl {
 public:
  virtual ~sender_impl() = default;

  /// Hands `value` over; completes `w` once the channel accepted it (or
  /// failed). May complete before returning.
  virtual void start_send(T&& value, send_waiter& w) = 0;

  /// A forwarder moves every message of `source` into this channel: a
  /// receiver of this channel that waits may let `source` help
  /// (wait_helper::help_wait), since only `source` can bring it anything.
  virtual void fed_by(std::weak_ptr<wait_helper> /*source*/) {}

  /// Hands `value` over if that needs no waiting: returns true and sets
  /// `ec` (the value is consumed); returns false leaving `value` untouched.
  virtual bool try_send(T& value, std::error_code& ec) {
    (void)value;
    (void)ec;
    return false;
  }

  /// Sends a copy of `value` if that needs no waiting and this end can do
  /// it without making one (it encodes `value` in place): returns true and
  /// sets `ec`. False, with nothing sent, otherwise: the caller then sends
  /// a copy the usual way.
  virtual bool try_send_copy(const T& value, std::error_code& ec) {
    (void)value;
    (void)ec;
    return false;
  }

  /// As try_send, for a message of plain data that this end may encode
  /// itself instead of receiving it as a Value (see plain.hpp): true and
  /// `ec` cleared once sent; false if it was not, and the caller sends the
  /// Value. Only network channels encode.
  virtual bool try_send_plain(const plain_message& message, std::error_code& ec) {
    (void)message;
    (void)ec;
    return false;
  }
  /// True if this end encodes plain messages: then try_send_plain refuses
  /// only what try_send would refuse too (no room at once, a closed
  /// channel), and a caller it refused need not offer the Value.
  virtual bool encodes_plain() const noexcept { return false; }

  /// No more messages: the receiver sees the end once all sent ones are
  /// taken. Idempotent.
  virtual void close_send() noexcept = 0;

  /// As close_send(), but the receiver sees `ec` instead of a clean end
  /// (a forwarded channel whose source failed). Channels that cannot carry
  /// an error just close.
  virtual void fail_send(std::error_code ec) noexcept {
    (void)ec;
    close_send();
  }
};

}  // namespace libchan::detail
