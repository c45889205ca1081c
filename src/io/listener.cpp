// libchan::Listener and listen(): an accept loop on the listener's strand
// that starts a session per connection and queues it for accept().
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <mutex>

#include "io/io_pool.hpp"
#include "io/net.hpp"
#include "libchan/pipe.hpp"

namespace libchan {
namespace detail::io {

using handle_ptr = std::shared_ptr<session_handle>;

class listener_core : public std::enable_shared_from_this<listener_core> {
 public:
  listener_core(boost::asio::io_context& ctx, const SessionOptions& options, session::options opts)
      : user_(options.io_context),
        strand_(boost::asio::make_strand(ctx)),
        retry_(strand_),
        opts_(std::move(opts)),
        max_in_flight_(options.listener_queue + max_handshakes),
        handshake_timeout_(options.connect_timeout.count() > 0 ? options.connect_timeout
                                                               : std::chrono::hours(24)) {
    auto queue = options.listener_queue;
    auto [rx, tx] = buffered_pipe<handle_ptr>(queue);
    rx_ = std::move(rx);
    tx_ = std::move(tx);
  }

  /// Handshakes (TLS, WebSocket) run at once at most, beyond the queue.
  static constexpr std::size_t max_handshakes = 64;

  bool open(transport& t, const std::string& address, const SessionOptions& options, failure& err) {
    listener_ = t.listen(strand_, address, options, err);
    if (!listener_) return false;
    local_address_ = listener_->local_address();
    boost::asio::post(strand_, [self = shared_from_this()] { self->accept_next(); });
    return true;
  }

  // Any thread. The socket is closed (its address free again) on return.
  void close() {
    if (closed_.exchange(true)) return;
    {
      std::lock_guard lock(refused_mutex_);
      refused_ = nullptr;
    }
    {
      std::lock_guard lock(listener_mutex_);
      if (listener_) listener_->close();
    }
    tx_.close();
    // Sessions nobody took are closed with the listener.
    std::optional<handle_ptr> queued;
    std::error_code ec;
    while (rx_.impl()->try_receive(queued, ec) && queued) queued.reset();
    boost::asio::post(strand_, [self = shared_from_this()] { self->retry_.cancel(); });
  }

  // Any thread. A connection accepted elsewhere (an HTTP server's
  // upgrade) takes the same handshake and queue as ours; it is closed if
  // the listener is closed or full, as the kernel's backlog cannot hold it.
  void adopt(std::unique_ptr<connection> conn, strand conn_strand) {
    boost::asio::post(strand_, [self = shared_from_this(), conn = std::move(conn),
                                conn_strand = std::move(conn_strand)]() mutable {
      if (self->in_flight_ >= self->max_in_flight_) return conn->close();
      self->on_accept({}, std::move(conn), std::move(conn_strand));
    });
  }

  Receiver<handle_ptr>& queue() noexcept { return rx_; }
  boost::asio::io_context* user_context() const noexcept { return user_; }
  const std::string& local_address() const noexcept { return local_address_; }

  // Any thread.
  void on_refused(std::function<void(std::error_code, const std::string&)> fn) {
    std::lock_guard lock(refused_mutex_);
    refused_ = std::move(fn);
  }

 private:
  // On the strand from here on.
  void accept_next() {
    // The lock makes close() from another thread safe against starting an
    // accept; nothing else touches the listener off the strand.
    std::lock_guard lock(listener_mutex_);
    if (closed_ || !listener_) return;
    // With the internal pool, each connection goes to the next of its
    // io_contexts (the socket is accepted straight onto it), so that the
    // sessions of one listener spread over the pool's threads.
    auto conn_strand = boost::asio::make_strand(context_for(user_));
    listener_->async_accept(conn_strand,
                            [self = shared_from_this(), conn_strand](
                                std::error_code ec, std::unique_ptr<connection> conn) mutable {
                              self->on_accept(ec, std::move(conn), std::move(conn_strand));
                            });
  }

  void on_accept(std::error_code ec, std::unique_ptr<connection> conn, strand conn_strand) {
    if (closed_) return;
    if (ec) {
      // Out of descriptors, or a connection reset before we took it: not the
      // listener's end. Wait a little so that a lasting failure cannot spin.
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([self = shared_from_this()](boost::system::error_code e) {
        if (!e) self->accept_next();
      });
      return;
    }
    // The handshake runs on the connection's strand, beside the accept loop:
    // a client that connects and stays silent holds up nobody but itself.
    ++in_flight_;
    // Shared: std::function needs a copyable handler.
    auto held = std::make_shared<std::unique_ptr<connection>>(std::move(conn));
    auto deadline = std::chrono::steady_clock::now() + handshake_timeout_;
    (*held)->async_handshake(deadline, [self = shared_from_this(), held, conn_strand](failure f) {
      boost::asio::post(self->strand_, [self, f = std::move(f), held, conn_strand]() mutable {
        self->on_handshake(std::move(f), std::move(*held), std::move(conn_strand));
      });
    });
    if (in_flight_ < max_in_flight_) accept_next();
  }

  void on_handshake(failure f, std::unique_ptr<connection> conn, strand conn_strand) {
    if (f || closed_) {
      // A failed handshake costs only that connection.
      if (conn) conn->close();
      if (f && !closed_) report_refused(f);
      return finish_one();
    }
    auto driver = session_driver::start(std::move(conn), std::move(conn_strand), opts_);
    auto handle = std::make_shared<session_handle>(std::move(driver), user_);
    // Waits while the queue is full: the kernel's backlog holds the rest.
    tx_.async_send(
        handle, boost::asio::bind_executor(
                    strand_, [self = shared_from_this()](std::error_code) { self->finish_one(); }));
  }

  // Under the lock, so that close() returns only once no call runs.
  void report_refused(const failure& f) {
    std::lock_guard lock(refused_mutex_);
    if (refused_) refused_(f.ec, f.what);
  }

  // A connection left the handshake-or-queue stage; resumes a paused accept.
  void finish_one() {
    bool was_full = in_flight_ >= max_in_flight_;
    --in_flight_;
    if (was_full && !closed_) accept_next();
  }

  boost::asio::io_context* user_;
  strand strand_;
  boost::asio::steady_timer retry_;
  session::options opts_;
  std::mutex listener_mutex_;
  std::unique_ptr<listener> listener_;
  std::string local_address_;
  std::atomic<bool> closed_{false};
  // Connections accepted and handshaking or waiting for room in the queue;
  // accepting pauses at the maximum. Strand only.
  std::size_t in_flight_ = 0;
  std::size_t max_in_flight_;
  std::chrono::milliseconds handshake_timeout_;
  std::mutex refused_mutex_;
  std::function<void(std::error_code, const std::string&)> refused_;
  Receiver<handle_ptr> rx_;
  Sender<handle_ptr> tx_;
};

namespace {

Listener listen_impl(const TransportRegistry& registry, std::string_view url,
                     const SessionOptions& options, std::error_code* ec) {
  if (ec) ec->clear();
  failure err;
  std::string address;
  auto transport = lookup(registry, url, address, err);
  auto opts = session_options(options, engine::role::acceptor, err);
  if (!err && options.listener_queue == 0)
    err = {make_error_code(errc::invalid_argument), "listener_queue must be at least 1"};
  if (err) {
    report(err, ec);
    return {};
  }
  auto core = std::make_shared<listener_core>(context_for(options.io_context), options, opts);
  if (!core->open(*transport, address, options, err)) {
    report(err, ec);
    return {};
  }
  return Listener(std::move(core));
}

}  // namespace

std::shared_ptr<listener_core> make_adopting_listener(const SessionOptions& options, failure& err) {
  auto opts = session_options(options, engine::role::acceptor, err);
  if (!err && options.listener_queue == 0)
    err = {make_error_code(errc::invalid_argument), "listener_queue must be at least 1"};
  if (err) return nullptr;
  return std::make_shared<listener_core>(context_for(options.io_context), options, opts);
}

void adopt_connection(listener_core& core, std::unique_ptr<connection> conn, strand conn_strand) {
  core.adopt(std::move(conn), std::move(conn_strand));
}

}  // namespace detail::io

Listener listen(std::string_view url, const SessionOptions& options) {
  return detail::io::listen_impl(detail::io::default_registry(), url, options, nullptr);
}
Listener listen(std::string_view url, const SessionOptions& options, std::error_code& ec) {
  return detail::io::listen_impl(detail::io::default_registry(), url, options, &ec);
}
Listener listen(const TransportRegistry& registry, std::string_view url,
                const SessionOptions& options) {
  return detail::io::listen_impl(registry, url, options, nullptr);
}
Listener listen(const TransportRegistry& registry, std::string_view url,
                const SessionOptions& options, std::error_code& ec) {
  return detail::io::listen_impl(registry, url, options, &ec);
}

Listener::Listener() noexcept = default;
Listener::Listener(std::shared_ptr<detail::io::listener_core> impl) noexcept
    : impl_(std::move(impl)) {}
Listener::Listener(Listener&& other) noexcept = default;
Listener& Listener::operator=(Listener&& other) noexcept {
  if (this != &other) {
    close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Listener::~Listener() { close(); }

Session Listener::accept() { return accept_session(std::nullopt, nullptr); }
Session Listener::accept(std::error_code& ec) { return accept_session(std::nullopt, &ec); }

Session Listener::accept_session(std::optional<std::chrono::steady_clock::time_point> deadline,
                                 std::error_code* ec) {
  if (ec) ec->clear();
  if (!impl_) {
    detail::io::report({errc::empty_handle, "accept on an empty Listener"}, ec);
    return {};
  }
  if (detail::io::on_io_thread(impl_->user_context())) {
    detail::io::report({detail::io::blocking_call_error(), detail::io::blocking_call_text}, ec);
    return {};
  }
  std::error_code e;
  auto& q = impl_->queue();
  auto h = deadline ? q.receive_until(*deadline, e) : q.receive(e);
  if (e) detail::io::report({e, "accept"}, ec);
  if (!h || !*h) return {};
  return Session(std::move(*h));
}

void Listener::start_accept(std::function<void(std::error_code, Session)> done) {
  if (!impl_) return done(errc::empty_handle, {});
  auto* waiter = new detail::io::callback_waiter<detail::io::handle_ptr>(
      [done = std::move(done)](std::error_code ec, std::optional<detail::io::handle_ptr> h) {
        done(ec, h && *h ? Session(std::move(*h)) : Session());
      });
  impl_->queue().impl()->start_receive(*waiter, 0);
}

void Listener::close() noexcept {
  if (impl_) impl_->close();
}

void Listener::on_refused(std::function<void(std::error_code, const std::string&)> fn) {
  if (impl_) impl_->on_refused(std::move(fn));
}

std::string Listener::local_address() const {
  return impl_ ? impl_->local_address() : std::string();
}

}  // namespace libchan
