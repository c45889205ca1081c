// select_timeouts.cpp: waiting on several receivers at once, waiting with a
// time limit, and cancelling a pending receive.
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <future>
#include <iostream>
#include <span>
#include <vector>

#include "libchan/libchan.hpp"

using namespace std::chrono_literals;
using Receiver = libchan::Receiver<std::string>;

int main() {
  auto [alerts, alert_tx] = libchan::buffered_pipe<std::string>(4);
  auto [metrics, metric_tx] = libchan::buffered_pipe<std::string>(4);
  alert_tx.send("disk full");
  metric_tx.send("load 0.7");
  metric_tx.send("load 0.9");
  alert_tx.close();
  metric_tx.close();

  // select takes one message from whichever receiver is ready first; the
  // others lose nothing. An ended channel stays ready, so drop it.
  std::vector<Receiver*> open{&alerts, &metrics};
  while (!open.empty()) {
    std::error_code ec;
    auto [index, message] = libchan::select(std::span<Receiver* const>(open), ec);
    libchan::throw_if(ec);
    if (!message) {
      open.erase(open.begin() + static_cast<std::ptrdiff_t>(index));
      continue;
    }
    std::cout << (open[index] == &alerts ? "alert: " : "metric: ") << *message << '\n';
  }

  // Time limits: select_for and receive_for fail with errc::timed_out, and
  // a message arriving later is not lost.
  auto [idle, idle_tx] = libchan::pipe<std::string>();
  try {
    libchan::select_for(20ms, idle);
  } catch (const std::system_error& e) {
    std::cout << "select_for: " << e.code().message() << '\n';
  }
  std::error_code ec;
  idle.receive_for(20ms, ec);
  std::cout << "receive_for: " << ec.message() << '\n';

  // cancel() completes every pending async receive with errc::cancelled.
  std::future<std::optional<std::string>> pending = idle.async_receive(boost::asio::use_future);
  idle.cancel();
  try {
    pending.get();
  } catch (const std::system_error& e) {
    std::cout << "async_receive: " << e.code().message() << '\n';  // errc::cancelled
  }
}
