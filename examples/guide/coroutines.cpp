// coroutines.cpp: the async forms with Boost.Asio's C++20 coroutines. The
// sessions still do their io on libchan's threads; each co_await resumes
// on the coroutine's executor, here the thread running io.run().
#include <utility>  // first: Asio 1.74's coroutine headers use std::exchange without it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>

#include "libchan/libchan.hpp"

namespace asio = boost::asio;
using asio::use_awaitable;

struct Request {
  std::int64_t n = 0;
  libchan::Sender<std::int64_t> reply_to;
  LIBCHAN_FIELDS(n, reply_to)
};

asio::awaitable<void> server(libchan::Listener& listener) {
  libchan::Session session = co_await listener.async_accept(use_awaitable);
  auto requests = co_await session.async_accept_receiver<Request>(use_awaitable);
  while (std::optional<Request> req = co_await requests.async_receive(use_awaitable))
    co_await req->reply_to.async_send(req->n * req->n, use_awaitable);
}

asio::awaitable<void> client(std::string url) {
  libchan::SessionOptions options;  // named, not a temporary: see the guide
  libchan::Session session = co_await libchan::async_dial(url, options, use_awaitable);
  libchan::Sender<Request> requests = session.open_sender<Request>();
  for (std::int64_t n = 1; n <= 3; ++n) {
    auto [answers, reply_to] = libchan::pipe<std::int64_t>();
    Request req{n, std::move(reply_to)};  // likewise
    co_await requests.async_send(std::move(req), use_awaitable);
    std::optional<std::int64_t> square = co_await answers.async_receive(use_awaitable);
    std::cout << n << " squared is " << square.value() << '\n';
  }
}  // the sessions close as the coroutines return

int main() {
  asio::io_context io;
  libchan::Listener listener = libchan::listen("tcp://127.0.0.1:0");
  // Failures arrive as exceptions (std::system_error) inside the coroutines;
  // this handler rethrows them from io.run().
  auto rethrow = [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  };
  asio::co_spawn(io, server(listener), rethrow);
  asio::co_spawn(io, client(listener.local_address()), rethrow);
  io.run();  // returns when both coroutines are done
}
