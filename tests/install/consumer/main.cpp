// Sends one message over an in-process pipe and one over TCP; prints both.
#include <iostream>
#include <libchan/libchan.hpp>
#include <thread>

struct Greeting {
  std::string text;
  LIBCHAN_FIELDS(text)
};

int main() {
  auto [rx, tx] = libchan::buffered_pipe<Greeting>(1);
  tx.send({"over a pipe"});
  std::cout << rx.receive()->text << "\n";

  auto listener = libchan::listen("tcp://127.0.0.1:0");
  std::thread server([&listener] {
    auto session = listener.accept();
    auto greetings = session.accept_receiver<Greeting>();
    std::cout << greetings.receive()->text << "\n";
  });
  {
    auto session = libchan::dial(listener.local_address());
    auto greetings = session.open_sender<Greeting>();
    greetings.send({"over tcp"});
    greetings.close();
    server.join();
  }
  listener.close();
}
