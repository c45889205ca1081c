// dial, listen, URLs, registries, options and the error each misuse gives.

// g++ 12 at -O2 takes ConvertPath::Scope (convert.hpp), which unlinks itself
// in its destructor, for a dangling pointer when typed Receivers convert
// LIBCHAN_FIELDS structs. A false positive in a core header; silenced here only.
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#pragma GCC diagnostic ignored "-Wdangling-pointer"
#endif
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <future>

#include "engine/spdy_session.hpp"
#include "net/net_support.hpp"
#include "session/channel_session.hpp"

namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// The what() of the exception `fn` throws, and its code.
template <class Fn>
std::pair<std::error_code, std::string> thrown(Fn&& fn) {
  try {
    fn();
  } catch (const std::system_error& e) {
    return {e.code(), e.what()};
  }
  return {};
}

struct Reply {
  std::string Text;
  std::int64_t Code = 0;
  LIBCHAN_FIELDS(Text, Code)
};

struct Ask {
  std::string Text;
  libchan::Sender<Reply> Ret;
  LIBCHAN_FIELDS(Text, Ret)
};

TEST(NetDial, ConnectionRefusedIsAClearError) {
  std::string url;
  {
    auto l = libchan::listen("tcp://127.0.0.1:0");
    url = l.local_address();
  }  // closed: nothing listens there now
  std::error_code ec;
  auto s = libchan::dial(url, {}, ec);
  EXPECT_FALSE(s);
  EXPECT_EQ(ec, std::errc::connection_refused) << ec.message();
  auto [code, what] = thrown([&] { libchan::dial(url); });
  EXPECT_EQ(code, std::errc::connection_refused);
  EXPECT_THAT(what, HasSubstr("dial " + url));
  const std::string reason = std::make_error_code(std::errc::connection_refused).message();
  EXPECT_EQ(what.find(reason), what.rfind(reason)) << "said once: " << what;
}

TEST(NetDial, MissingUnixSocketIsAClearError) {
  net_test::temp_dir dir;
  std::error_code ec;
  libchan::dial("unix://" + dir.file("nobody.sock"), {}, ec);
  EXPECT_EQ(ec, std::errc::no_such_file_or_directory) << ec.message();
}

TEST(NetDial, BadUrlsSayWhatIsWrong) {
  auto what = [](std::string url) {
    auto [code, text] = thrown([&] { libchan::dial(url); });
    EXPECT_EQ(code, libchan::errc::invalid_argument) << url;
    return text;
  };
  EXPECT_THAT(what("foo://x"),
              HasSubstr("unsupported scheme 'foo' (known: tcp, tls, unix, ws, wss)"));
  EXPECT_THAT(what("tcp://localhost"), HasSubstr("tcp URL needs host:port"));
  EXPECT_THAT(what("tcp://"), HasSubstr("tcp URL needs host:port"));
  EXPECT_THAT(what("tcp://127.0.0.1:99999"), HasSubstr("port from 0 to 65535"));
  EXPECT_THAT(what("tcp://127.0.0.1:0"), HasSubstr("tcp URL needs host:port"));
  EXPECT_THAT(what("tcp://::1:80"), HasSubstr("need brackets"));
  EXPECT_THAT(what("127.0.0.1:80"), HasSubstr("has no scheme"));
  EXPECT_THAT(what("unix://relative.sock"), HasSubstr("absolute path"));
  EXPECT_THAT(what("unix:///" + std::string(200, 'x')), HasSubstr("too long"));
  std::error_code ec;
  EXPECT_FALSE(libchan::listen("bar://x", {}, ec));
  EXPECT_EQ(ec, libchan::errc::invalid_argument);
}

TEST(NetDial, SchemesAreCaseInsensitive) {
  auto l = libchan::listen("TCP://127.0.0.1:0");
  auto url = l.local_address();
  auto s = libchan::dial("Tcp://" + url.substr(6));
  EXPECT_TRUE(s);
}

TEST(NetDial, DialectDetectIsForListenersOnly) {
  libchan::SessionOptions o;
  o.dialect = libchan::Dialect::detect;
  auto [code, what] = thrown([&] { libchan::dial("tcp://127.0.0.1:1", o); });
  EXPECT_EQ(code, libchan::errc::invalid_argument);
  EXPECT_THAT(what, HasSubstr("for listeners"));
}

TEST(NetListen, AddressInUse) {
  auto l = libchan::listen("tcp://127.0.0.1:0");
  std::error_code ec;
  auto again = libchan::listen(l.local_address(), {}, ec);
  EXPECT_FALSE(again);
  EXPECT_EQ(ec, std::errc::address_in_use) << ec.message();
}

TEST(NetListen, UnixSocketFileIsRemovedOnClose) {
  net_test::temp_dir dir;
  auto path = dir.file("s.sock");
  auto l = libchan::listen("unix://" + path);
  EXPECT_EQ(l.local_address(), "unix://" + path);
  EXPECT_TRUE(std::filesystem::exists(path));
  l.close();
  EXPECT_FALSE(std::filesystem::exists(path));
  auto again = libchan::listen("unix://" + path);  // the path is free again
  EXPECT_TRUE(again);
}

TEST(NetListen, IPv6Loopback) {
  std::error_code ec;
  auto l = libchan::listen("tcp://[::1]:0", {}, ec);
  if (ec) GTEST_SKIP() << "no IPv6 loopback here: " << ec.message();
  EXPECT_THAT(l.local_address(), HasSubstr("tcp://[::1]:"));
  auto client = libchan::dial(l.local_address());
  auto server = l.accept_for(10s, ec);
  ASSERT_TRUE(server) << ec.message();
  EXPECT_THAT(server.peer_address(), HasSubstr("tcp://[::1]:"));
  auto tx = client.open_sender();
  auto rx = server.accept_receiver_for(10s, ec);
  ASSERT_TRUE(rx) << ec.message();
  tx.send(libchan::make_map("Seq", 1));
  auto v = rx.receive_for(10s);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->find("Seq")->as_int(), 1);
}

// The client sends an Ask with `text` and a reply channel on a typed
// channel of its own; the server answers `answer` on that reply channel.
void ask_and_answer(net_test::session_pair& p, const std::string& text, Reply answer) {
  auto tx = p.client.open_sender<Ask>();
  std::error_code ec;
  auto rx = p.server.accept_receiver_for<Ask>(10s, ec);
  ASSERT_TRUE(rx) << ec.message();
  auto [reply_rx, reply_tx] = libchan::pipe<Reply>();
  tx.send({text, std::move(reply_tx)});
  auto ask = rx.receive_for(10s);
  ASSERT_TRUE(ask);
  EXPECT_EQ(ask->Text, text);
  const std::string expected = answer.Text;
  ask->Ret.send(std::move(answer));
  auto reply = reply_rx.receive_for(10s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->Text, expected);
}

TEST(NetSession, TypedEndsAndAddresses) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  EXPECT_EQ(p.client.peer_address(), p.listener.local_address());
  EXPECT_EQ(p.server.peer_address(), p.client.local_address());
  EXPECT_EQ(p.client.peer_identity(), "");
  ASSERT_NO_FATAL_FAILURE(ask_and_answer(p, "ping", {"pong", 200}));
  EXPECT_EQ(p.client.dialect(), libchan::Dialect::v0_2);
  EXPECT_EQ(p.server.dialect(), libchan::Dialect::v0_2);  // detected
}

TEST(NetSession, DialectV01IsDetectedByTheListener) {
  libchan::SessionOptions o;
  o.dialect = libchan::Dialect::v0_1;
  net_test::session_pair p("tcp://127.0.0.1:0", o);
  ASSERT_NO_FATAL_FAILURE(ask_and_answer(p, "v0.1", {"ok", 1}));
  EXPECT_EQ(p.client.dialect(), libchan::Dialect::v0_1);
  EXPECT_EQ(p.server.dialect(), libchan::Dialect::v0_1);
}

TEST(NetSession, AsyncFormsWithCallbacksAndFutures) {
  auto l = libchan::listen("tcp://127.0.0.1:0");
  std::promise<libchan::Session> accepted;
  l.async_accept([&](std::error_code ec, libchan::Session s) {
    EXPECT_FALSE(ec);
    accepted.set_value(std::move(s));
  });
  std::promise<libchan::Session> dialed;
  libchan::async_dial(l.local_address(), {}, [&](std::error_code ec, libchan::Session s) {
    EXPECT_FALSE(ec);
    dialed.set_value(std::move(s));
  });
  auto fa = accepted.get_future();
  auto fd = dialed.get_future();
  ASSERT_EQ(fa.wait_for(10s), std::future_status::ready);
  ASSERT_EQ(fd.wait_for(10s), std::future_status::ready);
  auto server = fa.get();
  auto client = fd.get();
  std::promise<libchan::Receiver<>> incoming;
  server.async_accept_receiver(
      [&](std::error_code, libchan::Receiver<> r) { incoming.set_value(std::move(r)); });
  auto tx = client.open_sender();
  auto fr = incoming.get_future();
  ASSERT_EQ(fr.wait_for(10s), std::future_status::ready);
  auto rx = fr.get();
  ASSERT_TRUE(rx);
  // At the end of the session, the async accept completes with an empty end.
  std::promise<bool> end;
  server.async_accept_receiver(
      [&](std::error_code ec, libchan::Receiver<> r) { end.set_value(!ec && !r); });
  client.close();
  auto fe = end.get_future();
  ASSERT_EQ(fe.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(fe.get());
}

TEST(NetSession, AsyncDialFailureReachesTheHandler) {
  std::promise<std::error_code> result;
  libchan::async_dial("nope://x", {},
                      [&](std::error_code ec, libchan::Session) { result.set_value(ec); });
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(f.get(), libchan::errc::invalid_argument);
}

TEST(NetSession, BlockingCallsOnAnIoThreadFailInsteadOfDeadlocking) {
  net_test::session_pair p("tcp://127.0.0.1:0");
  std::promise<std::pair<std::error_code, std::string>> result;
  std::promise<std::error_code> accept_result;
  // on_close callbacks run on the session's io thread.
  p.client.on_close([&](std::error_code) {
    std::error_code ec;
    p.server.accept_receiver(ec);
    accept_result.set_value(ec);
    result.set_value(thrown([&] { p.listener.accept(); }));
  });
  p.client.close();
  auto f = result.get_future();
  ASSERT_EQ(f.wait_for(10s), std::future_status::ready);
  auto [code, what] = f.get();
  EXPECT_EQ(code, libchan::errc::invalid_argument);
  EXPECT_THAT(what, HasSubstr("blocking call on an io thread would deadlock"));
  EXPECT_EQ(accept_result.get_future().get(), libchan::errc::invalid_argument);
}

TEST(NetSession, UsersOwnIoContext) {
  boost::asio::io_context ctx;
  libchan::SessionOptions o;
  o.io_context = &ctx;
  auto l = libchan::listen("tcp://127.0.0.1:0", o);
  std::thread runner([&] { ctx.run(); });
  {
    auto client = libchan::dial(l.local_address(), o);
    std::error_code ec;
    auto server = l.accept_for(10s, ec);
    ASSERT_TRUE(server) << ec.message();
    auto tx = client.open_sender();
    auto rx = server.accept_receiver_for(10s, ec);
    ASSERT_TRUE(rx);
    tx.send(libchan::make_map("Seq", 5));
    EXPECT_EQ(rx.receive_for(10s)->find("Seq")->as_int(), 5);
    // A blocking call from a thread running the user's io_context is refused.
    std::promise<std::error_code> refused;
    boost::asio::post(ctx, [&] {
      std::error_code e;
      server.accept_receiver_for(1s, e);
      refused.set_value(e);
    });
    EXPECT_EQ(refused.get_future().get(), libchan::errc::invalid_argument);
  }
  l.close();
  ctx.stop();
  runner.join();
}

TEST(NetOptions, DefaultLimitsAreTheEngines) {
  libchan::SessionLimits pub;
  libchan::detail::engine::limits eng;
  libchan::detail::session::options ses;
  EXPECT_EQ(pub.max_frame_size, eng.max_frame_size);
  EXPECT_EQ(pub.max_send_frame, eng.max_send_frame);
  EXPECT_EQ(pub.max_header_block, eng.max_header_block);
  EXPECT_EQ(pub.max_header_block_decompressed, eng.max_header_block_decompressed);
  EXPECT_EQ(pub.max_concurrent_streams, eng.max_concurrent_streams);
  EXPECT_EQ(pub.max_unconsumed, eng.max_unconsumed);
  EXPECT_EQ(pub.initial_window, eng.initial_window);
  EXPECT_EQ(pub.max_output_queue, eng.max_output_queue);
  EXPECT_EQ(pub.max_pending_refs, ses.max_pending_refs);
  EXPECT_EQ(pub.accept_backlog, ses.accept_backlog);
  EXPECT_EQ(pub.max_fds_per_message, ses.max_fds_per_message);
  EXPECT_EQ(pub.max_unclaimed_fds, ses.max_unclaimed_fds);
  EXPECT_EQ(pub.max_queued_fds, ses.max_queued_fds);
  EXPECT_EQ(pub.max_buffered_fds, ses.max_buffered_fds);
  EXPECT_EQ(pub.codec.max_message_size, ses.codec.max_message_size);
  EXPECT_EQ(libchan::SessionOptions::default_keepalive_timeout,
            libchan::detail::engine::options{}.keepalive_timeout);
}

TEST(NetRegistry, AnExplicitRegistryDecidesWhatCanBeDialed) {
  auto reg = libchan::TransportRegistry::defaults();
  EXPECT_EQ(reg.schemes(), (std::vector<std::string>{"tcp", "tls", "unix", "ws", "wss"}));
  libchan::TransportRegistry only_unix;
  only_unix.add("unix", reg.find("unix"));
  std::error_code ec;
  libchan::dial(only_unix, "tcp://127.0.0.1:1", {}, ec);
  EXPECT_EQ(ec, libchan::errc::invalid_argument);
  auto [code, what] = thrown([&] { libchan::dial(only_unix, "tcp://127.0.0.1:1"); });
  EXPECT_THAT(what, HasSubstr("unsupported scheme 'tcp' (known: unix)"));
  // A new scheme for an existing transport.
  reg.add("tcp4", reg.find("tcp"));
  auto l = libchan::listen(reg, "tcp4://127.0.0.1:0");
  auto port = l.local_address().substr(l.local_address().rfind(':'));
  auto s = libchan::dial(reg, "tcp4://127.0.0.1" + port);
  EXPECT_TRUE(s);
  EXPECT_TRUE(reg.remove("tcp4"));
  EXPECT_FALSE(reg.remove("tcp4"));
  EXPECT_THROW(reg.add("Bad Scheme", reg.find("tcp")), libchan::Error);
  EXPECT_THROW(reg.add("x", nullptr), libchan::Error);
}

TEST(NetSession, EmptyHandles) {
  libchan::Session s;
  std::error_code ec;
  s.open_sender(ec);
  EXPECT_EQ(ec, libchan::errc::empty_handle);
  s.accept_receiver(ec);
  EXPECT_EQ(ec, libchan::errc::empty_handle);
  EXPECT_TRUE(s.closed());
  s.close();
  libchan::Listener l;
  l.accept(ec);
  EXPECT_EQ(ec, libchan::errc::empty_handle);
}

}  // namespace
