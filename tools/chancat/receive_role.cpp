#include "receive_role.hpp"

#include <map>
#include <memory>

#include "libchan/pipe.hpp"

namespace chancat {
namespace {

using libchan::Receiver;
using libchan::Value;

// What the completions of the session's operations report to the loop.
struct Event {
  enum class Kind { channel, message };
  Kind kind = Kind::channel;
  std::size_t channel = 0;
  Receiver<Value> receiver;    // Kind::channel; empty: the session ended
  std::optional<Value> value;  // Kind::message; empty: the channel ended
  std::error_code ec;
};

using EventSink = std::shared_ptr<libchan::Sender<Event>>;

void post(const EventSink& sink, Event e) {
  std::error_code ignored;  // closed: the loop is over, and drops it
  sink->send(std::move(e), ignored);
}

// The Sender a request carries for its answer: the one under --reply-key,
// else the only Sender at the top level. Its map entry is removed.
libchan::Sender<Value> take_reply_channel(Value& message, const std::string& key) {
  if (!message.is_map()) return {};
  auto& entries = message.as_map();
  auto found = entries.end();
  int senders = 0;
  for (auto it = entries.begin(); it != entries.end(); ++it) {
    if (it->value.kind() != Value::Kind::sender) continue;
    if (it->key.is_string() && it->key.as_string() == key) {
      found = it;
      senders = 1;
      break;
    }
    if (++senders == 1) found = it;
  }
  if (senders != 1) return {};
  auto sender = found->value.take_sender();
  entries.erase(found);
  return sender;
}

class ReceiveLoop {
 public:
  ReceiveLoop(libchan::Session& session, const Options& options, const std::optional<Value>& reply,
              Inbox& inbox, StreamSaver* saver, Console& console, Activity& activity)
      : session_(session),
        options_(options),
        reply_(reply),
        inbox_(inbox),
        saver_(saver),
        console_(console),
        activity_(activity) {
    // One operation in flight per channel plus the accept: never full.
    auto [rx, tx] = libchan::buffered_pipe<Event>(max_open_channels + 2);
    events_ = std::move(rx);
    sink_ = std::make_shared<libchan::Sender<Event>>(std::move(tx));
  }

  void run() {
    if (count_reached()) return;
    accept_next();
    while (more_to_come()) {
      auto event = next_event();
      if (event.kind == Event::Kind::channel)
        on_channel(std::move(event));
      else
        on_message(std::move(event));
      if (saver_) saver_->check();
      if (count_reached()) return;
    }
    auto ec = session_.error();
    if (ec && ec != libchan::errc::disconnected) {
      throw Failure(exit_for(ec), one_line("session with " + session_.peer_address() +
                                           " failed: " + session_.error_message()));
    }
  }

  ~ReceiveLoop() {
    // Completions still pending find the loop gone and drop their event.
    events_.close();
  }

 private:
  // The work of a session is done once every channel the peer opened has
  // ended: then the caller closes it, which tells a sending peer that
  // everything arrived. Before the first channel, the session must end.
  bool more_to_come() const {
    if (!channels_.empty()) return true;
    return accepting_ && last_channel_ == 0;
  }

  bool count_reached() const { return options_.count && inbox_.shown() >= *options_.count; }

  Event next_event() {
    for (;;) {
      std::error_code ec;
      std::optional<Event> e;
      if (options_.timeout) {
        e = events_.receive_until(activity_.last() + *options_.timeout, ec);
        // Stream bytes count as progress too: look again from there.
        if (ec == libchan::errc::timed_out) {
          if (Activity::clock::now() < activity_.last() + *options_.timeout) continue;
          throw Failure(Exit::timeout, "nothing received for " + duration_text(*options_.timeout));
        }
      } else {
        e = events_.receive(ec);
      }
      if (ec || !e) throw failure_for(ec ? ec : libchan::errc::closed, "waiting for messages");
      return std::move(*e);
    }
  }

  void accept_next() {
    if (!accepting_ || accept_pending_ || channels_.size() >= max_open_channels) return;
    accept_pending_ = true;
    session_.async_accept_receiver([sink = sink_](std::error_code ec, Receiver<Value> r) {
      post(sink, Event{Event::Kind::channel, 0, std::move(r), std::nullopt, ec});
    });
  }

  void receive_next(std::size_t id) {
    channels_[id].async_receive([sink = sink_, id](std::error_code ec, std::optional<Value> v) {
      post(sink, Event{Event::Kind::message, id, {}, std::move(v), ec});
    });
  }

  void on_channel(Event e) {
    accept_pending_ = false;
    if (!e.receiver) {
      accepting_ = false;  // the end of the session
      if (e.ec && e.ec != libchan::errc::disconnected)
        throw failure_for(e.ec, "accepting channels from " + session_.peer_address());
      return;
    }
    activity_.touch();
    std::size_t id = ++last_channel_;
    channels_.emplace(id, std::move(e.receiver));
    receive_next(id);
    accept_next();
  }

  void on_message(Event e) {
    if (e.ec || !e.value) {
      channels_.erase(e.channel);
      accept_next();
      // A session that ends takes its channels with it: not an error here;
      // run() looks at why the session ended.
      if (e.ec && e.ec != libchan::errc::disconnected)
        throw failure_for(e.ec, "channel " + std::to_string(e.channel));
      return;
    }
    activity_.touch();
    auto& message = *e.value;
    inbox_.show(message, session_.dialect());
    if (reply_ || options_.echo) answer(message);
    receive_next(e.channel);
  }

  void answer(Value& request) {
    auto ret = take_reply_channel(request, options_.reply_key);
    if (!ret) return;
    Value answer = reply_ ? reply_->clone() : std::move(request);
    std::error_code ec;
    ret.send(std::move(answer), ec);
    if (ec) console_.note("could not answer a request: " + ec.message());
  }

  libchan::Session& session_;
  const Options& options_;
  const std::optional<Value>& reply_;
  Inbox& inbox_;
  StreamSaver* saver_;
  Console& console_;
  Activity& activity_;

  Receiver<Event> events_;
  EventSink sink_;
  std::map<std::size_t, Receiver<Value>> channels_;
  std::size_t last_channel_ = 0;
  bool accepting_ = true, accept_pending_ = false;
};

}  // namespace

void receive_on(libchan::Session& session, const Options& options,
                const std::optional<Value>& reply, Inbox& inbox, StreamSaver* saver,
                Console& console, Activity& activity) {
  {
    ReceiveLoop loop(session, options, reply, inbox, saver, console, activity);
    loop.run();
  }
  // The streams need the session until they end.
  if (saver) saver->wait(options.timeout);
}

}  // namespace chancat
