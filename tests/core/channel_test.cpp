// Channel ends over in-process pipes: ordering, close, errors, timeouts,
// cancellation, async forms and many threads.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <thread>
#include <vector>

#include "libchan/pipe.hpp"

using namespace std::chrono_literals;
using libchan::errc;

namespace {

TEST(Channel, BufferedPipeKeepsOrderThenEnds) {
  auto [rx, tx] = libchan::buffered_pipe<int>(4);
  for (int i = 0; i < 4; ++i) tx.send(i);
  tx.close();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(rx.receive(), i);
  EXPECT_EQ(rx.receive(), std::nullopt);
  EXPECT_EQ(rx.receive(), std::nullopt) << "the end is sticky";
}

TEST(Channel, RendezvousSendWaitsForReceiver) {
  auto [rx, tx] = libchan::pipe<std::string>();
  std::atomic<bool> sent{false};
  std::thread sender([&, &tx = tx] {
    tx.send("hello");
    sent = true;
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(sent) << "an unbuffered send must wait for a receiver";
  EXPECT_EQ(rx.receive(), "hello");
  sender.join();
  EXPECT_TRUE(sent);
}

TEST(Channel, DestroyingTheSenderEndsTheChannel) {
  auto [rx, tx] = libchan::buffered_pipe<int>(2);
  tx.send(7);
  { auto gone = std::move(tx); }
  EXPECT_EQ(rx.receive(), 7);
  EXPECT_EQ(rx.receive(), std::nullopt);
}

TEST(Channel, SendAfterReceiverClosedFails) {
  auto [rx, tx] = libchan::buffered_pipe<int>(2);
  rx.close();
  std::error_code ec;
  tx.send(1, ec);
  EXPECT_EQ(ec, errc::closed);
  EXPECT_THROW(tx.send(2), std::system_error);
}

TEST(Channel, BlockedSenderFailsWhenReceiverCloses) {
  auto [rx, tx] = libchan::pipe<int>();
  std::error_code ec;
  std::thread sender([&, &tx = tx] { tx.send(1, ec); });
  std::this_thread::sleep_for(20ms);
  rx.close();
  sender.join();
  EXPECT_EQ(ec, errc::closed);
}

TEST(Channel, SendAfterOwnCloseFails) {
  auto [rx, tx] = libchan::buffered_pipe<int>(2);
  tx.close();
  std::error_code ec;
  tx.send(1, ec);
  EXPECT_EQ(ec, errc::closed);
  EXPECT_EQ(rx.receive(), std::nullopt);
}

TEST(Channel, EmptyHandlesReportEmptyHandle) {
  libchan::Sender<int> tx;
  libchan::Receiver<int> rx;
  std::error_code ec;
  tx.send(1, ec);
  EXPECT_EQ(ec, errc::empty_handle);
  rx.receive(ec);
  EXPECT_EQ(ec, errc::empty_handle);
  EXPECT_FALSE(tx);
  EXPECT_FALSE(rx);
}

TEST(Channel, ReceiveTimesOutAndLosesNothing) {
  auto [rx, tx] = libchan::buffered_pipe<int>(1);
  std::error_code ec;
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(rx.receive_for(30ms, ec), std::nullopt);
  EXPECT_EQ(ec, errc::timed_out);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
  tx.send(5);
  EXPECT_EQ(rx.receive_for(1s, ec), 5);
  EXPECT_FALSE(ec);
  EXPECT_THROW(rx.receive_for(1ms), std::system_error);
}

TEST(Channel, TimedOutReceiveDoesNotStealLaterMessages) {
  auto [rx, tx] = libchan::pipe<int>();
  for (int round = 0; round < 50; ++round) {
    std::error_code ec;
    rx.receive_for(100us, ec);
    EXPECT_EQ(ec, errc::timed_out);
  }
  std::thread sender([&, &tx = tx] {
    for (int i = 0; i < 100; ++i) tx.send(i);
    tx.close();
  });
  int expected = 0;
  while (auto v = rx.receive()) EXPECT_EQ(*v, expected++);
  EXPECT_EQ(expected, 100);
  sender.join();
}

TEST(Channel, AsyncReceiveWithCallbackOnIoContext) {
  boost::asio::io_context io;
  auto [rx, tx] = libchan::buffered_pipe<int>(1);
  std::optional<int> got;
  std::thread::id ran_on;
  rx.async_receive(boost::asio::bind_executor(io, [&](std::error_code ec, std::optional<int> v) {
    EXPECT_FALSE(ec);
    got = v;
    ran_on = std::this_thread::get_id();
  }));
  std::thread sender([&, &tx = tx] { tx.send(42); });
  io.run();  // returns only once the handler ran: the wait counts as work
  sender.join();
  EXPECT_EQ(got, 42);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

// The completion is posted from the sender's thread. The handler may run,
// run() return and the application destroy its io_context while that thread
// is still inside the post: it must not touch the context by then (TSan
// reports the condition variable being destroyed under a signal).
TEST(Channel, IoContextMayGoAsSoonAsRunReturns) {
  for (int i = 0; i < 200; ++i) {
    auto [rx, tx] = libchan::pipe<int>();
    std::optional<int> got;
    std::thread sender;
    {
      boost::asio::io_context io;
      rx.async_receive(
          boost::asio::bind_executor(io, [&](std::error_code, std::optional<int> v) { got = v; }));
      sender = std::thread([&, &tx = tx] { tx.send(i); });
      io.run();
    }  // destroyed before the sender is joined
    sender.join();
    ASSERT_EQ(got, i);
  }
}

TEST(Channel, AsyncFormsWithFutures) {
  auto [rx, tx] = libchan::pipe<std::string>();
  auto received = rx.async_receive(boost::asio::use_future);
  auto sent = tx.async_send("via future", boost::asio::use_future);
  EXPECT_EQ(received.get(), "via future");
  sent.get();
  tx.close();
  EXPECT_EQ(rx.async_receive(boost::asio::use_future).get(), std::nullopt);
}

TEST(Channel, CancelCompletesPendingAsyncReceive) {
  auto [rx, tx] = libchan::pipe<int>();
  std::promise<std::error_code> result;
  rx.async_receive([&](std::error_code ec, std::optional<int>) { result.set_value(ec); });
  rx.cancel();
  EXPECT_EQ(result.get_future().get(), errc::cancelled);
  // The channel still works afterwards, and nothing was consumed.
  std::thread sender([&, &tx = tx] { tx.send(3); });
  EXPECT_EQ(rx.receive(), 3);
  sender.join();
}

TEST(Channel, ClosingReceiverFailsItsPendingAsyncReceive) {
  auto [rx, tx] = libchan::pipe<int>();
  std::promise<std::error_code> result;
  rx.async_receive([&](std::error_code ec, std::optional<int>) { result.set_value(ec); });
  rx.close();
  EXPECT_EQ(result.get_future().get(), errc::closed);
}

TEST(Channel, ThousandThreadsSendOnOneChannel) {
  constexpr int threads = 1000;
  constexpr int per_thread = 20;
  auto [rx, tx] = libchan::buffered_pipe<std::pair<int, int>>(64);
  std::vector<std::thread> senders;
  senders.reserve(threads);
  for (int t = 0; t < threads; ++t)
    senders.emplace_back([t, &tx = tx] {
      for (int i = 0; i < per_thread; ++i) tx.send({t, i});
    });
  std::vector<int> next(threads, 0);
  int total = 0;
  for (; total < threads * per_thread; ++total) {
    auto v = rx.receive();
    ASSERT_TRUE(v);
    auto [t, i] = *v;
    ASSERT_EQ(i, next[t]) << "messages of one sender arrive in order";
    ++next[t];
  }
  for (auto& s : senders) s.join();
  tx.close();
  EXPECT_EQ(rx.receive(), std::nullopt);
  EXPECT_EQ(total, threads * per_thread);
}

TEST(Channel, ValuesAreMovedNotCopied) {
  auto [rx, tx] = libchan::buffered_pipe<std::unique_ptr<int>>(1);
  auto p = std::make_unique<int>(9);
  int* raw = p.get();
  tx.send(std::move(p));
  auto got = rx.receive();
  ASSERT_TRUE(got);
  EXPECT_EQ(got->get(), raw) << "in-process pipes move the very object";
}

TEST(Channel, SendingByReferenceSendsACopy) {
  auto [rx, tx] = libchan::buffered_pipe<std::string>(2);
  const std::string kept(100, 'k');
  tx.send(kept);
  std::error_code ec;
  tx.send(kept, ec);
  EXPECT_FALSE(ec);
  EXPECT_EQ(kept, std::string(100, 'k')) << "the caller's value is untouched";
  EXPECT_EQ(rx.receive(), kept);
  EXPECT_EQ(rx.receive(), kept);
  rx.close();
  tx.send(kept, ec);
  EXPECT_EQ(ec, errc::closed) << "errors as for a moved value";
  libchan::Sender<std::string> empty;
  empty.send(kept, ec);
  EXPECT_EQ(ec, errc::empty_handle);
}

TEST(Channel, ManyProducersManyConsumersExactlyOnce) {
  auto [rx, tx] = libchan::buffered_pipe<int>(8);
  constexpr int producers = 4, consumers = 4, each = 5000;
  std::vector<std::atomic<int>> seen(producers * each);
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([p, &tx = tx] {
      for (int i = 0; i < each; ++i) tx.send(p * each + i);
    });
  std::atomic<int> received{0};
  std::vector<std::thread> readers;
  for (int c = 0; c < consumers; ++c)
    readers.emplace_back([&, &rx = rx] {
      while (auto v = rx.receive()) {
        seen[*v]++;
        received++;
      }
    });
  for (auto& t : threads) t.join();
  tx.close();
  for (auto& t : readers) t.join();
  EXPECT_EQ(received, producers * each);
  for (auto& s : seen) ASSERT_EQ(s, 1);
}

}  // namespace

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace {

TEST(Channel, CoroutinesAwaitReceiveAndSend) {
  boost::asio::io_context io;
  auto [rx, tx] = libchan::pipe<int>();
  int sum = 0;
  bool saw_end = false;
  boost::asio::co_spawn(
      io,
      [&rx = rx, &sum, &saw_end]() -> boost::asio::awaitable<void> {
        while (auto v = co_await rx.async_receive(boost::asio::use_awaitable)) sum += *v;
        saw_end = true;
      },
      boost::asio::detached);
  boost::asio::co_spawn(
      io,
      [&tx = tx]() -> boost::asio::awaitable<void> {
        for (int i = 1; i <= 10; ++i) co_await tx.async_send(i, boost::asio::use_awaitable);
        tx.close();
      },
      boost::asio::detached);
  io.run();
  EXPECT_EQ(sum, 55);
  EXPECT_TRUE(saw_end);
}

TEST(Channel, CoroutineSeesErrorsAsExceptions) {
  boost::asio::io_context io;
  auto [rx, tx] = libchan::pipe<int>();
  rx.close();
  std::error_code caught;
  boost::asio::co_spawn(
      io,
      [&tx = tx, &caught]() -> boost::asio::awaitable<void> {
        try {
          co_await tx.async_send(1, boost::asio::use_awaitable);
        } catch (const std::system_error& e) {
          caught = e.code();
        }
      },
      boost::asio::detached);
  io.run();
  EXPECT_EQ(caught, errc::closed);
}

}  // namespace
