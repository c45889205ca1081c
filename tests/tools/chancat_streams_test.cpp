// Byte streams through chancat: --attach sends a file or stdin inside a
// message, --save writes received streams to files.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#include <fstream>
#include <iterator>
#include <random>

#include "tools/chancat_support.hpp"

namespace {

using namespace chancat_test;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(ChancatStreams, AttachAndSaveOneMiBIdentically) {
  net_test::temp_dir dir;
  std::string original(1u << 20, '\0');
  std::mt19937 random(42);
  for (auto& c : original) c = static_cast<char>(random());
  std::string in = dir.file("in.bin"), save = dir.file("saved");
  std::ofstream(in, std::ios::binary) << original;
  std::filesystem::create_directory(save);

  Listening listener("tcp://127.0.0.1:0", {"--save", save});
  auto dial =
      chancat({"dial", "--attach", in, "--data", R"({"name":"in.bin"})", listener.address()});
  EXPECT_EQ(dial.exit_code, 0) << dial.err;
  // stderr is a pipe here: no progress bar.
  EXPECT_EQ(dial.err, "");
  auto listen = listener.wait();
  EXPECT_EQ(listen.exit_code, 0) << listen.err;
  EXPECT_TRUE(error_lines(listen.err).empty()) << listen.err;
  std::string file = save + "/stream-1";
  EXPECT_EQ(
      lines(listen.out),
      (std::vector<std::string>{
          R"({"name":"in.bin","stream":{"$stream":1,"dir":"duplex","file":")" + file + R"("}})"}));
  EXPECT_TRUE(read_file(file) == original) << "the saved file differs";
}

TEST(ChancatStreams, AttachStdinToALibchanPeer) {
  auto l = libchan::listen("tcp://127.0.0.1:0");
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "line " + std::to_string(i) + "\n";
  tool_test::Process dial(chancat_path,
                          {"dial", "--attach", "-", "--attach-key", "Stdin", l.local_address()});
  dial.feed(text);
  std::error_code ec;
  auto session = l.accept_for(10s, ec);
  ASSERT_TRUE(session) << ec.message();
  auto rx = session.accept_receiver_for(10s, ec);
  ASSERT_TRUE(rx) << ec.message();
  auto message = rx.receive_for(10s);
  ASSERT_TRUE(message);
  auto stream = message->find("Stdin")->take_stream();
  EXPECT_EQ(stream.read_all(), text);
  stream.close();   // we have it all: chancat may go
  session.close();  // and need not wait for --linger
  auto r = dial.wait(10s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
}

TEST(ChancatStreams, SaveStreamsALibchanPeerSends) {
  net_test::temp_dir dir;
  std::string save = dir.file("saved");
  std::filesystem::create_directory(save);
  // A file of that name exists already: chancat picks another.
  std::ofstream(save + "/stream-1") << "keep me";
  Listening listener("unix://" + dir.file("s"), {"--save", save});
  auto session = libchan::dial(listener.address());
  auto tx = session.open_sender();
  auto [mine, theirs] = libchan::stream_pair();
  tx.send(libchan::make_map("data", std::move(theirs)));
  mine.write(std::string_view("hello, file"));
  mine.close_write();
  tx.close();
  auto r = listener.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(r.out),
            (std::vector<std::string>{R"({"data":{"$stream":1,"dir":"duplex","file":")" + save +
                                      R"(/stream-1-2"}})"}));
  EXPECT_EQ(read_file(save + "/stream-1-2"), "hello, file");
  EXPECT_EQ(read_file(save + "/stream-1"), "keep me");
}

TEST(ChancatStreams, SaveADescriptorPassedOverUnix) {
  net_test::temp_dir dir;
  std::string save = dir.file("saved"), source = dir.file("source.txt");
  std::filesystem::create_directory(save);
  std::ofstream(source) << "from a descriptor";
  Listening listener("unix://" + dir.file("s"), {"--save", save});
  auto session = libchan::dial(listener.address());
  auto tx = session.open_sender();
  tx.send(libchan::make_map("fd", libchan::Fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC))));
  tx.close();
  auto r = listener.wait();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines(r.out),
            (std::vector<std::string>{R"({"fd":{"$fd":1,"file":")" + save + R"(/stream-1"}})"}));
  EXPECT_EQ(read_file(save + "/stream-1"), "from a descriptor");
}

// With stderr on a terminal chancat draws a progress line there, and clears
// it when the transfer is over.
TEST(ChancatStreams, ProgressOnATerminal) {
  net_test::temp_dir dir;
  std::string in = dir.file("in.bin");
  std::ofstream(in, std::ios::binary) << std::string(3u << 20, 'x');
  std::filesystem::create_directory(dir.file("saved"));
  Listening listener("unix://" + dir.file("s"), {"--save", dir.file("saved")});

  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0);
  ASSERT_EQ(::grantpt(master), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  std::string terminal = ::ptsname(master);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, terminal.c_str(), O_RDWR | O_NOCTTY, 0);
  std::vector<std::string> args{chancat_path, "dial", "--attach", in, listener.address()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  ASSERT_EQ(::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);

  // Read the terminal until chancat is done with it (EIO once it has exited).
  std::string shown;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) {
      if (::waitpid(pid, nullptr, WNOHANG) == pid) {
        pid = -1;
        break;
      }
      continue;
    }
    char buffer[4096];
    ssize_t n = ::read(master, buffer, sizeof buffer);
    if (n <= 0) break;
    shown.append(buffer, static_cast<std::size_t>(n));
  }
  int status = 0;
  if (pid > 0) {
    if (::waitpid(pid, &status, WNOHANG) != pid) ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
  }
  ::close(master);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << shown;
  EXPECT_NE(shown.find("chancat: sending in.bin"), std::string::npos) << shown;
  EXPECT_NE(shown.find("/ 3.0 MiB"), std::string::npos) << shown;
  EXPECT_EQ(shown.substr(shown.size() - 4), "\r\033[K") << "the line is cleared at the end";
  listener.wait();
}

}  // namespace
