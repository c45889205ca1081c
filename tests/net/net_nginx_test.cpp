// A ws:// session through a real nginx reverse proxy, as deployments put
// one in front of a service: messages, a nested request/reply channel and
// a byte stream pass, and killing the proxy ends the session. nginx runs
// as a child process in the foreground with everything it writes kept in a
// temporary directory, so it needs no privileges.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdlib>
#include <fstream>
#include <future>
#include <sstream>

#include "net/net_support.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using tcp = boost::asio::ip::tcp;

constexpr const char* nginx_binary = "/usr/sbin/nginx";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A loopback port nobody listens on right now.
std::uint16_t free_port() {
  boost::asio::io_context ctx;
  tcp::acceptor probe(ctx, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return probe.local_endpoint().port();
}

bool accepts(std::uint16_t port) {
  boost::asio::io_context ctx;
  tcp::socket s(ctx);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

// The output of `nginx -V`: which modules it was built with.
std::string build_options() {
  net_test::temp_dir dir;
  auto out = dir.file("version.txt");
  std::string command = std::string(nginx_binary) + " -V 2>" + out;
  if (std::system(command.c_str()) != 0) return {};
  return read_file(out);
}

// nginx in the foreground, proxying ws://127.0.0.1:port()/chan to
// `upstream_port`; killed with the object.
class nginx_proxy {
 public:
  explicit nginx_proxy(std::uint16_t upstream_port) {
    // A port picked free may be taken before nginx binds it: try again.
    for (int attempt = 0; attempt < 3 && !running(); ++attempt) start(upstream_port);
  }
  ~nginx_proxy() { kill(); }

  bool running() const { return pid_ > 0; }
  std::uint16_t port() const { return port_; }
  std::string error_log() const { return read_file(dir_.file("error.log")); }

  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  void start(std::uint16_t upstream_port) {
    port_ = free_port();
    write_config(upstream_port);
    std::string prefix = dir_.file("");
    std::string conf = dir_.file("nginx.conf");
    std::string log = dir_.file("error.log");
    std::array<char*, 8> argv{const_cast<char*>(nginx_binary),
                              const_cast<char*>("-p"),
                              prefix.data(),
                              const_cast<char*>("-c"),
                              conf.data(),
                              const_cast<char*>("-e"),
                              log.data(),
                              nullptr};
    pid_t pid = -1;
    if (::posix_spawn(&pid, nginx_binary, nullptr, nullptr, argv.data(), environ) != 0) return;
    pid_ = pid;
    // Up when its port accepts; gone if it exited (a port taken, say).
    bool up = net_test::eventually(
        [&] {
          int status = 0;
          if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return true;
          }
          return accepts(port_);
        },
        10s);
    if (!up) kill();
  }

  void write_config(std::uint16_t upstream_port) {
    auto in_dir = [&](const char* name) { return dir_.file(name); };
    std::ofstream conf(in_dir("nginx.conf"));
    conf << "daemon off;\n"
         << "master_process off;\n"
         << "pid " << in_dir("nginx.pid") << ";\n"
         << "lock_file " << in_dir("nginx.lock") << ";\n"
         << "error_log " << in_dir("error.log") << " info;\n"
         << "events { worker_connections 64; }\n"
         << "http {\n"
         << "  access_log " << in_dir("access.log") << ";\n"
         << "  client_body_temp_path " << in_dir("body") << ";\n"
         << "  proxy_temp_path " << in_dir("proxy") << ";\n";
    // Temporary directories of the modules built in: nginx creates them all.
    static const std::string built = build_options();
    for (const char* module : {"fastcgi", "uwsgi", "scgi"}) {
      if (built.find(std::string("--without-http_") + module + "_module") == std::string::npos)
        conf << "  " << module << "_temp_path " << in_dir(module) << ";\n";
    }
    conf << "  server {\n"
         << "    listen 127.0.0.1:" << port_ << ";\n"
         << "    location /chan {\n"
         << "      proxy_pass http://127.0.0.1:" << upstream_port << ";\n"
         << "      proxy_http_version 1.1;\n"
         << "      proxy_set_header Upgrade $http_upgrade;\n"
         << "      proxy_set_header Connection \"upgrade\";\n"
         << "      proxy_set_header Host $http_host;\n"
         << "      proxy_read_timeout 120s;\n"
         << "      proxy_send_timeout 120s;\n"
         << "    }\n"
         << "  }\n"
         << "}\n";
  }

  net_test::temp_dir dir_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

struct Reply {
  std::string Text;
  LIBCHAN_FIELDS(Text)
};

struct Request {
  std::string Op;
  libchan::Sender<Reply> Ret;
  libchan::ByteStream Data;
  LIBCHAN_FIELDS(Op, Ret, Data)
};

std::future<std::error_code> watch_end(libchan::Session& s) {
  auto end = std::make_shared<std::promise<std::error_code>>();
  s.on_close([end](std::error_code ec) { end->set_value(ec); });
  return end->get_future();
}

TEST(NetNginx, SessionThroughAReverseProxy) {
  if (::access(nginx_binary, X_OK) != 0)
    GTEST_SKIP() << nginx_binary << " is missing: run scripts/setup to install nginx";
  auto listener = libchan::listen("ws://127.0.0.1:0/chan");
  auto upstream = listener.local_address();
  auto upstream_port = std::stoi(upstream.substr(upstream.rfind(':') + 1));
  nginx_proxy proxy(static_cast<std::uint16_t>(upstream_port));
  ASSERT_TRUE(proxy.running()) << "nginx did not start:\n" << proxy.error_log();

  auto client = libchan::dial("ws://127.0.0.1:" + std::to_string(proxy.port()) + "/chan");
  std::error_code ec;
  auto server = listener.accept_for(10s, ec);
  ASSERT_TRUE(server) << ec.message();

  // A request carrying its reply channel and a byte stream.
  auto requests = client.open_sender<Request>();
  auto incoming = server.accept_receiver_for<Request>(10s, ec);
  ASSERT_TRUE(incoming) << ec.message();
  auto [reply_rx, reply_tx] = libchan::pipe<Reply>();
  auto [data, theirs] = libchan::stream_pair();
  requests.send({"upper", std::move(reply_tx), std::move(theirs)});
  auto req = incoming.receive_for(10s);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->Op, "upper");

  std::string payload(1u << 20, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>('a' + i * 7 % 26);
  auto writer = std::async(std::launch::async, [&, &data = data] {
    data.write(payload);
    data.close_write();
  });
  EXPECT_EQ(req->Data.read_all(), payload);
  ASSERT_EQ(writer.wait_for(10s), std::future_status::ready);
  writer.get();
  req->Ret.send({"UPPER"});
  auto reply = reply_rx.receive_for(10s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->Text, "UPPER");

  // Without the proxy both ends learn that the session is gone.
  auto client_end = watch_end(client);
  auto server_end = watch_end(server);
  proxy.kill();
  ASSERT_EQ(client_end.wait_for(15s), std::future_status::ready);
  ASSERT_EQ(server_end.wait_for(15s), std::future_status::ready);
  EXPECT_EQ(client_end.get(), libchan::errc::disconnected);
  EXPECT_EQ(server_end.get(), libchan::errc::disconnected);
  EXPECT_TRUE(client.closed());
  requests.send({"late", {}, {}}, ec);
  EXPECT_EQ(ec, libchan::errc::disconnected) << ec.message();
}

}  // namespace
