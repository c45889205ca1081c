// The rexec example as a user runs it: rexec-server and rexec-client as
// separate processes over real sockets, and our client against a server
// that answers with the bytes the Go rexec server sent (recorded).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>

#include "libchan/libchan.hpp"
#include "session/channel_session.hpp"
#include "support/test_certs.hpp"
#include "tools/tool_support.hpp"

namespace {

using tool_test::has_scheme;
using tool_test::Process;
using tool_test::run;
using namespace std::chrono_literals;

const std::string server_exe = LIBCHAN_REXEC_SERVER;
const std::string client_exe = LIBCHAN_REXEC_CLIENT;

// A rexec-server on a fresh address of the scheme under test.
class RexecTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string scheme = GetParam();
    if (!has_scheme(scheme)) GTEST_SKIP() << "no " << scheme << ":// transport in this build";
    std::vector<std::string> args = {"--listen"};
    if (scheme == "unix") {
      args.push_back("unix://" + dir_.file("rexec.sock"));
    } else {
      args.push_back(scheme + "://127.0.0.1:0");
    }
    if (scheme == "tls") {
      certs_ = std::make_unique<test_certs::pki_files>();
      args.insert(args.end(), {"--cert", certs_->server_certificate, "--key", certs_->server_key});
    }
    server_ = std::make_unique<Process>(server_exe, args);
    url_ = server_->stderr_line_after("listening on ", 10s);
    ASSERT_FALSE(url_.empty()) << "the server did not start: " << server_->err();
  }

  // rexec-client's arguments for running `command` on the server.
  std::vector<std::string> client(std::vector<std::string> command) {
    std::vector<std::string> args;
    if (certs_) args.insert(args.end(), {"--ca", certs_->ca});
    args.push_back(url_);
    args.insert(args.end(), command.begin(), command.end());
    return args;
  }

  tool_test::temp_dir dir_;
  std::unique_ptr<test_certs::pki_files> certs_;
  std::unique_ptr<Process> server_;
  std::string url_;
};

TEST_P(RexecTest, RunsACommand) {
  auto r = run(client_exe, client({"echo", "hello"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");
  EXPECT_EQ(r.err, "");
}

TEST_P(RexecTest, ExitsWithTheRemoteStatus) {
  auto r = run(client_exe, client({"sh", "-c", "exit 3"}));
  EXPECT_EQ(r.exit_code, 3) << r.err;
}

TEST_P(RexecTest, StreamsStdinToTheCommand) {
  std::string input;
  for (int i = 0; input.size() < (200u << 10); ++i) input += "line " + std::to_string(i) + "\n";
  auto r = run(client_exe, client({"cat"}), input);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out == input) << "got " << r.out.size() << " of " << input.size() << " bytes";
}

TEST_P(RexecTest, StdinIsInteractive) {
  Process c(client_exe, client({"sh", "-c", "read a; echo got $a; read b; echo got $b"}));
  ASSERT_TRUE(c.write("one\n"));
  // The answer comes while our stdin is still open.
  EXPECT_TRUE(c.wait_for_stdout("got one\n", 10s)) << c.err();
  ASSERT_TRUE(c.write("two\n"));
  EXPECT_TRUE(c.wait_for_stdout("got two\n", 10s)) << c.err();
  auto r = c.wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_P(RexecTest, KeepsStderrSeparate) {
  auto r = run(client_exe, client({"sh", "-c", "echo to-out; echo to-err >&2"}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "to-out\n");
  EXPECT_EQ(r.err, "to-err\n");
}

TEST_P(RexecTest, ReportsAMissingCommand) {
  auto r = run(client_exe, client({"no-such-command-for-rexec", "x"}));
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.err, "rexec-server: no-such-command-for-rexec: command not found\n");
  EXPECT_EQ(r.out, "");
}

TEST_P(RexecTest, ServesTwoClientsAtOnce) {
  const std::vector<std::string> command = {"sh", "-c", "echo ready; read x; echo got-$x"};
  Process a(client_exe, client(command));
  ASSERT_TRUE(a.wait_for_stdout("ready\n", 10s)) << a.err();
  // b runs and finishes while a's command waits for its input.
  Process b(client_exe, client(command));
  ASSERT_TRUE(b.write("b\n"));
  EXPECT_TRUE(b.wait_for_stdout("got-b\n", 10s)) << b.err();
  EXPECT_EQ(b.wait(10s).exit_code, 0);
  ASSERT_TRUE(a.write("a\n"));
  EXPECT_TRUE(a.wait_for_stdout("got-a\n", 10s)) << a.err();
  EXPECT_EQ(a.wait(10s).exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Schemes, RexecTest, ::testing::Values("tcp", "unix", "tls"),
                         [](const auto& param_info) { return param_info.param; });

TEST(RexecServer, ReportsAClientRefusedForItsCertificate) {
  if (!has_scheme("tls")) GTEST_SKIP() << "no tls:// transport in this build";
  test_certs::pki_files certs;
  // With --ca, the server requires client certificates; the client has none.
  Process server(server_exe, {"--listen", "tls://127.0.0.1:0", "--cert", certs.server_certificate,
                              "--key", certs.server_key, "--ca", certs.ca});
  auto url = server.stderr_line_after("listening on ", 10s);
  ASSERT_FALSE(url.empty()) << server.err();
  auto r = run(client_exe, {"--ca", certs.ca, url, "true"});
  EXPECT_NE(r.exit_code, 0) << r.err;
  auto why = server.stderr_line_after("refused a connection: ", 10s);
  EXPECT_NE(why.find("tls handshake with"), std::string::npos) << server.err();
}

TEST(RexecClient, ReportsAnUnreachableServer) {
  auto r = run(client_exe, {"tcp://127.0.0.1:1", "echo", "hi"});
  EXPECT_EQ(r.exit_code, 255);
  EXPECT_EQ(r.err.rfind("rexec-client: ", 0), 0u) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(RexecClient, ReportsUsageErrors) {
  for (std::vector<std::string> args : {std::vector<std::string>{},
                                        {"tcp://127.0.0.1:1"},
                                        {"--cert", "/nonexistent.pem", "x", "y"}}) {
    auto r = run(client_exe, args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.err.rfind("rexec-client: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

TEST(RexecClient, ReportsAServerLostMidCommand) {
  Process server(server_exe, {"--listen", "tcp://127.0.0.1:0"});
  auto url = server.stderr_line_after("listening on ", 10s);
  ASSERT_FALSE(url.empty()) << server.err();
  // cat ends by itself once the server, which holds its input, is gone.
  Process c(client_exe, {url, "sh", "-c", "echo started; exec cat"});
  ASSERT_TRUE(c.wait_for_stdout("started\n", 10s)) << c.err();
  ::kill(server.pid(), SIGKILL);
  auto r = c.wait(10s);
  EXPECT_EQ(r.exit_code, 255);
  EXPECT_EQ(r.err.rfind("rexec-client: ", 0), 0u) << r.err;
}

// ---- our client against the Go rexec server's recorded answers -----------

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Rewrites the stream ids of SPDY frames (DATA, and the control frames
// that name a stream) by `ids`.
std::string remap_streams(std::string bytes, const std::map<std::uint32_t, std::uint32_t>& ids) {
  auto u8 = [&](std::size_t i) { return static_cast<std::uint8_t>(bytes[i]); };
  for (std::size_t pos = 0; pos + 8 <= bytes.size();) {
    bool control = u8(pos) & 0x80;
    std::uint16_t type = static_cast<std::uint16_t>(u8(pos + 2) << 8 | u8(pos + 3));
    std::size_t length = u8(pos + 5) << 16 | u8(pos + 6) << 8 | u8(pos + 7);
    bool names_stream = !control || type == 1 || type == 2 || type == 3 || type == 8 || type == 9;
    std::size_t at = control ? pos + 8 : pos;
    if (names_stream && at + 4 <= bytes.size()) {
      std::uint32_t id = (u8(at) & 0x7F) << 24 | u8(at + 1) << 16 | u8(at + 2) << 8 | u8(at + 3);
      if (auto it = ids.find(id); it != ids.end()) {
        bytes[at] = static_cast<char>((bytes[at] & 0x80) | (it->second >> 24));
        bytes[at + 1] = static_cast<char>(it->second >> 16);
        bytes[at + 2] = static_cast<char>(it->second >> 8);
        bytes[at + 3] = static_cast<char>(it->second);
      }
    }
    pos += 8 + length;
  }
  return bytes;
}

struct quiet_hooks final : libchan::detail::session::driver_hooks {
  void on_activity() override {}
};

struct Recording {
  std::string folder;   // under captures/
  std::string dialect;  // rexec-client --dialect
  // The Go client happened to open its streams in another order than ours
  // (Go master's map order is random): recorded id -> our id.
  std::map<std::uint32_t, std::uint32_t> ids;
};

class RexecGoServer : public ::testing::TestWithParam<Recording> {};

// A TCP server that checks what our client sends (decoding it with our own
// session layer) and answers with what the Go server sent.
TEST_P(RexecGoServer, ClientGetsTheRecordedAnswer) {
  namespace session = libchan::detail::session;
  const auto& rec = GetParam();
  const std::string dir = std::string(LIBCHAN_TEST_DATA) + "/captures/" + rec.folder + "/";

  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(listener, 1), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string url = "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  Process client(client_exe,
                 {"--dialect", rec.dialect, url, "sh", "-c", "cat; echo err-text >&2; exit 3"});
  client.write(read_file(dir + "stdin.txt"));
  client.close_stdin();
  pollfd pfd{listener, POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 10000), 1) << client.err();
  int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ::close(listener);
  ASSERT_GE(conn, 0);

  session::options opts;
  opts.engine.side = libchan::detail::engine::role::acceptor;
  opts.engine.wire = libchan::detail::engine::dialect::detect;
  auto hooks = std::make_shared<quiet_hooks>();
  auto peer = session::channel_session::create(opts, hooks);
  std::thread reader([&] {
    std::vector<std::uint8_t> pending;
    std::uint8_t buffer[4096];
    for (;;) {
      ssize_t n = ::recv(conn, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      pending.insert(pending.end(), buffer, buffer + n);
      pending.erase(pending.begin(),
                    pending.begin() + static_cast<std::ptrdiff_t>(peer->feed(pending)));
    }
  });

  // The request, as the Go server would decode it.
  auto channel = peer->incoming().receive_for(10s);
  ASSERT_TRUE(channel && *channel) << client.err();
  auto request = channel->receive_for(10s);
  ASSERT_TRUE(request);
  ASSERT_TRUE(request->is_map());
  EXPECT_EQ(request->as_map().size(), 6u);
  EXPECT_EQ(request->find("Cmd")->as_string(), "sh");
  ASSERT_TRUE(request->find("Args") && request->find("Args")->is_array());
  EXPECT_EQ(request->find("Args")->as_array().size(), 2u);
  for (const char* key : {"Stdin", "Stdout", "Stderr"}) {
    ASSERT_TRUE(request->find(key)) << key;
    EXPECT_EQ(request->find(key)->kind(), libchan::Value::Kind::stream) << key;
  }
  ASSERT_TRUE(request->find("StatusChan"));
  EXPECT_EQ(request->find("StatusChan")->kind(), libchan::Value::Kind::sender);

  auto answer = remap_streams(read_file(dir + "server-to-client.bin"), rec.ids);
  ASSERT_EQ(::send(conn, answer.data(), answer.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(answer.size()));

  auto r = client.wait(10s);
  EXPECT_EQ(r.exit_code, std::stoi(read_file(dir + "client.rc"))) << r.err;
  EXPECT_EQ(r.out, read_file(dir + "client.stdout"));
  EXPECT_EQ(r.err, read_file(dir + "client.stderr"));
  ::shutdown(conn, SHUT_RDWR);
  reader.join();
  ::close(conn);
}

INSTANTIATE_TEST_SUITE_P(
    Recordings, RexecGoServer,
    ::testing::Values(
        // Go master: 3 Stdout, 5 Stderr, 7 StatusChan, 9 Stdin; ours follow the field order.
        Recording{"rexec-master", "v0.2", {{3, 5}, {5, 7}, {7, 9}, {9, 3}}},
        // Go v0.1.0 opens them in field order, as we do.
        Recording{"rexec-v01", "v0.1", {}}),
    [](const auto& param_info) { return param_info.param.dialect == "v0.1" ? "v0_1" : "v0_2"; });

}  // namespace
