// chancat against a libchan peer in this test process: what chancat sends
// arrives as typed values, and what a peer sends shows as JSON lines with
// placeholders.
#include <gtest/gtest.h>

#include <thread>

#include "tools/chancat_support.hpp"

namespace {

using namespace chancat_test;
using libchan::Value;
using std::chrono::sys_days;

libchan::Time jan_2_2026(std::chrono::nanoseconds extra = {}) {
  using namespace std::chrono;
  return sys_days{year{2026} / January / 2} + 3h + 4min + 5s + extra;
}

// The session a chancat process dialed, and the channel it opened.
struct Accepted {
  libchan::Session session;
  libchan::Receiver<Value> channel;
};

Accepted accept_from(libchan::Listener& l) {
  Accepted a;
  std::error_code ec;
  a.session = l.accept_for(10s, ec);
  if (!a.session) throw std::runtime_error("no session: " + ec.message());
  a.channel = a.session.accept_receiver_for(10s, ec);
  if (!a.channel) throw std::runtime_error("no channel: " + ec.message());
  return a;
}

TEST(ChancatPeer, DialSendsTypedValues) {
  auto l = libchan::listen("tcp://127.0.0.1:0");
  tool_test::Process dial(chancat_path, {"dial", l.local_address()});
  dial.feed(R"({"op":"get","t":{"$time":"2026-01-02T03:04:05.000000006Z"},"b":{"$bin":"AAEC"}})"
            "\n"
            R"({"$map":[[1,"one"],[2.5,null]]})"
            "\n");
  auto [session, rx] = accept_from(l);

  auto first = rx.receive_for(10s);
  ASSERT_TRUE(first);
  ASSERT_TRUE(first->is_map());
  EXPECT_EQ(first->find("op")->as_string(), "get");
  EXPECT_EQ(first->find("t")->as_time(), jan_2_2026(6ns));
  EXPECT_EQ(first->find("b")->as_binary().bytes, (std::vector<std::uint8_t>{0, 1, 2}));
  // The general form of a map: keys of any type.
  auto second = rx.receive_for(10s);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->size(), 2u);
  EXPECT_EQ(second->as_map()[0].key.as_int(), 1);
  EXPECT_EQ(second->as_map()[0].value.as_string(), "one");
  EXPECT_EQ(second->as_map()[1].key.as_double(), 2.5);
  EXPECT_FALSE(rx.receive_for(10s)) << "the channel ends after the input";
  session.close();

  auto r = dial.wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(ChancatPeer, DialectOption) {
  auto l = libchan::listen("tcp://127.0.0.1:0");  // follows the peer's dialect
  tool_test::Process dial(
      chancat_path, {"dial", "--dialect", "v0.1", "--data", R"({"n":200})", l.local_address()});
  auto [session, rx] = accept_from(l);
  auto message = rx.receive_for(10s);
  ASSERT_TRUE(message);
  EXPECT_EQ(message->find("n")->as_int(), 200);
  EXPECT_EQ(session.dialect(), libchan::Dialect::v0_1);
  session.close();
  auto r = dial.wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(ChancatPeer, ListenShowsChannelsStreamsAndTimesAsPlaceholders) {
  net_test::temp_dir dir;
  Listening listener("unix://" + dir.file("s"));
  auto session = libchan::dial(listener.address());
  auto tx = session.open_sender();
  auto [reply_rx, reply_tx] = libchan::pipe();
  auto [events_rx, events_tx] = libchan::pipe();
  auto [mine, theirs] = libchan::stream_pair();
  tx.send(libchan::make_map("ret", std::move(reply_tx), "events", std::move(events_rx), "log",
                            std::move(theirs), "at", jan_2_2026(6ns), "list",
                            libchan::make_array(1, libchan::Binary{{1, 2}})));
  // A map whose keys are not all strings keeps the general form.
  auto [other_rx, other_tx] = libchan::pipe();
  tx.send(libchan::make_map(7, std::move(other_tx)));
  ASSERT_TRUE(wait_for_lines(listener.process(), 2));
  // chancat does not keep channel ends it was given: ours see the end.
  EXPECT_FALSE(reply_rx.receive_for(10s));
  tx.close();

  auto r = listener.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(
      lines(r.out),
      (std::vector<std::string>{
          R"({"ret":{"$chan":1,"dir":"send"},"events":{"$chan":2,"dir":"recv"},)"
          R"("log":{"$stream":3,"dir":"duplex"},"at":{"$time":"2026-01-02T03:04:05.000000006Z"},)"
          R"("list":[1,{"$bin":"AQI="}]})",
          R"({"$map":[[7,{"$chan":4,"dir":"send"}]]})",
      }));
}

TEST(ChancatPeer, RequestPrintsTheRepliesOfALibchanServer) {
  auto l = libchan::listen("tcp://127.0.0.1:0");
  std::thread server([&l] {
    try {
      auto [session, rx] = accept_from(l);
      while (auto req = rx.receive_for(10s)) {
        auto ret = req->find("ret")->take_sender();
        ret.send(libchan::make_map("echo", req->find("text")->as_string(), "at", jan_2_2026()));
      }
      session.close();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "server: " << e.what();
    }
  });
  auto r = chancat({"dial", "--request", "--data", R"({"text":"a"})", "--data", R"({"text":"b"})",
                    l.local_address()});
  server.join();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(lines(r.out), (std::vector<std::string>{
                              R"({"echo":"a","at":{"$time":"2026-01-02T03:04:05.000000000Z"}})",
                              R"({"echo":"b","at":{"$time":"2026-01-02T03:04:05.000000000Z"}})",
                          }));
}

TEST(ChancatPeer, ListenAnswersTheRequestsOfALibchanClient) {
  net_test::temp_dir dir;
  Listening listener("unix://" + dir.file("s"),
                     {"--reply", R"({"status":0,"at":{"$time":"2026-01-02T03:04:05Z"}})"});
  auto session = libchan::dial(listener.address());
  auto tx = session.open_sender();
  for (int i = 0; i < 2; ++i) {
    // Not under "ret": the only Sender of a request is its reply channel.
    auto [reply_rx, reply_tx] = libchan::pipe();
    tx.send(libchan::make_map("cmd", "ls", "StatusChan", std::move(reply_tx)));
    auto reply = reply_rx.receive_for(10s);
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->find("status")->as_int(), 0);
    EXPECT_EQ(reply->find("at")->as_time(), jan_2_2026());
  }
  tx.close();
  auto r = listener.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(r.out).size(), 2u);
}

TEST(ChancatPeer, MsgpackHexOfKnownMessages) {
  net_test::temp_dir dir;
  Listening listener("unix://" + dir.file("s"), {"--msgpack-hex", "--keep-open", "--count", "4"});
  {
    auto session = libchan::dial(listener.address());  // dialect v0.2
    auto tx = session.open_sender();
    tx.send(libchan::make_map("a", 1, "b", "x"));
    tx.send(libchan::make_map("t", libchan::Time(std::chrono::seconds(1))));
    auto [reply_rx, reply_tx] = libchan::pipe();
    tx.send(libchan::make_map("r", std::move(reply_tx)));
    ASSERT_TRUE(listener.process().wait_for_stdout("81a172", 10s));
    tx.close();
  }
  {
    libchan::SessionOptions v01;
    v01.dialect = libchan::Dialect::v0_1;
    auto session = libchan::dial(listener.address(), v01);
    auto tx = session.open_sender();
    tx.send(libchan::make_map("n", 200));
    ASSERT_TRUE(wait_for_lines(listener.process(), 4));
    tx.close();
    session.close();
    auto r = listener.wait();
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(lines(r.out), (std::vector<std::string>{
                                "82a16101a162a178",                      // {"a": 1, "b": "x"}
                                "81a174c70c06000000000000000100000000",  // ext 6: 1 s, 0 ns
                                "81a172d60400000001",                    // ext 4: a Sender, ref 1
                                "81a16eccc8",  // v0.1 writes 200 unsigned (v0.2: d100c8)
                            }));
  }
}

}  // namespace
