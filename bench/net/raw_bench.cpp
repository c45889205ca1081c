// The raw bound: what plain sockets do with the least work per message.
// Length-prefixed frames; one-way sends up to 512 frames per writev(), the
// receiver parses them in place; ping-pong writes one frame per write().
// TLS bulk is in raw_tls.cpp.
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "harness.hpp"
#include "raw_socket.hpp"

namespace netbench::raw {

void tls_bulk(const Options& o);                      // raw_tls.cpp
void relay(const Options& o);                         // raw_relay.cpp
void bulk_threaded_server(const Options& o, int fd);  // raw_threaded.cpp
void bulk_threaded_client(const Options& o, int fd);

namespace {

constexpr std::size_t frames_per_writev = 512;  // 1024 vectors: IOV_MAX
constexpr std::size_t bulk_chunk = 256u << 10;

void oneway_server(const Options& o, int fd) {
  std::vector<std::uint8_t> buf(std::max<std::size_t>(1u << 20, 2 * (o.size + 4)));
  std::size_t have = 0;
  std::uint64_t received = 0, before_start = 0;
  bool started = false;
  Clock::time_point start;
  while (received < o.count) {
    ssize_t n = read(fd, buf.data() + have, buf.size() - have);
    if (n <= 0) fail(o, "server", last_error("read"));
    bool first_read = !started;
    if (first_read) start = Clock::now();
    started = true;
    have += static_cast<std::size_t>(n);
    std::size_t pos = 0;
    while (have - pos >= 4) {
      std::uint32_t len;
      std::memcpy(&len, buf.data() + pos, 4);
      if (have - pos - 4 < len) break;
      pos += 4 + len;
      ++received;
    }
    // Messages that arrived with the first read are not timed.
    if (first_read) before_start = received;
    std::memmove(buf.data(), buf.data() + pos, have - pos);
    have -= pos;
  }
  report_throughput(o, received - before_start, start);
  send_ack(o, fd);
}

void oneway_client(const Options& o, int fd) {
  auto payload = make_payload(o.size);
  std::uint32_t header = static_cast<std::uint32_t>(o.size);
  std::vector<iovec> iov;
  for (std::uint64_t sent = 0; sent < o.count;) {
    iov.clear();
    for (std::size_t i = 0; i < frames_per_writev && sent < o.count; ++i, ++sent) {
      iov.push_back({&header, 4});
      iov.push_back({payload.data(), payload.size()});
    }
    if (!writev_full(fd, iov)) fail(o, "client", last_error("writev"));
  }
  wait_ack(o, fd);
}

// Echoes frames until the client closes.
void echo_server(const Options& o, int fd) {
  std::vector<std::uint8_t> buf;
  std::size_t payload = 0;
  while (read_frame(fd, buf, payload))
    if (!write_full(fd, {buf.data(), 4 + payload})) fail(o, "server", last_error("write"));
}

void pingpong_client(const Options& o, int fd) {
  auto payload = make_payload(o.size);
  std::vector<std::uint8_t> frame(4 + o.size), in;
  std::uint32_t len = static_cast<std::uint32_t>(o.size);
  std::memcpy(frame.data(), &len, 4);
  std::memcpy(frame.data() + 4, payload.data(), o.size);
  time_round_trips(o, [&] {
    std::size_t got = 0;
    if (!write_full(fd, frame) || !read_frame(fd, in, got) || got != o.size)
      fail(o, "client", last_error("round trip"));
  });
}

void bulk_server(const Options& o, int fd) {
  std::vector<std::uint8_t> buf(bulk_chunk);
  receive_bulk(o, "server", [&] {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0) fail(o, "server", last_error("read"));
    return n;
  });
  send_ack(o, fd);
}

void bulk_client(const Options& o, int fd) {
  send_bulk(o, bulk_chunk, [&](auto piece) {
    if (!write_full(fd, piece)) fail(o, "client", last_error("write"));
  });
  wait_ack(o, fd);
}

// Descriptors in batches of up to fds_per_sendmsg, one byte of data per
// descriptor: the bound for passing many of them (libchan attaches up to 64
// to one write as well).
constexpr std::size_t fds_per_sendmsg = 64;

void fds_server(const Options& o, int fd) {
  std::uint64_t received = 0, before_start = 0;
  Clock::time_point start;
  std::vector<char> bytes(fds_per_sendmsg);
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds_per_sendmsg));
  while (received < o.count) {
    iovec iov{bytes.data(), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    if (recvmsg(fd, &msg, MSG_CMSG_CLOEXEC) <= 0) fail(o, "server", last_error("recvmsg"));
    if (msg.msg_flags & MSG_CTRUNC) fail(o, "server", "descriptors were cut off (MSG_CTRUNC)");
    bool first = received == 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      std::size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < n; ++i) {
        int passed;
        std::memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof passed);
        close(passed);
      }
      received += n;
    }
    if (first && received > 0) {
      start = Clock::now();
      before_start = received;  // not timed
    }
  }
  double s = std::chrono::duration<double>(Clock::now() - start).count();
  print_result(o, "server", "fds_per_s", static_cast<double>(received - before_start) / s, "fd/s");
  send_ack(o, fd);
}

void fds_client(const Options& o, int fd) {
  Socket devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  std::vector<char> bytes(fds_per_sendmsg, 'f');
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds_per_sendmsg));
  std::vector<int> passed;
  for (std::uint64_t sent = 0; sent < o.count;) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(fds_per_sendmsg, o.count - sent));
    passed.clear();
    for (std::size_t i = 0; i < n; ++i) {
      passed.push_back(dup(devnull.get()));
      if (passed.back() < 0) fail(o, "client", last_error("dup"));
    }
    iovec iov{bytes.data(), n};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * n);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * n);
    std::memcpy(CMSG_DATA(c), passed.data(), sizeof(int) * n);
    if (sendmsg(fd, &msg, 0) != static_cast<ssize_t>(n)) fail(o, "client", last_error("sendmsg"));
    for (int p : passed) close(p);
    sent += n;
  }
  wait_ack(o, fd);
}

void run(const Options& o) {
  const auto& w = o.workload;
  if (w == "relay" || w == "relay_splice") {
    if (o.transport != "tcp" || o.role != Role::server)
      fail(o, "relay", "the relay runs as --role server --transport tcp --address DESTINATION");
    return relay(o);
  }
  if (o.transport == "tls") {
    if (w != "bulk") return print_unsupported(o, "server", "raw tls runs the bulk workload only");
    return tls_bulk(o);
  }
  if (o.transport != "tcp" && o.transport != "unix")
    return print_unsupported(o, "server", "raw runs over tcp and unix");
  if (w == "channels") return print_unsupported(o, "server", "channels are libchan's own");
  if (w == "fds" && o.transport != "unix")
    return print_unsupported(o, "server", "descriptors pass over unix sockets only");
  bool known = w == "oneway" || w == "pingpong" || w == "reqrep_nested" || w == "bulk" ||
               w == "fds" || w == "bulk_threaded";
  if (!known) fail(o, "server", "unknown workload " + w);

  if (o.role == Role::server) {
    Socket listener = listen_and_announce(o, o.transport);
    Socket c = accept_one(o, listener, o.transport);
    if (w == "oneway") oneway_server(o, c.get());
    if (w == "pingpong" || w == "reqrep_nested") echo_server(o, c.get());
    if (w == "bulk") bulk_server(o, c.get());
    if (w == "bulk_threaded") bulk_threaded_server(o, c.get());
    if (w == "fds") fds_server(o, c.get());
    print_peak_rss(o, "server");
  } else if (o.role == Role::client) {
    Socket c = connect_to(o, o.transport);
    if (w == "oneway") oneway_client(o, c.get());
    // Raw has no nested reply channel: its reqrep_nested is a plain round trip.
    if (w == "pingpong" || w == "reqrep_nested") pingpong_client(o, c.get());
    if (w == "bulk") bulk_client(o, c.get());
    if (w == "bulk_threaded") bulk_threaded_client(o, c.get());
    if (w == "fds") fds_client(o, c.get());
    print_peak_rss(o, "client");
  } else {
    fail(o, "server", "raw runs as two processes: --role server or client");
  }
}

}  // namespace
}  // namespace netbench::raw

int main(int argc, char** argv) { netbench::raw::run(netbench::parse_options(argc, argv, "raw")); }
