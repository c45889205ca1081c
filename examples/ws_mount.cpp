// A libchan endpoint inside an existing HTTP API: one Beast server answers
// GET /health with JSON and hands WebSocket upgrades of /chan to libchan.
// A client then calls the REST route and dials ws://127.0.0.1:<port>/chan.
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <iostream>
#include <thread>

#include "libchan/libchan.hpp"
#include "libchan/websocket.hpp"

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

struct Greeting {
  std::string text;
  libchan::Sender<Greeting> ret;
  LIBCHAN_FIELDS(text, ret)
};

// The application's HTTP server: one request per connection, for brevity.
class http_server {
 public:
  http_server(boost::asio::io_context& ctx, libchan::WebSocketMount& mount)
      : acceptor_(ctx, {boost::asio::ip::make_address("127.0.0.1"), 0}), mount_(mount) {
    accept();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

 private:
  struct exchange {
    tcp::socket socket;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
  };

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec) return;
      auto x = std::make_shared<exchange>(exchange{std::move(socket), {}, {}, {}});
      http::async_read(x->socket, x->buffer, x->request,
                       [this, x](beast::error_code e, std::size_t) {
                         if (!e) handle(x);
                       });
      accept();
    });
  }

  void handle(const std::shared_ptr<exchange>& x) {
    auto& req = x->request;
    // The libchan route: the mount takes the socket and answers the upgrade.
    if (beast::websocket::is_upgrade(req) && req.target() == "/chan")
      return mount_.upgrade(std::move(x->socket), std::move(req));
    // The REST routes.
    bool health = req.method() == http::verb::get && req.target() == "/health";
    x->response.result(health ? http::status::ok : http::status::not_found);
    x->response.set(http::field::content_type, "application/json");
    x->response.body() = health ? R"({"status":"ok"})" : R"({"error":"no such route"})";
    x->response.prepare_payload();
    http::async_write(x->socket, x->response, [x](beast::error_code, std::size_t) {
      beast::error_code ignored;
      x->socket.shutdown(tcp::socket::shutdown_send, ignored);
    });
  }

  tcp::acceptor acceptor_;
  libchan::WebSocketMount& mount_;
};

// A REST call with Beast's client side.
std::string get(std::uint16_t port, const std::string& target) {
  boost::asio::io_context ctx;
  tcp::socket socket(ctx);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "127.0.0.1");
  http::write(socket, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  return res.body();
}

int main() {
  libchan::WebSocketMount mount;
  boost::asio::io_context ctx;
  http_server server(ctx, mount);
  std::thread http_thread([&ctx] { ctx.run(); });

  // libchan's side of the server: answer each greeting.
  std::thread chan_thread([&mount] {
    while (auto session = mount.accept()) {
      while (auto greetings = session.accept_receiver<Greeting>()) {
        std::error_code ec;
        while (auto g = greetings.receive(ec)) g->ret.send({"hello, " + g->text, {}}, ec);
      }
    }
  });

  auto port = server.port();
  std::cout << "GET /health: " << get(port, "/health") << '\n';
  {
    auto session = libchan::dial("ws://127.0.0.1:" + std::to_string(port) + "/chan");
    auto greetings = session.open_sender<Greeting>();
    auto [reply_rx, reply_tx] = libchan::pipe<Greeting>();
    greetings.send({"websocket", std::move(reply_tx)});
    std::cout << "libchan on /chan: " << reply_rx.receive()->text << '\n';
  }

  mount.close();  // accept() returns the end
  chan_thread.join();
  ctx.stop();
  http_thread.join();
}
