// An unprivileged sender may have only as many descriptors in flight in
// sockets as its RLIMIT_NOFILE allows; past that sendmsg fails with
// ETOOMANYREFS. A receiver that falls behind (here: one that holds at a
// small max_buffered_fds) must only slow such a sender down, not end its
// session.
//
// The sender is this test binary again, running the disabled test
// NetFdInFlight.DISABLED_Sender as user nobody with a limit of 64
// descriptors, so it runs only where the test may change user (as root).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "net/net_support.hpp"
#include "net/spawn_self.hpp"

namespace {

using namespace std::chrono_literals;
using libchan::Value;

constexpr const char* sender_env = "LIBCHAN_NET_TEST_FD_SENDER";
constexpr std::int64_t messages = 400;
constexpr rlim_t sender_fd_limit = 64;

// The sender: as nobody, with few descriptors, sends `messages` messages
// each holding a descriptor, then waits for the word that all arrived.
// Exits 0 only if every send succeeded.
TEST(NetFdInFlight, DISABLED_Sender) {
  const char* url = std::getenv(sender_env);
  if (!url) GTEST_SKIP() << "runs only as the sender of NetFdInFlight";
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
  libchan::Fd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  const rlimit few{sender_fd_limit, sender_fd_limit};
  if (!devnull || ::setrlimit(RLIMIT_NOFILE, &few) != 0 || ::setgid(65534) != 0 ||
      ::setuid(65534) != 0)
    std::_Exit(3);
  libchan::SessionOptions opts;
  opts.limits.max_queued_fds = 16;  // well inside its own limit
  auto session = libchan::dial(url, opts);
  auto tx = session.open_sender();
  for (std::int64_t i = 0; i < messages; ++i) {
    std::error_code ec;
    tx.send(libchan::make_map("seq", i, "fd", devnull.duplicate()), ec);
    if (ec) std::_Exit(4);
  }
  auto done = session.accept_receiver();
  std::_Exit(done && done.receive() ? 0 : 5);
}

// Its exit status, waiting up to `limit`; -1 if it did not exit by then
// (it is killed).
int exit_status(pid_t pid, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= until) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(10ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(NetFdInFlight, AnUnprivilegedSenderWaitsForASlowReceiver) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root, to run the sender as another user";
  // Abstract: no socket file whose permissions would keep nobody out.
  const std::string url = "unix://@libchan-fd-in-flight-" + std::to_string(::getpid());
  libchan::SessionOptions opts;
  opts.limits.max_buffered_fds = 8;  // the rest stays in flight
  auto listener = libchan::listen(url, opts);
  const pid_t pid =
      net_test::spawn_self("NetFdInFlight.DISABLED_Sender", sender_env, listener.local_address());
  ASSERT_GT(pid, 0);
  std::error_code ec;
  auto session = listener.accept_for(30s, ec);
  ASSERT_TRUE(session) << ec.message();
  auto rx = session.accept_receiver_for(10s, ec);
  ASSERT_TRUE(rx) << ec.message();
  // Behind on purpose: the sender reaches its limit meanwhile.
  std::this_thread::sleep_for(300ms);
  for (std::int64_t i = 0; i < messages; ++i) {
    auto m = rx.receive_for(10s, ec);
    ASSERT_TRUE(m) << "message " << i << ": " << ec.message() << "; " << session.error_message();
    ASSERT_EQ(m->find("seq")->as_int(), i);
    ASSERT_EQ(m->find("fd")->kind(), Value::Kind::fd);
  }
  session.open_sender().send(libchan::make_map("done", true));
  EXPECT_EQ(exit_status(pid, 10s), 0) << "3: no change of user, 4: a send failed";
}

}  // namespace
