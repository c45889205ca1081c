// Our client against a live jschan 0.2.1 server (jschan_server.js, Node.js)
// over SPDY/3 on TCP: directly in dialect v0.1, and in dialect v0.2 through
// the dialect_bridge example (v0.2 in, v0.1 out).
#include <gtest/gtest.h>

#include <future>
#include <optional>
#include <ostream>
#include <string>

#include "interop/interop_support.hpp"

namespace {

using namespace std::chrono_literals;
using libchan::make_map;
using libchan::Value;

enum class route { direct, through_bridge };

void PrintTo(route r, std::ostream* os) {
  *os << (r == route::direct ? "direct, dialect v0.1" : "through dialect_bridge, dialect v0.2");
}

class JschanServer : public ::testing::TestWithParam<route> {
 protected:
  void SetUp() override {
    INTEROP_REQUIRE_JSCHAN();
    server_ = interop::start_script("jschan_server.js", {"60"});
    const unsigned port = interop::wait_ready(*server_);
    ASSERT_NE(port, 0u) << "jschan_server.js did not start" << interop::describe(*server_);
    const std::string server_url = "tcp://127.0.0.1:" + std::to_string(port);
    libchan::SessionOptions options;
    if (GetParam() == route::direct) {
      options.dialect = libchan::Dialect::v0_1;
      session_ = libchan::dial(server_url, options);
    } else {
      bridge_.emplace(
          std::vector<std::string>{"--listen-dialect", "v0.2", "--dial-dialect", "v0.1"},
          server_url);
      options.dialect = libchan::Dialect::v0_2;
      session_ = libchan::dial(bridge_->url, options);
    }
    channel_ = session_.open_sender();
  }

  void TearDown() override {
    session_.close();
    if (bridge_) {
      EXPECT_EQ(bridge_->child->terminate(10s), 0) << interop::describe(*bridge_->child);
    }
    if (server_) {
      server_->close_stdin();
      server_->wait(5s);
    }
  }

  // Sends `msg` with a fresh return channel in "ret"; where the reply comes.
  libchan::Receiver<> send_with_ret(Value msg) {
    auto [rx, tx] = libchan::pipe<Value>();
    msg["ret"] = Value(std::move(tx));
    channel_.send(std::move(msg));
    return std::move(rx);
  }

  // The one reply on `rx`, or a failure naming what the server said.
  Value reply_on(libchan::Receiver<>& rx) {
    std::error_code ec;
    auto reply = rx.receive_for(10s, ec);
    if (!reply || ec) {
      ADD_FAILURE() << "no reply: " << (ec ? ec.message() : "end of channel")
                    << interop::describe(*server_);
      return Value();
    }
    return std::move(*reply);
  }

  std::unique_ptr<interop::child_process> server_;
  std::optional<interop::bridge_process> bridge_;
  libchan::Session session_;
  libchan::Sender<> channel_;
};

TEST_P(JschanServer, PlainMessagesThenRequestOnNestedReturnChannel) {
  for (int seq = 1; seq <= 3; ++seq) channel_.send(make_map("op", "plain", "seq", seq));
  auto rx = send_with_ret(make_map("op", "request", "seq", 4, "text", "hello"));
  auto reply = reply_on(rx);
  EXPECT_EQ(reply, make_map("seq", 4, "text", "re: hello", "seen", libchan::make_array(1, 2, 3)))
      << reply.to_string();
  EXPECT_EQ(session_.dialect(),
            GetParam() == route::direct ? libchan::Dialect::v0_1 : libchan::Dialect::v0_2);
}

TEST_P(JschanServer, ManyRequestsEachWithItsOwnReturnChannel) {
  std::vector<libchan::Receiver<>> replies;
  for (int seq = 1; seq <= 10; ++seq)
    replies.push_back(
        send_with_ret(make_map("op", "request", "seq", seq, "text", "#" + std::to_string(seq))));
  for (int seq = 1; seq <= 10; ++seq) {
    auto reply = reply_on(replies[seq - 1]);
    EXPECT_EQ(reply, make_map("seq", seq, "text", "re: #" + std::to_string(seq), "seen",
                              libchan::make_array()))
        << reply.to_string();
  }
}

TEST_P(JschanServer, NestedChannelWeSendOn) {
  auto [items_rx, items_tx] = libchan::pipe<Value>();
  auto rx = send_with_ret(make_map("op", "items", "seq", 1, "items", Value(std::move(items_rx))));
  for (int n = 1; n <= 4; ++n) items_tx.send(make_map("n", n));
  items_tx.close();  // jschan replies once it sees the end of the channel
  auto reply = reply_on(rx);
  EXPECT_EQ(reply, make_map("seq", 1, "count", 4, "sum", 10)) << reply.to_string();
}

// A channel the jschan server opens arrives as a SPDY server push
// (UNIDIRECTIONAL, associated with the return channel's stream).
TEST_P(JschanServer, ChannelOpenedByServer) {
  auto rx = send_with_ret(make_map("op", "push", "seq", 3));
  auto reply = reply_on(rx);
  ASSERT_TRUE(reply.is_map() && reply.find("items")) << reply.to_string();
  EXPECT_EQ(reply["seq"], Value(3));
  auto items = reply["items"].take_receiver();
  for (int n = 1; n <= 3; ++n) {
    std::error_code ec;
    auto item = items.receive_for(10s, ec);
    ASSERT_TRUE(item && !ec) << "item " << n << ": " << ec.message() << interop::describe(*server_);
    EXPECT_EQ(*item, make_map("n", n));
  }
  std::error_code ec;
  EXPECT_FALSE(items.receive_for(10s, ec)) << "the pushed channel did not end";
  EXPECT_FALSE(ec) << ec.message();
}

// Reads `stream` to its end on another thread, giving up after `timeout`.
std::string read_all_for(libchan::ByteStream& stream, std::chrono::seconds timeout,
                         libchan::Session& session) {
  auto text = std::async(std::launch::async, [&] { return stream.read_all(1u << 20); });
  if (text.wait_for(timeout) != std::future_status::ready) {
    session.close();  // unblocks the reader
    ADD_FAILURE() << "the byte stream did not end within " << timeout.count() << " s";
  }
  try {
    return text.get();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "reading the byte stream: " << e.what();
    return {};
  }
}

TEST_P(JschanServer, ByteStreamEcho) {
  auto [mine, theirs] = libchan::stream_pair();
  auto rx = send_with_ret(make_map("op", "stream", "seq", 7, "stream", Value(std::move(theirs))));
  const std::string first = "hello from libchan\n";
  const std::string second(100000, 's');  // over 64 KiB: needs jschan's window updates
  mine.write(first);
  mine.write(second);
  mine.close_write();
  EXPECT_EQ(read_all_for(mine, 10s, session_), first + second);
  auto reply = reply_on(rx);
  EXPECT_EQ(reply, make_map("seq", 7, "bytes", first.size() + second.size())) << reply.to_string();
}

// jschan enforces SPDY/3 windows: messages over 64 KiB go through only if we
// follow its SETTINGS, and over a megabyte in flight only with its
// WINDOW_UPDATEs. Each message is one DATA frame, as v0.1 requires.
TEST_P(JschanServer, BigMessagesUnderFlowControl) {
  constexpr int count = 12;
  constexpr std::size_t size = 100000;
  std::vector<libchan::Receiver<>> replies;
  for (int seq = 0; seq < count; ++seq) {
    std::string data(size, static_cast<char>('a' + seq));
    replies.push_back(send_with_ret(make_map("op", "big", "seq", seq, "data", std::move(data))));
  }
  for (int seq = 0; seq < count; ++seq) {
    auto reply = reply_on(replies[seq]);
    ASSERT_TRUE(reply.is_map()) << reply.to_string();
    EXPECT_EQ(reply["seq"], Value(seq));
    EXPECT_EQ(reply["length"], Value(size));
    EXPECT_EQ(reply["data"], Value(std::string(size, static_cast<char>('a' + seq))));
  }
}

INSTANTIATE_TEST_SUITE_P(Interop, JschanServer,
                         ::testing::Values(route::direct, route::through_bridge),
                         [](const auto& test) {
                           return test.param == route::direct ? "Direct" : "ThroughBridge";
                         });

}  // namespace
