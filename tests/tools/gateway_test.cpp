// chan-gateway as a user runs it: a real Redis behind the gateway, reached
// through the local forwarder by redis-cli and by raw sockets.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "libchan/libchan.hpp"
#include "support/test_certs.hpp"
#include "tools/tool_support.hpp"

namespace {

using tool_test::has_scheme;
using tool_test::Process;
using tool_test::run;
using namespace std::chrono_literals;

const std::string gateway_exe = LIBCHAN_CHAN_GATEWAY;

// The path of `program` on PATH, or empty.
std::string find_program(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    auto end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    auto candidate = std::filesystem::path(dirs.substr(start, end - start)) / program;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    start = end + 1;
  }
  return {};
}

// A TCP port nobody listens on at the moment.
int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_all(int fd, std::string_view text) {
  ASSERT_EQ(::send(fd, text.data(), text.size(), MSG_NOSIGNAL), static_cast<ssize_t>(text.size()));
}

// Reads until `fd` ends (end of file or reset), or `text` arrived when it
// is given; `closed` tells whether the connection ended within `timeout`.
std::string read_from(int fd, bool& closed, std::chrono::milliseconds timeout = 10s,
                      std::string_view text = {}) {
  std::string got;
  closed = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!text.empty() && got.find(text) != std::string::npos) return got;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, static_cast<int>(left.count())) != 1) return got;
    char buffer[4096];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) {
      closed = true;
      return got;
    }
    got.append(buffer, static_cast<std::size_t>(n));
  }
}

// redis-server on a free port, the gateway allowing it, and a forwarder.
class GatewayTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (!has_scheme(GetParam()))
      GTEST_SKIP() << "no " << GetParam() << ":// transport in this build";
    redis_server_ = find_program("redis-server");
    redis_cli_ = find_program("redis-cli");
    if (redis_server_.empty() || redis_cli_.empty())
      GTEST_SKIP() << "redis-server and redis-cli are needed (Debian package redis-server)";
    redis_port_ = unused_port();
    redis_ = std::make_unique<Process>(
        redis_server_,
        std::vector<std::string>{"--port", std::to_string(redis_port_), "--bind", "127.0.0.1",
                                 "--save", "", "--appendonly", "no", "--dir", dir_.file(".")});
    ASSERT_TRUE(redis_->wait_for_stdout("Ready to accept connections", 10s)) << redis_->out();
    if (GetParam() == "tls") certs_ = std::make_unique<test_certs::pki_files>();
    start_gateway({"--allow", "127.0.0.1:" + std::to_string(redis_port_)});
    forward_port_ = start_forwarder("127.0.0.1:" + std::to_string(redis_port_));
  }

  void start_gateway(std::vector<std::string> allow) {
    std::vector<std::string> args = {"serve", "--listen", GetParam() + "://127.0.0.1:0"};
    args.insert(args.end(), allow.begin(), allow.end());
    if (certs_)
      args.insert(args.end(), {"--cert", certs_->server_certificate, "--key", certs_->server_key});
    gateway_ = std::make_unique<Process>(gateway_exe, args);
    gateway_url_ = gateway_->stderr_line_after("serving on ", 10s);
    ASSERT_FALSE(gateway_url_.empty()) << gateway_->err();
  }

  // Starts a forwarder to `to`; returns its local port.
  int start_forwarder(const std::string& to) {
    std::vector<std::string> args = {"forward", "--listen", "127.0.0.1:0", "--via", gateway_url_,
                                     "--to",    to};
    if (certs_) args.insert(args.end(), {"--ca", certs_->ca});
    forwarders_.push_back(std::make_unique<Process>(gateway_exe, args));
    auto line = forwarders_.back()->stderr_line_after("forwarding 127.0.0.1:", 10s);
    EXPECT_FALSE(line.empty()) << forwarders_.back()->err();
    return line.empty() ? 0 : std::stoi(line);
  }

  tool_test::Outcome redis_cli(int port, std::vector<std::string> command,
                               std::string_view input = {}) {
    std::vector<std::string> args = {"-p", std::to_string(port)};
    args.insert(args.end(), command.begin(), command.end());
    return run(redis_cli_, args, input);
  }

  tool_test::temp_dir dir_;
  std::string redis_server_, redis_cli_;
  int redis_port_ = 0;
  std::unique_ptr<Process> redis_;
  std::unique_ptr<test_certs::pki_files> certs_;
  std::unique_ptr<Process> gateway_;
  std::string gateway_url_;
  std::vector<std::unique_ptr<Process>> forwarders_;
  int forward_port_ = 0;
};

TEST_P(GatewayTest, RedisThroughTheForwarder) {
  auto set = redis_cli(forward_port_, {"SET", "k", "v"});
  EXPECT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(set.out, "OK\n");
  auto get = redis_cli(forward_port_, {"GET", "k"});
  EXPECT_EQ(get.out, "v\n");
  // Large values both ways (-x: the last argument from stdin).
  std::string big(300u << 10, 'x');
  for (std::size_t i = 0; i < big.size(); i += 97) big[i] = static_cast<char>('a' + i % 26);
  auto set_big = redis_cli(forward_port_, {"-x", "SET", "big"}, big);
  EXPECT_EQ(set_big.out, "OK\n") << set_big.err;
  auto get_big = redis_cli(forward_port_, {"GET", "big"});
  EXPECT_TRUE(get_big.out == big + "\n") << get_big.out.size() << " bytes";
  EXPECT_TRUE(gateway_->wait_for_stderr("connected to 127.0.0.1:", 10s)) << gateway_->err();
}

TEST_P(GatewayTest, PassesHalfClosesBothWays) {
  int fd = connect_to(forward_port_);
  ASSERT_GE(fd, 0);
  send_all(fd, "PING\r\n");
  ::shutdown(fd, SHUT_WR);  // Redis answers, then closes on our end of file
  bool closed = false;
  EXPECT_EQ(read_from(fd, closed), "+PONG\r\n");
  EXPECT_TRUE(closed);
  ::close(fd);
}

TEST_P(GatewayTest, RefusesDestinationsNotAllowed) {
  // Names are compared as written: "localhost" is not "127.0.0.1".
  for (std::string to :
       {"127.0.0.1:" + std::to_string(unused_port()), "localhost:" + std::to_string(redis_port_)}) {
    int port = start_forwarder(to);
    int fd = connect_to(port);
    ASSERT_GE(fd, 0);
    send_all(fd, "PING\r\n");
    bool closed = false;
    auto got = read_from(fd, closed);
    ::close(fd);
    EXPECT_TRUE(closed);
    EXPECT_EQ(got,
              "chan-gateway: the gateway refused: " + to + " is not on the gateway's allow-list\n");
    EXPECT_TRUE(gateway_->wait_for_stderr(to + " is not on the gateway's allow-list", 10s))
        << gateway_->err();
    EXPECT_TRUE(
        forwarders_.back()->wait_for_stderr(to + " is not on the gateway's allow-list", 10s))
        << forwarders_.back()->err();
    auto r = redis_cli(port, {"PING"});
    EXPECT_EQ(r.out.find("PONG"), std::string::npos) << r.out;
  }
}

TEST_P(GatewayTest, GatewayDownClosesConnections) {
  int fd = connect_to(forward_port_);
  ASSERT_GE(fd, 0);
  send_all(fd, "PING\r\n");
  bool closed = false;
  EXPECT_EQ(read_from(fd, closed, 10s, "+PONG\r\n"), "+PONG\r\n");
  ::kill(gateway_->pid(), SIGKILL);
  gateway_->wait(10s);
  // The open connection ends, and a new one gets the reason and its end.
  read_from(fd, closed, 5s);
  EXPECT_TRUE(closed);
  ::close(fd);
  fd = connect_to(forward_port_);
  ASSERT_GE(fd, 0);
  auto got = read_from(fd, closed, 5s);
  ::close(fd);
  EXPECT_TRUE(closed);
  EXPECT_EQ(got.rfind("chan-gateway: cannot reach the gateway at " + gateway_url_, 0), 0u) << got;
}

INSTANTIATE_TEST_SUITE_P(Schemes, GatewayTest, ::testing::Values("tcp", "tls"),
                         [](const auto& param_info) { return param_info.param; });

TEST(GatewayUsage, ReportsBadArguments) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{},
        {"serve", "--listen", "tcp://127.0.0.1:0", "--allow", "no-port"},
        {"forward", "--listen", "127.0.0.1:0", "--via", "tcp://127.0.0.1:1"},
        {"serve", "--listen", "nosuchscheme://x"}}) {
    auto r = run(gateway_exe, args);
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(r.err.rfind("chan-gateway: ", 0), 0u) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
}

}  // namespace
