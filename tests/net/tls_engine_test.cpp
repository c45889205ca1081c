// The TLS engine without sockets: a client and a server engine joined in
// memory, with the generated test certificates.
#include "transports/tls_engine.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cstring>
#include <numeric>
#include <string>

#include "support/tls_options.hpp"
#include "transports/tls_context.hpp"

namespace {

using libchan::detail::io::failure;
using libchan::detail::io::tls::engine;
namespace tls = libchan::detail::io::tls;

// Moves what `from` has written into `to`'s input, `step` bytes at a time
// (each step a separate "socket read"); returns how many bytes moved.
std::size_t deliver(engine& from, engine& to, std::size_t step = SIZE_MAX) {
  auto& out = from.output();
  std::size_t moved = 0;
  while (moved < out.size()) {
    std::size_t n = std::min(step, out.size() - moved);
    auto space = to.input_space(n);
    std::memcpy(space.data(), out.data() + moved, n);
    to.input_added(n);
    moved += n;
  }
  out.clear();
  return moved;
}

struct TlsEngine : ::testing::Test {
  TlsEngine() {
    failure err;
    server_ctx = tls::make_context(test_certs::mutual_auth_server().tls, tls::side::server, err);
    client_ctx = tls::make_context(test_certs::with_identity(test_certs::pki().client).tls,
                                   tls::side::client, err);
    EXPECT_FALSE(err) << err.what;
    server = std::make_unique<engine>(server_ctx->native_handle());
    client = std::make_unique<engine>(client_ctx->native_handle());
    libchan::TlsOptions names;
    EXPECT_FALSE(tls::prepare_client(client->native(), names, "localhost"));
  }

  // Runs both handshakes to their end through memory.
  void handshake() {
    for (int round = 0; round < 10; ++round) {
      auto c = client->handshake(engine::role::client);
      ASSERT_FALSE(c.ec) << c.ec.message();
      deliver(*client, *server);
      auto s = server->handshake(engine::role::server);
      ASSERT_FALSE(s.ec) << s.ec.message();
      deliver(*server, *client);
      if (client->handshake_done() && server->handshake_done()) return;
    }
    FAIL() << "the handshake did not end";
  }

  std::string read_all(engine& e, std::size_t size) {
    std::string got(size, '\0');
    auto o = e.read(got);
    EXPECT_FALSE(o.ec) << o.ec.message();
    got.resize(o.bytes);
    return got;
  }

  tls::context_ptr server_ctx, client_ctx;
  std::unique_ptr<engine> server, client;
};

TEST_F(TlsEngine, MutualHandshakeShowsEachSideThePeersIdentity) {
  handshake();
  EXPECT_EQ(tls::peer_identity(server->native()), test_certs::pki().client_subject);
  EXPECT_EQ(tls::peer_identity(client->native()), test_certs::pki().server_subject);
}

TEST_F(TlsEngine, OneWriteMakesManyRecordsAndOneReadTakesThemAll) {
  handshake();
  std::string data(1 << 20, '\0');
  std::iota(data.begin(), data.end(), '\0');
  auto w = client->write(data);
  ASSERT_FALSE(w.ec);
  EXPECT_EQ(w.bytes, data.size());
  // More than 64 records of at most 16 KiB, all in one buffer.
  EXPECT_GT(client->output().size(), data.size() + 64 * 16);
  deliver(*client, *server);
  std::string got = read_all(*server, 2 * data.size());
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
  auto again = server->read(got);
  EXPECT_TRUE(again.want_input);
  EXPECT_EQ(again.bytes, 0u);
}

TEST_F(TlsEngine, APartialRecordWaitsForItsRest) {
  handshake();
  ASSERT_FALSE(server->write(std::string(40000, 'x')).ec);
  auto& out = server->output();
  std::string first(out.begin(), out.begin() + 100);  // a record's start only
  std::string rest(out.begin() + 100, out.end());
  out.clear();
  auto space = client->input_space(first.size());
  std::memcpy(space.data(), first.data(), first.size());
  client->input_added(first.size());
  std::string buffer(64 * 1024, '\0');
  auto o = client->read(buffer);
  EXPECT_TRUE(o.want_input);
  EXPECT_EQ(o.bytes, 0u);
  // The rest arrives a few bytes at a time; the whole comes out.
  std::size_t total = 0;
  for (std::size_t at = 0; at < rest.size(); at += 997) {
    std::size_t n = std::min<std::size_t>(997, rest.size() - at);
    auto more = client->input_space(n);
    std::memcpy(more.data(), rest.data() + at, n);
    client->input_added(n);
    auto r = client->read(buffer);
    ASSERT_FALSE(r.ec);
    total += r.bytes;
  }
  EXPECT_EQ(total, 40000u);
}

TEST_F(TlsEngine, CloseNotifyIsTheEndAfterTheData) {
  handshake();
  ASSERT_FALSE(client->write(std::string("bye")).ec);
  client->close_notify();
  client->close_notify();  // once only
  deliver(*client, *server);
  EXPECT_EQ(read_all(*server, 100), "bye");
  std::string buffer(100, '\0');
  auto end = server->read(buffer);
  EXPECT_EQ(end.ec, boost::asio::error::eof);
  EXPECT_EQ(server->read(buffer).ec, boost::asio::error::eof);
}

TEST_F(TlsEngine, BytesBeforeABadRecordArriveThenTheErrorNamesIt) {
  handshake();
  ASSERT_FALSE(server->write(std::string("good")).ec);
  const std::size_t first = server->output().size();
  ASSERT_FALSE(server->write(std::string("tampered")).ec);
  server->output().back() ^= 0x01;  // the second record's tag
  ASSERT_GT(server->output().size(), first);
  deliver(*server, *client);
  std::string buffer(100, '\0');
  auto o = client->read(buffer);
  EXPECT_FALSE(o.ec);
  EXPECT_EQ(std::string(buffer.data(), o.bytes), "good");
  auto bad = client->read(buffer);
  EXPECT_EQ(bad.bytes, 0u);
  EXPECT_EQ(bad.ec.category(), boost::asio::error::get_ssl_category());
  EXPECT_NE(bad.ec.message().find("bad record mac"), std::string::npos) << bad.ec.message();
  EXPECT_EQ(client->read(buffer).ec, bad.ec);  // it stays failed
}

TEST_F(TlsEngine, AServerRefusesAClientWithoutACertificateWithAnAlert) {
  failure err;
  auto bare = tls::make_context(libchan::SessionOptions{}.tls, tls::side::client, err);
  ASSERT_TRUE(bare) << err.what;
  SSL_CTX_set_verify(bare->native_handle(), SSL_VERIFY_NONE, nullptr);
  client = std::make_unique<engine>(bare->native_handle());
  boost::system::error_code refused;
  for (int round = 0; round < 10 && !refused; ++round) {
    client->handshake(engine::role::client);
    deliver(*client, *server);
    auto s = server->handshake(engine::role::server);
    refused = s.ec;
    deliver(*server, *client);
  }
  ASSERT_TRUE(refused);
  auto f = tls::handshake_failure(refused, server->native(), "tls://peer");
  EXPECT_EQ(f.ec, libchan::errc::auth_failed) << f.what;
}

}  // namespace
