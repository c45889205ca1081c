// websocket_mount.cpp: libchan on one path of an HTTP server the program
// already has (Boost.Beast), so the web API and libchan share a port. The
// server hands WebSocket upgrades of /chan to a WebSocketMount.
#include <utility>  // first: Asio 1.74's coroutine headers use std::exchange without it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <iostream>
#include <thread>

#include "libchan/websocket.hpp"

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// The application's HTTP server, one request per connection for brevity.
asio::awaitable<void> http_server(tcp::acceptor& acceptor, libchan::WebSocketMount& mount) {
  for (;;) {
    tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> req;
    co_await http::async_read(socket, buffer, req, asio::use_awaitable);
    if (boost::beast::websocket::is_upgrade(req) && req.target() == "/chan") {
      mount.upgrade(std::move(socket), std::move(req));  // libchan takes it from here
      continue;
    }
    http::response<http::string_body> res{http::status::ok, req.version(), "the web API\n"};
    res.prepare_payload();
    co_await http::async_write(socket, res, asio::use_awaitable);
  }
}

int main() {
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  libchan::WebSocketMount mount;  // the sessions' io runs on libchan's threads
  asio::co_spawn(io, http_server(acceptor, mount), asio::detached);
  std::thread http_thread([&io] { io.run(); });

  std::string port = std::to_string(acceptor.local_endpoint().port());
  libchan::Session client = libchan::dial("ws://127.0.0.1:" + port + "/chan");
  libchan::Session server = mount.accept();  // as Listener::accept()
  libchan::Sender<std::string> notes = client.open_sender<std::string>();
  notes.send("hello through the HTTP server");
  std::cout << server.accept_receiver<std::string>().receive().value() << '\n';

  asio::post(io, [&acceptor] { acceptor.close(); });  // ends http_server
  http_thread.join();
}
