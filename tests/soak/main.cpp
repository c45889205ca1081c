// The soak test: a client and a server, in two processes, keep thousands of
// channels busy on one session for minutes, and check that nothing is lost
// and nothing leaks.
//
//   libchan_soak [--duration S] [--channels N] [--seed N] [--url URL] ...
//
// The program is the client; it starts itself again as the server
// (`libchan_soak serve ...`), dials it and, on every channel, sends requests
// that each carry a fresh reply Sender (nested request/reply); some carry a
// byte stream whose checksum the server returns, or which it echoes back
// through a stream in the reply. Random channels are closed and replaced,
// and now and then the whole session is closed and dialled again. Every
// reply is matched to its request by channel id and sequence number, every
// reply channel must end right after its one reply, and every checksum must
// match. Both processes' memory, descriptors and threads are sampled each
// second: after the warm-up they must stay flat, and once everything is
// closed the server must be back to the descriptors and threads it had
// before the first session. `--help` lists the options.
//
// main.cpp picks the half; options.cpp reads the command line,
// resources.cpp samples /proc and judges flatness, server.cpp and client.cpp
// are the two halves, messages.hpp is what they send each other.
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include "soak/client.hpp"
#include "soak/options.hpp"
#include "soak/server.hpp"

namespace {

std::string self_path() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "/proc/self/exe";
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc > 1 && std::string(argv[1]) == "serve") return soak::serve(soak::parse(argc, argv, 2));
    soak::Options options = soak::parse(argc, argv, 1);
    return soak::run_client(std::move(options), self_path());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: FAIL: %s\n", e.what());
    return 1;
  }
}
