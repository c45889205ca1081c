// Hostile peers over real sockets: a raw TCP socket writes SPDY bytes of its
// own making at a libchan listener. Each case checks what the protocol says
// happens (the stream is reset or the session ends, read back off the raw
// socket, with an error naming the cause), that a well-behaved session on
// the same listener still works afterwards, and that no descriptor leaks.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "io/diagnostics.hpp"
#include "net/net_support.hpp"
#include "spdy/frame.hpp"
#include "spdy/frame_unpack.hpp"
#include "spdy/header_block.hpp"
#include "support/test_certs.hpp"

namespace {

using namespace std::chrono_literals;
namespace spdy = libchan::detail::spdy;
using bytes = std::vector<std::uint8_t>;
using libchan::errc;
using net_test::eventually;
using net_test::fd_count;

std::uint16_t port_of(const std::string& url) {
  return static_cast<std::uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

/// Resident memory of this process, from /proc/self/statm.
std::size_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
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

struct Reply {
  std::int64_t n = 0;
  LIBCHAN_FIELDS(n)
};
struct Request {
  std::int64_t n = 0;
  libchan::Sender<Reply> ret;
  LIBCHAN_FIELDS(n, ret)
};

/// A fresh, well-behaved session on `listener` does a request/reply round trip.
void expect_listener_serves(libchan::Listener& listener,
                            const libchan::SessionOptions& options = {}) {
  auto client = libchan::dial(listener.local_address(), options);
  std::error_code ec;
  auto server = listener.accept_for(10s, ec);
  ASSERT_TRUE(server) << ec.message();
  auto requests = client.open_sender<Request>();
  auto [reply_rx, reply_tx] = libchan::pipe<Reply>();
  requests.send({41, std::move(reply_tx)});
  auto incoming = server.accept_receiver_for<Request>(10s, ec);
  ASSERT_TRUE(incoming) << ec.message();
  auto req = incoming.receive_for(10s);
  ASSERT_TRUE(req);
  req->ret.send({req->n + 1});
  auto reply = reply_rx.receive_for(10s);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->n, 42);
}

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
    // The io pool's descriptors come with the first session: start it first.
    { net_test::session_pair warm_up("tcp://127.0.0.1:0"); }
    ASSERT_TRUE(eventually([] { return libchan::detail::io::live_drivers() == 0; }));
    fds_before_ = fd_count();
  }

  /// Starts the listener and connects the raw peer; returns the session the
  /// listener accepted for it.
  void start(libchan::SessionOptions options = {}) {
    listener_ = libchan::listen("tcp://127.0.0.1:0", options);
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

  /// The listener still serves; nothing is left behind once all is closed.
  void expect_listener_fine_and_no_leak() {
    expect_listener_serves(listener_);
    accepted_.close();
    peer_.reset();
    accepted_ = {};
    listener_.close();
    listener_ = {};
    EXPECT_TRUE(eventually([&] { return fd_count() <= fds_before_; }))
        << fd_count() << " descriptors open, " << fds_before_ << " before";
  }

  libchan::Listener listener_;
  std::unique_ptr<raw_peer> peer_;
  libchan::Session accepted_;
  int fds_before_ = 0;
};

TEST_F(NetHostile, WrongSpdyVersionEndsTheSession) {
  start();
  // A SPDY/2 PING: another version's frames cannot be parsed, so it is fatal.
  ASSERT_TRUE(peer_->write({0x80, 0x02, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1}));
  EXPECT_TRUE(peer_->wait_goaway(spdy::goaway_status::protocol_error));
  expect_session_ended(errc::protocol_error, "unsupported SPDY version 2");
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
  expect_listener_serves(listener_);
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

TEST_F(NetHostile, SilentConnectionIsDroppedByKeepalive) {
  start(short_keepalive());
  expect_session_ended(errc::disconnected, "PING");
  expect_listener_fine_and_no_leak();
}

TEST(NetHostileTls, GarbageInsteadOfClientHelloIsDropped) {
  if (!libchan::TransportRegistry::defaults().find("tls")) {
    GTEST_SKIP() << "no tls:// transport in this build";
  }
  const auto& pki = test_certs::pki();
  libchan::SessionOptions server;
  server.tls.certificate_pem = pki.server.certificate;
  server.tls.private_key_pem = pki.server.private_key;
  libchan::SessionOptions client;
  client.tls.ca_pem = pki.ca.certificate;
  {  // the io pool's descriptors first
    auto warm = libchan::listen("tls://127.0.0.1:0", server);
  }
  const int fds_before = fd_count();
  auto listener = libchan::listen("tls://127.0.0.1:0", server);
  {
    raw_peer peer(port_of(listener.local_address()));
    bytes garbage(300);
    for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::uint8_t>(i * 37);
    ASSERT_TRUE(peer.write(garbage));
    EXPECT_TRUE(peer.wait_closed()) << "the listener kept a connection that sent garbage";
    std::error_code ec;
    EXPECT_FALSE(listener.accept_for(200ms, ec)) << "no session for a failed handshake";
    expect_listener_serves(listener, client);
  }
  listener.close();
  listener = {};
  EXPECT_TRUE(eventually([&] { return fd_count() <= fds_before; }));
}

}  // namespace
