// tls://: mutual authentication with PEM files and PEM text, the peer's
// identity, the errors a refused handshake gives (the listener serving on
// after each), a peer that is not TLS or says nothing, interoperation with
// `openssl s_client`, a bulk transfer and descriptor hygiene.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <future>

#include "io/diagnostics.hpp"
#include "net/net_support.hpp"
#include "support/test_certs.hpp"

namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

const test_certs::test_pki& pki() { return test_certs::pki(); }

// Makes `id` the certificate that side `o` presents.
void present(libchan::SessionOptions& o, const test_certs::identity& id) {
  o.tls.certificate_pem = id.certificate;
  o.tls.private_key_pem = id.private_key;
}

libchan::SessionOptions server_options(const test_certs::identity& id = pki().server) {
  libchan::SessionOptions o;
  present(o, id);
  o.tls.ca_pem = pki().ca.certificate;
  o.tls.require_client_certificate = true;
  return o;
}

libchan::SessionOptions client_options() {
  libchan::SessionOptions o;
  present(o, pki().client);
  o.tls.ca_pem = pki().ca.certificate;
  return o;
}

std::uint16_t port_of(const std::string& url) {
  return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

// A message from a freshly dialed session to the one accepted.
void expect_serves(libchan::Listener& listener,
                   const libchan::SessionOptions& options = client_options()) {
  auto client = libchan::dial(listener.local_address(), options);
  std::error_code ec;
  auto server = listener.accept_for(10s, ec);
  ASSERT_TRUE(server) << ec.message();
  auto tx = client.open_sender();
  tx.send(libchan::make_map("Text", "still here"));
  auto rx = server.accept_receiver_for(10s, ec);
  ASSERT_TRUE(rx) << ec.message();
  auto v = rx.receive_for(10s);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->find("Text")->as_string(), "still here");
  EXPECT_EQ(server.peer_identity(), pki().client_subject);
}

struct dial_result {
  std::error_code ec;
  std::string what;
};

dial_result dial_error(const std::string& url, const libchan::SessionOptions& options) {
  try {
    libchan::dial(url, options);
  } catch (const std::system_error& e) {
    return {e.code(), e.what()};
  }
  return {};
}

// A plain TCP socket to 127.0.0.1:port whose reads give up after `timeout`.
int raw_connect(std::uint16_t port, std::chrono::milliseconds timeout = 5s) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until the peer closes (true) or the read timeout passes (false).
bool closed_by_peer(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) continue;  // e.g. a TLS alert before the end
    if (n == 0) return true;
    if (errno == EINTR) continue;
    return errno != EAGAIN && errno != EWOULDBLOCK;  // a reset is a close too
  }
}

TEST(NetTls, MutualAuthWithPemText) {
  net_test::session_pair p("tls://127.0.0.1:0", client_options(), server_options());
  EXPECT_THAT(p.listener.local_address(), ::testing::StartsWith("tls://127.0.0.1:"));
  EXPECT_THAT(p.client.peer_address(), ::testing::StartsWith("tls://127.0.0.1:"));
  EXPECT_EQ(p.client.peer_address(), p.listener.local_address());
  EXPECT_EQ(p.server.peer_address(), p.client.local_address());
  EXPECT_EQ(p.server.peer_identity(), pki().client_subject);
  EXPECT_EQ(p.client.peer_identity(), pki().server_subject);

  auto [tx, rx] = p.channel();
  tx.send(libchan::make_map("Text", "over tls"));
  auto v = rx.receive_for(10s);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->find("Text")->as_string(), "over tls");
}

TEST(NetTls, MutualAuthWithPemFilesAndAHostName) {
  test_certs::pki_files files;
  libchan::SessionOptions server;
  server.tls.certificate_file = files.server_certificate;
  server.tls.private_key_file = files.server_key;
  server.tls.ca_file = files.ca;
  server.tls.require_client_certificate = true;
  libchan::SessionOptions client;
  client.tls.certificate_file = files.client_certificate;
  client.tls.private_key_file = files.client_key;
  client.tls.ca_file = files.ca;
  client.tls.min_version = libchan::TlsOptions::Version::tls1_3;

  auto listener = libchan::listen("tls://127.0.0.1:0", server);
  // By name: checked against the certificate's DNS:localhost.
  auto session =
      libchan::dial("tls://localhost:" + std::to_string(port_of(listener.local_address())), client);
  std::error_code ec;
  auto accepted = listener.accept_for(10s, ec);
  ASSERT_TRUE(accepted) << ec.message();
  EXPECT_EQ(accepted.peer_identity(), pki().client_subject);
  EXPECT_EQ(session.peer_identity(), pki().server_subject);
}

TEST(NetTls, WithoutClientCertificatesNeitherSideHasAnIdentityToShowButTheServer) {
  auto server = server_options();
  server.tls.require_client_certificate = false;
  libchan::SessionOptions client;
  client.tls.ca_pem = pki().ca.certificate;
  net_test::session_pair p("tls://127.0.0.1:0", client, server);
  EXPECT_EQ(p.server.peer_identity(), "");
  EXPECT_EQ(p.client.peer_identity(), pki().server_subject);
}

TEST(NetTls, OptionErrorsNameTheOption) {
  libchan::SessionOptions none;
  std::error_code ec;
  libchan::listen("tls://127.0.0.1:0", none, ec);
  EXPECT_EQ(ec, libchan::errc::invalid_argument);
  try {
    libchan::listen("tls://127.0.0.1:0", none);
    ADD_FAILURE() << "listen without a certificate succeeded";
  } catch (const std::system_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("a listener needs certificate and private key"));
  }
  auto missing = server_options();
  missing.tls.certificate_pem.clear();
  missing.tls.certificate_file = "/nonexistent/server.pem";
  try {
    libchan::listen("tls://127.0.0.1:0", missing);
    ADD_FAILURE() << "listen with a missing file succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), libchan::errc::invalid_argument);
    EXPECT_THAT(e.what(), HasSubstr("cannot read certificate file '/nonexistent/server.pem'"));
  }
  auto mismatched = server_options();
  mismatched.tls.private_key_pem = pki().client.private_key;
  try {
    libchan::listen("tls://127.0.0.1:0", mismatched);
    ADD_FAILURE() << "listen with another certificate's key succeeded";
  } catch (const std::system_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("does not belong to"));
  }
  auto r = dial_error("tls://127.0.0.1", client_options());
  EXPECT_EQ(r.ec, libchan::errc::invalid_argument);
  EXPECT_THAT(r.what, HasSubstr("tls URL needs host:port"));
}

// Each refused handshake fails the dial with errc::auth_failed and words
// naming the cause; the listener goes on serving.
struct Refused {
  std::string name;
  std::function<void(libchan::SessionOptions& client, libchan::SessionOptions& server)> setup;
  std::string url_host = "127.0.0.1";
  std::vector<std::string> words;
  std::vector<std::string> any_of = {};  // one of these too, if any
};

class NetTlsRefused : public ::testing::TestWithParam<Refused> {};

TEST_P(NetTlsRefused, DialFailsClearlyAndTheListenerServesOn) {
  auto client = client_options();
  auto server = server_options();
  GetParam().setup(client, server);
  auto listener = libchan::listen("tls://127.0.0.1:0", server);
  auto port = std::to_string(port_of(listener.local_address()));
  auto url = "tls://" + GetParam().url_host + ":" + port;
  auto r = dial_error(url, client);
  EXPECT_EQ(r.ec, libchan::errc::auth_failed) << r.what;
  EXPECT_THAT(r.what, HasSubstr("tls handshake with " + url + " failed"));
  for (auto& w : GetParam().words) EXPECT_THAT(r.what, HasSubstr(w));
  if (!GetParam().any_of.empty()) {
    bool found = false;
    for (auto& w : GetParam().any_of) found = found || r.what.find(w) != std::string::npos;
    EXPECT_TRUE(found) << r.what;
  }
  std::error_code ec;
  EXPECT_FALSE(listener.accept_for(200ms, ec)) << "a refused client got a session";

  if (GetParam().name == "expired_certificate" || GetParam().name == "unknown_server_ip") {
    // The listener's own certificate is the problem: serving on is seen by a
    // client that does not check it.
    client.tls.verify_peer = false;
    expect_serves(listener, client);
    return;
  }
  expect_serves(listener);
}

TEST(NetTls, TheListenerReportsARefusedClient) {
  auto listener = libchan::listen("tls://127.0.0.1:0", server_options());
  std::promise<std::pair<std::error_code, std::string>> refused;
  std::atomic<int> calls{0};
  listener.on_refused([&](std::error_code ec, const std::string& detail) {
    if (calls++ == 0) refused.set_value({ec, detail});
  });
  auto client = client_options();
  client.tls.certificate_pem.clear();
  client.tls.private_key_pem.clear();
  auto url = "tls://127.0.0.1:" + std::to_string(port_of(listener.local_address()));
  EXPECT_EQ(dial_error(url, client).ec, libchan::errc::auth_failed);
  auto reported = refused.get_future();
  ASSERT_EQ(reported.wait_for(10s), std::future_status::ready) << "no report of the refusal";
  auto [ec, detail] = reported.get();
  EXPECT_TRUE(ec);
  EXPECT_THAT(detail, HasSubstr("tls handshake with tls://127.0.0.1:"));
  EXPECT_THAT(detail, HasSubstr("did not return a certificate"));
  expect_serves(listener);
}

INSTANTIATE_TEST_SUITE_P(
    Causes, NetTlsRefused,
    ::testing::Values(Refused{"wrong_ca",
                              [](auto& c, auto&) { c.tls.ca_pem = pki().other_ca.certificate; },
                              "127.0.0.1",
                              {"certificate verify failed"},
                              // The listener sends its CA along: either is right.
                              {"(self-signed certificate in certificate chain)",
                               "(unable to get local issuer certificate)"}},
                      Refused{"no_client_certificate",
                              [](auto& c, auto&) {
                                c.tls.certificate_pem.clear();
                                c.tls.private_key_pem.clear();
                              },
                              "127.0.0.1",
                              {"certificate required"}},
                      Refused{"client_certificate_from_another_ca",
                              [](auto& c, auto&) {
                                test_certs::cert_spec spec;
                                spec.common_name = "intruder";
                                spec.client_auth = true;
                                present(c, test_certs::issue(pki().other_ca, spec));
                              },
                              "127.0.0.1",
                              {"the peer refused our certificate"}},
                      Refused{"hostname_mismatch",
                              [](auto& c, auto&) { c.tls.server_name = "wrong.example"; },
                              "127.0.0.1",
                              {"hostname mismatch", "wrong.example"}},
                      Refused{"unknown_server_ip",
                              [](auto&, auto& s) {
                                test_certs::cert_spec spec;
                                spec.common_name = "named.example";
                                spec.dns_names = {"named.example"};
                                spec.server_auth = true;
                                present(s, test_certs::issue(pki().ca, spec));
                              },
                              "127.0.0.1",
                              {"IP address mismatch"}},
                      Refused{"expired_certificate",
                              [](auto&, auto& s) { present(s, pki().expired_server); },
                              "localhost",
                              {"certificate has expired"}}),
    [](const ::testing::TestParamInfo<Refused>& cause) { return cause.param.name; });

TEST(NetTls, VerifyPeerOffAcceptsAnyServerForTests) {
  auto client = client_options();
  client.tls.ca_pem = pki().other_ca.certificate;
  client.tls.server_name = "wrong.example";
  client.tls.verify_peer = false;
  net_test::session_pair p("tls://127.0.0.1:0", client, server_options());
  EXPECT_EQ(p.client.peer_identity(), "");  // nothing was verified
  EXPECT_EQ(p.server.peer_identity(), pki().client_subject);
}

TEST(NetTls, PlaintextDialerGetsAnEndAndTheListenerServesOn) {
  auto server = server_options();
  // SPDY's first bytes read as the header of a long TLS record: the
  // listener waits for the rest until the handshake deadline.
  server.connect_timeout = 1s;
  auto listener = libchan::listen("tls://127.0.0.1:0", server);
  auto plain =
      libchan::dial("tcp://127.0.0.1:" + std::to_string(port_of(listener.local_address())));
  std::error_code ec;
  auto tx = plain.open_sender(ec);
  if (!ec) tx.send(libchan::make_map("Text", "plaintext"), ec);
  EXPECT_TRUE(net_test::eventually([&] { return plain.closed(); }, 10s))
      << "the plaintext session did not end";
  expect_serves(listener);
}

TEST(NetTls, GarbageInsteadOfAClientHelloIsDropped) {
  auto listener = libchan::listen("tls://127.0.0.1:0", server_options());
  int fd = raw_connect(port_of(listener.local_address()));
  ASSERT_GE(fd, 0);
  std::string garbage = "GET / HTTP/1.1\r\nHost: nowhere\r\n\r\n";
  for (int i = 0; i < 64; ++i) garbage += static_cast<char>(i * 37);
  ASSERT_EQ(::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(garbage.size()));
  EXPECT_TRUE(closed_by_peer(fd)) << "the listener kept a connection that sent garbage";
  ::close(fd);
  expect_serves(listener);
}

TEST(NetTls, SilentClientBlocksNobodyAndIsDroppedAtTheDeadline) {
  auto server = server_options();
  server.connect_timeout = 500ms;
  auto listener = libchan::listen("tls://127.0.0.1:0", server);
  int silent = raw_connect(port_of(listener.local_address()), 10s);
  ASSERT_GE(silent, 0);
  auto start = std::chrono::steady_clock::now();
  expect_serves(listener);  // accepted while the silent one waits
  EXPECT_TRUE(closed_by_peer(silent)) << "the silent connection was not closed";
  // Not before its deadline (measured from after it connected: a lower bound).
  EXPECT_GE(std::chrono::steady_clock::now() - start, 400ms);
  ::close(silent);
}

// A program run with its stdin a pipe kept open until close_input(), its
// output (stdout and stderr) collected; killed with the object if running.
class child_process {
 public:
  explicit child_process(std::vector<std::string> args) {
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return;
    if (::pipe2(out, O_CLOEXEC) != 0) {
      ::close(in[0]);
      ::close(in[1]);
      return;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, out[1], 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = ::posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    in_ = in[1];
    out_ = out[0];
    if (rc != 0) {
      pid_ = -1;
      output = "cannot run " + args[0] + ": " + std::strerror(rc);
    }
  }
  ~child_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
    close_input();
  }

  /// The program reads the end of its input.
  void close_input() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }

  /// Reads output until it holds `needle` (true), the end, or the timeout.
  bool read_until(const std::string& needle, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (output.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms || out_ < 0) return false;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      ssize_t n = ::read(out_, buf, sizeof buf);
      if (n <= 0) {
        ::close(out_);
        out_ = -1;
        return false;
      }
      output.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Waits for the end of its output and its exit; false after `timeout`.
  bool finish(std::chrono::milliseconds timeout) {
    read_until(std::string(1, '\0') + "never printed", timeout);
    if (out_ >= 0 || pid_ <= 0) return false;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return true;
  }

  std::string output;
  int status = -1;

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1;
};

TEST(NetTls, OpensslSClientCompletesAMutualHandshake) {
  test_certs::pki_files files;
  auto listener = libchan::listen("tls://127.0.0.1:0", server_options());
  auto connect = "127.0.0.1:" + std::to_string(port_of(listener.local_address()));
  for (const char* version : {"-tls1_3", "-tls1_2"}) {
    SCOPED_TRACE(version);
    child_process r({"openssl", "s_client", version, "-connect", connect, "-CAfile", files.ca,
                     "-verify_ip", "127.0.0.1", "-verify_return_error", "-cert",
                     files.client_certificate, "-key", files.client_key, "-brief"});
    r.close_input();  // it leaves after the handshake
    ASSERT_TRUE(r.finish(20s)) << "openssl s_client did not finish:\n" << r.output;
    EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.output;
    EXPECT_THAT(r.output, HasSubstr("Verification: OK"));
    EXPECT_THAT(r.output, HasSubstr(std::string("Protocol version: TLSv1.") + version[6]));
    std::error_code ec;
    auto session = listener.accept_for(10s, ec);
    ASSERT_TRUE(session) << ec.message();
    EXPECT_EQ(session.peer_identity(), pki().client_subject);
  }
}

// `openssl s_server` requiring a client certificate and sending no session
// tickets: a TLS 1.3 dialer cannot learn that its certificate was accepted,
// goes on after a short wait, and still learns at once of a refusal.
class ticketless_server {
 public:
  explicit ticketless_server(const test_certs::pki_files& files)
      : process_({"openssl", "s_server", "-accept", "127.0.0.1:0", "-naccept", "1", "-cert",
                  files.server_certificate, "-key", files.server_key, "-CAfile", files.ca,
                  "-Verify", "2", "-verify_return_error", "-num_tickets", "0"}) {}
  // "tls://127.0.0.1:port" once it listens, or empty.
  std::string url() {
    if (!process_.read_until("ACCEPT ", 10s) || !process_.read_until("\n", 10s)) return {};
    auto at = process_.output.find("ACCEPT ") + 7;
    return "tls://" + process_.output.substr(at, process_.output.find('\n', at) - at);
  }
  child_process& process() { return process_; }

 private:
  child_process process_;
};

TEST(NetTls, DialingAServerThatSendsNoTicketsStillWorks) {
  test_certs::pki_files files;
  ticketless_server server(files);
  auto url = server.url();
  ASSERT_FALSE(url.empty()) << server.process().output;
  std::error_code ec;
  auto session = libchan::dial(url, client_options(), ec);
  ASSERT_TRUE(session) << ec.message();
  EXPECT_EQ(session.peer_identity(), pki().server_subject);
}

TEST(NetTls, AServerThatSendsNoTicketsStillRefusesClearly) {
  test_certs::pki_files files;
  ticketless_server server(files);
  auto url = server.url();
  ASSERT_FALSE(url.empty()) << server.process().output;
  auto client = client_options();
  client.tls.certificate_pem.clear();
  client.tls.private_key_pem.clear();
  auto r = dial_error(url, client);
  EXPECT_EQ(r.ec, libchan::errc::auth_failed) << r.what;
  EXPECT_THAT(r.what, HasSubstr("certificate required"));
}

// A bare OpenSSL client on a blocking socket, with the test client's
// certificate; reads give up after 5 s.
class openssl_client {
 public:
  explicit openssl_client(std::uint16_t port) : fd_(raw_connect(port)) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    auto load = [](const std::string& pem) {
      BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
      X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
      BIO_free(bio);
      return cert;
    };
    X509* ca = load(pki().ca.certificate);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
    X509_free(ca);
    X509* cert = load(pki().client.certificate);
    SSL_CTX_use_certificate(ctx_, cert);
    X509_free(cert);
    BIO* bio = BIO_new_mem_buf(pki().client.private_key.data(),
                               static_cast<int>(pki().client.private_key.size()));
    EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    SSL_CTX_use_PrivateKey(ctx_, key);
    EVP_PKEY_free(key);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set1_host(ssl_, "localhost");
  }
  ~openssl_client() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
    if (fd_ >= 0) ::close(fd_);
  }

  bool handshake() { return fd_ >= 0 && SSL_connect(ssl_) == 1; }
  // Reads until the end: SSL_ERROR_ZERO_RETURN means a close_notify came.
  int read_to_end() {
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_, buf, sizeof buf)) > 0) {
    }
    return SSL_get_error(ssl_, n);
  }
  SSL* ssl() { return ssl_; }
  int fd() { return fd_; }

 private:
  int fd_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

// The session `listener` accepts from `peer`, once the peer's handshake is done.
void accept_handshaken(libchan::Listener& listener, openssl_client& peer,
                       libchan::Session& session) {
  ASSERT_TRUE(peer.handshake());
  std::error_code ec;
  session = listener.accept_for(10s, ec);
  ASSERT_TRUE(session) << ec.message();
}

TEST(NetTls, ClosingSendsCloseNotifyAndEndsWithoutThePeersAnswer) {
  auto listener = libchan::listen("tls://127.0.0.1:0", server_options());
  openssl_client peer(port_of(listener.local_address()));
  libchan::Session session;
  ASSERT_NO_FATAL_FAILURE(accept_handshaken(listener, peer, session));
  EXPECT_EQ(session.peer_identity(), pki().client_subject);
  session.close();
  EXPECT_EQ(peer.read_to_end(), SSL_ERROR_ZERO_RETURN) << "no close_notify before the end";
  // The peer never answers: the connection is closed all the same.
  EXPECT_TRUE(closed_by_peer(peer.fd()));
}

TEST(NetTls, ThePeersCloseNotifyEndsTheSession) {
  auto listener = libchan::listen("tls://127.0.0.1:0", server_options());
  openssl_client peer(port_of(listener.local_address()));
  libchan::Session session;
  ASSERT_NO_FATAL_FAILURE(accept_handshaken(listener, peer, session));
  ASSERT_GE(SSL_shutdown(peer.ssl()), 0);
  EXPECT_TRUE(net_test::eventually([&] { return session.closed(); }, 10s));
  EXPECT_EQ(peer.read_to_end(), SSL_ERROR_ZERO_RETURN) << "no close_notify in answer";
}

TEST(NetTls, HandshakeWithASilentServerTimesOut) {
  int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(server, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(server, 4), 0);  // the kernel accepts; nobody answers
  ASSERT_EQ(::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto client = client_options();
  client.connect_timeout = 300ms;
  auto url = "tls://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  auto r = dial_error(url, client);
  EXPECT_EQ(r.ec, libchan::errc::timed_out) << r.what;
  EXPECT_THAT(r.what, HasSubstr("tls handshake with " + url + " timed out"));
  ::close(server);
}

TEST(NetTls, DialingAPlainListenerFailsClearly) {
  auto plain = libchan::listen("tcp://127.0.0.1:0");
  auto url = "tls://127.0.0.1:" + std::to_string(port_of(plain.local_address()));
  auto client = client_options();
  // The listener may take the ClientHello for the start of a long SPDY frame
  // and wait for the rest: then the dial ends at its deadline.
  client.connect_timeout = 500ms;
  auto r = dial_error(url, client);
  EXPECT_TRUE(r.ec == libchan::errc::timed_out || r.ec == libchan::errc::protocol_error ||
              r.ec == libchan::errc::disconnected)
      << r.ec.message() << ": " << r.what;
  EXPECT_THAT(r.what, HasSubstr("tls handshake with " + url));
}

TEST(NetTls, SixteenMiBThroughOneStream) {
  net_test::session_pair p("tls://127.0.0.1:0", client_options(), server_options());
  net_test::expect_stream_transfer(p, 16u << 20, 120s, 100u << 10);  // not a multiple of a record
}

TEST(NetTls, NothingLeaks) {
  // The io pool's own descriptors come with the first session and stay.
  { net_test::session_pair warm_up("tls://127.0.0.1:0", client_options(), server_options()); }
  ASSERT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }));
  int fds = net_test::fd_count();
  for (int i = 0; i < 6; ++i) {
    net_test::session_pair p("tls://127.0.0.1:0", client_options(), server_options());
    auto [tx, rx] = p.channel();
    tx.send(libchan::make_map("Seq", i));
    ASSERT_TRUE(rx.receive_for(10s));
    if (i % 2) p.server.close();  // either side may end it
    // A refused dial on the same listener.
    auto wrong = client_options();
    wrong.tls.ca_pem = pki().other_ca.certificate;
    EXPECT_EQ(dial_error(p.listener.local_address(), wrong).ec, libchan::errc::auth_failed);
  }
  EXPECT_TRUE(net_test::eventually([] { return libchan::detail::io::live_drivers() == 0; }))
      << libchan::detail::io::live_drivers() << " session drivers still alive";
  EXPECT_TRUE(net_test::eventually([&] { return net_test::fd_count() <= fds; }))
      << net_test::fd_count() << " descriptors open, " << fds << " before";
}

}  // namespace
