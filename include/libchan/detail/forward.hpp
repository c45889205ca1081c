// Forwarding without threads: a receive loop that feeds a sender, and a
// byte pump between two streams, each driven by completions alone. This
// is how a local channel end or stream that travels inside a network
// message keeps working: the session forwards it.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>

#include "libchan/byte_stream.hpp"
#include "libchan/detail/channel_impl.hpp"

namespace libchan::detail {

/// Runs `step` for every completion, one at a time, without recursing when
/// a completion arrives inside the step that started its operation.
class trampoline {
 public:
  template <class Step>
  void post(Step&& step) {
    if (pending_.fetch_add(1, std::memory_order_acq_rel) != 0) return;
    do step();
    while (pending_.fetch_sub(1, std::memory_order_acq_rel) != 1);
  }

 private:
  std::atomic<int> pending_{0};
};

/// Moves every message from `from` to `to` until the end of `from`, then
/// closes `to` — with `from`'s error if it failed (e.g. its session was
/// lost), so the far end sees why. If `to` fails (its receiver is gone),
/// `from` is closed.
/// `done` (optional) runs once at the end with the first error, if any.
/// The forwarder keeps itself alive until then.
template <class T>
class channel_forwarder final : public receive_waiter<T>, public send_waiter {
 public:
  static void start(std::shared_ptr<receiver_impl<T>> from, std::shared_ptr<sender_impl<T>> to,
                    std::function<void(std::error_code)> done = {}) {
    to->fed_by(from);
    std::shared_ptr<channel_forwarder> self(
        new channel_forwarder(std::move(from), std::move(to), std::move(done)));
    self->keep_ = self;
    self->loop_.post([&] { self->step(); });
  }

  bool claim() noexcept override { return true; }

  void complete(std::size_t, std::error_code ec, std::optional<T> value) override {
    auto hold = keep_;  // finish() lets go of keep_ inside the loop
    ec_ = ec;
    value_ = std::move(value);
    loop_.post([&] { step(); });
  }

  void complete(std::error_code ec) override {
    auto hold = keep_;
    ec_ = ec;
    loop_.post([&] { step(); });
  }

 private:
  enum class phase { idle, receiving, sending };

  channel_forwarder(std::shared_ptr<receiver_impl<T>> from, std::shared_ptr<sender_impl<T>> to,
                    std::function<void(std::error_code)> done)
      : from_(std::move(from)), to_(std::move(to)), done_(std::move(done)) {}

  // One operation is outstanding at a time; each completion advances here.
  void step() {
    switch (phase_) {
      case phase::idle:
        phase_ = phase::receiving;
        return from_->start_receive(*this, 0);
      case phase::receiving:
        if (ec_ || !value_) return finish();
        phase_ = phase::sending;
        return to_->start_send(*std::exchange(value_, std::nullopt), *this);
      case phase::sending:
        if (ec_) return finish();
        phase_ = phase::receiving;
        return from_->start_receive(*this, 0);
    }
  }

  void finish() {
    if (phase_ == phase::receiving && ec_)
      to_->fail_send(ec_);
    else
      to_->close_send();
    from_->close_receive();
    if (done_) std::exchange(done_, nullptr)(ec_);
    keep_.reset();
  }

  trampoline loop_;
  std::shared_ptr<channel_forwarder> keep_;
  phase phase_ = phase::idle;
  std::shared_ptr<receiver_impl<T>> from_;
  std::shared_ptr<sender_impl<T>> to_;
  std::function<void(std::error_code)> done_;
  std::error_code ec_;
  std::optional<T> value_;
};

/// Copies bytes from one stream to another until end of stream, then
/// closes the writing side of the destination. Keeps itself alive.
class byte_pump : public std::enable_shared_from_this<byte_pump> {
 public:
  static void start(std::shared_ptr<stream_impl> from, std::shared_ptr<stream_impl> to,
                    std::function<void(std::error_code)> done = {}) {
    auto self =
        std::shared_ptr<byte_pump>(new byte_pump(std::move(from), std::move(to), std::move(done)));
    self->loop_.post([self] { self->step(self); });
  }

 private:
  byte_pump(std::shared_ptr<stream_impl> from, std::shared_ptr<stream_impl> to,
            std::function<void(std::error_code)> done)
      : from_(std::move(from)), to_(std::move(to)), done_(std::move(done)) {}

  void step(const std::shared_ptr<byte_pump>& self) {
    if (reading_) {
      reading_ = false;
      if (ec_ || n_ == 0) return finish();
      return to_->async_write(
          std::span(buffer_.data(), n_),
          [self](std::error_code ec, std::size_t) { self->resume(self, ec, 1); });
    }
    if (ec_) return finish();
    reading_ = true;
    from_->async_read_some(
        buffer_, [self](std::error_code ec, std::size_t n) { self->resume(self, ec, n); });
  }

  void resume(const std::shared_ptr<byte_pump>& self, std::error_code ec, std::size_t n) {
    ec_ = ec;
    if (reading_) n_ = n;
    loop_.post([&] { step(self); });
  }

  void finish() {
    to_->close_write();
    if (done_) std::exchange(done_, nullptr)(ec_);
  }

  trampoline loop_;
  bool reading_ = false;
  std::error_code ec_;
  std::size_t n_ = 0;
  std::shared_ptr<stream_impl> from_;
  std::shared_ptr<stream_impl> to_;
  std::function<void(std::error_code)> done_;
  std::array<std::byte, 32768> buffer_;
};

}  // namespace libchan::detail
