// ws:// in particular: paths, what plain HTTP clients get, handshake
// deadlines, message limits, a large byte stream, and sessions mounted on a
// path of an HTTP server beside its REST handlers.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <condition_variable>
#include <future>
#include <regex>

#include "io/diagnostics.hpp"
#include "libchan/websocket.hpp"
#include "net/net_support.hpp"
#include "support/tls_options.hpp"

namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

// Shuts the socket down if the scope lasts longer than `timeout`, so that a
// blocking call on it fails instead of hanging the test.
class watchdog {
 public:
  watchdog(int fd, std::chrono::milliseconds timeout)
      : thread_([this, fd, timeout] {
          std::unique_lock lock(mutex_);
          if (!cond_.wait_for(lock, timeout, [this] { return done_; })) ::shutdown(fd, SHUT_RDWR);
        }) {}
  ~watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cond_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cond_;
  bool done_ = false;
  std::thread thread_;
};

// "ws://127.0.0.1:40000/chan" -> 40000
std::uint16_t port_of(const std::string& url) {
  std::smatch m;
  if (!std::regex_search(url, m, std::regex(R"(:(\d+)(/|$))")))
    throw std::runtime_error("no port in " + url);
  return static_cast<std::uint16_t>(std::stoi(m[1]));
}

tcp::endpoint loopback(std::uint16_t port) {
  return {boost::asio::ip::make_address("127.0.0.1"), port};
}

// A plain HTTP request on a fresh connection; the response, or an
// exception after 10 s.
http::response<http::string_body> http_get(std::uint16_t port, const std::string& target) {
  boost::asio::io_context ctx;
  tcp::socket socket(ctx);
  socket.connect(loopback(port));
  watchdog guard(socket.native_handle(), 10s);
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  return res;
}

struct Note {
  std::string Text;
  libchan::Sender<Note> Ret;
  LIBCHAN_FIELDS(Text, Ret)
};

// One request with a reply channel from `client` to `server`.
void round_trip(libchan::Session& client, libchan::Session& server) {
  auto tx = client.open_sender<Note>();
  std::error_code ec;
  auto rx = server.accept_receiver_for<Note>(10s, ec);
  ASSERT_TRUE(rx) << ec.message();
  auto [reply_rx, reply_tx] = libchan::pipe<Note>();
  tx.send({"ping", std::move(reply_tx)});
  auto got = rx.receive_for(10s);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->Text, "ping");
  got->Ret.send({"pong", {}});
  auto reply = reply_rx.receive_for(10s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->Text, "pong");
}

TEST(NetWs, AddressesNameThePath) {
  net_test::session_pair p("ws://127.0.0.1:0/chan");
  EXPECT_THAT(p.listener.local_address(),
              ::testing::MatchesRegex(R"(ws://127\.0\.0\.1:[0-9]+/chan)"));
  EXPECT_EQ(p.client.peer_address(), p.listener.local_address());
  EXPECT_EQ(p.server.local_address(), p.listener.local_address());
  EXPECT_THAT(p.server.peer_address(), ::testing::MatchesRegex(R"(ws://127\.0\.0\.1:[0-9]+)"));
  EXPECT_EQ(p.server.peer_identity(), "");
  round_trip(p.client, p.server);
}

TEST(NetWs, TheDefaultPathIsTheRoot) {
  auto listener = libchan::listen("ws://127.0.0.1:0");
  EXPECT_THAT(listener.local_address(), ::testing::EndsWith("/"));
  auto url = listener.local_address();
  auto client = libchan::dial(url.substr(0, url.size() - 1));  // without the "/"
  std::error_code ec;
  auto server = listener.accept_for(10s, ec);
  ASSERT_TRUE(server) << ec.message();
  round_trip(client, server);
}

TEST(NetWs, WrongPathIsAClearDialError) {
  auto listener = libchan::listen("ws://127.0.0.1:0/chan");
  auto port = std::to_string(port_of(listener.local_address()));
  std::error_code ec;
  auto s = libchan::dial("ws://127.0.0.1:" + port + "/other", {}, ec);
  EXPECT_FALSE(s);
  EXPECT_EQ(ec, libchan::errc::protocol_error) << ec.message();
  try {
    libchan::dial("ws://127.0.0.1:" + port + "/other");
    ADD_FAILURE() << "dial to a wrong path succeeded";
  } catch (const std::system_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("dial ws://127.0.0.1:" + port + "/other"));
    EXPECT_THAT(e.what(), HasSubstr("HTTP 404 Not Found"));
  }
  // The listener serves its own path still.
  auto client = libchan::dial(listener.local_address());
  auto server = listener.accept_for(10s, ec);
  ASSERT_TRUE(server) << ec.message();
  round_trip(client, server);
}

TEST(NetWs, PlainHttpGetsAnErrorAndTheListenerKeepsServing) {
  auto listener = libchan::listen("ws://127.0.0.1:0/chan");
  auto port = port_of(listener.local_address());
  auto res = http_get(port, "/chan");
  EXPECT_EQ(res.result(), http::status::upgrade_required);
  EXPECT_THAT(res.body(), HasSubstr("WebSocket"));
  EXPECT_EQ(res[http::field::upgrade], "websocket");
  EXPECT_EQ(http_get(port, "/elsewhere").result(), http::status::upgrade_required);

  // Not HTTP at all, or a request header past 16 KiB: the connection is
  // dropped without an answer.
  auto dropped = [&](const std::string& bytes) {
    boost::asio::io_context ctx;
    tcp::socket junk(ctx);
    junk.connect(loopback(port));
    watchdog guard(junk.native_handle(), 10s);
    boost::system::error_code ec;
    boost::asio::write(junk, boost::asio::buffer(bytes), ec);
    std::array<char, 256> answer;
    auto n = boost::asio::read(junk, boost::asio::buffer(answer), ec);
    return n == 0 && (ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset);
  };
  EXPECT_TRUE(dropped("\x80\x01 not http\r\n\r\n"));
  EXPECT_TRUE(dropped("GET /chan HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20u << 10, 'b') +
                      "\r\n\r\n"));

  auto client = libchan::dial(listener.local_address());
  std::error_code ec;
  auto server = listener.accept_for(10s, ec);
  ASSERT_TRUE(server) << ec.message();
  round_trip(client, server);
}

TEST(NetWs, SilentClientsAreDroppedAtTheDeadlineAndBlockNobody) {
  libchan::SessionOptions server_opts;
  server_opts.connect_timeout = 300ms;
  auto listener = libchan::listen("ws://127.0.0.1:0/chan", server_opts);
  boost::asio::io_context ctx;
  tcp::socket silent(ctx);
  silent.connect(loopback(port_of(listener.local_address())));
  watchdog guard(silent.native_handle(), 10s);

  auto client = libchan::dial(listener.local_address());
  std::error_code ec;
  auto server = listener.accept_for(10s, ec);
  ASSERT_TRUE(server) << ec.message();
  round_trip(client, server);

  char byte;
  boost::system::error_code read_ec;
  silent.read_some(boost::asio::buffer(&byte, 1), read_ec);
  EXPECT_EQ(read_ec, boost::asio::error::eof) << "the server should hang up on a silent client";
}

TEST(NetWs, DialGivesUpOnASilentServer) {
  boost::asio::io_context ctx;
  tcp::acceptor mute(ctx, loopback(0));  // accepts (backlog), never answers
  libchan::SessionOptions opts;
  opts.connect_timeout = 300ms;
  auto url = "ws://127.0.0.1:" + std::to_string(mute.local_endpoint().port()) + "/chan";
  std::error_code ec;
  auto s = libchan::dial(url, opts, ec);
  EXPECT_FALSE(s);
  EXPECT_EQ(ec, libchan::errc::timed_out) << ec.message();
}

TEST(NetWs, OversizedMessagesEndTheConnection) {
  libchan::SessionOptions opts;
  opts.limits.max_frame_size = 16u << 10;  // the message limit is 1 MiB then
  auto listener = libchan::listen("ws://127.0.0.1:0/chan", opts);
  boost::asio::io_context ctx;
  websocket::stream<tcp::socket> ws(ctx);
  ws.next_layer().connect(loopback(port_of(listener.local_address())));
  watchdog guard(ws.next_layer().native_handle(), 10s);
  ws.handshake("127.0.0.1", "/chan");
  std::error_code accept_ec;
  auto server = listener.accept_for(10s, accept_ec);
  ASSERT_TRUE(server) << accept_ec.message();

  ws.binary(true);
  boost::system::error_code ec;
  ws.write(boost::asio::buffer(std::string((1u << 20) + 1, 'x')), ec);
  // What the session sent first (SETTINGS), then the server's close frame.
  beast::flat_buffer buffer;
  while (!ec) ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(ws.reason().code, websocket::close_code::too_big);
  EXPECT_TRUE(net_test::eventually([&] { return server.closed(); }));
}

TEST(NetWs, ClosingExchangesCloseFramesAndFreesBothSides) {
  {
    net_test::session_pair p("ws://127.0.0.1:0/chan");
    round_trip(p.client, p.server);
    std::promise<std::error_code> server_end;
    p.server.on_close([&](std::error_code ec) { server_end.set_value(ec); });
    p.client.close();
    auto end = server_end.get_future();
    ASSERT_EQ(end.wait_for(10s), std::future_status::ready);
    EXPECT_EQ(end.get(), libchan::errc::disconnected);
    EXPECT_EQ(p.server.error(), libchan::errc::disconnected);
  }
  EXPECT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }))
      << libchan::detail::io::live_drivers() << " session drivers still alive";
}

TEST(NetWs, SixteenMiBThroughOneStream) {
  net_test::session_pair p("ws://127.0.0.1:0/chan");
  net_test::expect_stream_transfer(p, 16u << 20, 120s, 200u << 10);
}

TEST(NetWss, PeersAreAuthenticatedBothWays) {
  auto server_opts = test_certs::with_identity(test_certs::pki().server);
  server_opts.tls.require_client_certificate = true;
  net_test::session_pair p("wss://127.0.0.1:0/chan",
                           test_certs::with_identity(test_certs::pki().client), server_opts);
  EXPECT_THAT(p.listener.local_address(),
              ::testing::MatchesRegex(R"(wss://127\.0\.0\.1:[0-9]+/chan)"));
  EXPECT_EQ(p.server.peer_identity(), test_certs::pki().client_subject);
  EXPECT_EQ(p.client.peer_identity(), test_certs::pki().server_subject);
  round_trip(p.client, p.server);
}

TEST(NetWss, AnUntrustedServerIsRefused) {
  auto listener = libchan::listen("wss://127.0.0.1:0/chan",
                                  test_certs::with_identity(test_certs::pki().server));
  libchan::SessionOptions client_opts;
  client_opts.tls.ca_pem = test_certs::pki().other_ca.certificate;
  std::error_code ec;
  auto s = libchan::dial(listener.local_address(), client_opts, ec);
  EXPECT_FALSE(s);
  EXPECT_EQ(ec, libchan::errc::auth_failed) << ec.message();
  // A plain ws client gets nowhere either, and the listener goes on.
  auto url = listener.local_address();
  s = libchan::dial("ws" + url.substr(3), {}, ec);
  EXPECT_FALSE(s);
  auto client_opts_ok = test_certs::with_identity(test_certs::pki().client);
  auto client = libchan::dial(url, client_opts_ok);
  auto server = listener.accept_for(10s, ec);
  ASSERT_TRUE(server) << ec.message();
  EXPECT_EQ(server.peer_identity(), "");  // no client certificate was asked for
  round_trip(client, server);
}

// An HTTP server with a REST handler (GET /health) and a libchan endpoint
// on /chan, on one port, as an application would have it; HTTPS with `tls`.
class rest_server {
 public:
  using tls_stream = boost::asio::ssl::stream<tcp::socket>;

  explicit rest_server(libchan::WebSocketMount& mount) : rest_server(mount, own_, nullptr) {}
  // With `strands`, each connection gets a strand of `ctx`, as Beast's
  // multi-threaded servers have it; else the io_context's own executor.
  rest_server(libchan::WebSocketMount& mount, boost::asio::io_context& ctx,
              boost::asio::ssl::context* tls, bool strands = false)
      : mount_(mount), ctx_(ctx), tls_(tls), strands_(strands), acceptor_(ctx, loopback(0)) {
    accept();
    thread_ = std::thread([this] { ctx_.run(); });
  }
  ~rest_server() {
    ctx_.stop();
    thread_.join();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  template <class Stream>
  struct exchange {
    explicit exchange(Stream s) : stream(std::move(s)) {}
    Stream stream;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::response<http::string_body> res;
  };

  void accept() {
    auto ex = strands_ ? boost::asio::any_io_executor(boost::asio::make_strand(ctx_))
                       : boost::asio::any_io_executor(ctx_.get_executor());
    acceptor_.async_accept(ex, [this](boost::system::error_code ec, tcp::socket socket) {
      if (ec) return;
      if (!tls_) {
        serve(std::make_shared<exchange<tcp::socket>>(std::move(socket)));
      } else {
        auto x = std::make_shared<exchange<tls_stream>>(tls_stream(std::move(socket), *tls_));
        x->stream.async_handshake(boost::asio::ssl::stream_base::server,
                                  [this, x](boost::system::error_code e) {
                                    if (!e) serve(x);
                                  });
      }
      accept();
    });
  }

  template <class Stream>
  void serve(std::shared_ptr<exchange<Stream>> x) {
    http::async_read(
        x->stream, x->buffer, x->req, [this, x](boost::system::error_code ec, std::size_t) {
          if (ec) return;
          if (websocket::is_upgrade(x->req) && x->req.target() == "/chan")
            return mount_.upgrade(std::move(x->stream), std::move(x->req));
          bool health = x->req.target() == "/health";
          x->res.result(health ? http::status::ok : http::status::not_found);
          x->res.set(http::field::content_type, "application/json");
          x->res.body() = health ? R"({"status":"ok"})" : R"({"error":"not found"})";
          x->res.keep_alive(false);
          x->res.prepare_payload();
          http::async_write(x->stream, x->res, [x](boost::system::error_code, std::size_t) {
            boost::system::error_code ignored;
            beast::get_lowest_layer(x->stream).shutdown(tcp::socket::shutdown_send, ignored);
          });
        });
  }

  boost::asio::io_context own_;  // unless the test gives one
  libchan::WebSocketMount& mount_;
  boost::asio::io_context& ctx_;
  boost::asio::ssl::context* tls_;
  bool strands_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

TEST(NetWsMount, RestAndLibchanShareOnePort) {
  libchan::WebSocketMount mount;
  rest_server server(mount);
  auto port = std::to_string(server.port());

  auto health = http_get(server.port(), "/health");
  EXPECT_EQ(health.result(), http::status::ok);
  EXPECT_EQ(health.body(), R"({"status":"ok"})");

  auto client = libchan::dial("ws://127.0.0.1:" + port + "/chan");
  std::error_code ec;
  auto session = mount.accept_for(10s, ec);
  ASSERT_TRUE(session) << ec.message();
  EXPECT_EQ(client.peer_address(), "ws://127.0.0.1:" + port + "/chan");
  EXPECT_EQ(session.local_address(), "ws://127.0.0.1:" + port + "/chan");
  round_trip(client, session);
  round_trip(session, client);  // and the other way round

  // REST goes on beside the session.
  EXPECT_EQ(http_get(server.port(), "/health").result(), http::status::ok);
  EXPECT_EQ(http_get(server.port(), "/nothing").result(), http::status::not_found);
  auto s = libchan::dial("ws://127.0.0.1:" + port + "/elsewhere", {}, ec);
  EXPECT_FALSE(s);
  EXPECT_EQ(ec, libchan::errc::protocol_error) << ec.message();

  // Async accept, as Listener has it.
  auto pending = mount.async_accept(boost::asio::use_future);
  auto second = libchan::dial("ws://127.0.0.1:" + port + "/chan");
  ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
  auto other = pending.get();
  round_trip(second, other);
}

TEST(NetWsMount, CloseEndsAcceptAndRefusesLaterUpgrades) {
  libchan::WebSocketMount mount;
  rest_server server(mount);
  auto pending = std::async(std::launch::async, [&] { return mount.accept(); });
  mount.close();
  ASSERT_EQ(pending.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(pending.get());
  libchan::SessionOptions opts;
  opts.connect_timeout = 5s;
  std::error_code ec;
  auto s = libchan::dial("ws://127.0.0.1:" + std::to_string(server.port()) + "/chan", opts, ec);
  EXPECT_FALSE(s);
  EXPECT_TRUE(ec) << "a closed mount must not complete a handshake";
}

TEST(NetWsMount, BadOptionsThrow) {
  libchan::SessionOptions opts;
  opts.listener_queue = 0;
  EXPECT_THROW(libchan::WebSocketMount{opts}, std::system_error);
}

// HTTPS: the server does TLS, the mount takes the TLS stream. Sessions run
// on the server's io_context, as a TLS stream cannot move.
class NetWsMountTls : public ::testing::TestWithParam<bool> {};

TEST_P(NetWsMountTls, StreamsOnTheServersIoContext) {
  const auto& pki = test_certs::pki();
  boost::asio::ssl::context tls(boost::asio::ssl::context::tls_server);
  tls.use_certificate_chain(boost::asio::buffer(pki.server.certificate));
  tls.use_private_key(boost::asio::buffer(pki.server.private_key), boost::asio::ssl::context::pem);
  tls.add_certificate_authority(boost::asio::buffer(pki.ca.certificate));
  tls.set_verify_mode(boost::asio::ssl::verify_peer |
                      boost::asio::ssl::verify_fail_if_no_peer_cert);
  boost::asio::io_context ctx;
  libchan::SessionOptions opts;
  opts.io_context = &ctx;
  libchan::WebSocketMount mount(opts);
  rest_server server(mount, ctx, &tls, GetParam());

  auto url = "wss://127.0.0.1:" + std::to_string(server.port()) + "/chan";
  auto client = libchan::dial(url, test_certs::with_identity(pki.client));
  std::error_code ec;
  auto session = mount.accept_for(10s, ec);
  ASSERT_TRUE(session) << ec.message();
  EXPECT_EQ(session.peer_identity(), pki.client_subject);
  EXPECT_EQ(client.peer_identity(), pki.server_subject);
  EXPECT_EQ(session.local_address(), url);
  round_trip(client, session);
  round_trip(session, client);
  client.close();
  session.close();
}

INSTANTIATE_TEST_SUITE_P(Executors, NetWsMountTls, ::testing::Bool(),
                         [](const auto& param) { return param.param ? "Strand" : "Plain"; });

TEST(NetWsMount, ATlsStreamOnAnotherIoContextIsRefused) {
  libchan::WebSocketMount mount;  // sessions on libchan's own threads
  boost::asio::io_context elsewhere;
  boost::asio::ssl::context tls(boost::asio::ssl::context::tls_server);
  rest_server::tls_stream stream(elsewhere, tls);
  try {
    mount.upgrade(std::move(stream), {});
    ADD_FAILURE() << "upgrade accepted a stream it cannot run";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), libchan::errc::invalid_argument);
    EXPECT_THAT(e.what(), HasSubstr("SessionOptions::io_context"));
  }
}

}  // namespace
