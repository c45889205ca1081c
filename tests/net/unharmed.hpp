// What an attack on a listener must not do: stop a session that was already
// there from working, stop the listener from serving new ones, grow memory
// without bound, or leave descriptors or threads behind. One set of checks
// for every hostile-peer test:
//
//   net_test::resources before;                     // after warm-up
//   net_test::bystander other(listener, options);   // before the attack
//   ... the attack ...
//   net_test::expect_unharmed(listener, options, other, before,
//                             [&] { /* close what the attack left */ });
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <fstream>
#include <functional>
#include <stdexcept>

#include "libchan/libchan.hpp"
#include "net/net_support.hpp"

namespace net_test {

/// Resident memory of this process, from /proc/self/statm.
inline std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

/// Threads of this process.
inline int thread_count() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (::readdir(d)) ++n;
    ::closedir(d);
  }
  return n - 2;  // "." and ".."
}

/// Descriptors, threads and resident memory at one moment.
struct resources {
  int fds = fd_count();
  int threads = thread_count();
  std::size_t rss = rss_bytes();
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

/// A request on `client`, taken on `server`, answered through the reply
/// channel the request carried: a round trip both ways.
inline void expect_round_trip(libchan::Session& client, libchan::Session& server,
                              std::int64_t n = 41) {
  auto requests = client.open_sender<Request>();
  auto [reply_rx, reply_tx] = libchan::pipe<Reply>();
  std::error_code ec;
  requests.send({n, std::move(reply_tx)}, ec);
  ASSERT_FALSE(ec) << ec.message();
  auto incoming = server.accept_receiver_for<Request>(10s, ec);
  ASSERT_TRUE(incoming) << ec.message();
  auto req = incoming.receive_for(10s, ec);
  ASSERT_TRUE(req) << ec.message();
  req->ret.send({req->n + 1}, ec);
  ASSERT_FALSE(ec) << ec.message();
  auto reply = reply_rx.receive_for(10s, ec);
  ASSERT_TRUE(reply) << ec.message();
  EXPECT_EQ(reply->n, n + 1);
}

/// A fresh, well-behaved session on `listener` does a round trip.
inline void expect_listener_serves(libchan::Listener& listener,
                                   const libchan::SessionOptions& options = {}) {
  auto client = libchan::dial(listener.local_address(), options);
  std::error_code ec;
  auto server = listener.accept_for(10s, ec);
  ASSERT_TRUE(server) << ec.message();
  expect_round_trip(client, server);
}

/// A well-behaved session on the listener, made before an attack: it must
/// still work after it.
struct bystander {
  bystander(libchan::Listener& listener, const libchan::SessionOptions& options) {
    client = libchan::dial(listener.local_address(), options);
    std::error_code ec;
    server = listener.accept_for(10s, ec);
    if (ec || !server) throw std::runtime_error("no bystander session: " + ec.message());
  }
  libchan::Session client, server;
};

/// After an attack on `listener`: `other` still does a round trip and is
/// still open, a new session does one too, and memory grew less than
/// `max_rss_growth` since `before`. Then, once `end_attack` has closed what
/// the attack left (its sessions and sockets, the listener), descriptors and
/// threads come back to `before` within a bounded wait.
inline void expect_unharmed(libchan::Listener& listener, const libchan::SessionOptions& options,
                            bystander& other, const resources& before,
                            const std::function<void()>& end_attack,
                            std::size_t max_rss_growth = 64u << 20) {
  EXPECT_FALSE(other.client.closed()) << other.client.error_message();
  EXPECT_FALSE(other.server.closed()) << other.server.error_message();
  expect_round_trip(other.client, other.server, 7);
  expect_listener_serves(listener, options);
  const std::size_t rss = rss_bytes();
  EXPECT_LT(rss, before.rss + max_rss_growth)
      << "resident memory grew from " << before.rss << " to " << rss << " bytes";

  other.client.close();
  other.server.close();
  other.client = {};
  other.server = {};
  end_attack();
  EXPECT_TRUE(eventually([&] { return fd_count() <= before.fds; }))
      << fd_count() << " descriptors open, " << before.fds << " before";
  EXPECT_TRUE(eventually([&] { return thread_count() <= before.threads; }))
      << thread_count() << " threads, " << before.threads << " before";
}

}  // namespace net_test
