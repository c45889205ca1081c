// The workloads over libchan's in-process pipes and streams: both sides are
// threads of this process, values are moved, never serialized. The same
// shapes and timing as over a session.
#include <thread>

#include "chan_messages.hpp"
#include "chan_workloads.hpp"

namespace netbench::chan {
namespace {

using libchan::Binary;

constexpr std::size_t pipe_capacity = 1024;
constexpr std::size_t bulk_chunk = 256u << 10;

// Runs `receiving` on a thread and `sending` here; rethrows neither (a
// failure exits the process through fail()).
template <class Receiving, class Sending>
void two_threads(Receiving receiving, Sending sending) {
  std::thread t(std::move(receiving));
  sending();
  t.join();
}

// Plain receive(), as over a session; alarm() bounds the wait.
template <class T>
T must_receive(const Options& o, libchan::Receiver<T>& rx) {
  std::error_code ec;
  auto v = rx.receive(ec);
  if (ec) fail(o, "both", "receive: " + ec.message());
  if (!v) fail(o, "both", "the channel ended early");
  return std::move(*v);
}

void oneway(const Options& o) {
  auto [rx, tx] = libchan::buffered_pipe<Payload>(pipe_capacity);
  auto payload = make_payload(o.size);
  two_threads([&o, &rx = rx] { receive_messages(o, [&] { must_receive(o, rx); }); },
              [&] {
                for (std::uint64_t i = 0; i < o.count; ++i) tx.send(Payload{Binary{payload}});
              });
}

void pingpong(const Options& o) {
  auto [ping_rx, ping_tx] = libchan::buffered_pipe<Payload>(1);
  auto [pong_rx, pong_tx] = libchan::buffered_pipe<Payload>(1);
  auto warm = warmup_count(o);
  two_threads(
      [&o, warm, &ping_rx = ping_rx, &pong_tx = pong_tx] {
        for (std::uint64_t i = 0; i < warm + o.count; ++i) pong_tx.send(must_receive(o, ping_rx));
      },
      [&] {
        auto payload = make_payload(o.size);
        time_round_trips(o, [&] {
          ping_tx.send(Payload{Binary{payload}});
          must_receive(o, pong_rx);
        });
      });
}

void reqrep(const Options& o) {
  auto [rx, tx] = libchan::buffered_pipe<Request>(1);
  two_threads(
      [&rx = rx] {
        while (auto req = rx.receive()) req->ret.send(Reply{std::move(req->payload)});
      },
      [&] {
        auto payload = make_payload(o.size);
        time_round_trips(o, [&] {
          auto [reply_rx, reply_tx] = libchan::buffered_pipe<Reply>(1);
          tx.send(Request{Binary{payload}, std::move(reply_tx)});
          must_receive(o, reply_rx);
        });
        tx.close();
      });
}

void bulk(const Options& o) {
  auto [reader, writer] = libchan::stream_pair();
  two_threads(
      [&o, &reader = reader] {
        std::vector<std::byte> buf(bulk_chunk);
        receive_bulk(o, "both", [&] { return reader.read_some(buf); });
      },
      [&] {
        send_bulk(o, bulk_chunk, [&](auto piece) { writer.write(std::as_bytes(piece)); });
        writer.close_write();
      });
}

}  // namespace

void run_inproc(const Options& o) {
  try {
    if (o.workload == "oneway") oneway(o);
    if (o.workload == "pingpong") pingpong(o);
    if (o.workload == "reqrep_nested") reqrep(o);
    if (o.workload == "bulk") bulk(o);
  } catch (const std::system_error& e) {
    fail(o, "both", e.what());
  }
}

}  // namespace netbench::chan
