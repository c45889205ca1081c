// A receiver that stops taking messages over tcp: the sender's sends wait
// instead of piling up in memory, other channels of the same session keep
// working, and once the receiver resumes every message arrives, in order.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <future>
#include <thread>

#include "net/net_support.hpp"

namespace {

using namespace std::chrono_literals;
using net_test::eventually;

/// Resident memory of this process, from /proc/self/statm.
std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

constexpr std::size_t chunk_size = 64u << 10;

struct Chunk {
  std::int64_t seq = 0;
  libchan::Binary data;
  LIBCHAN_FIELDS(seq, data)
};
struct Reply {
  std::int64_t n = 0;
  LIBCHAN_FIELDS(n)
};
struct Request {
  std::int64_t n = 0;
  libchan::Sender<Reply> ret;
  LIBCHAN_FIELDS(n, ret)
};

/// The bytes of chunk `seq`: they differ per chunk, so a lost, repeated or
/// reordered chunk changes the checksum.
libchan::Binary chunk_bytes(std::int64_t seq) {
  libchan::Binary b;
  b.bytes.resize(chunk_size);
  for (std::size_t i = 0; i < chunk_size; ++i)
    b.bytes[i] = static_cast<std::uint8_t>(static_cast<std::size_t>(seq) * 31 + i * 7);
  return b;
}

std::uint64_t checksum(std::uint64_t sum, const libchan::Binary& b) {
  for (auto byte : b.bytes) sum = sum * 1099511628211u + byte;
  return sum;
}

/// Sends chunks until `limit` of them are sent, then closes the channel.
struct bulk_sender {
  explicit bulk_sender(libchan::Sender<Chunk> tx, std::int64_t chunks) : limit(chunks) {
    thread = std::thread([this, tx = std::move(tx)]() mutable {
      for (std::int64_t seq = 0; seq < this->limit.load(); ++seq) {
        libchan::Binary data = chunk_bytes(seq);
        sum = checksum(sum, data);
        std::error_code ec;
        tx.send({seq, std::move(data)}, ec);
        if (ec) {
          error = ec;
          break;
        }
        sent.store(seq + 1);
      }
      tx.close();
    });
  }
  ~bulk_sender() {
    if (thread.joinable()) thread.join();
  }

  /// True once `sent` has not moved for `quiet` (the sender waits in send).
  bool stalls(std::chrono::milliseconds quiet, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto last = sent.load();
    auto since = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      if (sent.load() != last) {
        last = sent.load();
        since = std::chrono::steady_clock::now();
      } else if (std::chrono::steady_clock::now() - since >= quiet) {
        return last < limit.load();
      }
    }
    return false;
  }

  std::atomic<std::int64_t> limit;
  std::atomic<std::int64_t> sent{0};
  std::uint64_t sum = 14695981039346656037u;  // read after join
  std::error_code error;
  std::thread thread;
};

/// Answers every request on `rx` until the channel ends.
std::future<void> serve_requests(libchan::Receiver<Request> rx) {
  return std::async(std::launch::async, [rx = std::move(rx)]() mutable {
    while (auto req = rx.receive_for(10s)) req->ret.send({req->n * 2});
  });
}

void run_stalled_receiver(std::int64_t total_chunks, bool stop_after_stall,
                          int requests_meanwhile) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  auto bulk_tx = p.client.open_sender<Chunk>();
  std::error_code ec;
  auto bulk_rx = p.server.accept_receiver_for<Chunk>(10s, ec);
  ASSERT_TRUE(bulk_rx) << ec.message();
  auto requests = p.client.open_sender<Request>();
  auto served = serve_requests(p.server.accept_receiver_for<Request>(10s, ec));
  ASSERT_FALSE(ec) << ec.message();
  const std::size_t rss_before = rss_bytes();

  bulk_sender sender(std::move(bulk_tx), total_chunks);
  // On any failure, ends the sessions before the sender is joined, so that
  // a send still waiting returns.
  struct close_first {
    net_test::session_pair& p;
    ~close_first() {
      p.client.close();
      p.server.close();
    }
  } guard{p};
  ASSERT_TRUE(sender.stalls(500ms, 30s)) << "the sender never waited; sent " << sender.sent;
  const std::int64_t stalled_at = sender.sent.load();
  // The other channel of the same session carries requests meanwhile.
  for (std::int64_t n = 0; n < requests_meanwhile; ++n) {
    auto [reply_rx, reply_tx] = libchan::pipe<Reply>();
    auto sent = std::make_shared<std::promise<std::error_code>>();
    requests.async_send({n, std::move(reply_tx)},
                        [sent](std::error_code e) { sent->set_value(e); });
    auto done = sent->get_future();
    ASSERT_EQ(done.wait_for(10s), std::future_status::ready)
        << "request " << n << " waits behind the stalled channel";
    ASSERT_FALSE(done.get());
    auto reply = reply_rx.receive_for(10s);
    ASSERT_TRUE(reply) << "request " << n << " got no reply";
    ASSERT_EQ(reply->n, 2 * n);
  }
  EXPECT_EQ(sender.sent.load(), stalled_at) << "the sender stays blocked";
  const std::size_t rss_now = rss_bytes();  // read once: it moves meanwhile
  const std::size_t growth = rss_now - std::min(rss_now, rss_before);
  EXPECT_LE(growth, 64u << 20) << "RSS grew by " << (growth >> 20) << " MiB while stalled";
  if (stop_after_stall) sender.limit = stalled_at + 16;

  // Resume: everything sent arrives, in order, with the same bytes.
  std::int64_t received = 0;
  std::uint64_t sum = 14695981039346656037u;
  while (auto c = bulk_rx.receive_for(30s, ec)) {
    ASSERT_EQ(c->seq, received) << "lost or reordered";
    sum = checksum(sum, c->data);
    ++received;
  }
  ASSERT_FALSE(ec) << ec.message();
  sender.thread.join();
  EXPECT_FALSE(sender.error) << sender.error.message();
  EXPECT_EQ(received, sender.sent.load());
  EXPECT_EQ(sum, sender.sum);
  requests.close();
  EXPECT_EQ(served.wait_for(10s), std::future_status::ready);
}

constexpr std::int64_t gibibyte_chunks = (std::int64_t{1} << 30) / std::int64_t{chunk_size};

TEST(NetStalledReceiver, SenderWaitsAndNothingIsLost) {
  run_stalled_receiver(gibibyte_chunks, true, 0);
}

// Data waiting for a stream's window has a budget per stream: the stalled
// channel's sender waits on its own, and requests on another channel of the
// same session (and their replies, on channels nested in them) flow.
TEST(NetStalledReceiver, OtherChannelsGoOn) { run_stalled_receiver(gibibyte_chunks, true, 1000); }

// Sends the whole GiB (disabled for its length).
TEST(NetStalledReceiver, DISABLED_FullGibibyte) {
  run_stalled_receiver(gibibyte_chunks, false, 1000);
}

}  // namespace
