// libchan's conformance behaviours, written once and stamped into every
// transport: in process, two engines back to back, unix, tcp, tls, ws.
//
// A transport provides a fixture type with
//   std::pair<libchan::Sender<libchan::Value>, libchan::Receiver<libchan::Value>> channel();
// returning the two ends of a fresh top-level channel ("client" sends,
// "server" receives) — and `static constexpr bool no_time_type = true;` if
// its wire cannot carry times, `one_frame_per_message` if it sends each
// message as one DATA frame (dialect v0.1) — and instantiates the suite:
//   namespace conformance { INSTANTIATE_TYPED_TEST_SUITE_P(Name, Conformance, Fixture); }
#pragma once

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "libchan/libchan.hpp"

namespace conformance {

struct Item {
  std::string Message;
  std::int64_t Seq = 0;
  LIBCHAN_FIELDS(Message, Seq)
};

struct Request {
  std::string Message;
  std::int64_t Seq = 0;
  libchan::Sender<Item> Ret;
  libchan::Receiver<Item> Recv;
  libchan::ByteStream Stream;
  std::vector<std::string> Args;
  std::map<std::string, std::int64_t> Counts;
  std::optional<libchan::Time> When;
  LIBCHAN_FIELDS(Message, Seq, Ret, Recv, Stream, Args, Counts, When)
};

template <class Fixture>
class Conformance : public ::testing::Test {
 protected:
  Fixture transport;

  auto channel() { return transport.channel(); }

  template <class T>
  static void send(libchan::Sender<libchan::Value>& tx, T&& value) {
    tx.send(libchan::to_value(std::forward<T>(value)));
  }
  template <class T>
  static T receive(libchan::Receiver<libchan::Value>& rx) {
    auto v = rx.receive_for(std::chrono::seconds(10));
    if (!v) throw std::runtime_error("unexpected end of channel");
    return libchan::from_value<T>(std::move(*v));
  }
};

TYPED_TEST_SUITE_P(Conformance);

TYPED_TEST_P(Conformance, StructRoundTrip) {
  auto [tx, rx] = this->channel();
  conformance::Request req;
  req.Message = "plain";
  req.Seq = 1;
  req.Args = {"-l", "-a"};
  req.Counts = {{"a", 1}, {"b", -2}};
  // Dialect v0.1 has no time type; fixtures for it say so.
  constexpr bool has_time = !requires { TypeParam::no_time_type; };
  if (has_time) req.When = libchan::Time(std::chrono::nanoseconds(1704164645123456789));
  this->send(tx, std::move(req));
  auto got = this->template receive<conformance::Request>(rx);
  EXPECT_EQ(got.Message, "plain");
  EXPECT_EQ(got.Seq, 1);
  EXPECT_EQ(got.Args, (std::vector<std::string>{"-l", "-a"}));
  EXPECT_EQ(got.Counts.at("b"), -2);
  if (has_time) {
    ASSERT_TRUE(got.When);
    EXPECT_EQ(got.When->time_since_epoch().count(), 1704164645123456789);
  }
  EXPECT_FALSE(got.Ret);
  EXPECT_FALSE(got.Stream);
}

TYPED_TEST_P(Conformance, SenderInsideRequestCarriesTheReply) {
  auto [tx, rx] = this->channel();
  auto [reply_rx, reply_tx] = libchan::pipe<conformance::Item>();
  std::thread server([&rx = rx] {
    auto req = Conformance<TypeParam>::template receive<conformance::Request>(rx);
    req.Ret.send({"reply to " + req.Message, req.Seq + 1});
    req.Ret.close();
  });
  conformance::Request req;
  req.Message = "with-ret";
  req.Seq = 2;
  req.Ret = std::move(reply_tx);
  this->send(tx, std::move(req));
  auto reply = reply_rx.receive_for(std::chrono::seconds(10));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->Message, "reply to with-ret");
  EXPECT_EQ(reply->Seq, 3);
  EXPECT_EQ(reply_rx.receive_for(std::chrono::seconds(10)), std::nullopt) << "closed after reply";
  server.join();
}

TYPED_TEST_P(Conformance, OneMessageCarriesSenderReceiverAndStream) {
  auto [tx, rx] = this->channel();
  auto [reply_rx, reply_tx] = libchan::pipe<conformance::Item>();
  auto [items_rx, items_tx] = libchan::buffered_pipe<conformance::Item>(4);
  auto [mine, theirs] = libchan::stream_pair();
  std::thread server([&rx = rx] {
    auto req = Conformance<TypeParam>::template receive<conformance::Request>(rx);
    std::int64_t count = 0;
    while (auto item = req.Recv.receive()) count += item->Seq;
    std::string text = req.Stream.read_all();
    req.Stream.write("echo: " + text);
    req.Stream.close_write();
    req.Ret.send({text, count});
  });
  items_tx.send({"item-1", 1});
  items_tx.send({"item-2", 2});
  items_tx.close();
  conformance::Request req;
  req.Ret = std::move(reply_tx);
  req.Recv = std::move(items_rx);
  req.Stream = std::move(theirs);
  this->send(tx, std::move(req));
  mine.write("hello from client\n");
  mine.close_write();
  auto reply = reply_rx.receive_for(std::chrono::seconds(10));
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->Seq, 3) << "both items arrived through the Receiver";
  EXPECT_EQ(reply->Message, "hello from client\n");
  EXPECT_EQ(mine.read_all(), "echo: hello from client\n");
  server.join();
}

TYPED_TEST_P(Conformance, ReceiverReceivedThroughAReceivedChannel) {
  auto [tx, rx] = this->channel();
  auto [back_rx, back_tx] = libchan::pipe();
  std::thread server([&rx = rx] {
    auto msg = rx.receive_for(std::chrono::seconds(10));
    ASSERT_TRUE(msg);
    auto ret = msg->find("Ret")->take_sender();
    // Give the client a Receiver; keep its Sender here.
    auto [events_rx, events_tx] = libchan::buffered_pipe(8);
    ret.send(libchan::make_map("Events", std::move(events_rx)));
    for (int i = 0; i < 3; ++i) events_tx.send(libchan::make_map("Seq", i));
    events_tx.close();
  });
  tx.send(libchan::make_map("Ret", std::move(back_tx)));
  auto reply = back_rx.receive_for(std::chrono::seconds(10));
  ASSERT_TRUE(reply);
  auto events = reply->find("Events")->take_receiver();
  for (int i = 0; i < 3; ++i) {
    auto e = events.receive_for(std::chrono::seconds(10));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->find("Seq")->as_int(), i);
  }
  EXPECT_EQ(events.receive_for(std::chrono::seconds(10)), std::nullopt);
  server.join();
}

TYPED_TEST_P(Conformance, ReceivedSenderSendsBackANewSender) {
  auto [tx, rx] = this->channel();
  auto [back_rx, back_tx] = libchan::pipe();
  std::promise<std::int64_t> server_got;
  std::thread server([&rx = rx, &server_got] {
    auto msg = rx.receive_for(std::chrono::seconds(10));
    ASSERT_TRUE(msg);
    auto ret = msg->find("Ret")->take_sender();
    auto [mine_rx, mine_tx] = libchan::pipe();
    ret.send(libchan::make_map("Reply", std::move(mine_tx)));
    auto v = mine_rx.receive_for(std::chrono::seconds(10));
    server_got.set_value(v ? v->find("Seq")->as_int() : -1);
  });
  tx.send(libchan::make_map("Ret", std::move(back_tx)));
  auto reply = back_rx.receive_for(std::chrono::seconds(10));
  ASSERT_TRUE(reply);
  auto to_server = reply->find("Reply")->take_sender();
  to_server.send(libchan::make_map("Seq", 42));
  EXPECT_EQ(server_got.get_future().get(), 42);
  server.join();
}

TYPED_TEST_P(Conformance, ChannelInADynamicFieldIgnoredWithoutDeadlock) {
  auto [tx, rx] = this->channel();
  auto [ignored_rx, ignored_tx] = libchan::pipe();
  tx.send(libchan::make_map("Message", "first", "Unused", std::move(ignored_tx)));
  tx.send(libchan::make_map("Message", "second"));
  auto first = rx.receive_for(std::chrono::seconds(10));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->find("Message")->as_string(), "first");
  first.reset();  // drops the Sender nobody uses
  auto second = rx.receive_for(std::chrono::seconds(10));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->find("Message")->as_string(), "second");
  // The dropped Sender ended its channel: our Receiver sees the end.
  EXPECT_EQ(ignored_rx.receive_for(std::chrono::seconds(10)), std::nullopt);
}

TYPED_TEST_P(Conformance, BytesWrittenBeforeTheMessageStillArrive) {
  auto [tx, rx] = this->channel();
  auto [mine, theirs] = libchan::stream_pair();
  mine.write("written early");
  mine.close_write();
  tx.send(libchan::make_map("Stream", std::move(theirs)));
  auto msg = rx.receive_for(std::chrono::seconds(10));
  ASSERT_TRUE(msg);
  auto stream = msg->find("Stream")->take_stream();
  EXPECT_EQ(stream.read_all(), "written early");
}

TYPED_TEST_P(Conformance, CopyForwardsEverythingAndCounts) {
  auto [tx, rx] = this->channel();
  auto [out_rx, out_tx] = libchan::buffered_pipe(100);
  std::thread producer([&tx = tx] {
    for (int i = 0; i < 50; ++i) tx.send(libchan::make_map("Seq", i));
    tx.close();
  });
  EXPECT_EQ(libchan::copy(out_tx, rx), 50u);
  out_tx.close();
  for (int i = 0; i < 50; ++i) EXPECT_EQ(out_rx.receive()->find("Seq")->as_int(), i);
  EXPECT_EQ(out_rx.receive(), std::nullopt);
  producer.join();
}

TYPED_TEST_P(Conformance, AfterCloseEveryMessageInOrderThenTheEnd) {
  auto [tx, rx] = this->channel();
  std::thread producer([&tx = tx] {
    for (int i = 0; i < 200; ++i) tx.send(libchan::make_map("Seq", i));
    tx.close();
  });
  for (int i = 0; i < 200; ++i) {
    auto v = rx.receive_for(std::chrono::seconds(10));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->find("Seq")->as_int(), i);
  }
  EXPECT_EQ(rx.receive_for(std::chrono::seconds(10)), std::nullopt);
  producer.join();
}

TYPED_TEST_P(Conformance, SelectTakesFromTheReadyChannelOnly) {
  auto [tx_a, rx_a] = this->channel();
  auto [tx_b, rx_b] = this->channel();
  tx_b.send(libchan::make_map("Seq", 2));
  auto got = libchan::select_for(std::chrono::seconds(10), rx_a, rx_b);
  EXPECT_EQ(got.index, 1u);
  ASSERT_TRUE(got.value);
  EXPECT_EQ(got.value->find("Seq")->as_int(), 2);
  tx_a.send(libchan::make_map("Seq", 1));
  auto a = rx_a.receive_for(std::chrono::seconds(10));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->find("Seq")->as_int(), 1);
}

TYPED_TEST_P(Conformance, ReceiveTimesOutThenStillWorks) {
  auto [tx, rx] = this->channel();
  std::error_code ec;
  rx.receive_for(std::chrono::milliseconds(20), ec);
  EXPECT_EQ(ec, libchan::errc::timed_out);
  tx.send(libchan::make_map("Seq", 7));
  auto v = rx.receive_for(std::chrono::seconds(10), ec);
  ASSERT_TRUE(v) << ec.message();
  EXPECT_EQ(v->find("Seq")->as_int(), 7);
}

TYPED_TEST_P(Conformance, CancelledAsyncReceiveLosesNothing) {
  auto [tx, rx] = this->channel();
  std::promise<std::error_code> result;
  rx.async_receive(
      [&](std::error_code ec, std::optional<libchan::Value>) { result.set_value(ec); });
  rx.cancel();
  EXPECT_EQ(result.get_future().get(), libchan::errc::cancelled);
  tx.send(libchan::make_map("Seq", 9));
  auto v = rx.receive_for(std::chrono::seconds(10));
  ASSERT_TRUE(v);
  EXPECT_EQ(v->find("Seq")->as_int(), 9);
}

TYPED_TEST_P(Conformance, ManyThreadsSendOnOneChannel) {
  auto [tx, rx] = this->channel();
  constexpr int threads = 50, each = 20;
  std::vector<std::thread> senders;
  for (int t = 0; t < threads; ++t)
    senders.emplace_back([t, &tx = tx] {
      for (int i = 0; i < each; ++i) tx.send(libchan::make_map("T", t, "I", i));
    });
  std::vector<int> next(threads, 0);
  for (int n = 0; n < threads * each; ++n) {
    auto v = rx.receive_for(std::chrono::seconds(10));
    ASSERT_TRUE(v);
    auto t = v->find("T")->as_int();
    ASSERT_EQ(v->find("I")->as_int(), next[t]++) << "per-sender order";
  }
  for (auto& s : senders) s.join();
}

TYPED_TEST_P(Conformance, MessagesLargerThanAWindowArrive) {
  // 3 MiB: three times a session's default receive window, so the receiver
  // must hand the window back before the message is whole. Two of them, one
  // behind the other, and a small one after.
  auto [tx, rx] = this->channel();
  std::vector<std::uint8_t> bytes(3u << 20);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::uint8_t>(i * 31 + 7);
  if constexpr (requires { TypeParam::one_frame_per_message; }) {
    // Dialect v0.1 sends each message as one DATA frame, which must fit the
    // peer's window: a larger one fails at once, clearly, and the channel
    // goes on.
    std::error_code ec;
    tx.send(libchan::make_map("N", 0, "Blob", libchan::Binary{bytes}), ec);
    EXPECT_EQ(ec, libchan::errc::limit_exceeded);
    tx.send(libchan::make_map("N", 2));
    auto v = rx.receive_for(std::chrono::seconds(10));
    ASSERT_TRUE(v);
    EXPECT_EQ(v->find("N")->as_int(), 2);
    return;
  }
  auto sender = std::async(std::launch::async, [&, &tx = tx] {
    for (int n = 0; n < 2; ++n) tx.send(libchan::make_map("N", n, "Blob", libchan::Binary{bytes}));
    tx.send(libchan::make_map("N", 2));
  });
  for (int n = 0; n < 3; ++n) {
    auto v = rx.receive_for(std::chrono::seconds(20));
    ASSERT_TRUE(v) << "message " << n << " did not arrive";
    EXPECT_EQ(v->find("N")->as_int(), n);
    if (n < 2) {
      const libchan::Value* blob = v->find("Blob");
      ASSERT_TRUE(blob && blob->kind() == libchan::Value::Kind::binary);
      EXPECT_TRUE(blob->as_binary().bytes == bytes) << "message " << n << " arrived damaged";
    }
  }
  sender.get();
}

REGISTER_TYPED_TEST_SUITE_P(
    Conformance, StructRoundTrip, SenderInsideRequestCarriesTheReply,
    OneMessageCarriesSenderReceiverAndStream, ReceiverReceivedThroughAReceivedChannel,
    ReceivedSenderSendsBackANewSender, ChannelInADynamicFieldIgnoredWithoutDeadlock,
    BytesWrittenBeforeTheMessageStillArrive, CopyForwardsEverythingAndCounts,
    AfterCloseEveryMessageInOrderThenTheEnd, SelectTakesFromTheReadyChannelOnly,
    ReceiveTimesOutThenStillWorks, CancelledAsyncReceiveLosesNothing, ManyThreadsSendOnOneChannel,
    MessagesLargerThanAWindowArrive);

}  // namespace conformance
