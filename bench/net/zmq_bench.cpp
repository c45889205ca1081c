// ZeroMQ (libzmq, C API) as users run it: PAIR sockets for one-way
// messages, ping-pong and bulk; REQ/REP for request/reply round trips.
// Default high-water marks (1000 messages); the payload is copied in by
// zmq_send, as an application that keeps its buffer would.
#include <zmq.h>

#include <cerrno>

#include "harness.hpp"

namespace netbench::zmq {
namespace {

constexpr std::size_t bulk_message = 1u << 20;

class Socket {
 public:
  Socket(const Options& o, const char* side, int type)
      : o_(o), side_(side), ctx_(zmq_ctx_new()), sock_(zmq_socket(ctx_, type)) {
    if (!sock_) die("zmq_socket");
    int linger = 1000;
    zmq_setsockopt(sock_, ZMQ_LINGER, &linger, sizeof linger);
  }
  ~Socket() {
    zmq_close(sock_);
    zmq_ctx_term(ctx_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  [[noreturn]] void die(std::string_view what) const {
    fail(o_, side_, std::string(what) + ": " + zmq_strerror(zmq_errno()));
  }
  void* get() const { return sock_; }

  void send(const void* data, std::size_t size) {
    while (zmq_send(sock_, data, size, 0) < 0)
      if (zmq_errno() != EINTR) die("zmq_send");
  }
  // Receives one message into `msg` (already initialised); returns its size.
  std::size_t receive(zmq_msg_t& msg) {
    int n;
    while ((n = zmq_msg_recv(&msg, sock_, 0)) < 0)
      if (zmq_errno() != EINTR) die("zmq_msg_recv");
    return static_cast<std::size_t>(n);
  }

 private:
  const Options& o_;
  const char* side_;
  void* ctx_;
  void* sock_;
};

// A received message that frees itself.
struct Message {
  zmq_msg_t msg;
  Message() { zmq_msg_init(&msg); }
  ~Message() { zmq_msg_close(&msg); }
};

int socket_type(const Options& o, bool server) {
  if (o.workload == "reqrep_nested") return server ? ZMQ_REP : ZMQ_REQ;
  return ZMQ_PAIR;
}

void serve(const Options& o, Socket& s) {
  Message m;
  if (o.workload == "oneway") {
    receive_messages(o, [&] { s.receive(m.msg); });
    s.send("k", 1);
  } else if (o.workload == "pingpong" || o.workload == "reqrep_nested") {
    // zmq_msg_send hands the received message back without a copy.
    for (std::uint64_t i = 0; i < warmup_count(o) + o.count; ++i) {
      s.receive(m.msg);
      while (zmq_msg_send(&m.msg, s.get(), 0) < 0)
        if (zmq_errno() != EINTR) s.die("zmq_msg_send");
    }
  } else if (o.workload == "bulk") {
    receive_bulk(o, "server", [&] { return s.receive(m.msg); });
    s.send("k", 1);
  }
}

void drive(const Options& o, Socket& s) {
  Message m;
  if (o.workload == "oneway") {
    auto payload = make_payload(o.size);
    for (std::uint64_t i = 0; i < o.count; ++i) s.send(payload.data(), payload.size());
    s.receive(m.msg);
  } else if (o.workload == "pingpong" || o.workload == "reqrep_nested") {
    auto payload = make_payload(o.size);
    time_round_trips(o, [&] {
      s.send(payload.data(), payload.size());
      if (s.receive(m.msg) != o.size) fail(o, "client", "reply of the wrong size");
    });
  } else if (o.workload == "bulk") {
    send_bulk(o, bulk_message, [&](auto piece) { s.send(piece.data(), piece.size()); });
    s.receive(m.msg);
  }
}

void run(const Options& o) {
  const auto& w = o.workload;
  if (o.transport != "tcp" && o.transport != "ipc")
    return print_unsupported(o, "server", "zmq runs over tcp and ipc here");
  if (w == "channels" || w == "fds")
    return print_unsupported(o, "server", "no " + w + " in ZeroMQ");
  if (w != "oneway" && w != "pingpong" && w != "reqrep_nested" && w != "bulk")
    fail(o, "server", "unknown workload " + w);

  if (o.role == Role::server) {
    Socket s(o, "server", socket_type(o, true));
    std::string endpoint =
        o.transport == "tcp" ? std::string("tcp://127.0.0.1:*") : "ipc://" + o.address;
    if (zmq_bind(s.get(), endpoint.c_str()) != 0) s.die("zmq_bind " + endpoint);
    char bound[256];
    size_t len = sizeof bound;
    if (zmq_getsockopt(s.get(), ZMQ_LAST_ENDPOINT, bound, &len) != 0) s.die("ZMQ_LAST_ENDPOINT");
    print_ready(o, bound);
    serve(o, s);
    print_peak_rss(o, "server");
  } else if (o.role == Role::client) {
    Socket s(o, "client", socket_type(o, false));
    if (zmq_connect(s.get(), o.address.c_str()) != 0) s.die("zmq_connect " + o.address);
    drive(o, s);
    print_peak_rss(o, "client");
  } else {
    fail(o, "server", "zmq runs as two processes: --role server or client");
  }
}

}  // namespace
}  // namespace netbench::zmq

int main(int argc, char** argv) { netbench::zmq::run(netbench::parse_options(argc, argv, "zmq")); }
