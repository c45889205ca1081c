// The peer of the network namespace tests, run inside a namespace:
//
//   netns_peer listen URL   serves sessions, taking every message they send
//   netns_peer dial URL     streams messages to URL and reports, one line
//                           each on stdout, how its waiters ended
//   netns_peer send URL CHANNELS PER_CHANNEL [CA_FILE]
//                           sends PER_CHANNEL numbered messages on each of
//                           CHANNELS channels, interleaved; over tls://, the
//                           server is checked against CA_FILE
//   netns_peer verify URL CHANNELS [CERT_FILE KEY_FILE]
//                           takes one session and checks that every channel
//                           delivers its messages complete and in order;
//                           over tls://, it presents CERT_FILE
//   netns_peer relay LISTEN_HOST:PORT TARGET_HOST:PORT
//                           forwards TCP connections late and with stalls
//                           (netns_relay.hpp)
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
#include "netns_relay.hpp"

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
int send_numbered(const std::string& url, int channels, std::int64_t per_channel,
                  const std::string& ca_file) {
  libchan::SessionOptions o;
  o.tls.ca_file = ca_file;
  auto session = libchan::dial(url, o);
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

int verify_numbered(const std::string& url, int channels, const std::string& certificate_file,
                    const std::string& key_file) {
  libchan::SessionOptions o;
  o.tls.certificate_file = certificate_file;
  o.tls.private_key_file = key_file;
  auto listener = libchan::listen(url, o);
  say("listening " + listener.local_address());
  auto session = listener.accept();
  const auto started = std::chrono::steady_clock::now();
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
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  say("verified " + std::to_string(total) + " in " + std::to_string(took.count()) + " ms");
  session.close();
  return 0;
}

/// "host:port" split at its last colon.
std::pair<std::string, std::uint16_t> host_port(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("not host:port: " + text);
  return {text.substr(0, colon), static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1)))};
}

int relay(const std::string& from, const std::string& to) {
  const auto [listen_host, listen_port] = host_port(from);
  const auto [target_host, target_port] = host_port(to);
  return netns_relay::run(
      listen_host, listen_port, target_host, target_port,
      [](const std::string& where) { say("relaying " + where); },
      [](std::chrono::milliseconds ms) { say("stalled " + std::to_string(ms.count()) + " ms"); });
}

}  // namespace

int main(int argc, char** argv) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the test
  if (argc < 3) {
    std::cerr
        << "usage: netns_peer listen|dial|send|verify URL [CHANNELS [PER_CHANNEL]] [TLS files]\n"
           "       netns_peer relay LISTEN_HOST:PORT TARGET_HOST:PORT\n";
    return 2;
  }
  const std::string mode = argv[1];
  try {
    if (mode == "listen") return listen_forever(argv[2]);
    if (mode == "dial") return dial_and_stream(argv[2]);
    if (mode == "send" && (argc == 5 || argc == 6))
      return send_numbered(argv[2], std::stoi(argv[3]), std::stoll(argv[4]),
                           argc == 6 ? argv[5] : "");
    if (mode == "verify" && (argc == 4 || argc == 6))
      return verify_numbered(argv[2], std::stoi(argv[3]), argc == 6 ? argv[4] : "",
                             argc == 6 ? argv[5] : "");
    if (mode == "relay" && argc == 4) return relay(argv[2], argv[3]);
  } catch (const std::exception& e) {
    say(std::string("failed: ") + e.what());
    return 1;
  }
  std::cerr << "netns_peer: unknown mode " << mode << "\n";
  return 2;
}
