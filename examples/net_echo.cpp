// An echo service over TCP, server and client in one process: each request
// carries the channel its answer goes back on, as in Go libchan's examples.
#include <iostream>
#include <thread>

#include "libchan/libchan.hpp"

struct Echo {
  std::string text;
  std::int64_t seq = 0;
  LIBCHAN_FIELDS(text, seq)
};

struct Request {
  std::string text;
  std::int64_t seq = 0;
  libchan::Sender<Echo> ret;  // travels with the request: the answer comes back on it
  LIBCHAN_FIELDS(text, seq, ret)
};

// Serves every session the listener accepts, every channel of each session.
void serve(libchan::Listener& listener) {
  while (auto session = listener.accept()) {
    std::cout << "server: session from " << session.peer_address() << '\n';
    while (auto requests = session.accept_receiver<Request>()) {
      // A client that vanishes ends its channels with errc::disconnected.
      std::error_code ec;
      while (auto req = requests.receive(ec)) req->ret.send({req->text, req->seq}, ec);
    }
    std::cout << "server: session ended (" << session.error_message() << ")\n";
  }
}

int main() {
  // Port 0: the system picks a free port; local_address() says which.
  auto listener = libchan::listen("tcp://127.0.0.1:0");
  std::thread server(serve, std::ref(listener));

  {
    auto session = libchan::dial(listener.local_address());
    auto requests = session.open_sender<Request>();
    for (std::int64_t seq = 1; seq <= 3; ++seq) {
      auto [reply_rx, reply_tx] = libchan::pipe<Echo>();
      requests.send({"hello #" + std::to_string(seq), seq, std::move(reply_tx)});
      auto echo = reply_rx.receive();
      std::cout << "client: " << echo->text << " (seq " << echo->seq << ")\n";
    }
  }  // the session closes here; the server sees its end

  listener.close();  // accept() returns the end: the server thread finishes
  server.join();
}
