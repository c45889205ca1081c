// The workloads over a libchan session, written as an application would
// write them with the blocking API. The client dials and sends; the
// receiving side times, then answers on a channel it opens ("ack") so that
// the sender does not end the session before everything arrived.
#include <fcntl.h>
#include <unistd.h>

#include "chan_messages.hpp"
#include "chan_workloads.hpp"

namespace netbench::chan {
namespace {

using libchan::Binary;
using libchan::Value;

constexpr std::size_t bulk_chunk = 256u << 10;
constexpr std::size_t channel_message = 64;

// Plain receive(), as an application would call it; alarm() bounds the wait.
// A failure names the session's reason too, e.g. the limit it broke.
template <class T>
T must_receive(const Options& o, const libchan::Session& s, const char* side,
               libchan::Receiver<T>& rx) {
  std::error_code ec;
  auto v = rx.receive(ec);
  if (ec) fail(o, side, "receive: " + ec.message() + " (session: " + s.error_message() + ")");
  if (!v) fail(o, side, "the channel ended early (session: " + s.error_message() + ")");
  return std::move(*v);
}

template <class T = Value>
libchan::Receiver<T> must_accept(const Options& o, const char* side, libchan::Session& s) {
  std::error_code ec;
  auto rx = s.accept_receiver_for<T>(o.timeout, ec);
  if (ec || !rx) fail(o, side, "accept_receiver: " + (ec ? ec.message() : s.error_message()));
  return rx;
}

void send_ack(libchan::Session& s) { s.open_sender().send(Value(true)); }

void wait_ack(const Options& o, libchan::Session& s) {
  auto rx = must_accept(o, "client", s);
  must_receive(o, s, "client", rx);
}

void serve_oneway(const Options& o, libchan::Session& s) {
  auto rx = must_accept<Payload>(o, "server", s);
  receive_messages(o, [&] {
    if (must_receive(o, s, "server", rx).payload.bytes.size() != o.size)
      fail(o, "server", "message of the wrong size");
  });
  send_ack(s);
}

void drive_oneway(const Options& o, libchan::Session& s) {
  // Sent by reference, as the other implementations send from a buffer:
  // the session encodes it in place.
  const Payload message{Binary{make_payload(o.size)}};
  auto tx = s.open_sender<Payload>();
  for (std::uint64_t i = 0; i < o.count; ++i) tx.send(message);
  wait_ack(o, s);
}

void serve_pingpong(const Options& o, libchan::Session& s) {
  auto rx = must_accept<Payload>(o, "server", s);
  auto tx = s.open_sender<Payload>();
  for (std::uint64_t i = 0; i < warmup_count(o) + o.count; ++i)
    tx.send(must_receive(o, s, "server", rx));
}

void drive_pingpong(const Options& o, libchan::Session& s) {
  const Payload message{Binary{make_payload(o.size)}};
  auto tx = s.open_sender<Payload>();
  libchan::Receiver<Payload> rx;
  time_round_trips(o, [&] {
    tx.send(message);
    if (!rx) rx = must_accept<Payload>(o, "client", s);  // the server opens it on our first ping
    if (must_receive(o, s, "client", rx).payload.bytes.size() != o.size)
      fail(o, "client", "reply of the wrong size");
  });
}

void serve_reqrep(const Options& o, libchan::Session& s) {
  auto rx = must_accept<Request>(o, "server", s);
  std::error_code ec;
  while (auto req = rx.receive(ec)) req->ret.send(Reply{std::move(req->payload)});
  if (ec) fail(o, "server", "receive: " + ec.message() + " (session: " + s.error_message() + ")");
}

void drive_reqrep(const Options& o, libchan::Session& s) {
  auto payload = make_payload(o.size);
  auto tx = s.open_sender<Request>();
  time_round_trips(o, [&] {
    auto [reply_rx, reply_tx] = libchan::buffered_pipe<Reply>(1);
    tx.send(Request{Binary{payload}, std::move(reply_tx)});
    if (must_receive(o, s, "client", reply_rx).payload.bytes.size() != o.size)
      fail(o, "client", "reply of the wrong size");
  });
  // The server ends the session once it has seen the end of the requests;
  // closing ours right after tx.close() can cut that end off.
  tx.close();
  wait_for_end(o, s);
}

void serve_bulk(const Options& o, libchan::Session& s) {
  auto rx = must_accept<BulkRequest>(o, "server", s);
  auto req = must_receive(o, s, "server", rx);
  std::vector<std::byte> buf(bulk_chunk);
  receive_bulk(o, "server", [&] { return req.data.read_some(buf); });
  req.done.send(Value(true));
}

void drive_bulk(const Options& o, libchan::Session& s) {
  auto tx = s.open_sender<BulkRequest>();
  auto [mine, theirs] = libchan::stream_pair();
  auto [done_rx, done_tx] = libchan::pipe<Value>();
  // Read-only for the server: the bytes flow one way.
  libchan::ByteStream readable(theirs.release(), libchan::ByteStream::Mode::read_only);
  tx.send(BulkRequest{std::move(readable), std::move(done_tx)});
  send_bulk(o, bulk_chunk, [&](auto piece) { mine.write(std::as_bytes(piece)); });
  mine.close_write();
  must_receive(o, s, "client", done_rx);
}

// channels: o.size channels on one session. Setting up (open, accept, one
// hello each) is timed apart from the messages, which the client sends
// round-robin over all channels once the server says go.
void serve_channels(const Options& o, libchan::Session& s) {
  std::size_t n = o.size;
  std::uint64_t per_channel = std::max<std::uint64_t>(1, o.count / n);
  std::vector<libchan::Receiver<Payload>> rx;
  rx.reserve(n);
  auto setup_start = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    rx.push_back(must_accept<Payload>(o, "server", s));
    must_receive(o, s, "server", rx.back());
  }
  print_result(o, "server", "setup_ms",
               std::chrono::duration<double, std::milli>(Clock::now() - setup_start).count(), "ms");
  auto go = s.open_sender();
  auto start = Clock::now();
  go.send(Value(true));
  for (std::uint64_t r = 0; r < per_channel; ++r)
    for (auto& c : rx) must_receive(o, s, "server", c);
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  print_result(o, "server", "msgs_per_s", static_cast<double>(per_channel * n) / secs, "msg/s");
  go.send(Value(true));
}

void drive_channels(const Options& o, libchan::Session& s) {
  std::size_t n = o.size;
  std::uint64_t per_channel = std::max<std::uint64_t>(1, o.count / n);
  const Payload message{Binary{make_payload(channel_message)}};
  std::vector<libchan::Sender<Payload>> tx;
  tx.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    tx.push_back(s.open_sender<Payload>());
    tx.back().send(message);
  }
  auto go = must_accept(o, "client", s);
  must_receive(o, s, "client", go);
  for (std::uint64_t r = 0; r < per_channel; ++r)
    for (auto& c : tx) c.send(message);
  must_receive(o, s, "client", go);
}

// fds: one descriptor per message. Until descriptors pass over unix
// sessions, an Fd arrives as a byte stream: then the row is n/a.
void serve_fds(const Options& o, libchan::Session& s) {
  auto rx = must_accept(o, "server", s);
  Clock::time_point start;
  for (std::uint64_t i = 0; i < o.count; ++i) {
    Value m = must_receive(o, s, "server", rx);
    Value* fd = m.find("fd");
    if (!fd) fail(o, "server", "a message without its fd");
    if (fd->kind() != Value::Kind::fd) {
      print_unsupported(o, "server",
                        std::string("an Fd arrived as a ") + Value::kind_name(fd->kind()) +
                            ", not as a descriptor");
      return s.close();  // the client's sends fail and it stops
    }
    fd->take_fd().reset();
    if (i == 0) start = Clock::now();
  }
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  print_result(o, "server", "fds_per_s", static_cast<double>(o.count - 1) / secs, "fd/s");
  send_ack(s);
}

void drive_fds(const Options& o, libchan::Session& s) {
  libchan::Fd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull) fail(o, "client", "cannot open /dev/null");
  auto tx = s.open_sender();
  std::error_code ec;
  for (std::uint64_t i = 0; i < o.count && !ec; ++i)
    tx.send(libchan::make_map("fd", devnull.duplicate()), ec);
  // The server stops early when descriptors do not pass; it reports why.
  if (ec) return wait_for_end(o, s);
  wait_ack(o, s);
}

// Each workload's two sides.
struct Workload {
  std::string_view name;
  void (*serve)(const Options&, libchan::Session&);
  void (*drive)(const Options&, libchan::Session&);
};

constexpr Workload workloads[] = {
    {"oneway", serve_oneway, drive_oneway},        {"pingpong", serve_pingpong, drive_pingpong},
    {"reqrep_nested", serve_reqrep, drive_reqrep}, {"bulk", serve_bulk, drive_bulk},
    {"channels", serve_channels, drive_channels},  {"fds", serve_fds, drive_fds},
};

const Workload* find_workload(std::string_view name) {
  for (const auto& w : workloads)
    if (w.name == name) return &w;
  return nullptr;
}

}  // namespace

void wait_for_end(const Options& o, libchan::Session& s) {
  std::error_code ec;
  while (s.accept_receiver_for(o.timeout, ec)) {
  }
}

void serve(const Options& o, libchan::Session& s) {
  if (auto* w = find_workload(o.workload)) w->serve(o, s);
  if (o.workload != "reqrep_nested") wait_for_end(o, s);
}

void drive(const Options& o, libchan::Session& s) {
  if (auto* w = find_workload(o.workload)) w->drive(o, s);
}

}  // namespace netbench::chan
