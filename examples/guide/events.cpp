// events.cpp: one-way notifications. The sender closes its end when it is
// done; the receiver gets every event, then the end of the channel.
#include <chrono>
#include <iostream>
#include <thread>

#include "libchan/libchan.hpp"

struct Event {
  std::string name;
  std::int64_t value = 0;
  libchan::Time at;  // travels as libchan's time type, nanoseconds included
  LIBCHAN_FIELDS(name, value, at)
};

libchan::Time now() {
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now());
}

int main() {
  libchan::Listener listener = libchan::listen("tcp://127.0.0.1:0");
  std::thread watcher([&listener] {
    libchan::Session session = listener.accept();
    libchan::Receiver<Event> events = session.accept_receiver<Event>();
    // An empty optional is the end of the channel: the sender closed it.
    while (std::optional<Event> e = events.receive())
      std::cout << "event " << e->name << " = " << e->value << '\n';
    std::cout << "no more events\n";
  });

  libchan::Session session = libchan::dial(listener.local_address());
  libchan::Sender<Event> events = session.open_sender<Event>();
  events.send({"disk_used_percent", 71, now()});
  events.send({"disk_used_percent", 93, now()});
  events.close();  // or let `events` go out of scope: destroying a Sender closes it
  watcher.join();

  // Untyped events: a Value is any msgpack value (maps, arrays, numbers...).
  // A buffered pipe lets the producer run ahead of the consumer.
  auto [inbox, outbox] = libchan::buffered_pipe<libchan::Value>(16);
  outbox.send(libchan::make_map("name", "login", "user", "ada"));
  outbox.send(libchan::make_map("name", "logout", "user", "ada"));
  outbox.close();  // nothing is lost: the buffered events are still delivered
  while (std::optional<libchan::Value> e = inbox.receive()) std::cout << e->to_string() << '\n';
}
