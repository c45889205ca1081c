// request_response.cpp: each request carries the Sender its answer goes back
// on. The same server function runs in process and over TCP.
#include <iostream>
#include <thread>
#include <vector>

#include "libchan/libchan.hpp"

struct Answer {
  std::int64_t sum = 0;
  LIBCHAN_FIELDS(sum)
};

struct Request {
  std::vector<std::int64_t> numbers;
  libchan::Sender<Answer> reply_to;  // the caller keeps the matching Receiver
  LIBCHAN_FIELDS(numbers, reply_to)
};

// Answers requests until the channel ends.
void serve(libchan::Receiver<Request> requests) {
  while (std::optional<Request> req = requests.receive()) {
    Answer answer;
    for (std::int64_t n : req->numbers) answer.sum += n;
    req->reply_to.send(answer);
  }
}

// Sends one request and waits for its answer.
std::int64_t add(libchan::Sender<Request>& server, std::vector<std::int64_t> numbers) {
  auto [answers, reply_to] = libchan::pipe<Answer>();
  server.send({std::move(numbers), std::move(reply_to)});
  return answers.receive().value().sum;
}

int main() {
  // In process: a pipe moves each Request, reply channel included, as is.
  auto [requests, to_server] = libchan::pipe<Request>();
  std::thread local_server(serve, std::move(requests));
  std::cout << "in process: 1+2+3 = " << add(to_server, {1, 2, 3}) << '\n';
  to_server.close();  // serve() sees the end of its channel and returns
  local_server.join();

  // Over TCP: the server takes its Receiver from a session, the client opens
  // the Sender; the reply channel is forwarded across the connection.
  libchan::Listener listener = libchan::listen("tcp://127.0.0.1:0");  // port 0: any free port
  std::thread remote_server([&listener] {
    libchan::Session session = listener.accept();
    serve(session.accept_receiver<Request>());
  });
  libchan::Session session = libchan::dial(listener.local_address());
  libchan::Sender<Request> to_remote = session.open_sender<Request>();
  std::cout << "over TCP:   4+5+6 = " << add(to_remote, {4, 5, 6}) << '\n';
  to_remote.close();
  remote_server.join();
}
