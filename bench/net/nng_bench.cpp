// NNG as users run it: pair1 sockets for one-way messages, ping-pong and
// bulk; req0/rep0 for request/reply round trips. The pair sockets get
// 1024-message send and receive buffers (like ZeroMQ's default high-water
// mark; NNG's default of 0 would make every send wait for the peer), and no
// receive size limit so that bulk messages of 1 MiB pass.
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "harness.hpp"

namespace netbench::nng {
namespace {

constexpr std::size_t bulk_message = 1u << 20;
constexpr int pair_buffer = 1024;

class Socket {
 public:
  Socket(const Options& o, const char* side, bool server) : o_(o), side_(side) {
    int rv;
    if (o.workload == "reqrep_nested")
      rv = server ? nng_rep0_open(&sock_) : nng_req0_open(&sock_);
    else
      rv = nng_pair1_open(&sock_);
    check(rv, "open socket");
    if (o.workload != "reqrep_nested") {
      check(nng_socket_set_int(sock_, NNG_OPT_SENDBUF, pair_buffer), "send-buffer");
      check(nng_socket_set_int(sock_, NNG_OPT_RECVBUF, pair_buffer), "recv-buffer");
    }
    check(nng_socket_set_size(sock_, NNG_OPT_RECVMAXSZ, 0), "recv-size-max");
  }
  ~Socket() { nng_close(sock_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  void check(int rv, std::string_view what) const {
    if (rv != 0) fail(o_, side_, std::string(what) + ": " + nng_strerror(rv));
  }
  nng_socket get() const { return sock_; }

  void send(const void* data, std::size_t size) {
    check(nng_send(sock_, const_cast<void*>(data), size, 0), "nng_send");
  }
  // Receives one message; returns its size (the message is freed).
  std::size_t receive() {
    nng_msg* msg = nullptr;
    check(nng_recvmsg(sock_, &msg, 0), "nng_recvmsg");
    std::size_t n = nng_msg_len(msg);
    nng_msg_free(msg);
    return n;
  }
  // Sends the next message back as it is, without a copy.
  void echo() {
    nng_msg* msg = nullptr;
    check(nng_recvmsg(sock_, &msg, 0), "nng_recvmsg");
    int rv = nng_sendmsg(sock_, msg, 0);
    if (rv != 0) nng_msg_free(msg);
    check(rv, "nng_sendmsg");
  }

 private:
  const Options& o_;
  const char* side_;
  nng_socket sock_ = NNG_SOCKET_INITIALIZER;
};

void serve(const Options& o, Socket& s) {
  if (o.workload == "oneway") {
    receive_messages(o, [&] { s.receive(); });
    s.send("k", 1);
  } else if (o.workload == "pingpong" || o.workload == "reqrep_nested") {
    for (std::uint64_t i = 0; i < warmup_count(o) + o.count; ++i) s.echo();
  } else if (o.workload == "bulk") {
    receive_bulk(o, "server", [&] { return s.receive(); });
    s.send("k", 1);
  }
}

void drive(const Options& o, Socket& s) {
  if (o.workload == "oneway") {
    auto payload = make_payload(o.size);
    for (std::uint64_t i = 0; i < o.count; ++i) s.send(payload.data(), payload.size());
    s.receive();
  } else if (o.workload == "pingpong" || o.workload == "reqrep_nested") {
    auto payload = make_payload(o.size);
    time_round_trips(o, [&] {
      s.send(payload.data(), payload.size());
      if (s.receive() != o.size) fail(o, "client", "reply of the wrong size");
    });
  } else if (o.workload == "bulk") {
    send_bulk(o, bulk_message, [&](auto piece) { s.send(piece.data(), piece.size()); });
    s.receive();
  }
}

void run(const Options& o) {
  const auto& w = o.workload;
  if (o.transport != "tcp" && o.transport != "ipc")
    return print_unsupported(o, "server", "nng runs over tcp and ipc here");
  if (w == "channels" || w == "fds") return print_unsupported(o, "server", "no " + w + " in NNG");
  if (w != "oneway" && w != "pingpong" && w != "reqrep_nested" && w != "bulk")
    fail(o, "server", "unknown workload " + w);

  if (o.role == Role::server) {
    Socket s(o, "server", true);
    bool tcp = o.transport == "tcp";
    std::string url = tcp ? std::string("tcp://127.0.0.1:0") : "ipc://" + o.address;
    nng_listener listener;
    s.check(nng_listen(s.get(), url.c_str(), &listener, 0), "nng_listen " + url);
    if (tcp) {
      int port = 0;
      s.check(nng_listener_get_int(listener, NNG_OPT_TCP_BOUND_PORT, &port), "bound port");
      url = "tcp://127.0.0.1:" + std::to_string(port);
    }
    print_ready(o, url);
    serve(o, s);
    print_peak_rss(o, "server");
  } else if (o.role == Role::client) {
    Socket s(o, "client", false);
    s.check(nng_dial(s.get(), o.address.c_str(), nullptr, 0), "nng_dial " + o.address);
    drive(o, s);
    print_peak_rss(o, "client");
  } else {
    fail(o, "server", "nng runs as two processes: --role server or client");
  }
}

}  // namespace
}  // namespace netbench::nng

int main(int argc, char** argv) { netbench::nng::run(netbench::parse_options(argc, argv, "nng")); }
