// --count and --timeout.
#include <gtest/gtest.h>

#include "tools/chancat_support.hpp"

namespace {

using namespace chancat_test;
using libchan::Value;

TEST(ChancatLimits, CountStopsTheListenerAfterNMessages) {
  net_test::temp_dir dir;
  Listening listener("unix://" + dir.file("s"), {"--count", "2"});
  auto session = libchan::dial(listener.address());
  auto tx = session.open_sender();
  std::error_code ec;
  for (int i = 0; i < 3; ++i) tx.send(libchan::make_map("seq", i), ec);  // the third may fail
  auto r = listener.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{R"({"seq":0})", R"({"seq":1})"}));
}

TEST(ChancatLimits, CountLimitsWhatDialSends) {
  auto l = libchan::listen("tcp://127.0.0.1:0");
  tool_test::Process dial(chancat_path, {"dial", "-n", "2", l.local_address()});
  dial.feed("1\n2\n3\n4\n5\n");
  std::error_code ec;
  auto session = l.accept_for(10s, ec);
  ASSERT_TRUE(session) << ec.message();
  auto rx = session.accept_receiver_for(10s, ec);
  ASSERT_TRUE(rx) << ec.message();
  EXPECT_EQ(rx.receive_for(10s)->as_int(), 1);
  EXPECT_EQ(rx.receive_for(10s)->as_int(), 2);
  EXPECT_FALSE(rx.receive_for(10s)) << "the channel ends after two";
  session.close();
  auto r = dial.wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ChancatLimits, TimeoutWaitingForASession) {
  net_test::temp_dir dir;
  auto r = chancat({"listen", "--timeout", "300ms", "unix://" + dir.file("s")});
  expect_one_error_line(r, 3, "no session");
}

TEST(ChancatLimits, TimeoutWhenMessagesStop) {
  net_test::temp_dir dir;
  Listening listener("unix://" + dir.file("s"), {"-t", "400ms"});
  auto session = libchan::dial(listener.address());
  auto tx = session.open_sender();
  tx.send(libchan::make_map("seq", 1));
  // No more messages, and the channel stays open.
  auto r = listener.wait();
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{R"({"seq":1})"}));
  expect_one_error_line(r, 3, "nothing received");
}

TEST(ChancatLimits, TimeoutWaitingForAReply) {
  auto l = libchan::listen("tcp://127.0.0.1:0");
  tool_test::Process dial(chancat_path,
                          {"dial", "--request", "-t", "300ms", "--data", "{}", l.local_address()});
  std::error_code ec;
  auto session = l.accept_for(10s, ec);
  ASSERT_TRUE(session) << ec.message();
  auto rx = session.accept_receiver_for(10s, ec);
  ASSERT_TRUE(rx) << ec.message();
  auto request = rx.receive_for(10s);  // and never answered
  ASSERT_TRUE(request);
  auto r = dial.wait(10s);
  expect_one_error_line(r, 3, "no reply");
}

}  // namespace
