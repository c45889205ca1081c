// libchan::Session and dial().
#include <condition_variable>
#include <mutex>

#include "io/io_pool.hpp"
#include "io/net.hpp"

namespace libchan {

using detail::io::failure;

namespace {

failure blocking_failure() {
  return {detail::io::blocking_call_error(), detail::io::blocking_call_text};
}

Dialect public_dialect(detail::engine::dialect d) {
  switch (d) {
    case detail::engine::dialect::v0_1:
      return Dialect::v0_1;
    case detail::engine::dialect::v0_2:
      return Dialect::v0_2;
    case detail::engine::dialect::detect:
      break;
  }
  return Dialect::detect;
}

void start_dial(const TransportRegistry& registry, std::string_view url,
                const SessionOptions& options, std::function<void(failure, Session)> done) {
  failure err;
  std::string address;
  auto transport = detail::io::lookup(registry, url, address, err);
  auto opts = detail::io::session_options(options, detail::engine::role::dialer, err);
  if (err) return done(err, {});
  auto& ctx = detail::io::context_for(options.io_context);
  auto ex = boost::asio::make_strand(ctx);
  auto deadline = options.connect_timeout.count() > 0
                      ? std::chrono::steady_clock::now() + options.connect_timeout
                      : detail::io::steady_time::max();
  transport->async_dial(
      ex, address, options, deadline,
      [ex, opts, user = options.io_context, done = std::move(done)](
          failure f, std::unique_ptr<detail::io::connection> conn) {
        if (f) return done(f, {});
        auto driver = detail::io::session_driver::start(std::move(conn), ex, opts);
        done({}, Session(std::make_shared<detail::io::session_handle>(driver, user)));
      });
}

Session dial_blocking(const TransportRegistry& registry, std::string_view url,
                      const SessionOptions& options, std::error_code* ec) {
  if (detail::io::on_io_thread(options.io_context)) {
    detail::io::report(blocking_failure(), ec);
    return {};
  }
  struct result {
    std::mutex mutex;
    std::condition_variable cond;
    bool done = false;
    failure err;
    Session session;
  };
  auto r = std::make_shared<result>();
  start_dial(registry, url, options, [r](failure f, Session s) {
    std::lock_guard lock(r->mutex);
    r->err = std::move(f);
    r->session = std::move(s);
    r->done = true;
    r->cond.notify_all();
  });
  std::unique_lock lock(r->mutex);
  // The transport completes by the connect deadline; the margin covers an
  // application io_context that is not being run.
  auto ready = [&] { return r->done; };
  if (options.connect_timeout.count() <= 0) {
    r->cond.wait(lock, ready);
  } else if (!r->cond.wait_for(lock, options.connect_timeout + std::chrono::seconds(5), ready)) {
    lock.unlock();
    detail::io::report({errc::timed_out, "dial " + std::string(url) +
                                             ": no answer from the io "
                                             "context (is it running?)"},
                       ec);
    return {};
  }
  detail::io::report(r->err, ec);
  if (ec && !r->err) ec->clear();
  return std::move(r->session);
}

}  // namespace

namespace detail::io {

void start_dial(const TransportRegistry& registry, std::string_view url,
                const SessionOptions& options, std::function<void(std::error_code, Session)> done) {
  libchan::start_dial(registry, url, options,
                      [done = std::move(done)](failure f, Session s) { done(f.ec, std::move(s)); });
}

}  // namespace detail::io

Session dial(std::string_view url, const SessionOptions& options) {
  return dial_blocking(detail::io::default_registry(), url, options, nullptr);
}
Session dial(std::string_view url, const SessionOptions& options, std::error_code& ec) {
  return dial_blocking(detail::io::default_registry(), url, options, &ec);
}
Session dial(const TransportRegistry& registry, std::string_view url,
             const SessionOptions& options) {
  return dial_blocking(registry, url, options, nullptr);
}
Session dial(const TransportRegistry& registry, std::string_view url, const SessionOptions& options,
             std::error_code& ec) {
  return dial_blocking(registry, url, options, &ec);
}

// ---------------------------------------------------------------------------

Session::Session() noexcept = default;
Session::Session(std::shared_ptr<detail::io::session_handle> impl) noexcept
    : impl_(std::move(impl)) {}
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;
Session::~Session() = default;

Sender<Value> Session::open_value_sender(std::error_code* ec) {
  if (ec) ec->clear();
  if (!impl_) {
    detail::io::report({errc::empty_handle, "open_sender on an empty Session"}, ec);
    return {};
  }
  std::error_code e;
  auto sender = impl_->driver->session()->open_sender(e);
  if (e) {
    auto why = impl_->driver->end_message();
    detail::io::report({e, "open_sender" + (why.empty() ? "" : ": " + why)}, ec);
  }
  return sender;
}

Receiver<Value> Session::accept_value_receiver(
    std::optional<std::chrono::steady_clock::time_point> deadline, std::error_code* ec) {
  if (ec) ec->clear();
  if (!impl_) {
    detail::io::report({errc::empty_handle, "accept_receiver on an empty Session"}, ec);
    return {};
  }
  if (detail::io::on_io_thread(impl_->user_context)) {
    detail::io::report(blocking_failure(), ec);
    return {};
  }
  auto& incoming = impl_->driver->session()->incoming();
  std::error_code e;
  auto r = deadline ? incoming.receive_until(*deadline, e) : incoming.receive(e);
  if (e) detail::io::report({e, "accept_receiver"}, ec);
  if (!r) return {};  // the end of the session, or a failure
  return std::move(*r);
}

void Session::start_accept_receiver(std::function<void(std::error_code, Receiver<Value>)> done) {
  if (!impl_) return done(errc::empty_handle, {});
  auto* waiter = new detail::io::callback_waiter<Receiver<Value>>(
      [done = std::move(done)](std::error_code ec, std::optional<Receiver<Value>> r) {
        done(ec, r ? std::move(*r) : Receiver<Value>());
      });
  impl_->driver->session()->incoming().impl()->start_receive(*waiter, 0);
}

void Session::close() noexcept {
  if (impl_) impl_->driver->close();
}

bool Session::closed() const {
  return !impl_ || static_cast<bool>(impl_->driver->session()->end_reason());
}

std::error_code Session::error() const {
  if (!impl_) return errc::empty_handle;
  return impl_->driver->session()->end_reason();
}

std::string Session::error_message() const {
  if (!impl_) return {};
  return impl_->driver->end_message();
}

void Session::on_close(std::function<void(std::error_code)> fn) {
  if (impl_ && fn) impl_->driver->on_end(std::move(fn));
}

std::string Session::peer_address() const {
  return impl_ ? impl_->driver->peer_address() : std::string();
}

std::string Session::local_address() const {
  return impl_ ? impl_->driver->local_address() : std::string();
}

std::string Session::peer_identity() const {
  return impl_ ? impl_->driver->peer_identity() : std::string();
}

Dialect Session::dialect() const {
  if (!impl_) return Dialect::detect;
  return public_dialect(impl_->driver->session()->wire_dialect());
}

}  // namespace libchan
