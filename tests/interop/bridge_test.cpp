// The dialect_bridge example between two of our own sessions, v0.2 in and
// v0.1 out: what v0.1 cannot carry, and the end of a session.
#include <gtest/gtest.h>

#include "interop/interop_support.hpp"
#include "net/net_support.hpp"

namespace {

using namespace std::chrono_literals;
using libchan::make_map;
using libchan::Value;

struct bridged_pair {
  bridged_pair() {
    libchan::SessionOptions v01, v02;
    v01.dialect = libchan::Dialect::v0_1;
    v02.dialect = libchan::Dialect::v0_2;
    listener = libchan::listen("tcp://127.0.0.1:0", v01);
    bridge.emplace(std::vector<std::string>{"--listen-dialect", "v0.2", "--dial-dialect", "v0.1"},
                   listener.local_address());
    client = libchan::dial(bridge->url, v02);
    channel = client.open_sender();
    std::error_code ec;
    server = listener.accept_for(10s, ec);
    if (!server) throw std::runtime_error("the bridge did not dial: " + ec.message());
  }

  // The channel as the server sees it, once the first message crossed.
  libchan::Receiver<> accept() {
    std::error_code ec;
    auto rx = server.accept_receiver_for(10s, ec);
    if (!rx) throw std::runtime_error("no channel crossed the bridge: " + ec.message());
    return rx;
  }

  libchan::Listener listener;
  std::optional<interop::bridge_process> bridge;
  libchan::Session client, server;
  libchan::Sender<> channel;
};

TEST(DialectBridge, TimeTowardsV01ClosesTheChannel) {
  bridged_pair pair;
  pair.channel.send(make_map("seq", 1));
  auto rx = pair.accept();
  auto first = rx.receive_for(10s);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, make_map("seq", 1));

  // v0.1 has no time type: the bridge cannot send this one on and closes
  // the channel on both sides.
  pair.channel.send(make_map("seq", 2, "when", Value(libchan::Time(std::chrono::seconds(1)))));
  std::error_code ec;
  EXPECT_FALSE(rx.receive_for(10s, ec)) << "the message with a time crossed into v0.1";
  EXPECT_NE(ec, libchan::errc::timed_out);
  EXPECT_TRUE(net_test::eventually([&] {
    std::error_code send_ec;
    pair.channel.send(make_map("seq", 3), send_ec);
    return send_ec == libchan::errc::closed;
  }));
  EXPECT_EQ(pair.bridge->child->terminate(10s), 0) << interop::describe(*pair.bridge->child);
}

// When the v0.2 client goes away, the bridge closes the v0.1 session it
// dialed for it.
TEST(DialectBridge, EndOfOneSessionEndsTheOther) {
  bridged_pair pair;
  pair.channel.send(make_map("seq", 1));
  auto rx = pair.accept();
  ASSERT_TRUE(rx.receive_for(10s));
  pair.client.close();
  std::error_code ec;
  auto end = rx.receive_for(10s, ec);
  EXPECT_FALSE(end);
  EXPECT_NE(ec, libchan::errc::timed_out);
  EXPECT_TRUE(net_test::eventually([&] { return pair.server.closed(); }));
  EXPECT_EQ(pair.bridge->child->terminate(10s), 0) << interop::describe(*pair.bridge->child);
}

}  // namespace
