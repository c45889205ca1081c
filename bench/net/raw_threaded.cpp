// A bound for libraries with an io thread (workload `bulk_threaded`): the
// bulk workload of raw sockets, but each side's socket calls run on a
// thread of their own, and the application's thread hands 256 KiB buffers
// to it (or takes them from it) through a short queue under a mutex and a
// condition variable, copying once per side as libchan does. Not one of
// scripts/bench's rows: docs/benchmarks.md ("What bounds the goals still
// missed") compares it with plain raw and libchan by hand.
#include <unistd.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "harness.hpp"
#include "raw_socket.hpp"

namespace netbench::raw {
namespace {

constexpr std::size_t chunk = 256u << 10;  // as the bulk workload writes
constexpr std::size_t buffers = 4;         // in flight between the threads

// Buffers going one way (`full`) and coming back empty (`spare`).
class handoff {
 public:
  handoff() {
    for (std::size_t i = 0; i < buffers; ++i) spare_.emplace_back(chunk);
  }
  std::vector<std::uint8_t> take_spare() { return take(spare_); }
  void give_spare(std::vector<std::uint8_t> b) { give(spare_, std::move(b)); }
  // An empty buffer from take_full means the producer stopped.
  std::vector<std::uint8_t> take_full() { return take(full_); }
  void give_full(std::vector<std::uint8_t> b) { give(full_, std::move(b)); }
  void stop() {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    changed_.notify_all();
  }

 private:
  std::vector<std::uint8_t> take(std::deque<std::vector<std::uint8_t>>& q) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !q.empty() || stopped_; });
    if (q.empty()) return {};
    auto b = std::move(q.front());
    q.pop_front();
    return b;
  }
  void give(std::deque<std::vector<std::uint8_t>>& q, std::vector<std::uint8_t> b) {
    std::lock_guard lock(mutex_);
    q.push_back(std::move(b));
    changed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::vector<std::uint8_t>> spare_, full_;
  bool stopped_ = false;
};

}  // namespace

void bulk_threaded_server(const Options& o, int fd) {
  handoff h;
  std::thread reader([&] {
    for (;;) {
      auto b = h.take_spare();
      if (b.empty()) return;
      b.resize(chunk);
      const ssize_t n = read(fd, b.data(), b.size());
      if (n <= 0) return h.stop();
      b.resize(static_cast<std::size_t>(n));
      h.give_full(std::move(b));
    }
  });
  std::vector<std::uint8_t> out(chunk), current;
  std::size_t used = 0;
  receive_bulk(o, "server", [&]() -> ssize_t {
    if (used == current.size()) {
      if (!current.empty()) h.give_spare(std::move(current));
      current = h.take_full();
      used = 0;
      if (current.empty()) return 0;
    }
    const std::size_t n = std::min(out.size(), current.size() - used);
    std::memcpy(out.data(), current.data() + used, n);
    used += n;
    return static_cast<ssize_t>(n);
  });
  h.stop();
  send_ack(o, fd);
  reader.join();  // it ends once the client closes
}

void bulk_threaded_client(const Options& o, int fd) {
  handoff h;
  std::thread writer([&] {
    for (;;) {
      auto b = h.take_full();
      if (b.empty()) return;
      if (!write_full(fd, b)) fail(o, "client", last_error("write"));
      h.give_spare(std::move(b));
    }
  });
  send_bulk(o, chunk, [&](auto piece) {
    auto b = h.take_spare();
    b.assign(piece.begin(), piece.end());
    h.give_full(std::move(b));
  });
  h.stop();
  writer.join();
  wait_ack(o, fd);
}

}  // namespace netbench::raw
