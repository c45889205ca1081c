// websocket.cpp: a libchan session inside a WebSocket connection, which
// goes through HTTP proxies and load balancers. wss:// is the same over TLS
// (SessionOptions::tls, as for tls://).
#include <iostream>
#include <thread>

#include "libchan/libchan.hpp"

struct Echo {
  std::string text;
  libchan::Sender<std::string> reply_to;
  LIBCHAN_FIELDS(text, reply_to)
};

int main() {
  // The listener answers WebSocket upgrades for its path only.
  libchan::Listener listener = libchan::listen("ws://127.0.0.1:0/chan");
  std::thread server([&listener] {
    libchan::Session session = listener.accept();
    libchan::Receiver<Echo> requests = session.accept_receiver<Echo>();
    while (std::optional<Echo> req = requests.receive()) req->reply_to.send("echo: " + req->text);
  });

  // local_address() is "ws://127.0.0.1:<port>/chan": a URL to dial.
  libchan::Session session = libchan::dial(listener.local_address());
  libchan::Sender<Echo> requests = session.open_sender<Echo>();
  for (std::string text : {"over", "websocket"}) {
    auto [replies, reply_to] = libchan::pipe<std::string>();
    requests.send({text, std::move(reply_to)});
    std::cout << replies.receive().value() << '\n';
  }
  requests.close();
  server.join();
}
