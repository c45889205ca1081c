// Glue between channel waiters and Asio completion tokens.
#pragma once

#include <atomic>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include "libchan/detail/channel_impl.hpp"

namespace boost::asio {
template <typename Allocator>
class use_future_t;
template <typename Executor>
struct use_awaitable_t;
}  // namespace boost::asio

namespace libchan::detail {

/// Asio's use_future and use_awaitable turn only boost::system::error_code
/// or std::exception_ptr into exceptions; for them libchan completes with an
/// exception_ptr, for every other token with a std::error_code.
template <class Token>
struct throws_errors : std::false_type {};
template <class Allocator>
struct throws_errors<boost::asio::use_future_t<Allocator>> : std::true_type {};
template <class Executor>
struct throws_errors<boost::asio::use_awaitable_t<Executor>> : std::true_type {};

/// Presents a handler taking (std::exception_ptr, Args...) as one taking
/// (std::error_code, Args...).
template <class Handler>
struct error_to_exception {
  Handler handler;

  template <class... Args>
  void operator()(std::error_code ec, Args&&... args) {
    handler(ec ? std::make_exception_ptr(std::system_error(ec)) : std::exception_ptr(),
            std::forward<Args>(args)...);
  }
};

/// async_initiate with the completion signature void(std::error_code,
/// Args...), adapted for tokens that throw. `init` receives the handler.
template <class... Args, class CompletionToken, class Initiation>
auto initiate(CompletionToken&& token, Initiation&& init) {
  if constexpr (throws_errors<std::decay_t<CompletionToken>>::value) {
    return boost::asio::async_initiate<CompletionToken, void(std::exception_ptr, Args...)>(
        [init = std::forward<Initiation>(init)](auto handler) mutable {
          init(error_to_exception<decltype(handler)>{std::move(handler)});
        },
        token);
  } else {
    return boost::asio::async_initiate<CompletionToken, void(std::error_code, Args...)>(
        std::forward<Initiation>(init), token);
  }
}

/// A completion handler together with a claim on its executor's work
/// count, taken when the operation starts: an io_context does not run out
/// of work while a receive is pending (Asio's rules for async operations).
template <class Handler>
class tracked_handler {
 public:
  explicit tracked_handler(Handler&& h)
      : work_(boost::asio::prefer(boost::asio::get_associated_executor(h),
                                  boost::asio::execution::outstanding_work.tracked)),
        handler_(std::move(h)) {}

  /// Runs the handler through its associated executor, never inline.
  ///
  /// `hold` keeps the executor's context busy until post() has returned:
  /// once the handler runs and drops `work`, the context may run out of
  /// work, its run() may return and the application may destroy it, while
  /// this thread is still inside post() waking that context's thread.
  template <class... Args>
  void post(Args&&... args) {
    auto ex = boost::asio::get_associated_executor(handler_);
    [[maybe_unused]] const auto hold = work_;
    boost::asio::post(ex, [h = std::move(handler_), work = std::move(work_),
                           ... a = std::forward<Args>(args)]() mutable { h(std::move(a)...); });
  }

 private:
  using executor = boost::asio::associated_executor_t<Handler>;
  std::decay_t<decltype(boost::asio::prefer(std::declval<executor>(),
                                            boost::asio::execution::outstanding_work.tracked))>
      work_;
  Handler handler_;
};

/// Posts `handler(args...)` to the handler's associated executor.
template <class Handler, class... Args>
void post_completion(Handler&& handler, Args&&... args) {
  tracked_handler<std::decay_t<Handler>>(std::forward<Handler>(handler))
      .post(std::forward<Args>(args)...);
}

/// States of a waiter: claimed by one channel, or given up by its owner.
enum : int { waiter_idle = 0, waiter_claimed = 1, waiter_abandoned = 2 };

/// The blocking side of a wait: polls briefly, then sleeps on a condvar.
///
/// No lost wake-up: the waiter sets `sleeping_` and tests `state_` under the
/// mutex, and the notifier sets `state_` and reads `sleeping_` under it, so
/// one of them sees the other's write. A waiter that saw `sleeping_` set
/// before the notifier locked is already inside cond_.wait (which released
/// the mutex as it started waiting), so the notify that follows reaches it
/// even though it is sent after the notifier unlocked.
///
/// The notify is sent after unlocking so that the woken thread does not
/// find the mutex still held. The waiter owns this object and may destroy
/// it once it returns, so it returns only after the notifier's last touch
/// (`state_` = released), which follows the notify at once.
class blocking_signal {
 public:
  void notify() {
    bool sleeping;
    {
      std::lock_guard lock(mutex_);
      state_.store(done, std::memory_order_relaxed);
      sleeping = sleeping_;
    }
    if (sleeping) cond_.notify_one();
    state_.store(released, std::memory_order_release);
  }

  void wait() {
    if (!poll()) {
      std::unique_lock lock(mutex_);
      sleeping_ = true;
      cond_.wait(lock, [&] { return state_.load(std::memory_order_relaxed) != pending; });
    }
    await_release();
  }

  /// True once notified; any thread.
  bool ready() const noexcept { return state_.load(std::memory_order_acquire) != pending; }

  /// False if the deadline passed first.
  template <class Clock, class Duration>
  bool wait_until(std::chrono::time_point<Clock, Duration> deadline) {
    if (!poll()) {
      std::unique_lock lock(mutex_);
      sleeping_ = true;
      if (!cond_.wait_until(lock, deadline,
                            [&] { return state_.load(std::memory_order_relaxed) != pending; }))
        return false;
    }
    await_release();
    return true;
  }

 private:
  enum : int { pending, done, released };

  bool poll() {
    // On two loaded cores the notifier usually needs the very core this
    // thread would spin on, so only a short look before sleeping.
    for (int i = 0; i < spin_count; ++i) {
      if (state_.load(std::memory_order_acquire) != pending) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    return state_.load(std::memory_order_acquire) != pending;
  }

  // The notifier is between its unlock and its last store: a few
  // instructions, unless it was preempted there.
  void await_release() {
    for (int i = 0; state_.load(std::memory_order_acquire) != released; ++i) {
      if (i < 64) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      } else {
        std::this_thread::yield();
      }
    }
  }

  static constexpr int spin_count = 0;

  std::mutex mutex_;
  std::condition_variable cond_;
  std::atomic<int> state_{pending};
  bool sleeping_ = false;
};

/// A receive waiter for blocking calls; lives on the caller's stack.
template <class T>
class blocking_receive final : public receive_waiter<T>, public wait_target {
 public:
  bool ready() const noexcept override { return signal_.ready(); }

  bool claim() noexcept override {
    int expected = waiter_idle;
    return state_.compare_exchange_strong(expected, waiter_claimed, std::memory_order_acq_rel);
  }

  void complete(std::size_t index, std::error_code ec, std::optional<T> value) override {
    index_ = index;
    ec_ = ec;
    value_ = std::move(value);
    signal_.notify();
  }

  void wait() { signal_.wait(); }

  /// Waits until the deadline. On time-out, tries to give the waiter up; if a
  /// channel claimed it first, its completion is imminent and is awaited.
  /// Returns false if given up: the caller must then cancel its registrations.
  template <class Clock, class Duration>
  bool wait_until(std::chrono::time_point<Clock, Duration> deadline) {
    if (signal_.wait_until(deadline)) return true;
    int expected = waiter_idle;
    if (state_.compare_exchange_strong(expected, waiter_abandoned, std::memory_order_acq_rel))
      return false;
    signal_.wait();
    return true;
  }

  std::size_t index() const { return index_; }
  std::error_code error() const { return ec_; }
  std::optional<T>& value() { return value_; }

 private:
  std::atomic<int> state_{waiter_idle};
  blocking_signal signal_;
  std::size_t index_ = 0;
  std::error_code ec_;
  std::optional<T> value_;
};

/// A send waiter for blocking calls.
class blocking_send final : public send_waiter {
 public:
  void complete(std::error_code ec) override {
    ec_ = ec;
    signal_.notify();
  }
  std::error_code wait() {
    signal_.wait();
    return ec_;
  }

 private:
  blocking_signal signal_;
  std::error_code ec_;
};

/// A receive waiter owning an Asio completion handler; deletes itself.
template <class T, class Handler>
class async_receive final : public receive_waiter<T> {
 public:
  explicit async_receive(Handler&& h) : handler_(std::move(h)) {}

  bool claim() noexcept override {
    bool expected = false;
    return claimed_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
  }

  void complete(std::size_t, std::error_code ec, std::optional<T> value) override {
    handler_.post(ec, std::move(value));
    delete this;
  }

 private:
  std::atomic<bool> claimed_{false};
  tracked_handler<Handler> handler_;
};

/// A send waiter owning an Asio completion handler; deletes itself.
template <class Handler>
class async_send final : public send_waiter {
 public:
  explicit async_send(Handler&& h) : handler_(std::move(h)) {}
  void complete(std::error_code ec) override {
    handler_.post(ec);
    delete this;
  }

 private:
  tracked_handler<Handler> handler_;
};

}  // namespace libchan::detail

template <class Handler, class Executor>
struct boost::asio::associated_executor<libchan::detail::error_to_exception<Handler>, Executor> {
  using type = associated_executor_t<Handler, Executor>;
  static type get(const libchan::detail::error_to_exception<Handler>& h,
                  const Executor& ex = Executor()) noexcept {
    return associated_executor<Handler, Executor>::get(h.handler, ex);
  }
};
