// errors_limits.cpp: how failures are reported, and what a limit does when
// a peer goes past it.
#include <chrono>
#include <future>
#include <iostream>
#include <string>

#include "libchan/libchan.hpp"

int main() {
  // Every call comes in a throwing form and a std::error_code form.
  auto [rx, tx] = libchan::pipe<std::string>();
  rx.close();
  std::error_code ec;
  tx.send("hello", ec);  // the receiver is gone
  std::cout << "send: " << ec.message() << " (errc::closed: " << (ec == libchan::errc::closed)
            << ")\n";
  std::string unused_address = libchan::listen("tcp://127.0.0.1:0").local_address();
  try {
    libchan::dial(unused_address);  // the listener is closed again: nobody listens there
  } catch (const std::system_error& e) {
    std::cout << "dial: " << e.what() << '\n';  // the URL and the cause
  }

  // Limits bound what a peer can make us allocate. This server takes strings
  // of at most 1 KiB; a larger one costs its channel, not the session.
  libchan::SessionOptions strict;
  strict.limits.codec.max_string_size = 1024;
  libchan::Listener listener = libchan::listen("tcp://127.0.0.1:0", strict);
  libchan::Session client = libchan::dial(listener.local_address());
  libchan::Session server = listener.accept();
  libchan::Sender<std::string> big = client.open_sender<std::string>();
  big.send(std::string(4096, 'x'));  // fine on this side, whose limits are the defaults
  server.accept_receiver<std::string>().receive(ec);
  std::cout << "receive: " << ec.message()
            << " (errc::limit_exceeded: " << (ec == libchan::errc::limit_exceeded) << ")\n";
  libchan::Sender<std::string> small = client.open_sender<std::string>();
  small.send("still here");
  std::cout << "next channel: " << server.accept_receiver<std::string>().receive().value() << '\n';

  // When a session ends, error() and error_message() say why.
  std::promise<void> ended;
  client.on_close([&ended](std::error_code) { ended.set_value(); });  // runs on an io thread
  server.close();
  if (ended.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready)
    std::cout << "client session: " << client.error().message() << ": " << client.error_message()
              << '\n';
}
