// The raw bounds for the gateway rows: a relay that moves bytes between two
// TCP connections and does nothing else, with read() and write() (workload
// `relay`) or with splice() through a pipe, never copying them into user
// space (`relay_splice`). Two relays in a chain have the shape of
// `chan-gateway forward` and `serve`: three loopback connections, every byte
// received and sent twice in between, but no framing, session or encryption.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <memory>

#include "harness.hpp"
#include "raw_socket.hpp"

namespace netbench::raw {
namespace {

constexpr std::size_t relay_chunk = 256u << 10;  // as the bulk client writes

// Moves what one connection has to the other; false once it ended (the end
// then passed on). Subclasses differ in how the bytes move.
class mover {
 public:
  virtual ~mover() = default;
  bool move(const Options& o, int from, int to) {
    const ssize_t n = take(o, from, to);
    if (n != 0) return true;
    shutdown(to, SHUT_WR);
    return false;
  }

 private:
  // Bytes moved (> 0), 0 at the end, < 0 to try again.
  virtual ssize_t take(const Options& o, int from, int to) = 0;
};

class copying_mover final : public mover {
  std::vector<std::uint8_t> buf_ = std::vector<std::uint8_t>(relay_chunk);
  ssize_t take(const Options& o, int from, int to) override {
    const ssize_t n = read(from, buf_.data(), buf_.size());
    if (n < 0 && errno == EINTR) return -1;
    if (n < 0) fail(o, "relay", last_error("read"));
    if (n > 0 && !write_full(to, {buf_.data(), static_cast<std::size_t>(n)}))
      fail(o, "relay", last_error("write"));
    return n;
  }
};

class splicing_mover final : public mover {
 public:
  explicit splicing_mover(const Options& o) {
    if (pipe2(pipe_, O_CLOEXEC) != 0) fail(o, "relay", last_error("pipe"));
    fcntl(pipe_[1], F_SETPIPE_SZ, static_cast<int>(relay_chunk));  // best effort
  }
  ~splicing_mover() override {
    close(pipe_[0]);
    close(pipe_[1]);
  }
  splicing_mover(const splicing_mover&) = delete;
  splicing_mover& operator=(const splicing_mover&) = delete;

 private:
  int pipe_[2]{-1, -1};
  ssize_t take(const Options& o, int from, int to) override {
    const ssize_t n = splice(from, nullptr, pipe_[1], nullptr, relay_chunk, SPLICE_F_MOVE);
    if (n < 0 && errno == EINTR) return -1;
    if (n < 0) fail(o, "relay", last_error("splice from the socket"));
    for (ssize_t left = n; left > 0;) {
      const ssize_t m =
          splice(pipe_[0], nullptr, to, nullptr, static_cast<std::size_t>(left), SPLICE_F_MOVE);
      if (m < 0 && errno == EINTR) continue;
      if (m <= 0) fail(o, "relay", last_error("splice to the socket"));
      left -= m;
    }
    return n;
  }
};

std::unique_ptr<mover> make_mover(const Options& o) {
  if (o.workload == "relay_splice") return std::make_unique<splicing_mover>(o);
  return std::make_unique<copying_mover>();
}

}  // namespace

void relay(const Options& o) {
  // Listens first, then dials o.address for the one connection it accepts.
  Socket listener = listen_and_announce(o, "tcp");
  Socket near = accept_one(o, listener, "tcp");
  Socket far = connect_to(o, "tcp");
  // One mover a direction: a pipe holds bytes of one direction only.
  std::array<std::unique_ptr<mover>, 2> movers{make_mover(o), make_mover(o)};
  std::array<bool, 2> open{true, true};  // near -> far, far -> near
  while (open[0] || open[1]) {
    std::array<pollfd, 2> p{
        {{open[0] ? near.get() : -1, POLLIN, 0}, {open[1] ? far.get() : -1, POLLIN, 0}}};
    if (poll(p.data(), p.size(), -1) < 0) {
      if (errno == EINTR) continue;
      fail(o, "relay", last_error("poll"));
    }
    if (p[0].revents) open[0] = movers[0]->move(o, near.get(), far.get());
    if (p[1].revents) open[1] = movers[1]->move(o, far.get(), near.get());
  }
  print_peak_rss(o, "relay");
}

}  // namespace netbench::raw
