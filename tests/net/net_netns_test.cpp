// A peer that vanishes without a word: two network namespaces joined by a
// veth pair, a listener in one and a streaming client in the other (both
// the netns_peer program), then the client's link goes down. Nothing closes
// the connection; the client's keepalive must find the loss and end every
// waiter with errc::disconnected. The same namespaces also carry a lossy,
// rate-limited link with a stalling relay in the path (see below). Needs
// root, iproute2 and iptables; skipped otherwise.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "libchan/libchan.hpp"
#include "support/test_certs.hpp"
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

/// The packets the first rule of INPUT in namespace `ns` matched (our
/// DROP rule), or -1 if iptables cannot say.
long long dropped_packets(const std::string& iptables, const std::string& ns) {
  auto r = tool_test::run(
      ip_program(), {"netns", "exec", ns, iptables, "-L", "INPUT", "-v", "-n", "-x"}, {}, 10s);
  // Chain INPUT (policy ACCEPT ...)
  //     pkts      bytes target ...
  //       37     2312 DROP ...
  std::istringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line);
    long long pkts = 0;
    std::string bytes, target;
    if (words >> pkts >> bytes >> target && target == "DROP") return pkts;
  }
  return -1;
}

// Two namespaces, the sender in `a` and the verifier in `b`. 5% of the
// packets into each namespace are dropped at random and the sender's
// outgoing rate is capped, so TCP retransmits; the session runs over TLS,
// and through a relay in `a` (netns_peer relay) that holds every chunk
// 5-20 ms and stops forwarding for 200-500 ms every few seconds, so the
// bytes arrive late and in bursts. Every channel must still deliver every
// message, complete and in order.
//
//   sender --tls, loopback--> relay --veth, 5% drop, tbf--> verifier
//   (a, 127.0.0.1:9402)       (a)                          (b, 10.77.0.2:9401)
void expect_lossy_link_delivers(int channels, int per_channel, std::chrono::seconds limit) {
  const std::string iptables = system_program("iptables");
  const std::string tc = system_program("tc");
  if (iptables.empty() || tc.empty()) {
    GTEST_SKIP() << "needs iptables and tc (Debian packages iptables, iproute2)";
  }
  if (!libchan::TransportRegistry::defaults().find("tls")) {
    GTEST_SKIP() << "no tls:// transport in this build";
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

  // The sender dials the relay at 127.0.0.1, a name the test server
  // certificate carries, so the chain and the name are both checked.
  const test_certs::pki_files certs;
  const std::string total = std::to_string(channels * per_channel);
  tool_test::Process verifier(
      ip_program(), {"netns", "exec", ns.b, LIBCHAN_NETNS_PEER, "verify", "tls://10.77.0.2:9401",
                     std::to_string(channels), certs.server_certificate, certs.server_key});
  ASSERT_TRUE(verifier.wait_for_stdout("listening", 10s)) << verifier.out() << verifier.err();
  tool_test::Process relay(ip_program(), {"netns", "exec", ns.a, LIBCHAN_NETNS_PEER, "relay",
                                          "127.0.0.1:9402", "10.77.0.2:9401"});
  ASSERT_TRUE(relay.wait_for_stdout("relaying", 10s)) << relay.out() << relay.err();
  tool_test::Process sender(
      ip_program(), {"netns", "exec", ns.a, LIBCHAN_NETNS_PEER, "send", "tls://127.0.0.1:9402",
                     std::to_string(channels), std::to_string(per_channel), certs.ca});
  EXPECT_TRUE(verifier.wait_for_stdout("verified " + total + " ", limit))
      << "verifier: " << verifier.out() << verifier.err() << "\nsender: " << sender.out()
      << sender.err() << "\nrelay: " << relay.out() << relay.err();
  EXPECT_TRUE(sender.wait_for_stdout("sent " + total, 5s)) << sender.out() << sender.err();

  // The loss did happen: both DROP rules matched packets.
  const auto dropped_a = dropped_packets(iptables, ns.a);
  const auto dropped_b = dropped_packets(iptables, ns.b);
  EXPECT_GT(dropped_a, 0) << "no packet dropped into " << ns.a;
  EXPECT_GT(dropped_b, 0) << "no packet dropped into " << ns.b;
  const std::string relayed = relay.out();
  std::size_t stalls = 0;
  for (auto at = relayed.find("stalled"); at != std::string::npos;
       at = relayed.find("stalled", at + 1))
    ++stalls;
  EXPECT_GE(stalls, 1u) << "the relay never stalled: " << relayed;
  std::cout << "[ lossy    ] " << verifier.out().substr(verifier.out().find("verified"))
            << "[ lossy    ] packets dropped: " << dropped_a << " into the sender's side, "
            << dropped_b << " into the verifier's; relay stalls: " << stalls << "\n";
}

TEST(NetNetns, LossyLinkOverTlsThroughARelayDeliversEveryMessageInOrder) {
  expect_lossy_link_delivers(100, 1000, 120s);
}

}  // namespace
