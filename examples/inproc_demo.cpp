// The in-process demo: a worker answers requests that carry their own
// return channel and an input stream, the libchan way.
#include <iostream>
#include <thread>

#include "libchan/libchan.hpp"

struct Reply {
  std::string text;
  std::int64_t words = 0;
  LIBCHAN_FIELDS(text, words)
};

struct Request {
  std::string op;
  libchan::ByteStream input;    // a stream inside a message
  libchan::Sender<Reply> ret;   // a channel end inside a message
  LIBCHAN_FIELDS(op, input, ret)
};

// Counts the words of each request's input and answers on its return channel.
void worker(libchan::Receiver<Request> requests) {
  while (auto req = requests.receive()) {
    std::string text = req->input.read_all();
    std::int64_t words = 0;
    bool in_word = false;
    for (char c : text) {
      bool space = c == ' ' || c == '\n' || c == '\t';
      if (!space && !in_word) ++words;
      in_word = !space;
    }
    req->ret.send({req->op + " done", words});
  }
}

int main() {
  auto [requests_rx, requests_tx] = libchan::buffered_pipe<Request>(8);
  std::thread server(worker, std::move(requests_rx));

  for (std::string line : {"libchan sends channels over channels", "like goroutines do"}) {
    auto [reply_rx, reply_tx] = libchan::pipe<Reply>();
    auto [mine, theirs] = libchan::stream_pair();
    requests_tx.send({"count", std::move(theirs), std::move(reply_tx)});
    mine.write(line);
    mine.close_write();
    auto reply = reply_rx.receive();
    std::cout << '"' << line << "\": " << reply->text << ", " << reply->words << " words\n";
  }

  requests_tx.close();  // the worker sees the end of its channel and returns
  server.join();
  return 0;
}
