// The shared state of an in-process channel: a bounded queue plus the
// parties waiting on either side. Values are moved, never serialized.
#pragma once

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "libchan/detail/channel_impl.hpp"
#include "libchan/error.hpp"

namespace libchan::detail {

template <class T>
class pipe_state final : public receiver_impl<T>, public sender_impl<T> {
 public:
  /// capacity 0 makes a rendezvous channel: a send completes only when a
  /// receiver has taken the value.
  explicit pipe_state(std::size_t capacity) : capacity_(capacity) {}

  void start_receive(receive_waiter<T>& w, std::size_t index) override {
    std::unique_lock lock(mutex_);
    if (!queue_.empty() || !senders_.empty()) {
      if (!w.claim()) return;
      send_waiter* unblocked = nullptr;
      T value = take_next(unblocked);
      lock.unlock();
      w.complete(index, {}, std::move(value));
      if (unblocked) unblocked->complete({});
      return;
    }
    if (send_closed_ || recv_closed_) {
      if (!w.claim()) return;
      lock.unlock();
      // Receiving after our own close is a usage error; after the sender's
      // close it is the normal end of the channel (or the sender's failure).
      w.complete(index, recv_closed_ ? std::error_code(errc::closed) : send_error_, std::nullopt);
      return;
    }
    receivers_.push_back({&w, index});
  }

  bool try_receive(std::optional<T>& out, std::error_code& ec) override {
    std::unique_lock lock(mutex_);
    ec.clear();
    if (!queue_.empty() || !senders_.empty()) {
      send_waiter* unblocked = nullptr;
      out.emplace(take_next(unblocked));
      lock.unlock();
      if (unblocked) unblocked->complete({});
      return true;
    }
    if (recv_closed_ || send_closed_) {
      ec = recv_closed_ ? std::error_code(errc::closed) : send_error_;
      out.reset();
      return true;
    }
    return false;
  }

  // A pipe that a session forwards into fills only from that session: let
  // it read on this thread (a reply on a return channel).
  void help_wait(const wait_target& w, std::chrono::steady_clock::time_point deadline) override {
    std::shared_ptr<wait_helper> source;
    {
      std::lock_guard lock(mutex_);
      source = source_.lock();
    }
    if (source) source->help_wait(w, deadline);
  }

  void fed_by(std::weak_ptr<wait_helper> source) override {
    std::lock_guard lock(mutex_);
    source_ = std::move(source);
  }

  void cancel_receive(receive_waiter<T>& w) noexcept override {
    std::lock_guard lock(mutex_);
    std::erase_if(receivers_, [&](const pending_receive& r) { return r.waiter == &w; });
  }

  void cancel_all() override {
    std::unique_lock lock(mutex_);
    auto waiting = take_claimed_receivers();
    lock.unlock();
    fail_receivers(waiting, errc::cancelled);
  }

  void close_receive() noexcept override {
    std::unique_lock lock(mutex_);
    recv_closed_ = true;
    // Destroy dropped values outside the lock: their destructors may close
    // other channels.
    auto dropped = std::exchange(queue_, {});
    auto blocked = std::exchange(senders_, {});
    auto waiting = take_claimed_receivers();
    lock.unlock();
    for (auto& s : blocked) s.waiter->complete(errc::closed);
    fail_receivers(waiting, errc::closed);
  }

  void start_send(T&& value, send_waiter& w) override {
    std::unique_lock lock(mutex_);
    if (recv_closed_ || send_closed_) {
      lock.unlock();
      [[maybe_unused]] T dropped(std::move(value));
      w.complete(errc::closed);
      return;
    }
    while (!receivers_.empty()) {
      auto r = receivers_.front();
      receivers_.pop_front();
      // A select that was won by another channel leaves stale entries.
      if (!r.waiter->claim()) continue;
      lock.unlock();
      r.waiter->complete(r.index, {}, std::move(value));
      w.complete({});
      return;
    }
    if (queue_.size() < capacity_) {
      queue_.push_back(std::move(value));
      lock.unlock();
      w.complete({});
      return;
    }
    senders_.push_back({std::move(value), &w});
  }

  bool try_send(T& value, std::error_code& ec) override {
    std::unique_lock lock(mutex_);
    ec.clear();
    if (recv_closed_ || send_closed_) {
      lock.unlock();
      [[maybe_unused]] T dropped(std::move(value));
      ec = errc::closed;
      return true;
    }
    while (!receivers_.empty()) {
      auto r = receivers_.front();
      receivers_.pop_front();
      if (!r.waiter->claim()) continue;
      lock.unlock();
      r.waiter->complete(r.index, {}, std::move(value));
      return true;
    }
    if (queue_.size() < capacity_) {
      queue_.push_back(std::move(value));
      return true;
    }
    return false;
  }

  void close_send() noexcept override { fail_send({}); }

  void fail_send(std::error_code ec) noexcept override {
    std::unique_lock lock(mutex_);
    if (send_closed_) return;
    send_closed_ = true;
    send_error_ = ec;
    if (!queue_.empty() || !senders_.empty()) return;
    auto waiting = take_claimed_receivers();
    lock.unlock();
    fail_receivers(waiting, ec);
  }

 private:
  struct pending_send {
    T value;
    send_waiter* waiter;
  };
  struct pending_receive {
    receive_waiter<T>* waiter;
    std::size_t index;
  };

  // Pops the next value in order; a blocked sender moves into the freed slot
  // (or, with no buffer, hands its value over directly).
  T take_next(send_waiter*& unblocked) {
    if (queue_.empty()) {
      auto s = std::move(senders_.front());
      senders_.pop_front();
      unblocked = s.waiter;
      return std::move(s.value);
    }
    T value = std::move(queue_.front());
    queue_.pop_front();
    if (!senders_.empty()) {
      queue_.push_back(std::move(senders_.front().value));
      unblocked = senders_.front().waiter;
      senders_.pop_front();
    }
    return value;
  }

  // Empties receivers_, keeping the waiters this call claims. Under the
  // lock: a waiter whose claim fails belongs to a select that another
  // channel won, and may be destroyed once its owner's cancel_receive gets
  // the lock, so it must not be touched after it is released.
  std::deque<pending_receive> take_claimed_receivers() {
    std::deque<pending_receive> claimed;
    for (const auto& r : receivers_)
      if (r.waiter->claim()) claimed.push_back(r);
    receivers_.clear();
    return claimed;
  }

  // Completes waiters claimed by take_claimed_receivers(); not under the lock.
  static void fail_receivers(std::deque<pending_receive>& claimed, std::error_code ec) {
    for (auto& r : claimed) r.waiter->complete(r.index, ec, std::nullopt);
  }

  std::mutex mutex_;
  std::weak_ptr<wait_helper> source_;  // the channel a forwarder brings messages from
  const std::size_t capacity_;
  std::deque<T> queue_;
  std::deque<pending_send> senders_;
  std::deque<pending_receive> receivers_;
  bool send_closed_ = false;
  bool recv_closed_ = false;
  std::error_code send_error_;  ///< what receivers get after the last message
};

}  // namespace libchan::detail
