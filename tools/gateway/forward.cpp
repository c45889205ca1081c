// The local forwarder: each TCP connection it accepts becomes a request to
// the gateway, and the stream the gateway answers with is spliced to it.
#include <utility>  // before Asio's coroutine headers, which need std::exchange

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <memory>

#include "gateway.hpp"
#include "gateway_protocol.hpp"
#include "run_loop.hpp"
#include "splice.hpp"

namespace gateway {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

// After an error line, how long the client may take to close its side.
constexpr auto linger = 2s;

std::string endpoint_text(const tcp::socket& socket) {
  boost::system::error_code ec;
  auto ep = socket.remote_endpoint(ec);
  if (ec) return "client";
  return ep.address().is_v6() ? "[" + ep.address().to_string() + "]:" + std::to_string(ep.port())
                              : ep.address().to_string() + ":" + std::to_string(ep.port());
}

class Forwarder {
 public:
  explicit Forwarder(const ForwardOptions& options) : options_(options) {}

  awaitable<void> accept_connections(tcp::acceptor& acceptor) {
    auto ex = co_await asio::this_coro::executor;
    for (;;) {
      boost::system::error_code ec;
      auto client = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) {
        // Out of descriptors, say: keep serving the open connections.
        log_line("cannot accept a connection: " + ec.message());
        asio::steady_timer pause(ex, 100ms);
        co_await pause.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      asio::co_spawn(ex, forward_one(std::move(client)), asio::detached);
    }
  }

 private:
  awaitable<void> forward_one(tcp::socket client) {
    const std::string peer = endpoint_text(client);
    std::string error;
    SharedSession session;
    Reply reply;
    try {
      session = co_await gateway_session();
      reply = co_await ask(*session);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (error.empty() && reply.error) error = "the gateway refused: " + *reply.error;
    if (error.empty() && !reply.stream) error = "the gateway answered without a stream";
    if (!error.empty()) {
      log_line(peer + ": " + error);
      co_await refuse(std::move(client), error);
      co_return;
    }
    log_line(peer + ": connected to " + options_.to + " via " + options_.via_url);
    // The splice keeps the session for as long as the stream needs it.
    Splice::start(
        std::move(client), std::move(reply.stream),
        [peer, session](const std::string& splice_error) {
          log_line(peer + ": closed" + (splice_error.empty() ? "" : " (" + splice_error + ")"));
        });
  }

  // The session to the gateway, dialed again once it ended.
  awaitable<SharedSession> gateway_session() {
    if (session_ && !session_->closed()) co_return session_;
    try {
      auto s = co_await libchan::async_dial(options_.via_url, options_.session, use_awaitable);
      session_ = std::make_shared<libchan::Session>(std::move(s));
    } catch (const std::system_error& e) {
      throw std::runtime_error("cannot reach the gateway at " + options_.via_url + ": " +
                               e.code().message());
    }
    co_return session_;
  }

  // Sends the request on a channel of its own and waits for the answer.
  awaitable<Reply> ask(libchan::Session& session) {
    auto ex = co_await asio::this_coro::executor;
    auto requests = session.open_sender<Request>();
    auto [replies, reply_to] = libchan::pipe<Reply>();
    // Named, not a temporary in the co_await: g++ 12 destroys aggregate
    // temporaries there twice.
    Request request{options_.to, std::move(reply_to)};
    co_await requests.async_send(std::move(request), use_awaitable);
    asio::steady_timer timer(ex, options_.reply_timeout);
    // Runs while this coroutine waits, or is cancelled before `replies` goes.
    timer.async_wait([&replies = replies](boost::system::error_code ec) {
      if (!ec) replies.cancel();
    });
    std::optional<Reply> answer;
    try {
      answer = co_await replies.async_receive(use_awaitable);
    } catch (const std::system_error& e) {
      if (e.code() == libchan::errc::cancelled)
        throw std::runtime_error("no answer from the gateway within " +
                                 std::to_string(options_.reply_timeout.count()) + " ms");
      throw std::runtime_error("lost the gateway: " + e.code().message());
    }
    timer.cancel();
    if (!answer) throw std::runtime_error("the gateway ended the request without an answer");
    co_return std::move(*answer);
  }

  // Tells the client why in one line, then closes the connection. Reading
  // what the client sent until it closes too avoids a reset that could
  // destroy the line before it is read.
  static awaitable<void> refuse(tcp::socket client, const std::string& error) {
    auto ex = co_await asio::this_coro::executor;
    boost::system::error_code ec;
    std::string line = "chan-gateway: " + error + "\n";
    co_await asio::async_write(client, asio::buffer(line), asio::redirect_error(use_awaitable, ec));
    client.shutdown(tcp::socket::shutdown_send, ec);
    asio::steady_timer timer(ex, linger);
    timer.async_wait([&client](boost::system::error_code timer_ec) {
      boost::system::error_code ignored;
      if (!timer_ec) client.close(ignored);
    });
    std::array<char, 4096> discard;
    while (!ec)
      co_await client.async_read_some(asio::buffer(discard),
                                      asio::redirect_error(use_awaitable, ec));
    timer.cancel();
  }

  const ForwardOptions& options_;
  SharedSession session_;
};

}  // namespace

int forward(const ForwardOptions& options) {
  // One thread for everything (see Splice), the session's io included:
  // bytes pass from a connection to the session without waking another
  // thread. Declared first, it outlives the session, as the library requires.
  asio::io_context io(1);
  ForwardOptions own = options;
  own.session.io_context = &io;
  tcp::acceptor acceptor(io);
  try {
    tcp::resolver resolver(io);
    auto endpoint = resolver.resolve(options.listen.host, options.listen.port)->endpoint();
    acceptor = tcp::acceptor(io, endpoint);  // reuse_address is on
  } catch (const boost::system::system_error& e) {
    log_line("cannot listen on " + options.listen.host + ":" + options.listen.port + ": " +
             e.code().message());
    return 1;
  }
  auto local = acceptor.local_endpoint();
  log_line("forwarding " + local.address().to_string() + ":" + std::to_string(local.port()) +
           " to " + options.to + " via " + options.via_url);
  Forwarder forwarder(own);
  return run_until_failure(io, forwarder.accept_connections(acceptor), "accept connections");
}

}  // namespace gateway
