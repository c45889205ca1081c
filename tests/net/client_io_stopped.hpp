// A client session whose io nobody runs, for tests of what a waiting
// application thread does itself (inline writes and reads).
#pragma once

#include <unistd.h>

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <thread>

#include "libchan/libchan.hpp"

namespace net_test {

using namespace std::chrono_literals;

// The write end of a new pipe goes into `message["fd"]`; the read end stays
// here, to check that the descriptor works once it has travelled.
inline libchan::Fd attach_pipe(libchan::Value& message) {
  int ends[2] = {-1, -1};
  EXPECT_EQ(::pipe(ends), 0);
  message["fd"] = libchan::Value(libchan::Fd(ends[1]));
  return libchan::Fd(ends[0]);
}

// `message["fd"]` arrived as a descriptor, and a byte written to it comes
// out of `read_end`.
inline void expect_pipe_works(libchan::Value& message, const libchan::Fd& read_end) {
  libchan::Value* fd = message.find("fd");
  ASSERT_TRUE(fd && fd->kind() == libchan::Value::Kind::fd)
      << "the descriptor came with the message";
  libchan::Fd passed = fd->take_fd();
  ASSERT_EQ(::write(passed.get(), "x", 1), 1);
  char c = 0;
  EXPECT_EQ(::read(read_end.get(), &c, 1), 1);
  EXPECT_EQ(c, 'x');
}

// A client whose session runs on its own io_context, which runs only while
// a channel each way is set up and then stops: from then on, only a thread
// of the client's that waits can read (or write) for it.
struct client_io_stopped {
  // The client dials `dial_scheme` (a scheme of `registry`) in place of the
  // listener's, when given.
  explicit client_io_stopped(
      const std::string& url, libchan::SessionOptions client_opts = {},
      const libchan::SessionOptions& server_opts = {},
      const libchan::TransportRegistry& registry = libchan::TransportRegistry::defaults(),
      const std::string& dial_scheme = {})
      : listener(libchan::listen(url, server_opts)) {
    client_opts.io_context = &client_io;
    auto busy = boost::asio::make_work_guard(client_io);
    std::thread runner([&] { client_io.run(); });
    std::error_code ec;
    std::string address = listener.local_address();
    if (!dial_scheme.empty()) address = dial_scheme + address.substr(address.find(':'));
    client = libchan::dial(registry, address, client_opts);
    server = listener.accept_for(10s, ec);
    EXPECT_TRUE(server) << ec.message();
    request_tx = client->open_sender();
    request_rx = server.accept_receiver_for(10s, ec);
    reply_tx = server.open_sender();
    reply_rx = client->accept_receiver_for(10s, ec);
    EXPECT_TRUE(request_rx && reply_rx) << ec.message();
    // One message each way: every stream is open at both ends.
    request_tx.send(libchan::make_map("n", 0));
    EXPECT_TRUE(request_rx.receive_for(10s));
    reply_tx.send(libchan::make_map("n", 0));
    EXPECT_TRUE(reply_rx.receive_for(10s));
    busy.reset();
    client_io.stop();
    runner.join();
    // Completions already due run here; then nobody runs the client's io.
    client_io.restart();
    while (client_io.poll() > 0) {
    }
  }

  ~client_io_stopped() {
    if (client) client->close();
    server.close();
    listener.close();
    // With its io_context gone, the client's session must end all the same.
    client.reset();
  }

  boost::asio::io_context client_io;  // outlives the client's session
  libchan::Listener listener;
  std::optional<libchan::Session> client;
  libchan::Session server;
  libchan::Sender<libchan::Value> request_tx, reply_tx;
  libchan::Receiver<libchan::Value> request_rx, reply_rx;
};

}  // namespace net_test
