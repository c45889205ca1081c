// Hostile peers over real sockets: a raw TCP socket writes SPDY bytes of its
// own making at a libchan listener. Each case checks what the protocol says
// happens (the stream is reset or the session ends, read back off the raw
// socket, with an error naming the cause), then net_test::expect_unharmed:
// a session made before the attack and a new one both still work, memory
// stayed bounded, and no descriptor or thread is left behind.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "io/diagnostics.hpp"
#include "net/net_support.hpp"
#include "net/unharmed.hpp"
#include "spdy/frame.hpp"
#include "spdy/frame_unpack.hpp"
#include "spdy/header_block.hpp"
#include "support/test_certs.hpp"
#include "support/tls_options.hpp"

namespace {

using namespace std::chrono_literals;
namespace spdy = libchan::detail::spdy;
using bytes = std::vector<std::uint8_t>;
using libchan::errc;
using net_test::eventually;
using net_test::fd_count;

using net_test::expect_listener_serves;
using net_test::rss_bytes;

std::uint16_t port_of(const std::string& url) {
  return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

/// A frame the listener sent to the raw peer, reduced to what tests check.
struct seen_frame {
  std::string name;          // "RST_STREAM", "GOAWAY", ...
  std::uint32_t stream = 0;  // RST_STREAM, SYN_REPLY, DATA
  std::uint32_t status = 0;  // RST_STREAM and GOAWAY
};

/// A TCP client that writes whatever bytes a test makes and records, on a
/// thread of its own, every frame the listener sends back (so the listener
/// never blocks writing to it).
class raw_peer {
 public:
  explicit raw_peer(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("raw peer cannot connect");
    }
    reader_ = std::thread([this] { read_loop(); });
  }
  ~raw_peer() {
    stop_ = true;
    reader_.join();
    ::close(fd_);
  }

  /// Writes all of `b`; false if the listener stopped reading for 10 s or
  /// closed the connection.
  bool write(const bytes& b) {
    std::size_t at = 0;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (at < b.size()) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 50) < 0) return false;
      if (std::chrono::steady_clock::now() > deadline) return false;
      if (!(p.revents & POLLOUT)) continue;
      ssize_t n = ::send(fd_, b.data() + at, b.size() - at, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
      if (n > 0) at += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Frame builders: append one frame to `out`.
  void syn_stream(bytes& out, std::uint32_t id, const spdy::header_list& headers) {
    bytes block;
    encoder_.encode(headers, block);
    spdy::pack(out, spdy::syn_stream_frame{id, 0, 0, 0, 0, spdy::bytes_view(block)});
  }
  /// A v0.2 top-level channel: stream `id` with libchan-ref `ref`.
  void channel(bytes& out, std::uint32_t id, std::uint32_t ref) {
    syn_stream(out, id, {{"libchan-ref", std::to_string(ref)}});
  }
  static void data(bytes& out, std::uint32_t id, const bytes& payload, std::uint8_t flags = 0) {
    spdy::pack(out, spdy::data_frame{id, flags, spdy::bytes_view(payload)});
  }

  /// Waits until a frame matching `pred` has arrived.
  bool wait_for(const std::function<bool(const seen_frame&)>& pred,
                std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return cond_.wait_for(lock, timeout, [&] {
      for (const auto& f : frames_)
        if (pred(f)) return true;
      return false;
    });
  }
  bool wait_rst(std::uint32_t stream, spdy::rst_status status) {
    return wait_for([&](const seen_frame& f) {
      return f.name == "RST_STREAM" && f.stream == stream &&
             f.status == static_cast<std::uint32_t>(status);
    });
  }
  bool wait_goaway(spdy::goaway_status status) {
    return wait_for([&](const seen_frame& f) {
      return f.name == "GOAWAY" && f.status == static_cast<std::uint32_t>(status);
    });
  }
  /// Waits for the listener to close the connection.
  bool wait_closed(std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mutex_);
    return cond_.wait_for(lock, timeout, [&] { return closed_; });
  }
  /// The frames seen so far, for failure messages.
  std::string seen() {
    std::lock_guard lock(mutex_);
    std::string text;
    for (const auto& f : frames_)
      text += f.name + "(" + std::to_string(f.stream) + ", " + std::to_string(f.status) + ") ";
    return text;
  }
  std::size_t count(const std::function<bool(const seen_frame&)>& pred) {
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto& f : frames_) n += pred(f) ? 1 : 0;
    return n;
  }

 private:
  void read_loop() {
    spdy::frame_parser parser;
    bytes in;
    std::uint8_t chunk[65536];
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) {
        std::lock_guard lock(mutex_);
        closed_ = true;
        cond_.notify_all();
        return;
      }
      in.insert(in.end(), chunk, chunk + n);
      std::size_t at = 0;
      std::lock_guard lock(mutex_);
      for (;;) {
        auto r = parser.parse(spdy::bytes_view(in).subspan(at));
        if (r.status == spdy::unpack_status::need_more && r.consumed == 0) break;
        at += r.consumed;
        if (r.status == spdy::unpack_status::frame_ready) record(r.value);
        if (r.status == spdy::unpack_status::error && r.error.fatal()) break;
      }
      in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(at));
      cond_.notify_all();
    }
  }
  void record(const spdy::frame& f) {
    // DATA and PING answers can be numerous: only the frames tests look at.
    seen_frame s{spdy::frame_name(f)};
    if (auto* rst = std::get_if<spdy::rst_stream_frame>(&f)) {
      s.stream = rst->stream;
      s.status = static_cast<std::uint32_t>(rst->status);
    } else if (auto* g = std::get_if<spdy::goaway_frame>(&f)) {
      s.stream = g->last_good;
      s.status = static_cast<std::uint32_t>(g->status);
    } else if (auto* r = std::get_if<spdy::syn_reply_frame>(&f)) {
      s.stream = r->stream;
    } else {
      return;
    }
    frames_.push_back(std::move(s));
  }

  int fd_ = -1;
  spdy::header_encoder encoder_;
  std::thread reader_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable cond_;
  std::vector<seen_frame> frames_;
  bool closed_ = false;
};

/// A value received on `rx`, or the error that ended it.
struct received {
  std::error_code ec;
  std::optional<libchan::Value> value;
};
received receive(libchan::Receiver<libchan::Value>& rx) {
  received r;
  r.value = rx.receive_for(5s, r.ec);
  return r;
}

bytes fixint_message(std::uint8_t n) { return {n}; }

class NetHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    // The io pool's descriptors and threads come with the first session:
    // start it first.
    { net_test::session_pair warm_up("tcp://127.0.0.1:0"); }
    ASSERT_TRUE(eventually([] { return libchan::detail::io::live_drivers() == 0; }));
    before_ = net_test::resources{};
  }

  /// Starts the listener, a well-behaved session on it, then connects the
  /// raw peer; keeps the session the listener accepted for it.
  void start(libchan::SessionOptions options = {}) {
    options_ = options;
    listener_ = libchan::listen("tcp://127.0.0.1:0", options);
    bystander_ = std::make_unique<net_test::bystander>(listener_, options);
    peer_ = std::make_unique<raw_peer>(port_of(listener_.local_address()));
    std::error_code ec;
    accepted_ = listener_.accept_for(5s, ec);
    ASSERT_TRUE(accepted_) << ec.message();
  }

  /// The next channel the raw peer opened, as the accepted session sees it.
  libchan::Receiver<libchan::Value> accept_channel() {
    std::error_code ec;
    auto rx = accepted_.accept_receiver_for(5s, ec);
    EXPECT_TRUE(rx) << ec.message();
    return rx;
  }

  void expect_session_ended(errc code, const std::string& words) {
    ASSERT_TRUE(eventually([&] { return accepted_.closed(); }));
    EXPECT_EQ(accepted_.error(), code) << accepted_.error().message();
    EXPECT_NE(accepted_.error_message().find(words), std::string::npos)
        << accepted_.error_message();
    EXPECT_TRUE(peer_->wait_closed()) << "the listener kept the connection";
  }

  /// The bystander and a new session still work, memory stayed bounded, and
  /// nothing is left behind once all is closed.
  void expect_listener_fine_and_no_leak() {
    net_test::expect_unharmed(listener_, options_, *bystander_, before_, [&] {
      accepted_.close();
      peer_.reset();
      accepted_ = {};
      listener_.close();
      listener_ = {};
    });
  }

  libchan::SessionOptions options_;
  libchan::Listener listener_;
  std::unique_ptr<net_test::bystander> bystander_;
  std::unique_ptr<raw_peer> peer_;
  libchan::Session accepted_;
  net_test::resources before_;
};

TEST_F(NetHostile, WrongSpdyVersionEndsTheSession) {
  start();
  // A SPDY/2 PING: another version's frames cannot be parsed, so it is fatal.
  ASSERT_TRUE(peer_->write({0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1}));
  EXPECT_TRUE(peer_->wait_goaway(spdy::goaway_status::protocol_error));
  expect_session_ended(errc::protocol_error, "unsupported SPDY version 2");
  expect_listener_fine_and_no_leak();
}

/// A SPDY/3 control frame of `type` whose length field says what `payload` holds.
bytes control_frame(std::uint8_t type, const bytes& payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  bytes out{0x80,
            0x03,
            0x00,
            type,
            0x00,
            static_cast<std::uint8_t>(n >> 16),
            static_cast<std::uint8_t>(n >> 8),
            static_cast<std::uint8_t>(n)};
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

/// A frame no parser may accept, and the words the session's error must hold.
struct malformed_case {
  const char* name;
  bytes frame;
  const char* words;
};

// Names the case in test listings instead of dumping its bytes.
void PrintTo(const malformed_case& c, std::ostream* os) { *os << c.name; }

std::vector<malformed_case> malformed_frames() {
  const bytes zeros8(8, 0x00), zeros10(10, 0x00), zeros12(12, 0x00);
  return {
      {"SynStreamTooShort", control_frame(1, {0, 0, 0, 1}),
       "SYN_STREAM frame length 4, must be at least 10"},
      {"SynStreamOnStreamZero", control_frame(1, zeros10), "SYN_STREAM frame on stream 0"},
      {"SynStreamCorruptHeaderBlock",
       control_frame(1, {0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF, 0x00, 0x11}),
       "corrupt compressed header block"},
      {"SynReplyTooShort", control_frame(2, {0, 0}),
       "SYN_REPLY frame length 2, must be at least 4"},
      {"RstStreamWrongLength", control_frame(3, {0, 0, 0, 1}),
       "RST_STREAM frame length 4, must be 8"},
      {"RstStreamOnStreamZero", control_frame(3, {0, 0, 0, 0, 0, 0, 0, 1}),
       "RST_STREAM frame on stream 0"},
      {"SettingsCountMismatch", control_frame(4, {0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0}),
       "SETTINGS frame length 12 does not match its 2 entries"},
      {"PingWrongLength", control_frame(6, {0, 0, 1}), "PING frame length 3, must be 4"},
      {"GoawayWrongLength", control_frame(7, zeros12), "GOAWAY frame length 12, must be 8"},
      {"HeadersTooShort", control_frame(8, {}), "HEADERS frame length 0, must be at least 4"},
      {"WindowUpdateWrongLength", control_frame(9, {0, 0, 0, 1}),
       "WINDOW_UPDATE frame length 4, must be 8"},
      {"WindowUpdateZeroForTheSession", control_frame(9, zeros8),
       "WINDOW_UPDATE with delta 0 for the session window"},
      {"CredentialProofOverruns", control_frame(10, {0, 1, 0, 0, 0, 100}),
       "CREDENTIAL proof of 100 bytes overruns"},
      {"DataOnStreamZero", {0, 0, 0, 0, 0, 0, 0, 1, 0x01}, "DATA frame on stream 0"},
  };
}

class NetHostileMalformed : public NetHostile,
                            public ::testing::WithParamInterface<malformed_case> {};

// Every frame type, malformed: a length its type forbids, stream 0 where a
// stream is needed, a header block that is not zlib. The frame cannot be
// skipped safely, so the session ends, saying what was wrong.
TEST_P(NetHostileMalformed, EndsTheSessionNamingTheFault) {
  start();
  ASSERT_TRUE(peer_->write(GetParam().frame));
  EXPECT_TRUE(peer_->wait_goaway(spdy::goaway_status::protocol_error)) << peer_->seen();
  expect_session_ended(errc::protocol_error, GetParam().words);
  expect_listener_fine_and_no_leak();
}

INSTANTIATE_TEST_SUITE_P(EveryType, NetHostileMalformed, ::testing::ValuesIn(malformed_frames()),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(NetHostile, MalformedStreamFrameResetsOnlyItsStream) {
  start();
  bytes out;
  peer_->channel(out, 1, 2);
  const auto bad = control_frame(9, {0, 0, 0, 1, 0, 0, 0, 0});  // delta 0 on stream 1
  out.insert(out.end(), bad.begin(), bad.end());
  peer_->channel(out, 3, 3);
  raw_peer::data(out, 3, fixint_message(3));
  ASSERT_TRUE(peer_->write(out));
  EXPECT_TRUE(peer_->wait_rst(1, spdy::rst_status::protocol_error)) << peer_->seen();
  auto first = accept_channel();
  auto fine = accept_channel();
  auto r = receive(fine);
  ASSERT_TRUE(r.value) << r.ec.message();
  EXPECT_EQ(r.value->as_int(), 3);
  EXPECT_FALSE(accepted_.closed()) << accepted_.error_message();
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, UnknownControlTypeIsSkipped) {
  start();
  bytes out{0x80, 0x03, 0x00, 0x63, 0x00, 0x00, 0x01, 0x00};  // type 99, 256 bytes
  out.resize(out.size() + 256, 0xAB);
  peer_->channel(out, 1, 2);
  raw_peer::data(out, 1, fixint_message(7));
  ASSERT_TRUE(peer_->write(out));
  auto rx = accept_channel();
  auto r = receive(rx);
  ASSERT_TRUE(r.value) << r.ec.message();
  EXPECT_EQ(r.value->as_int(), 7);
  EXPECT_FALSE(accepted_.closed());
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, DataFrameOverMaxFrameSizeResetsItsStream) {
  libchan::SessionOptions o;
  o.limits.max_frame_size = 64u << 10;
  start(o);
  bytes out;
  peer_->channel(out, 1, 2);
  raw_peer::data(out, 1, bytes((64u << 10) + 1, 0x00));
  peer_->channel(out, 3, 3);
  raw_peer::data(out, 3, fixint_message(3));
  ASSERT_TRUE(peer_->write(out));
  EXPECT_TRUE(peer_->wait_rst(1, spdy::rst_status::frame_too_large));
  auto big = accept_channel();
  auto fine = accept_channel();
  EXPECT_EQ(receive(big).ec, errc::limit_exceeded);
  auto r = receive(fine);
  ASSERT_TRUE(r.value) << "the oversized frame was skipped, the next one read";
  EXPECT_EQ(r.value->as_int(), 3);
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, ControlFrameOverItsLimitEndsTheSession) {
  start();
  // A SETTINGS frame declaring 16 MiB: failed on its header, nothing buffered.
  ASSERT_TRUE(peer_->write({0x80, 0x03, 0x00, 0x04, 0x00, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}));
  EXPECT_TRUE(peer_->wait_goaway(spdy::goaway_status::protocol_error));
  expect_session_ended(errc::limit_exceeded, "max_header_block");
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, ZlibBombHeaderBlockEndsTheSession) {
  start();
  bytes out;
  // 8 MiB of one letter compresses to a few kilobytes.
  peer_->syn_stream(out, 1, {{"libchan-ref", "2"}, {"x", std::string(8u << 20, 'a')}});
  ASSERT_LT(out.size(), 16u << 10);
  ASSERT_TRUE(peer_->write(out));
  EXPECT_TRUE(peer_->wait_goaway(spdy::goaway_status::protocol_error));
  expect_session_ended(errc::limit_exceeded, "max_header_block_decompressed");
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, ReusedAndDecreasingStreamIdsAreRefused) {
  start();
  bytes out;
  peer_->channel(out, 5, 2);
  peer_->channel(out, 5, 3);  // reused
  peer_->channel(out, 3, 4);  // decreasing
  peer_->channel(out, 8, 5);  // the acceptor's parity
  peer_->channel(out, 7, 6);
  raw_peer::data(out, 7, fixint_message(6));
  ASSERT_TRUE(peer_->write(out));
  EXPECT_TRUE(peer_->wait_rst(3, spdy::rst_status::protocol_error));
  EXPECT_TRUE(peer_->wait_rst(8, spdy::rst_status::protocol_error));
  EXPECT_TRUE(peer_->wait_rst(5, spdy::rst_status::protocol_error));
  auto first = accept_channel();
  auto last = accept_channel();
  auto r = receive(last);
  ASSERT_TRUE(r.value) << r.ec.message();
  EXPECT_EQ(r.value->as_int(), 6);
  EXPECT_FALSE(accepted_.closed()) << "refusing a stream keeps the session";
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, DataOnUnknownStreamIsRefused) {
  start();
  bytes out;
  raw_peer::data(out, 99, fixint_message(1));
  peer_->channel(out, 1, 2);
  raw_peer::data(out, 1, fixint_message(2));
  ASSERT_TRUE(peer_->write(out));
  EXPECT_TRUE(peer_->wait_rst(99, spdy::rst_status::invalid_stream));
  auto rx = accept_channel();
  auto r = receive(rx);
  ASSERT_TRUE(r.value) << r.ec.message();
  EXPECT_EQ(r.value->as_int(), 2);
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, DataAfterFinIsRefused) {
  start();
  bytes out;
  peer_->channel(out, 1, 2);
  raw_peer::data(out, 1, fixint_message(1), spdy::flags::fin);
  raw_peer::data(out, 1, fixint_message(2));
  ASSERT_TRUE(peer_->write(out));
  // The stream is closed at the FIN: refused as unknown.
  EXPECT_TRUE(peer_->wait_rst(1, spdy::rst_status::invalid_stream)) << peer_->seen();
  auto rx = accept_channel();
  auto r = receive(rx);
  ASSERT_TRUE(r.value) << r.ec.message();
  EXPECT_EQ(r.value->as_int(), 1);
  auto end = receive(rx);
  EXPECT_FALSE(end.value);
  EXPECT_FALSE(end.ec) << "the channel ended at the FIN: " << end.ec.message();
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, ReferenceFloodFailsItsChannel) {
  start();
  bytes out;
  peer_->channel(out, 1, 2);
  // {"R": Receiver ref} naming streams that never open.
  for (std::uint32_t ref = 100; ref < 2100; ++ref) {
    raw_peer::data(out, 1,
                   {0x81, 0xA1, 'R', 0xD6, 0x05, static_cast<std::uint8_t>(ref >> 24),
                    static_cast<std::uint8_t>(ref >> 16), static_cast<std::uint8_t>(ref >> 8),
                    static_cast<std::uint8_t>(ref)});
  }
  ASSERT_TRUE(peer_->write(out));
  auto rx = accept_channel();
  std::vector<libchan::Receiver<libchan::Value>> named;  // kept: each holds its name
  received r = receive(rx);
  while (r.value) {
    named.push_back(r.value->find("R")->take_receiver());
    r = receive(rx);
  }
  EXPECT_EQ(r.ec, errc::limit_exceeded) << r.ec.message();
  EXPECT_EQ(named.size(), 1024u) << "max_pending_refs names wait for their streams";
  EXPECT_TRUE(peer_->wait_rst(1, spdy::rst_status::protocol_error));
  EXPECT_FALSE(accepted_.closed());
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, StreamsNobodyNamesAreRefusedPastTheLimit) {
  start();
  bytes out;
  peer_->channel(out, 1, 2);
  std::uint32_t id = 3;
  for (std::uint32_t ref = 10; ref < 1110; ++ref, id += 2) {
    peer_->syn_stream(out, id, {{"libchan-ref", std::to_string(ref)}, {"libchan-parent-ref", "2"}});
  }
  peer_->channel(out, id, 2000);  // a top-level channel still opens
  raw_peer::data(out, id, fixint_message(9));
  ASSERT_TRUE(peer_->write(out));
  auto first = accept_channel();
  auto later = accept_channel();
  auto r = receive(later);
  ASSERT_TRUE(r.value) << r.ec.message();
  EXPECT_EQ(r.value->as_int(), 9);
  auto refused = [](const seen_frame& f) {
    return f.name == "RST_STREAM" &&
           f.status == static_cast<std::uint32_t>(spdy::rst_status::refused_stream);
  };
  EXPECT_TRUE(
      peer_->wait_for([&](const seen_frame& f) { return refused(f) && f.stream == id - 2; }));
  EXPECT_EQ(peer_->count(refused), 1100u - 1024u) << "max_pending_refs unnamed streams kept";
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, AMillionEmptyFramesStayBounded) {
  start();
  const std::size_t rss_before = rss_bytes();
  bytes out;
  peer_->channel(out, 1, 2);
  ASSERT_TRUE(peer_->write(out));
  auto rx = accept_channel();
  // 1M empty DATA frames (8 MB) in writes of 64k frames, then a message.
  bytes batch;
  for (int i = 0; i < 65536; ++i) raw_peer::data(batch, 1, {});
  for (int i = 0; i < 16; ++i) ASSERT_TRUE(peer_->write(batch)) << "listener stopped reading";
  out.clear();
  raw_peer::data(out, 1, fixint_message(5));
  ASSERT_TRUE(peer_->write(out));
  auto r = receive(rx);
  ASSERT_TRUE(r.value) << r.ec.message();
  EXPECT_EQ(r.value->as_int(), 5);
  EXPECT_LT(rss_bytes(), rss_before + (64u << 20)) << "empty frames are not kept";
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, GibibyteMessageIsRefusedFromItsHeader) {
  start();
  bytes out;
  peer_->channel(out, 1, 2);
  raw_peer::data(out, 1, {0xC6, 0x40, 0x00, 0x00, 0x00, 'x', 'y'});  // bin32 of 1 GiB
  peer_->channel(out, 3, 3);
  raw_peer::data(out, 3, fixint_message(4));
  ASSERT_TRUE(peer_->write(out));
  auto big = accept_channel();
  auto fine = accept_channel();
  EXPECT_EQ(receive(big).ec, errc::limit_exceeded);
  EXPECT_TRUE(peer_->wait_rst(1, spdy::rst_status::protocol_error));
  auto r = receive(fine);
  ASSERT_TRUE(r.value) << r.ec.message();
  EXPECT_EQ(r.value->as_int(), 4);
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, DeepNestingFailsItsChannel) {
  start();
  bytes out;
  peer_->channel(out, 1, 2);
  bytes deep(10000, 0x91);  // 10k nested one-element arrays
  deep.push_back(0xC0);
  raw_peer::data(out, 1, deep);
  peer_->channel(out, 3, 3);
  raw_peer::data(out, 3, fixint_message(8));
  ASSERT_TRUE(peer_->write(out));
  auto bad = accept_channel();
  auto fine = accept_channel();
  EXPECT_EQ(receive(bad).ec, errc::limit_exceeded);
  EXPECT_TRUE(peer_->wait_rst(1, spdy::rst_status::protocol_error));
  auto r = receive(fine);
  ASSERT_TRUE(r.value) << r.ec.message();
  EXPECT_EQ(r.value->as_int(), 8);
  expect_listener_fine_and_no_leak();
}

libchan::SessionOptions short_keepalive() {
  libchan::SessionOptions o;
  o.keepalive_interval = 200ms;
  o.keepalive_timeout = 300ms;
  return o;
}

TEST_F(NetHostile, SlowlorisKeepsItsSessionUntilItFallsSilent) {
  start(short_keepalive());
  bytes syn;
  peer_->channel(syn, 1, 2);
  // One byte per 50 ms: slower than a PING's answer would take, but bytes
  // keep arriving, so the session stays up and the listener serves others.
  for (std::size_t i = 0; i < syn.size(); ++i) {
    ASSERT_TRUE(peer_->write({syn[i]}));
    std::this_thread::sleep_for(50ms);
    if (i == syn.size() / 2) expect_listener_serves(listener_, short_keepalive());
  }
  bytes out;
  raw_peer::data(out, 1, fixint_message(1));
  ASSERT_TRUE(peer_->write(out));
  EXPECT_FALSE(accepted_.closed()) << accepted_.error_message();
  auto rx = accept_channel();
  auto r = receive(rx);
  ASSERT_TRUE(r.value) << r.ec.message();
  EXPECT_EQ(r.value->as_int(), 1);
  // Now silent: dropped after keepalive_interval + keepalive_timeout.
  expect_session_ended(errc::disconnected, "PING");
  expect_listener_fine_and_no_leak();
}

// Slowloris: one byte a second. Each pause is longer than
// keepalive_interval + keepalive_timeout, and the PING sent in it goes
// unanswered; only whole frames count as signs of life, so the session ends
// before the frame is complete.
TEST_F(NetHostile, SlowlorisAtOneBytePerSecondIsDroppedByKeepalive) {
  start(short_keepalive());
  bytes syn;
  peer_->channel(syn, 1, 2);
  std::size_t written = 0;
  for (; written < syn.size() && !accepted_.closed(); ++written) {
    if (!peer_->write({syn[written]})) break;
    eventually([&] { return accepted_.closed(); }, 1s);  // the pause, cut short by the end
  }
  EXPECT_LT(written, syn.size()) << "the whole frame trickled in";
  expect_session_ended(errc::disconnected, "PING");
  expect_listener_fine_and_no_leak();
}

// Four bytes of a frame header, then nothing: the session ends within
// keepalive_interval + keepalive_timeout (500 ms here).
TEST_F(NetHostile, HalfAFrameThenSilenceIsDroppedByKeepalive) {
  start(short_keepalive());
  ASSERT_TRUE(peer_->write({0x80, 0x03, 0x00, 0x01}));
  expect_session_ended(errc::disconnected, "PING");
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostile, SilentConnectionIsDroppedByKeepalive) {
  start(short_keepalive());
  expect_session_ended(errc::disconnected, "PING");
  expect_listener_fine_and_no_leak();
}

// The same attacks on a tls:// listener, before any SPDY: the handshake
// fails or runs out of time (connect_timeout, 1 s here), the connection is
// closed and no session is handed out. A failed handshake is reported
// neither to the application nor, as a TLS alert, to the peer: what the
// tests can hold is the close, that no session comes out, and that the
// cause is the only one possible (garbage is refused at once, silence and
// a trickle only after connect_timeout).
class NetHostileTls : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!libchan::TransportRegistry::defaults().find("tls")) {
      GTEST_SKIP() << "no tls:// transport in this build";
    }
  }

  /// A listener whose handshakes must finish within `handshake_deadline`,
  /// a well-behaved session on it, then the raw peer's connection.
  void start(std::chrono::milliseconds handshake_deadline) {
    server_ = test_certs::with_identity(test_certs::pki().server);
    server_.connect_timeout = handshake_deadline;
    client_.tls.ca_pem = test_certs::pki().ca.certificate;
    {  // the io pool's descriptors and threads first
      auto warm = libchan::listen("tls://127.0.0.1:0", server_);
      net_test::expect_listener_serves(warm, client_);
    }
    ASSERT_TRUE(eventually([] { return libchan::detail::io::live_drivers() == 0; }));
    before_ = net_test::resources{};
    listener_ = libchan::listen("tls://127.0.0.1:0", server_);
    bystander_ = std::make_unique<net_test::bystander>(listener_, client_);
    peer_ = std::make_unique<raw_peer>(port_of(listener_.local_address()));
  }

  void expect_no_session() {
    std::error_code ec;
    EXPECT_FALSE(listener_.accept_for(200ms, ec)) << "no session for a failed handshake";
    EXPECT_EQ(ec, errc::timed_out) << ec.message();
  }

  void expect_listener_fine_and_no_leak() {
    net_test::expect_unharmed(listener_, client_, *bystander_, before_, [&] {
      peer_.reset();
      listener_.close();
      listener_ = {};
    });
  }

  libchan::SessionOptions server_, client_;
  net_test::resources before_;
  libchan::Listener listener_;
  std::unique_ptr<net_test::bystander> bystander_;
  std::unique_ptr<raw_peer> peer_;
};

TEST_F(NetHostileTls, GarbageInsteadOfClientHelloIsDropped) {
  start(60s);  // so that only the garbage can be the cause
  bytes garbage(300);
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::uint8_t>(i * 37);
  ASSERT_TRUE(peer_->write(garbage));
  EXPECT_TRUE(peer_->wait_closed(10s)) << "the listener kept a connection that sent garbage";
  expect_no_session();
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostileTls, SilentConnectionIsDroppedAtTheHandshakeDeadline) {
  start(1s);
  EXPECT_TRUE(peer_->wait_closed(10s)) << "the listener kept a silent connection";
  expect_no_session();
  expect_listener_fine_and_no_leak();
}

TEST_F(NetHostileTls, SlowlorisHandshakeIsDroppedAtTheDeadline) {
  // A handshake record header announcing 512 bytes, then one byte a second:
  // more than connect_timeout passes before the record is whole.
  start(1s);
  const bytes hello{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03};
  std::size_t written = 0;
  for (; written < hello.size(); ++written) {
    if (!peer_->write({hello[written]})) break;
    if (peer_->wait_closed(1s)) break;
  }
  EXPECT_LT(written, hello.size()) << "the listener waited for the whole record";
  EXPECT_TRUE(peer_->wait_closed()) << "the listener kept a trickling handshake";
  expect_no_session();
  expect_listener_fine_and_no_leak();
}

}  // namespace
