// The peer of the network namespace tests, run inside a namespace:
//
//   netns_peer listen URL   serves sessions, taking every message they send
//   netns_peer dial URL     streams messages to URL and reports, one line
//                           each on stdout, how its waiters ended
//   netns_peer send URL CHANNELS PER_CHANNEL
//                           sends PER_CHANNEL numbered messages on each of
//                           CHANNELS channels, interleaved
//   netns_peer verify URL CHANNELS
//                           takes one session and checks that every channel
//                           delivers its messages complete and in order
//
// listen and dial use a keepalive of 500 ms + 500 ms; all end with their
// parent.
#include <signal.h>
#include <sys/prctl.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "libchan/libchan.hpp"

namespace {

using namespace std::chrono_literals;

std::mutex out_mutex;

void say(const std::string& line) {
  std::lock_guard lock(out_mutex);
  std::cout << line << std::endl;
}

/// "disconnected (the message)", naming a libchan code by its enum name.
std::string describe(std::error_code ec, const std::string& why = {}) {
  std::string name = ec == libchan::errc::disconnected ? "disconnected" : ec ? "error" : "ok";
  return name + " (" + (why.empty() ? ec.message() : why) + ")";
}

libchan::SessionOptions options() {
  libchan::SessionOptions o;
  o.keepalive_interval = 500ms;
  o.keepalive_timeout = 500ms;
  o.connect_timeout = 5s;
  return o;
}

int listen_forever(const std::string& url) {
  auto listener = libchan::listen(url, options());
  say("listening " + listener.local_address());
  std::vector<std::thread> drains;
  for (;;) {
    auto session = std::make_shared<libchan::Session>(listener.accept());
    if (!*session) return 0;
    drains.emplace_back([session] {
      std::error_code ec;
      while (auto rx = session->accept_receiver(ec)) {
        while (rx.receive(ec)) {
        }
      }
    });
  }
}

int dial_and_stream(const std::string& url) {
  auto session = libchan::dial(url, options());
  session.on_close(
      [&session](std::error_code ec) { say("closed: " + describe(ec, session.error_message())); });
  auto accepting = std::async(std::launch::async, [&] {
    std::error_code ec;
    auto rx = session.accept_receiver(ec);
    say("accept ended: " + describe(ec ? ec : session.error(), session.error_message()));
  });
  auto tx = session.open_sender();
  say("connected " + session.local_address());
  std::error_code ec;
  for (std::int64_t n = 0; !ec; ++n) {
    tx.send(libchan::make_map("Seq", n), ec);
    if (n == 100) say("streaming");
    std::this_thread::sleep_for(2ms);
  }
  say("send ended: " + describe(ec, session.error_message()));
  accepting.wait();
  return 0;
}

/// Messages {"Ch": channel, "Seq": n}, round robin over the channels.
int send_numbered(const std::string& url, int channels, std::int64_t per_channel) {
  auto session = libchan::dial(url);
  std::vector<libchan::Sender<>> senders;
  for (int c = 0; c < channels; ++c) senders.push_back(session.open_sender());
  for (std::int64_t n = 0; n < per_channel; ++n)
    for (int c = 0; c < channels; ++c)
      senders[static_cast<std::size_t>(c)].send(libchan::make_map("Ch", c, "Seq", n));
  for (auto& s : senders) s.close();
  say("sent " + std::to_string(per_channel * channels));
  // Stay until the verifier closes the session: leaving now could drop
  // what is still queued.
  std::error_code ec;
  session.accept_receiver(ec);
  return 0;
}

int verify_numbered(const std::string& url, int channels) {
  auto listener = libchan::listen(url);
  say("listening " + listener.local_address());
  auto session = listener.accept();
  std::vector<libchan::Receiver<>> receivers;
  for (int c = 0; c < channels; ++c) receivers.push_back(session.accept_receiver());
  std::int64_t total = 0;
  for (auto& rx : receivers) {
    std::int64_t next = 0;
    std::int64_t channel = -1;
    while (auto m = rx.receive()) {
      const auto ch = m->find("Ch")->as_int();
      if (channel < 0) channel = ch;
      const auto seq = m->find("Seq")->as_int();
      if (ch != channel || seq != next) {
        say("failed: channel " + std::to_string(channel) + " expected " + std::to_string(next) +
            ", got channel " + std::to_string(ch) + " message " + std::to_string(seq));
        return 1;
      }
      ++next;
      ++total;
    }
  }
  say("verified " + std::to_string(total));
  session.close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
  if (argc < 3) {
    std::cerr << "usage: netns_peer listen|dial|send|verify URL [CHANNELS [PER_CHANNEL]]\n";
    return 2;
  }
  const std::string mode = argv[1];
  try {
    if (mode == "listen") return listen_forever(argv[2]);
    if (mode == "dial") return dial_and_stream(argv[2]);
    if (mode == "send" && argc == 5)
      return send_numbered(argv[2], std::stoi(argv[3]), std::stoll(argv[4]));
    if (mode == "verify" && argc == 4) return verify_numbered(argv[2], std::stoi(argv[3]));
  } catch (const std::exception& e) {
    say(std::string("failed: ") + e.what());
    return 1;
  }
  std::cerr << "netns_peer: unknown mode " << mode << "\n";
  return 2;
}
