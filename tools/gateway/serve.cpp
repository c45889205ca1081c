// The gateway service: answers connection requests from libchan clients.
#include <utility>  // before Asio's coroutine headers, which need std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>

#include "gateway.hpp"
#include "gateway_protocol.hpp"
#include "run_loop.hpp"
#include "splice.hpp"

namespace gateway {
namespace {

using asio::ip::tcp;

// Bytes buffered each way between a connection and its stream.
constexpr std::size_t stream_buffer = 64u << 10;

class Gateway {
 public:
  explicit Gateway(const ServeOptions& options) : options_(options) {}

  awaitable<void> accept_sessions(libchan::Listener& listener) {
    auto ex = co_await asio::this_coro::executor;
    for (;;) {
      auto session =
          std::make_shared<libchan::Session>(co_await listener.async_accept(use_awaitable));
      if (!*session) co_return;
      asio::co_spawn(ex, serve_session(std::move(session)), asio::detached);
    }
  }

 private:
  awaitable<void> serve_session(SharedSession session) {
    auto ex = co_await asio::this_coro::executor;
    const std::string peer = session->peer_address();
    log_line(peer + ": connected");
    try {
      for (;;) {
        auto requests = co_await session->async_accept_receiver<Request>(use_awaitable);
        if (!requests) break;
        asio::co_spawn(ex, serve_channel(session, std::move(requests), peer), asio::detached);
      }
    } catch (const std::exception& e) {
      log_line(peer + ": " + e.what());
    }
    log_line(peer + ": disconnected (" + session->error_message() + ")");
  }

  awaitable<void> serve_channel(SharedSession session, libchan::Receiver<Request> requests,
                                std::string peer) {
    auto ex = co_await asio::this_coro::executor;
    for (;;) {
      std::optional<Request> request;
      try {
        request = co_await requests.async_receive(use_awaitable);
      } catch (const std::system_error& e) {
        if (e.code() != libchan::errc::type_mismatch) co_return;  // the session ended
        log_line(peer + ": not a gateway request: " + e.what());
        continue;
      }
      if (!request) co_return;
      asio::co_spawn(ex, answer(session, std::move(*request), peer), asio::detached);
    }
  }

  // Why `address` cannot be served, or an empty string.
  std::string refusal(const std::string& address, const std::optional<HostPort>& destination) {
    if (!destination) return "'" + address + "' is not HOST:PORT";
    if (!options_.allow.allows(*destination))
      return address + " is not on the gateway's allow-list";
    if (active_ >= options_.max_connections)
      return "the gateway has its maximum of " + std::to_string(options_.max_connections) +
             " connections open";
    return {};
  }

  awaitable<void> answer(SharedSession session, Request request, std::string peer) {
    const std::string address = request.address;
    auto destination = parse_host_port(address);
    std::string error = refusal(address, destination);
    std::optional<tcp::socket> socket;
    if (error.empty()) {
      try {
        socket.emplace(co_await connect(*destination));
      } catch (const std::exception& e) {
        error = "cannot connect to " + address + ": " + e.what();
      }
    }
    try {
      // Named, not a temporary in the co_await: g++ 12 destroys aggregate
      // temporaries there twice.
      Reply reply;
      if (!error.empty()) {
        log_line(peer + ": " + error);
        reply.error = error;
        co_await request.reply.async_send(std::move(reply), use_awaitable);
        co_return;
      }
      auto [ours, theirs] = libchan::stream_pair(stream_buffer);
      reply.stream = std::move(theirs);
      co_await request.reply.async_send(std::move(reply), use_awaitable);
      ++active_;
      log_line(peer + ": connected to " + address);
      Splice::start(std::move(*socket), std::move(ours),
                    [this, session, peer, address](const std::string& splice_error) {
                      --active_;
                      log_line(peer + ": closed " + address +
                               (splice_error.empty() ? "" : " (" + splice_error + ")"));
                    });
    } catch (const std::exception& e) {
      log_line(peer + ": cannot answer the request for " + address + ": " + e.what());
    }
  }

  // A connection to `destination`, within the connect timeout.
  awaitable<tcp::socket> connect(const HostPort& destination) {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    tcp::socket socket(ex);
    asio::steady_timer timer(ex, options_.connect_timeout);
    auto timed_out = std::make_shared<bool>(false);
    // The handler touches the locals only when the timer fires, which is
    // while this coroutine waits; the timer is cancelled before they go.
    timer.async_wait([&resolver, &socket, timed_out](boost::system::error_code ec) {
      if (ec) return;
      *timed_out = true;
      resolver.cancel();
      boost::system::error_code ignored;
      socket.close(ignored);
    });
    try {
      auto endpoints =
          co_await resolver.async_resolve(destination.host, destination.port, use_awaitable);
      co_await asio::async_connect(socket, endpoints, use_awaitable);
    } catch (const boost::system::system_error& e) {
      if (*timed_out)
        throw std::runtime_error("no connection within " +
                                 std::to_string(options_.connect_timeout.count()) + " ms");
      throw std::runtime_error(e.code().message());
    }
    timer.cancel();
    co_return socket;
  }

  const ServeOptions& options_;
  std::size_t active_ = 0;  // only touched on the io thread
};

}  // namespace

int serve(const ServeOptions& options) {
  // One thread runs every coroutine, every splice (see Splice) and the
  // sessions' io too: bytes pass from a session to a connection without
  // waking another thread. Declared first, it outlives the listener and the
  // sessions, as the library requires.
  asio::io_context io(1);
  ServeOptions own = options;
  own.session.io_context = &io;
  libchan::Listener listener;
  try {
    listener = libchan::listen(own.listen_url, own.session);
  } catch (const std::exception& e) {
    log_line(e.what());
    return 1;
  }
  log_line("serving on " + listener.local_address());
  listener.on_refused([](std::error_code, const std::string& detail) {
    log_line("refused a connection: " + detail);
  });
  if (own.allow.empty()) log_line("no --allow given: every request will be refused");

  Gateway gateway(own);
  return run_until_failure(io, gateway.accept_sessions(listener), "accept sessions");
}

}  // namespace gateway
