// Typed channel ends seen as Value ends and back, so that a Sender<Reply>
// can travel inside a dynamic message and be recovered as a Sender<Reply>.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <type_traits>

#include "libchan/channel.hpp"
#include "libchan/convert.hpp"
#include "libchan/detail/plain.hpp"
#include "libchan/value.hpp"

namespace libchan::detail {

/// A Sender<T> used as a Sender<Value>: each Value is converted to T.
template <class T>
class value_to_typed_sender final : public sender_impl<Value> {
 public:
  explicit value_to_typed_sender(std::shared_ptr<sender_impl<T>> inner)
      : inner_(std::move(inner)) {}

  void start_send(Value&& value, send_waiter& w) override {
    T typed{};
    std::error_code ec;
    if (!libchan::from_value(std::move(value), typed, ec)) return w.complete(ec);
    inner_->start_send(std::move(typed), w);
  }
  // A send that needs no waiting skips the waiter (see typed_to_value_sender).
  bool try_send(Value& value, std::error_code& ec) override {
    T typed{};
    if (!libchan::from_value(std::move(value), typed, ec)) return true;
    if (inner_->try_send(typed, ec)) return true;
    value = libchan::to_value(std::move(typed));  // untouched: as it was
    return false;
  }
  void fed_by(std::weak_ptr<wait_helper> source) override { inner_->fed_by(std::move(source)); }
  void close_send() noexcept override { inner_->close_send(); }
  void fail_send(std::error_code ec) noexcept override { inner_->fail_send(ec); }
  const std::shared_ptr<sender_impl<T>>& inner() const noexcept { return inner_; }

 private:
  std::shared_ptr<sender_impl<T>> inner_;
};

/// A Sender<Value> used as a Sender<T>: each T is converted to a Value.
template <class T>
class typed_to_value_sender final : public sender_impl<T> {
 public:
  explicit typed_to_value_sender(std::shared_ptr<sender_impl<Value>> inner)
      : inner_(std::move(inner)) {}

  void start_send(T&& value, send_waiter& w) override {
    if constexpr (is_plain_v<T>) {
      // Plain data with room at once completes now, with no Value.
      std::error_code ec;
      if (inner_->try_send_plain(plain_view<T>(value), ec)) return w.complete(ec);
    }
    inner_->start_send(libchan::to_value(std::move(value)), w);
  }
  // A send that needs no waiting skips the waiter, its completion and the
  // wake-up. When the inner end refuses, `value` gets its content back:
  // conversion moves channel ends and streams out and back, unchanged.
  // Plain data may skip the Value altogether (see plain.hpp).
  bool try_send(T& value, std::error_code& ec) override {
    if constexpr (is_plain_v<T>) {
      if (inner_->try_send_plain(plain_view<T>(value), ec)) return true;
      // The Value would be refused too: skip converting it there and back.
      if (inner_->encodes_plain()) return false;
    }
    Value converted = libchan::to_value(std::move(value));
    if (inner_->try_send(converted, ec)) return true;
    std::error_code back;
    if (libchan::from_value(std::move(converted), value, back)) return false;
    ec = back;  // not expected: a value to_value made converts back
    return true;
  }
  // Plain data is encoded from the caller's value: no copy to send.
  bool try_send_copy(const T& value, std::error_code& ec) override {
    if constexpr (is_plain_v<T>)
      return inner_->try_send_plain(plain_view<T>(value), ec);
    else
      return false;
  }
  void fed_by(std::weak_ptr<wait_helper> source) override { inner_->fed_by(std::move(source)); }
  void close_send() noexcept override { inner_->close_send(); }
  void fail_send(std::error_code ec) noexcept override { inner_->fail_send(ec); }
  const std::shared_ptr<sender_impl<Value>>& inner() const noexcept { return inner_; }

 private:
  std::shared_ptr<sender_impl<Value>> inner_;
};

/// Where a waiter for a plain T reads a message (see plain.hpp); nothing
/// for other types.
template <class T, bool Plain = is_plain_v<T>>
struct plain_slot {
  plain_destination* target() noexcept { return nullptr; }
  std::optional<T> take() { return std::nullopt; }
};

template <class T>
struct plain_slot<T, true> {
  plain_slot() = default;
  plain_slot(const plain_slot&) = delete;  // `reading` refers to `value`
  plain_slot& operator=(const plain_slot&) = delete;
  plain_destination* target() noexcept { return &reading; }
  std::optional<T> take() { return std::move(value); }

  std::optional<T> value;
  plain_reading<T> reading{value};
};

/// Wraps a waiter of one type as a waiter of another, converting the value
/// on completion. Owned by the receiver adapter that made it. A waiter of
/// Values for a plain type reads plain messages straight into it.
template <class From, class To, class Adapter>
class converting_waiter final : public receive_waiter<From> {
 public:
  converting_waiter(Adapter& owner, receive_waiter<To>& outer) : owner_(owner), outer_(outer) {}

  bool claim() noexcept override { return outer_.claim(); }

  void complete(std::size_t index, std::error_code ec, std::optional<From> value) override {
    // Unlist first: once outer_ completes, its owner may cancel everywhere.
    auto self = owner_.unlist(this);
    auto converted = convert(std::move(value), ec);
    outer_.complete(index, ec, std::move(converted));
  }

  plain_destination* plain_target() noexcept override {
    if constexpr (std::is_same_v<From, Value>) return slot_.target();
    return nullptr;
  }

  void complete_read(std::size_t index) override {
    std::optional<To> read = slot_.take();
    auto self = owner_.unlist(this);  // `slot_` goes with it
    outer_.complete(index, {}, std::move(read));
  }

  /// `value` as a `To`. A value that does not convert is dropped and its
  /// error set in `ec`; an error or end already in `ec` passes through.
  static std::optional<To> convert(std::optional<From>&& value, std::error_code& ec) {
    std::optional<To> converted;
    if (value && !ec) {
      converted.emplace();
      if constexpr (std::is_same_v<To, Value>) {
        *converted = libchan::to_value(std::move(*value));
      } else {
        if (!libchan::from_value(std::move(*value), *converted, ec)) converted.reset();
      }
    }
    return converted;
  }

  receive_waiter<To>& outer() const noexcept { return outer_; }

 private:
  Adapter& owner_;
  receive_waiter<To>& outer_;
  plain_slot<To> slot_;
};

/// A receiver of `From` values seen as a receiver of `To` values.
template <class From, class To>
class converting_receiver final : public receiver_impl<To> {
  using waiter = converting_waiter<From, To, converting_receiver>;

 public:
  explicit converting_receiver(std::shared_ptr<receiver_impl<From>> inner)
      : inner_(std::move(inner)) {}

  void start_receive(receive_waiter<To>& w, std::size_t index) override {
    waiter* raw;
    {
      std::lock_guard lock(mutex_);
      raw = &*waiters_.emplace(waiters_.end(), *this, w);
    }
    inner_->start_receive(*raw, index);
  }

  // The blocking calls try this first: a message that is already there
  // needs no waiter, list entry or deferred completion.
  bool try_receive(std::optional<To>& out, std::error_code& ec) override {
    std::optional<From> raw;
    if constexpr (std::is_same_v<From, Value> && is_plain_v<To>) {
      // A plain message may skip the Value.
      plain_reading<To> into(out);
      bool read = false;
      if (!inner_->try_receive_plain(into, read, raw, ec)) return false;
      if (read) return true;
    } else {
      if (!inner_->try_receive(raw, ec)) return false;
    }
    out = waiter::convert(std::move(raw), ec);
    return true;
  }

  void cancel_receive(receive_waiter<To>& w) noexcept override {
    std::list<waiter> gone;
    {
      std::lock_guard lock(mutex_);
      for (auto it = waiters_.begin(); it != waiters_.end();) {
        auto next = std::next(it);
        if (&it->outer() == &w) gone.splice(gone.end(), waiters_, it);
        it = next;
      }
    }
    for (auto& g : gone) inner_->cancel_receive(g);
  }

  void help_wait(const wait_target& w, std::chrono::steady_clock::time_point deadline) override {
    inner_->help_wait(w, deadline);
  }
  void cancel_all() override { inner_->cancel_all(); }
  void close_receive() noexcept override { inner_->close_receive(); }
  const std::shared_ptr<receiver_impl<From>>& inner() const noexcept { return inner_; }

  /// Removes `w` from the list; the returned list keeps it alive until the
  /// caller is done with it.
  std::list<waiter> unlist(waiter* w) {
    std::list<waiter> out;
    std::lock_guard lock(mutex_);
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it)
      if (&*it == w) {
        out.splice(out.end(), waiters_, it);
        break;
      }
    return out;
  }

 private:
  std::shared_ptr<receiver_impl<From>> inner_;
  std::mutex mutex_;
  std::list<waiter> waiters_;
};

/// A Sender<T> as a Sender<Value>; unwraps a previous restore_sender.
template <class T>
Sender<Value> erase_sender(Sender<T>&& s) {
  if constexpr (std::is_same_v<T, Value>) {
    return std::move(s);
  } else {
    auto impl = s.release();
    if (!impl) return {};
    if (auto* back = dynamic_cast<typed_to_value_sender<T>*>(impl.get()))
      return Sender<Value>(back->inner());
    return Sender<Value>(std::make_shared<value_to_typed_sender<T>>(std::move(impl)));
  }
}

/// A Sender<Value> as a Sender<T>; unwraps a previous erase_sender.
template <class T>
Sender<T> restore_sender(Sender<Value>&& s) {
  if constexpr (std::is_same_v<T, Value>) {
    return std::move(s);
  } else {
    auto impl = s.release();
    if (!impl) return {};
    if (auto* back = dynamic_cast<value_to_typed_sender<T>*>(impl.get()))
      return Sender<T>(back->inner());
    return Sender<T>(std::make_shared<typed_to_value_sender<T>>(std::move(impl)));
  }
}

/// A Receiver<T> as a Receiver<Value>; unwraps a previous restore_receiver.
template <class T>
Receiver<Value> erase_receiver(Receiver<T>&& r) {
  if constexpr (std::is_same_v<T, Value>) {
    return std::move(r);
  } else {
    auto impl = r.release();
    if (!impl) return {};
    if (auto* back = dynamic_cast<converting_receiver<Value, T>*>(impl.get()))
      return Receiver<Value>(back->inner());
    return Receiver<Value>(std::make_shared<converting_receiver<T, Value>>(std::move(impl)));
  }
}

/// A Receiver<Value> as a Receiver<T>; unwraps a previous erase_receiver.
template <class T>
Receiver<T> restore_receiver(Receiver<Value>&& r) {
  if constexpr (std::is_same_v<T, Value>) {
    return std::move(r);
  } else {
    auto impl = r.release();
    if (!impl) return {};
    if (auto* back = dynamic_cast<converting_receiver<T, Value>*>(impl.get()))
      return Receiver<T>(back->inner());
    return Receiver<T>(std::make_shared<converting_receiver<Value, T>>(std::move(impl)));
  }
}

}  // namespace libchan::detail
