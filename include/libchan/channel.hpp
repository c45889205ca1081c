// Sender<T> and Receiver<T>: the two ends of a channel.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

#include "libchan/detail/channel_impl.hpp"
#include "libchan/detail/completion.hpp"
#include "libchan/error.hpp"

namespace libchan {

class Value;

/// The sending end of a channel carrying values of type T.
///
/// Move-only and safe to use from several threads at once (share it by
/// reference). Destroying a Sender closes the channel: the receiver gets every
/// message sent before, then the end.
template <class T = Value>
class Sender {
 public:
  using value_type = T;

  Sender() noexcept = default;
  explicit Sender(std::shared_ptr<detail::sender_impl<T>> impl) noexcept : impl_(std::move(impl)) {}
  Sender(Sender&&) noexcept = default;
  Sender& operator=(Sender&& other) noexcept {
    if (this != &other) {
      close();
      impl_ = std::move(other.impl_);
    }
    return *this;
  }
  ~Sender() { close(); }

  /// Sends `value`, blocking while the channel has no room (in a rendezvous
  /// pipe: until a receiver takes it). Throws Error(errc::closed) if the
  /// receiver is gone or this end was closed.
  void send(T&& value) {
    std::error_code ec;
    send(std::move(value), ec);
    throw_if(ec);
  }

  /// As send(T&&), for a value the caller keeps. A network channel encodes
  /// a struct of plain data (see libchan/fields.hpp) straight from `value`
  /// when the message can go at once; otherwise, and in process, the
  /// channel sends a copy.
  void send(const T& value) {
    std::error_code ec;
    send(value, ec);
    throw_if(ec);
  }

  /// As send(T&&), reporting failure through `ec`.
  void send(T&& value, std::error_code& ec) {
    if (!impl_) {
      ec = errc::empty_handle;
      return;
    }
    if (impl_->try_send(value, ec)) return;
    detail::blocking_send waiter;
    impl_->start_send(std::move(value), waiter);
    ec = waiter.wait();
  }

  /// As send(const T&), reporting failure through `ec`.
  void send(const T& value, std::error_code& ec) {
    // Checked here, not as a constraint: T may still be incomplete where
    // Sender<T> is named (Value holds Senders).
    static_assert(std::is_copy_constructible_v<T>,
                  "a move-only value is sent with send(std::move(value))");
    if (impl_ && impl_->try_send_copy(value, ec)) return;
    send(T(value), ec);
  }

  /// Starts a send; the token's handler gets `void(std::error_code)`.
  /// Completes through the handler's associated executor, never inline.
  template <class CompletionToken>
  auto async_send(T value, CompletionToken&& token) {
    return detail::initiate<>(token, [this, v = std::move(value)](auto handler) mutable {
      if (!impl_) {
        detail::post_completion(std::move(handler), std::error_code(errc::empty_handle));
        return;
      }
      using op = detail::async_send<std::decay_t<decltype(handler)>>;
      impl_->start_send(std::move(v), *new op(std::move(handler)));
    });
  }

  /// Ends the channel. Idempotent, never throws, and safe to call while
  /// other threads send: their later sends fail with errc::closed.
  void close() noexcept {
    if (impl_) impl_->close_send();
  }

  /// False if moved from or default-constructed.
  explicit operator bool() const noexcept { return impl_ != nullptr; }

  /// The implementation, for transports and adapters.
  const std::shared_ptr<detail::sender_impl<T>>& impl() const noexcept { return impl_; }
  /// Gives up the implementation without closing it.
  std::shared_ptr<detail::sender_impl<T>> release() noexcept { return std::move(impl_); }

 private:
  std::shared_ptr<detail::sender_impl<T>> impl_;
};

/// The receiving end of a channel carrying values of type T.
///
/// Move-only and safe to use from several threads at once. Every receive
/// returns a value, or an empty optional at the end of the channel (the
/// sender closed it after its last message); failures are errors.
/// Destroying a Receiver makes pending and later sends fail with errc::closed.
template <class T = Value>
class Receiver {
 public:
  using value_type = T;

  Receiver() noexcept = default;
  explicit Receiver(std::shared_ptr<detail::receiver_impl<T>> impl) noexcept
      : impl_(std::move(impl)) {}
  Receiver(Receiver&&) noexcept = default;
  Receiver& operator=(Receiver&& other) noexcept {
    if (this != &other) {
      close();
      impl_ = std::move(other.impl_);
    }
    return *this;
  }
  ~Receiver() { close(); }

  /// Blocks for the next message; an empty optional means the end of the
  /// channel. Throws std::system_error on failure (e.g. errc::disconnected).
  std::optional<T> receive() {
    std::error_code ec;
    auto v = receive(ec);
    throw_if(ec);
    return v;
  }

  /// As receive(), reporting failure through `ec`.
  std::optional<T> receive(std::error_code& ec) {
    if (!impl_) {
      ec = errc::empty_handle;
      return std::nullopt;
    }
    std::optional<T> ready;
    if (impl_->try_receive(ready, ec)) return ready;
    detail::blocking_receive<T> waiter;
    impl_->start_receive(waiter, 0);
    impl_->help_wait(waiter, std::chrono::steady_clock::time_point::max());
    waiter.wait();
    ec = waiter.error();
    return std::move(waiter.value());
  }

  /// As receive(), failing with errc::timed_out at `deadline`. Nothing is lost
  /// on a time-out: a message that was not returned stays in the channel.
  template <class Clock, class Duration>
  std::optional<T> receive_until(std::chrono::time_point<Clock, Duration> deadline,
                                 std::error_code& ec) {
    if (!impl_) {
      ec = errc::empty_handle;
      return std::nullopt;
    }
    std::optional<T> ready;
    if (impl_->try_receive(ready, ec)) return ready;
    detail::blocking_receive<T> waiter;
    impl_->start_receive(waiter, 0);
    impl_->help_wait(waiter, detail::steady_deadline(deadline));
    if (!waiter.wait_until(deadline)) {
      impl_->cancel_receive(waiter);
      ec = errc::timed_out;
      return std::nullopt;
    }
    ec = waiter.error();
    return std::move(waiter.value());
  }

  template <class Rep, class Period>
  std::optional<T> receive_for(std::chrono::duration<Rep, Period> timeout, std::error_code& ec) {
    return receive_until(std::chrono::steady_clock::now() + timeout, ec);
  }

  /// Throwing forms of the above.
  template <class Clock, class Duration>
  std::optional<T> receive_until(std::chrono::time_point<Clock, Duration> deadline) {
    std::error_code ec;
    auto v = receive_until(deadline, ec);
    throw_if(ec);
    return v;
  }
  template <class Rep, class Period>
  std::optional<T> receive_for(std::chrono::duration<Rep, Period> timeout) {
    return receive_until(std::chrono::steady_clock::now() + timeout);
  }

  /// Starts a receive; the handler gets
  /// `void(std::error_code, std::optional<T>)`. With `use_awaitable` the
  /// coroutine gets the optional and a failure is thrown. cancel() completes
  /// pending receives with errc::cancelled.
  template <class CompletionToken>
  auto async_receive(CompletionToken&& token) {
    return detail::initiate<std::optional<T>>(token, [this](auto handler) {
      if (!impl_) {
        detail::post_completion(std::move(handler), std::error_code(errc::empty_handle),
                                std::optional<T>());
        return;
      }
      using op = detail::async_receive<T, std::decay_t<decltype(handler)>>;
      impl_->start_receive(*new op(std::move(handler)), 0);
    });
  }

  /// Completes every pending receive on this channel with errc::cancelled.
  void cancel() {
    if (impl_) impl_->cancel_all();
  }

  /// Closes the receiving end; see the class comment. Idempotent and safe
  /// to call while other threads receive.
  void close() noexcept {
    if (impl_) impl_->close_receive();
  }

  explicit operator bool() const noexcept { return impl_ != nullptr; }

  const std::shared_ptr<detail::receiver_impl<T>>& impl() const noexcept { return impl_; }
  std::shared_ptr<detail::receiver_impl<T>> release() noexcept { return std::move(impl_); }

 private:
  std::shared_ptr<detail::receiver_impl<T>> impl_;
};

}  // namespace libchan
