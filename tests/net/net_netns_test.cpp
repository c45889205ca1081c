// A peer that vanishes without a word: two network namespaces joined by a
// veth pair, a listener in one and a streaming client in the other (both
// the netns_peer program), then the client's link goes down. Nothing closes
// the connection; the client's keepalive must find the loss and end every
// waiter with errc::disconnected. Needs root and iproute2; skipped otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "tools/process.hpp"

namespace {

using namespace std::chrono_literals;

/// The path of a system program (root's PATH may not be ours), or empty.
std::string system_program(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"})
    if (::access((dir + name).c_str(), X_OK) == 0) return dir + name;
  return {};
}

const std::string& ip_program() {
  static const std::string path = system_program("ip");
  return path;
}

/// Runs `ip` with `args`; true if it exited 0.
bool ip(const std::vector<std::string>& args, std::string* err = nullptr) {
  auto r = tool_test::run(ip_program(), args, {}, 10s);
  if (err) *err = r.err;
  return r.exit_code == 0;
}

/// Two namespaces named after this process, joined by a veth pair:
/// a_if (10.77.0.1/24) in `a`, b_if (10.77.0.2/24) in `b`. Deleted with the
/// object, whatever the test did.
class netns_pair {
 public:
  netns_pair() {
    const std::string id = std::to_string(::getpid());
    a = "libchan-a-" + id;
    b = "libchan-b-" + id;
    a_if = "lcva" + id;
    b_if = "lcvb" + id;
  }
  ~netns_pair() {
    for (const auto* ns : {&a, &b})
      if (!ns->empty()) ip({"netns", "del", *ns});
  }

  /// Creates everything; the reason in `why` when it cannot.
  bool create(std::string& why) {
    if (!ip({"netns", "add", a}, &why)) {
      a.clear();
      b.clear();
      return false;
    }
    if (!ip({"netns", "add", b}, &why)) {
      b.clear();
      return false;
    }
    return ip({"link", "add", a_if, "netns", a, "type", "veth", "peer", "name", b_if, "netns", b},
              &why) &&
           ip({"-n", a, "addr", "add", "10.77.0.1/24", "dev", a_if}, &why) &&
           ip({"-n", b, "addr", "add", "10.77.0.2/24", "dev", b_if}, &why) &&
           ip({"-n", a, "link", "set", a_if, "up"}, &why) &&
           ip({"-n", b, "link", "set", b_if, "up"}, &why) &&
           ip({"-n", a, "link", "set", "lo", "up"}, &why) &&
           ip({"-n", b, "link", "set", "lo", "up"}, &why);
  }

  /// Runs `args` inside namespace `ns`.
  static bool exec_in(const std::string& ns, std::vector<std::string> args, std::string& why) {
    args.insert(args.begin(), {"netns", "exec", ns});
    return ip(args, &why);
  }

  std::string a, b, a_if, b_if;
};

/// Skips the test unless namespaces can be made; then makes them.
#define LIBCHAN_REQUIRE_NETNS(ns)                                                             \
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create network namespaces";            \
  if (ip_program().empty()) GTEST_SKIP() << "needs the ip program (Debian package iproute2)"; \
  if (std::string why; !(ns).create(why))                                                     \
  GTEST_SKIP() << "cannot set up network namespaces (ip netns): " << why

TEST(NetNetns, ClientFindsASilentlyDroppedLinkByKeepalive) {
  netns_pair ns;
  LIBCHAN_REQUIRE_NETNS(ns);
  std::string why;

  const std::string url = "tcp://10.77.0.2:9400";
  tool_test::Process server(ip_program(),
                            {"netns", "exec", ns.b, LIBCHAN_NETNS_PEER, "listen", url});
  ASSERT_TRUE(server.wait_for_stdout("listening", 10s)) << server.out() << server.err();
  tool_test::Process client(ip_program(), {"netns", "exec", ns.a, LIBCHAN_NETNS_PEER, "dial", url});
  ASSERT_TRUE(client.wait_for_stdout("streaming", 10s)) << client.out() << client.err();

  ASSERT_TRUE(ip({"-n", ns.a, "link", "set", ns.a_if, "down"}, &why)) << why;
  const auto dropped = std::chrono::steady_clock::now();
  // keepalive_interval + keepalive_timeout + 1 s.
  const bool noticed = client.wait_for_stdout("closed: ", 2s);
  const auto took = std::chrono::steady_clock::now() - dropped;
  ASSERT_TRUE(noticed) << "the client did not notice the lost link:\n" << client.out();
  EXPECT_TRUE(client.wait_for_stdout("closed: disconnected", 1s)) << client.out();
  EXPECT_TRUE(client.wait_for_stdout("send ended: disconnected", 2s)) << client.out();
  EXPECT_TRUE(client.wait_for_stdout("accept ended: disconnected", 2s)) << client.out();
  EXPECT_LE(took, 2s);
}

// 5% of the packets into each namespace dropped at random, the client's
// sending rate capped: TCP retransmits, and every channel still delivers
// every message, in order.
void expect_lossy_link_delivers(int channels, int per_channel, std::chrono::seconds limit) {
  const std::string iptables = system_program("iptables");
  const std::string tc = system_program("tc");
  if (iptables.empty() || tc.empty()) {
    GTEST_SKIP() << "needs iptables and tc (Debian packages iptables, iproute2)";
  }
  netns_pair ns;
  LIBCHAN_REQUIRE_NETNS(ns);
  std::string why;
  for (const auto& n : {ns.a, ns.b}) {
    ASSERT_TRUE(netns_pair::exec_in(n,
                                    {iptables, "-A", "INPUT", "-m", "statistic", "--mode", "random",
                                     "--probability", "0.05", "-j", "DROP"},
                                    why))
        << why;
  }
  ASSERT_TRUE(netns_pair::exec_in(ns.a,
                                  {tc, "qdisc", "add", "dev", ns.a_if, "root", "tbf", "rate",
                                   "20mbit", "burst", "32kbit", "latency", "100ms"},
                                  why))
      << why;

  const std::string url = "tcp://10.77.0.2:9401";
  const std::string total = std::to_string(channels * per_channel);
  tool_test::Process verifier(ip_program(), {"netns", "exec", ns.b, LIBCHAN_NETNS_PEER, "verify",
                                             url, std::to_string(channels)});
  ASSERT_TRUE(verifier.wait_for_stdout("listening", 10s)) << verifier.out() << verifier.err();
  tool_test::Process sender(ip_program(), {"netns", "exec", ns.a, LIBCHAN_NETNS_PEER, "send", url,
                                           std::to_string(channels), std::to_string(per_channel)});
  EXPECT_TRUE(verifier.wait_for_stdout("verified " + total, limit))
      << "verifier: " << verifier.out() << verifier.err() << "\nsender: " << sender.out()
      << sender.err();
  EXPECT_TRUE(sender.wait_for_stdout("sent " + total, 5s)) << sender.out() << sender.err();
}

TEST(NetNetns, LossyLinkDeliversEveryMessageInOrder) { expect_lossy_link_delivers(100, 100, 60s); }

// The full size: 100k messages over 100 channels.
TEST(NetNetns, DISABLED_LossyLinkHundredThousandMessages) {
  expect_lossy_link_delivers(100, 1000, 600s);
}

}  // namespace
