// byte_streams.cpp: a ByteStream inside a message. The client keeps one end
// of an in-process stream pair and sends the other; over a session the bytes
// are forwarded both ways.
#include <iostream>
#include <thread>

#include "libchan/libchan.hpp"

struct Upload {
  std::string name;
  libchan::ByteStream body;  // duplex: the server reads the upload, then writes its answer
  LIBCHAN_FIELDS(name, body)
};

void serve(libchan::Receiver<Upload> uploads) {
  while (std::optional<Upload> up = uploads.receive()) {
    std::string data = up->body.read_all();  // until the client's close_write()
    up->body.write("stored " + up->name + ": " + std::to_string(data.size()) + " bytes\n");
    up->body.close_write();  // end of stream for the client's read_all()
  }
}

int main() {
  libchan::Listener listener = libchan::listen("tcp://127.0.0.1:0");
  std::thread server([&listener] {
    libchan::Session session = listener.accept();
    serve(session.accept_receiver<Upload>());
  });
  libchan::Session session = libchan::dial(listener.local_address());
  libchan::Sender<Upload> uploads = session.open_sender<Upload>();

  auto [mine, theirs] = libchan::stream_pair();
  uploads.send({"notes.txt", std::move(theirs)});
  for (int i = 0; i < 1000; ++i) mine.write("a line of notes\n");  // 16000 bytes
  mine.close_write();                                              // half-close: we can still read
  std::cout << mine.read_all();

  uploads.close();
  server.join();
}
