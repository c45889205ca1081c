// Two libchan sessions back to back in memory on one thread, no sockets:
// what the protocol engine and the session layer cost per message and per
// byte, without any I/O.
#include <benchmark/benchmark.h>

#include "alloc_counter.hpp"
#include "libchan/libchan.hpp"
#include "session/channel_session.hpp"

namespace {

namespace session = libchan::detail::session;
namespace engine = libchan::detail::engine;

struct no_hooks final : session::driver_hooks {
  void on_activity() override {}
};

struct back_to_back {
  std::shared_ptr<no_hooks> hooks = std::make_shared<no_hooks>();
  std::shared_ptr<session::channel_session> client;
  std::shared_ptr<session::channel_session> server;
  std::vector<std::uint8_t> c2s, s2c;

  back_to_back() {
    session::options dial;
    dial.engine.side = engine::role::dialer;
    session::options accept;
    accept.engine.side = engine::role::acceptor;
    accept.engine.wire = engine::dialect::detect;
    client = session::channel_session::create(dial, hooks);
    server = session::channel_session::create(accept, hooks);
  }

  // Carries bytes both ways until neither side has anything to say.
  void pump() {
    for (bool moved = true; moved;) {
      moved = carry(*client, *server, c2s) | carry(*server, *client, s2c);
    }
  }

  // As the io driver does: whole chunks of output change hands without a
  // copy; only input held back is appended to.
  static bool carry(session::channel_session& from, session::channel_session& to,
                    std::vector<std::uint8_t>& pending) {
    if (pending.empty())
      from.take_output_chunk(pending);
    else
      from.take_output(pending);
    if (pending.empty()) return false;
    std::size_t n = to.feed(pending);
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    return n > 0;
  }
};

// Sends batches of 256 messages with `send_one()` and receives them on the
// other side as T, counting the allocations per message on both.
template <class T, class SendOne>
void run_batches(benchmark::State& state, back_to_back& link, SendOne&& send_one) {
  link.pump();
  auto rx = libchan::detail::restore_receiver<T>(std::move(*link.server->incoming().receive()));
  const std::size_t batch = 256;
  const auto allocations_before = bench::allocations();
  for (auto _ : state) {
    for (std::size_t i = 0; i < batch; ++i) send_one();
    link.pump();
    for (std::size_t i = 0; i < batch; ++i) benchmark::DoNotOptimize(rx.receive());
  }
  const auto messages = static_cast<double>(state.iterations() * batch);
  state.SetItemsProcessed(static_cast<std::int64_t>(messages));
  state.counters["allocs_per_msg"] =
      static_cast<double>(bench::allocations() - allocations_before) / messages;
}

void BM_SessionMessages(benchmark::State& state) {
  back_to_back link;
  std::error_code ec;
  auto tx = link.client->open_sender(ec);
  std::string text(70, 'x');  // with the keys below: a 100-byte message
  std::int64_t seq = 0;
  // Building the message costs 2 of the allocations (entries, text).
  run_batches<libchan::Value>(state, link, [&] {
    tx.send(libchan::make_map("Message", text, "Seq", ++seq, "Ret", nullptr));
  });
}

// The same messages sent from a struct of plain data, and received into
// one, as typed ends do: encoded straight from its fields and read straight
// into them, with no Value in between. The bytes on the wire are those of
// BM_SessionMessages ("Ret" is nil).
struct Note {
  std::string message;
  std::int64_t seq = 0;
  std::optional<std::string> ret;
  LIBCHAN_FIELDS((message, "Message"), (seq, "Seq"), (ret, "Ret"))
};

void BM_SessionTypedMessages(benchmark::State& state) {
  back_to_back link;
  std::error_code ec;
  auto tx = libchan::detail::restore_sender<Note>(link.client->open_sender(ec));
  Note note{std::string(70, 'x'), 0, std::nullopt};
  // Sent by reference: encoded from `note` itself, no copy. The receiver
  // allocates the text of each Note it fills.
  run_batches<Note>(state, link, [&] {
    ++note.seq;
    tx.send(note);
  });
}

void BM_SessionByteStream(benchmark::State& state) {
  back_to_back link;
  std::error_code ec;
  auto tx = link.client->open_sender(ec);
  auto [mine, theirs] = libchan::stream_pair(1 << 20);
  link.pump();
  auto rx = link.server->incoming().receive();
  tx.send(libchan::make_map("Stream", std::move(theirs)));
  link.pump();
  auto remote = rx->receive()->find("Stream")->take_stream();
  std::vector<std::byte> chunk(64 << 10, std::byte{0x5a});
  std::vector<std::byte> sink(256 << 10);
  for (auto _ : state) {
    mine.write(chunk);
    link.pump();
    std::size_t got = 0;
    while (got < chunk.size()) got += remote.read_some(sink);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * chunk.size()));
}

BENCHMARK(BM_SessionMessages);
BENCHMARK(BM_SessionTypedMessages);
BENCHMARK(BM_SessionByteStream);

}  // namespace

BENCHMARK_MAIN();
