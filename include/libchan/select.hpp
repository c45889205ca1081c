// select: wait on several receivers, take from the first that is ready.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <span>
#include <vector>

#include "libchan/channel.hpp"

namespace libchan {

/// What select returned: which receiver, and its result (an empty optional
/// is the end of that channel).
template <class T>
struct Selected {
  std::size_t index = 0;
  std::optional<T> value;
};

namespace detail {

// Ready receivers are tried from a rotating start, so that one busy channel
// cannot starve the others.
inline std::size_t select_start(std::size_t n) {
  thread_local std::size_t counter = 0;
  return n == 0 ? 0 : counter++ % n;
}

template <class T>
void register_all(std::span<Receiver<T>* const> receivers, receive_waiter<T>& w) {
  std::size_t start = select_start(receivers.size());
  for (std::size_t k = 0; k < receivers.size(); ++k) {
    std::size_t i = (start + k) % receivers.size();
    receivers[i]->impl()->start_receive(w, i);
  }
}

template <class T>
void unregister_all(std::span<Receiver<T>* const> receivers, receive_waiter<T>& w) {
  for (auto* r : receivers) r->impl()->cancel_receive(w);
}

template <class T>
std::error_code check_receivers(std::span<Receiver<T>* const> receivers) {
  if (receivers.empty()) return errc::invalid_argument;
  for (auto* r : receivers)
    if (!r || !*r) return errc::empty_handle;
  return {};
}

/// The waiter of one async_select: owns the handler and deletes itself once
/// both the registration loop and the completion are over.
template <class T, class Handler>
class async_select_op final : public receive_waiter<T> {
 public:
  async_select_op(Handler&& h, std::vector<std::shared_ptr<receiver_impl<T>>> impls)
      : handler_(std::move(h)), impls_(std::move(impls)) {}

  bool claim() noexcept override {
    bool expected = false;
    return claimed_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
  }

  void complete(std::size_t index, std::error_code ec, std::optional<T> value) override {
    handler_.post(ec, index, std::move(value));
    release();
  }

  // Called by the initiator after registering everywhere.
  void release() {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    for (auto& impl : impls_) impl->cancel_receive(*this);
    delete this;
  }

 private:
  tracked_handler<Handler> handler_;
  std::vector<std::shared_ptr<receiver_impl<T>>> impls_;
  std::atomic<bool> claimed_{false};
  std::atomic<int> refs_{2};
};

}  // namespace detail

/// Blocks until one of `receivers` has a message or reaches its end, and
/// takes it from that one only: the others lose nothing.
template <class T>
Selected<T> select(std::span<Receiver<T>* const> receivers, std::error_code& ec) {
  if ((ec = detail::check_receivers(receivers))) return {};
  detail::blocking_receive<T> waiter;
  detail::register_all(receivers, waiter);
  waiter.wait();
  detail::unregister_all(receivers, waiter);
  ec = waiter.error();
  return {waiter.index(), std::move(waiter.value())};
}

/// As select(), failing with errc::timed_out at `deadline`.
template <class T, class Clock, class Duration>
Selected<T> select_until(std::span<Receiver<T>* const> receivers,
                         std::chrono::time_point<Clock, Duration> deadline, std::error_code& ec) {
  if ((ec = detail::check_receivers(receivers))) return {};
  detail::blocking_receive<T> waiter;
  detail::register_all(receivers, waiter);
  bool done = waiter.wait_until(deadline);
  detail::unregister_all(receivers, waiter);
  if (!done) {
    ec = errc::timed_out;
    return {};
  }
  ec = waiter.error();
  return {waiter.index(), std::move(waiter.value())};
}

/// Throwing form over any number of receivers of one type:
/// `auto [i, v] = libchan::select(rx_a, rx_b);`
template <class T, class... More>
Selected<T> select(Receiver<T>& first, More&... more) {
  std::array<Receiver<T>*, 1 + sizeof...(More)> all{&first, &more...};
  std::error_code ec;
  auto out = select(std::span<Receiver<T>* const>(all), ec);
  throw_if(ec);
  return out;
}

/// Throwing form with a timeout.
template <class T, class Rep, class Period, class... More>
Selected<T> select_for(std::chrono::duration<Rep, Period> timeout, Receiver<T>& first,
                       More&... more) {
  std::array<Receiver<T>*, 1 + sizeof...(More)> all{&first, &more...};
  std::error_code ec;
  auto out = select_until(std::span<Receiver<T>* const>(all),
                          std::chrono::steady_clock::now() + timeout, ec);
  throw_if(ec);
  return out;
}

/// Starts a select; the handler gets
/// `void(std::error_code, std::size_t index, std::optional<T>)`.
template <class T, class CompletionToken>
auto async_select(std::span<Receiver<T>* const> receivers, CompletionToken&& token) {
  return detail::initiate<std::size_t, std::optional<T>>(token, [receivers](auto handler) {
    if (auto ec = detail::check_receivers(receivers)) {
      return detail::post_completion(std::move(handler), ec, std::size_t{0}, std::optional<T>());
    }
    std::vector<std::shared_ptr<detail::receiver_impl<T>>> impls;
    for (auto* r : receivers) impls.push_back(r->impl());
    using op = detail::async_select_op<T, std::decay_t<decltype(handler)>>;
    auto* waiter = new op(std::move(handler), std::move(impls));
    detail::register_all(receivers, *waiter);
    waiter->release();
  });
}

}  // namespace libchan
