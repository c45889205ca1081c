// A libchan session (session/channel_session.hpp) driven by hand against a
// scripted peer: the peer's frames are packed by the framing layer with a
// header encoder of the test's own (engine_test::peer_writer), what the
// session wrote is decoded frame by frame, and the application side only
// ever polls. One thread, no sockets, nothing that can wait.
#pragma once

#include <atomic>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "engine_test_support.hpp"
#include "libchan/libchan.hpp"
#include "session/channel_session.hpp"

namespace session_test {

using namespace engine_test;
namespace session = libchan::detail::session;
using libchan::Value;

/// msgpack pieces for scripted messages.
namespace mp {
inline bytes str(std::string_view s) {
  bytes b;
  if (s.size() < 32) {
    b.push_back(static_cast<std::uint8_t>(0xa0 | s.size()));
  } else {
    b = {0xd9, static_cast<std::uint8_t>(s.size())};  // str8: tests keep keys short
  }
  b.insert(b.end(), s.begin(), s.end());
  return b;
}
/// fixext4: a reference in dialect v0.2 (4 Sender, 5 Receiver, 1 duplex stream).
inline bytes ref(std::int8_t type, std::uint32_t r) {
  return {0xd6,
          static_cast<std::uint8_t>(type),
          static_cast<std::uint8_t>(r >> 24),
          static_cast<std::uint8_t>(r >> 16),
          static_cast<std::uint8_t>(r >> 8),
          static_cast<std::uint8_t>(r)};
}
inline constexpr std::int8_t sender = 4;
inline constexpr std::int8_t receiver = 5;
/// A fixmap of string keys (at most 15 entries).
inline bytes map(std::initializer_list<std::pair<std::string_view, bytes>> entries) {
  bytes b{static_cast<std::uint8_t>(0x80 | entries.size())};
  for (const auto& [k, v] : entries) {
    const bytes key = str(k);
    b.insert(b.end(), key.begin(), key.end());
    b.insert(b.end(), v.begin(), v.end());
  }
  return b;
}
}  // namespace mp

/// A driver that only counts what the session tells it.
struct quiet_hooks final : session::driver_hooks {
  void on_activity() override { ++calls; }
  int calls = 0;
};

/// What one non-blocking receive found.
struct polled {
  bool ready = false;
  std::optional<Value> value;  ///< empty with no error: the end of the channel
  std::error_code ec;
};

inline polled poll(libchan::Receiver<Value>& rx) {
  polled p;
  p.ready = rx.impl()->try_receive(p.value, p.ec);
  return p;
}

/// A send's outcome, completed by the session on the thread that completes
/// the send.
struct send_probe final : libchan::detail::send_waiter {
  void complete(std::error_code e) override {
    sent = true;
    result = e;
  }
  bool sent = false;
  std::error_code result;
};

/// An accepting session (dialect detected) and a scripted dialer.
struct scripted_session {
  explicit scripted_session(session::options opts = {}) {
    opts.engine.side = engine::role::acceptor;
    opts.engine.wire = engine::dialect::detect;
    s = session::channel_session::create(opts, hooks);
    drain();
  }

  std::shared_ptr<quiet_hooks> hooks = std::make_shared<quiet_hooks>();
  std::shared_ptr<session::channel_session> s;
  peer_writer peer;
  bytes written;  // everything the session wrote
  bytes input;    // offered, not taken yet

  /// Offers `more` after what is still waiting; returns the bytes taken.
  std::size_t feed(const bytes& more) {
    input.insert(input.end(), more.begin(), more.end());
    const std::size_t n = s->feed(input);
    input.erase(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(n));
    drain();
    return n;
  }
  std::size_t send() { return feed(peer.take()); }
  /// A DATA frame of raw bytes (a message, or part of one).
  peer_writer& data(stream_id id, const bytes& payload, std::uint8_t flags = 0) {
    return peer.data(
        id, std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()), flags);
  }

  void drain() {
    while (s->take_output(written)) {
    }
  }
  /// Every frame the session wrote, decoded (views into `written`).
  std::vector<spdy_test::read_frame> frames() const { return spdy_test::read_all(written); }
  std::vector<spdy::rst_stream_frame> resets() const {
    return frames_of<spdy::rst_stream_frame>(frames());
  }
  bool reset_with(stream_id id, spdy::rst_status status) const {
    for (const auto& r : resets()) {
      if (r.stream == id && r.status == status) return true;
    }
    return false;
  }

  /// The next top-level channel, if one is waiting.
  /// The peer opens a channel (stream 1, reference 2) and the session
  /// hands it over; empty if it did not.
  std::optional<libchan::Receiver<Value>> accept_peer_channel() {
    peer.channel(1, 2);
    send();
    return accept();
  }

  std::optional<libchan::Receiver<Value>> accept() {
    std::optional<libchan::Receiver<Value>> rx;
    std::error_code ec;
    if (!s->incoming().impl()->try_receive(rx, ec)) return std::nullopt;
    return rx;
  }

  session::channel_session::diagnostics diag() { return s->diagnose(); }
};

/// A receive left pending on a channel, recording how it completed.
template <class T>
struct pending_receive : libchan::detail::receive_waiter<T> {
  bool claim() noexcept override { return !claimed.exchange(true); }
  void complete(std::size_t, std::error_code e, std::optional<T> v) override {
    ec = e;
    value = std::move(v);
    ++completions;
  }
  std::atomic<bool> claimed{false};
  std::error_code ec;
  std::optional<T> value;
  int completions = 0;
};

/// A message of plain data, for typed ends.
struct Note {
  std::string text;
  std::int64_t seq = 0;
  LIBCHAN_FIELDS((text, "Text"), (seq, "Seq"))
};

/// Two sessions joined in memory, with a chosen dialect; `dial` sets the
/// client's options.
struct linked_sessions {
  explicit linked_sessions(engine::dialect wire, std::uint32_t max_send_frame = 64u << 10,
                           session::options dial = {}) {
    dial.engine.side = engine::role::dialer;
    dial.engine.wire = wire;
    dial.engine.limits.max_send_frame = max_send_frame;
    session::options accept;
    accept.engine.side = engine::role::acceptor;
    accept.engine.wire = wire;
    client = session::channel_session::create(dial, hooks);
    server = session::channel_session::create(accept, hooks);
  }
  /// Ends both sessions, as a driver does before it lets go of one, so that
  /// whatever waits on them (the forwarder of a local channel end sent in a
  /// message, say) completes and is freed.
  ~linked_sessions() {
    client->close();
    server->close();
    pump();
  }
  linked_sessions(const linked_sessions&) = delete;
  linked_sessions& operator=(const linked_sessions&) = delete;

  /// Carries bytes both ways until neither side writes; records what the
  /// client wrote.
  void pump() {
    for (bool moved = true; moved;) {
      moved = carry(*client, *server, c2s, &client_wrote) | carry(*server, *client, s2c, nullptr);
    }
  }

  static bool carry(session::channel_session& from, session::channel_session& to, bytes& pending,
                    bytes* record) {
    const std::size_t before = pending.size();
    from.take_output(pending);
    if (record) record->insert(record->end(), pending.begin() + before, pending.end());
    if (pending.empty()) return false;
    const std::size_t n = to.feed(pending);
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(n));
    return n > 0;
  }

  /// A top-level channel from the client to the server.
  struct channel {
    libchan::Sender<Value> tx;
    libchan::Receiver<Value> rx;
  };
  channel open_channel() {
    std::error_code ec;
    channel c;
    c.tx = client->open_sender(ec);
    EXPECT_FALSE(ec) << ec.message();
    pump();
    auto rx = server->incoming().receive();
    EXPECT_TRUE(rx);
    if (rx) c.rx = std::move(*rx);
    return c;
  }

  /// The DATA frames the client wrote on `id`, as payload sizes.
  std::vector<std::size_t> data_frames(stream_id id) const {
    std::vector<std::size_t> sizes;
    for (const auto& f : spdy_test::read_all(client_wrote)) {
      if (const auto* d = std::get_if<spdy::data_frame>(&f.value); d && d->stream == id)
        sizes.push_back(d->payload.size());
    }
    return sizes;
  }

  std::shared_ptr<quiet_hooks> hooks = std::make_shared<quiet_hooks>();
  std::shared_ptr<session::channel_session> client, server;
  bytes c2s, s2c, client_wrote;
};

}  // namespace session_test
