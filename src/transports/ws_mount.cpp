// WebSocketMount: upgrades handed over by an application's HTTP server join
// a listener of their own, so their sessions start like accepted ones.
#include "libchan/websocket.hpp"

#include <unistd.h>

#include "io/io_pool.hpp"
#include "io/net.hpp"
#include "transports/ws_connection.hpp"

namespace libchan {

namespace {

using detail::io::strand;
using tcp = boost::asio::ip::tcp;

// The executor `ex` holds if it is a T. Asio 1.74's any_executor::target()
// does not check the type itself.
template <class T>
const T* target_as(const boost::asio::any_io_executor& ex) {
  return ex && ex.target_type() == typeid(T) ? ex.target<T>() : nullptr;
}

// A strand of `ctx` that `ex` belongs to, if it does: the strand itself, or
// a new strand over a plain io_context executor.
std::optional<strand> strand_on(const boost::asio::any_io_executor& ex,
                                boost::asio::io_context& ctx) {
  if (auto* s = target_as<strand>(ex); s && &s->get_inner_executor().context() == &ctx) return *s;
  using plain = boost::asio::io_context::executor_type;
  if (auto* e = target_as<plain>(ex); e && &e->context() == &ctx)
    return boost::asio::make_strand(*e);
  return std::nullopt;
}

}  // namespace

WebSocketMount::WebSocketMount(const SessionOptions& options)
    : context_(options.io_context), message_limit_(detail::io::ws::message_limit(options)) {
  detail::io::failure err;
  core_ = detail::io::make_adopting_listener(options, err);
  if (err) throw Error(err.ec, err.what);
  listener_ = Listener(core_);
}

WebSocketMount::WebSocketMount(WebSocketMount&&) noexcept = default;
WebSocketMount& WebSocketMount::operator=(WebSocketMount&&) noexcept = default;
WebSocketMount::~WebSocketMount() = default;

void WebSocketMount::upgrade(tcp::socket socket, request req) {
  if (!core_) throw Error(errc::empty_handle, "upgrade on an empty WebSocketMount");
  // The descriptor moves to a strand of the mount's io_context, where
  // listen() would have put it.
  auto ex = boost::asio::make_strand(detail::io::context_for(context_));
  boost::system::error_code ec;
  auto protocol = socket.local_endpoint(ec).protocol();
  if (ec) return;  // the client is gone already
  auto fd = socket.release(ec);
  if (ec) return;
  tcp::socket moved(ex);
  moved.assign(protocol, fd, ec);
  if (ec) {
    ::close(fd);
    return;
  }
  moved.set_option(tcp::no_delay(true), ec);
  auto conn = std::make_unique<detail::io::ws::ws_connection<tcp::socket>>(
      std::move(moved), ex, detail::io::ws::settings{"ws", {}, message_limit_}, std::move(req));
  detail::io::adopt_connection(*core_, std::move(conn), std::move(ex));
}

void WebSocketMount::upgrade(boost::asio::ssl::stream<tcp::socket> stream, request req) {
  if (!core_) throw Error(errc::empty_handle, "upgrade on an empty WebSocketMount");
  auto ex = strand_on(stream.get_executor(), detail::io::context_for(context_));
  if (!ex)
    throw Error(errc::invalid_argument,
                "WebSocketMount::upgrade: a TLS stream cannot move to another io_context; make "
                "the mount with SessionOptions::io_context set to the server's io_context, and "
                "give the stream its executor or a strand of it");
  boost::system::error_code ec;
  stream.next_layer().set_option(tcp::no_delay(true), ec);
  auto conn = std::make_unique<detail::io::ws::ws_connection<detail::io::ws::tls_stream>>(
      std::move(stream), *ex, detail::io::ws::settings{"wss", {}, message_limit_}, std::move(req));
  detail::io::adopt_connection(*core_, std::move(conn), std::move(*ex));
}

}  // namespace libchan
