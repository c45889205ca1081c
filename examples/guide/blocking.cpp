// blocking.cpp: plain threads and blocking calls, on an io_context the
// program runs itself. Blocking calls belong on the program's threads: on an
// io thread they are refused, since they would wait for that very thread.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <iostream>
#include <thread>

#include "libchan/libchan.hpp"

int main() {
  // The sessions' io runs here instead of on libchan's internal threads.
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  libchan::SessionOptions options;
  options.io_context = &io;  // not owned: it must outlive the sessions
  {
    libchan::Listener listener = libchan::listen("tcp://127.0.0.1:0", options);
    libchan::Session client = libchan::dial(listener.local_address(), options);  // until connected
    libchan::Session server = listener.accept();  // until a session arrives

    // A blocking call made on the io thread fails at once instead of hanging.
    std::promise<std::string> outcome;
    boost::asio::post(io, [&server, &outcome] {
      try {
        server.accept_receiver<std::int64_t>();
        outcome.set_value("accepted");
      } catch (const std::system_error& e) {
        outcome.set_value(e.what());
      }
    });
    std::cout << "on the io thread: " << outcome.get_future().get() << '\n';

    // On a thread of its own, the consumer may block as long as it likes.
    std::thread consumer([&server] {
      libchan::Receiver<std::int64_t> numbers = server.accept_receiver<std::int64_t>();
      std::int64_t sum = 0;
      while (std::optional<std::int64_t> n = numbers.receive()) sum += *n;  // waits for each
      std::cout << "consumer: sum " << sum << '\n';
    });
    libchan::Sender<std::int64_t> numbers = client.open_sender<std::int64_t>();
    for (std::int64_t i = 1; i <= 100; ++i) numbers.send(i);  // waits only if the queue is full
    numbers.close();
    consumer.join();
  }  // sessions and listener close here, before the io_context stops
  work.reset();
  io_thread.join();
}
