// Shared pieces of the public network API's implementation.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "io/driver.hpp"
#include "io/transport.hpp"
#include "libchan/session.hpp"

namespace libchan::detail::io {

/// What a Session holds: the running driver. Destroying the last handle
/// closes the session; the driver finishes on its own and is freed.
class session_handle {
 public:
  session_handle(std::shared_ptr<session_driver> d, boost::asio::io_context* user)
      : driver(std::move(d)), user_context(user) {}
  ~session_handle() { driver->close(); }
  session_handle(const session_handle&) = delete;
  session_handle& operator=(const session_handle&) = delete;

  const std::shared_ptr<session_driver> driver;
  boost::asio::io_context* const user_context;
};

/// A receive waiter that hands the result to a callback, on whatever thread
/// completes it; deletes itself.
template <class T>
class callback_waiter final : public receive_waiter<T> {
 public:
  using callback = std::function<void(std::error_code, std::optional<T>)>;
  explicit callback_waiter(callback fn) : fn_(std::move(fn)) {}

  bool claim() noexcept override {
    bool expected = false;
    return claimed_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
  }
  void complete(std::size_t, std::error_code ec, std::optional<T> value) override {
    auto fn = std::move(fn_);
    delete this;
    fn(ec, std::move(value));
  }

 private:
  std::atomic<bool> claimed_{false};
  callback fn_;
};

/// The transport for `url`'s scheme, and the address after "scheme://".
std::shared_ptr<transport> lookup(const TransportRegistry& registry, std::string_view url,
                                  std::string& address, failure& err);

/// The session layer's options for one side.
session::options session_options(const SessionOptions& o, engine::role side, failure& err);

/// A listener without a socket of its own, fed by adopt_connection()
/// (WebSocketMount); null and `err` set for bad options.
std::shared_ptr<listener_core> make_adopting_listener(const SessionOptions& options, failure& err);
/// Any thread: gives `conn` (bound to `conn_strand`, its handshake not run
/// yet) to `core`, whose accept() then returns its session.
void adopt_connection(listener_core& core, std::unique_ptr<connection> conn, strand conn_strand);

/// Sets `*ec`, or throws Error with the words if `ec` is null.
void report(const failure& f, std::error_code* ec);

}  // namespace libchan::detail::io
