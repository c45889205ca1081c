// Recorded sessions of Go libchan fed to our session layer as the peer:
// what the application sees must be what the Go client sent.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "libchan/libchan.hpp"
#include "session/channel_session.hpp"
#include "spdy/frame_unpack.hpp"

namespace {

namespace session = libchan::detail::session;
namespace engine = libchan::detail::engine;
namespace spdy = libchan::detail::spdy;
using libchan::Value;
using namespace std::chrono_literals;

std::vector<std::uint8_t> read_capture(const std::string& name) {
  std::ifstream in(std::string(LIBCHAN_TEST_DATA) + "/captures/" + name, std::ios::binary);
  EXPECT_TRUE(in) << name;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The concatenated DATA payloads of each stream in one direction.
std::map<spdy::stream_id, std::vector<std::uint8_t>> data_by_stream(
    std::span<const std::uint8_t> bytes) {
  std::map<spdy::stream_id, std::vector<std::uint8_t>> out;
  spdy::frame_parser parser;
  while (!bytes.empty()) {
    auto r = parser.parse(bytes);
    if (r.status != spdy::unpack_status::frame_ready) break;
    if (auto* d = std::get_if<spdy::data_frame>(&r.value))
      out[d->stream].insert(out[d->stream].end(), d->payload.begin(), d->payload.end());
    bytes = bytes.subspan(r.consumed);
  }
  return out;
}

struct quiet_hooks final : session::driver_hooks {
  void on_activity() override {}
};

// Feeds the whole capture, re-offering what backpressure refused.
void feed_all(session::channel_session& s, std::span<const std::uint8_t> bytes) {
  while (!bytes.empty()) {
    std::size_t n = s.feed(bytes);
    ASSERT_GT(n, 0u) << "the session stopped taking input";
    bytes = bytes.subspan(n);
  }
}

Value next(libchan::Receiver<Value>& rx) {
  auto v = rx.receive_for(5s);
  if (!v) throw std::runtime_error("unexpected end of channel");
  return std::move(*v);
}

TEST(SessionCapture, GoMasterClientAsSeenByOurServer) {
  auto hooks = std::make_shared<quiet_hooks>();
  session::options opts;
  opts.engine.side = engine::role::acceptor;
  opts.engine.wire = engine::dialect::detect;
  auto s = session::channel_session::create(opts, hooks);
  auto bytes = read_capture("go-master/client-to-server.bin");
  // Everything but the closing GOAWAY (the last 16 bytes) first.
  auto all = std::span<const std::uint8_t>(bytes);
  feed_all(*s, all.first(all.size() - 16));
  EXPECT_EQ(s->wire_dialect(), engine::dialect::v0_2);

  auto a = s->incoming().receive_for(5s);
  ASSERT_TRUE(a && *a);
  // (1) a plain message
  auto m1 = next(*a);
  EXPECT_EQ(m1.find("Message")->as_string(), "plain");
  EXPECT_EQ(m1.find("Seq")->as_int(), 1);
  EXPECT_TRUE(m1.find("Ret")->is_nil());
  // (2) a return Sender
  auto m2 = next(*a);
  EXPECT_EQ(m2.find("Message")->as_string(), "with-ret");
  ASSERT_EQ(m2.find("Ret")->kind(), Value::Kind::sender);
  auto ret2 = m2.find("Ret")->take_sender();
  ret2.send(libchan::make_map("Message", "with-ret", "Seq", 2));
  ret2.close();
  // (3) a Receiver carrying two items, and a return Sender
  auto m3 = next(*a);
  EXPECT_EQ(m3.find("Message")->as_string(), "with-recv");
  auto items = m3.find("Recv")->take_receiver();
  EXPECT_EQ(next(items).find("Message")->as_string(), "item-1");
  EXPECT_EQ(next(items).find("Message")->as_string(), "item-2");
  EXPECT_EQ(items.receive_for(5s), std::nullopt);
  // (4) a duplex byte stream: the client wrote two chunks, then closed
  auto m4 = next(*a);
  EXPECT_EQ(m4.find("Message")->as_string(), "with-stream");
  auto stream = m4.find("Stream")->take_stream();
  EXPECT_EQ(stream.mode(), libchan::ByteStream::Mode::duplex);
  EXPECT_EQ(stream.read_all(), "hello from client\nsecond chunk\n");
  // (5) a time
  auto m5 = next(*a);
  ASSERT_EQ(m5.find("When")->kind(), Value::Kind::time);
  EXPECT_EQ(libchan::to_rfc3339(m5.find("When")->as_time()), "2024-01-02T03:04:05.123456789Z");
  // (6) a 5000-character message split over two DATA frames
  auto m6 = next(*a);
  EXPECT_EQ(m6.find("Message")->as_string(), std::string(5000, 'L'));
  EXPECT_EQ(m6.find("Seq")->as_int(), 6);
  // (7) a second top-level channel with the 16-field Types value
  auto b = s->incoming().receive_for(5s);
  ASSERT_TRUE(b && *b);
  auto t = next(*b);
  EXPECT_EQ(t.size(), 16u);
  EXPECT_EQ(t.find("Big")->as_int(), std::int64_t{1} << 40);
  EXPECT_EQ(t.find("Neg")->as_int(), -5);
  EXPECT_EQ(t.find("renamed_key")->kind(), Value::Kind::string);
  // (8) both channels end
  EXPECT_EQ(b->receive_for(5s), std::nullopt);
  EXPECT_EQ(a->receive_for(5s), std::nullopt);
  // (9) GOAWAY ends the session: no more channels.
  feed_all(*s, all.last(16));
  EXPECT_EQ(s->incoming().receive_for(5s), std::nullopt);
  std::vector<std::uint8_t> out;
  while (s->take_output(out)) {
  }
  auto ours = data_by_stream(out);
  EXPECT_EQ(ours[3].size(), 23u) << "our reply {with-ret, 2} went out on stream 3";
}

// Our client performs the steps of the Go client in the capture, with the
// same map key order; the Go server's recorded answers are then fed back.
TEST(SessionCapture, OurClientAgainstTheGoMasterServerRecording) {
  auto hooks = std::make_shared<quiet_hooks>();
  session::options opts;
  opts.engine.side = engine::role::dialer;
  opts.engine.wire = engine::dialect::v0_2;
  auto s = session::channel_session::create(opts, hooks);
  std::error_code ec;
  auto a = s->open_sender(ec);
  ASSERT_FALSE(ec);

  a.send(libchan::make_map("When", nullptr, "Message", "plain", "Seq", 1, "Ret", nullptr, "Stream",
                           nullptr, "Recv", nullptr));
  auto [r2, t2] = libchan::pipe();
  a.send(libchan::make_map("Message", "with-ret", "Seq", 2, "Ret", std::move(t2), "Stream", nullptr,
                           "Recv", nullptr, "When", nullptr));
  auto [items_rx, items_tx] = libchan::buffered_pipe(2);
  items_tx.send(libchan::make_map("Seq", 1, "Message", "item-1"));
  items_tx.send(libchan::make_map("Message", "item-2", "Seq", 2));
  items_tx.close();
  auto [r3, t3] = libchan::pipe();
  a.send(libchan::make_map("Stream", nullptr, "Recv", std::move(items_rx), "When", nullptr,
                           "Message", "with-recv", "Seq", 3, "Ret", std::move(t3)));
  auto [r4, t4] = libchan::pipe();
  auto [mine, theirs] = libchan::stream_pair();
  a.send(libchan::make_map("Message", "with-stream", "Seq", 4, "Ret", std::move(t4), "Stream",
                           std::move(theirs), "Recv", nullptr, "When", nullptr));
  mine.write("hello from client\n");
  mine.write("second chunk\n");
  mine.close_write();
  auto [r5, t5] = libchan::pipe();
  auto when = libchan::Time(std::chrono::nanoseconds(1704164645123456789));
  a.send(libchan::make_map("Seq", 5, "Ret", std::move(t5), "Stream", nullptr, "Recv", nullptr,
                           "When", when, "Message", "with-time"));
  auto [r6, t6] = libchan::pipe();
  a.send(libchan::make_map("Ret", std::move(t6), "Stream", nullptr, "Recv", nullptr, "When",
                           nullptr, "Message", std::string(5000, 'L'), "Seq", 6));

  // What we wrote carries the same messages, byte for byte, as Go's client.
  std::vector<std::uint8_t> ours;
  while (s->take_output(ours)) {
  }
  auto theirs_c2s = data_by_stream(read_capture("go-master/client-to-server.bin"));
  auto ours_c2s = data_by_stream(ours);
  EXPECT_EQ(ours_c2s[1], theirs_c2s[1]) << "top-level channel: six messages";
  EXPECT_EQ(ours_c2s[5], theirs_c2s[5]) << "the two items on the nested Receiver";
  EXPECT_EQ(ours_c2s[11], theirs_c2s[11]) << "the byte stream";

  feed_all(*s, read_capture("go-master/server-to-client.bin"));
  auto reply = [](libchan::Receiver<Value>& r) { return next(r); };
  EXPECT_EQ(reply(r2).find("Seq")->as_int(), 2);
  EXPECT_EQ(r2.receive_for(5s), std::nullopt);
  auto got3 = reply(r3);
  EXPECT_EQ(got3.find("Count")->as_int(), 2);
  EXPECT_EQ(reply(r4).find("Message")->as_string(), "with-stream");
  EXPECT_EQ(mine.read_all(), "hello from client\nsecond chunk\n") << "echoed by the server";
  EXPECT_EQ(reply(r5).find("When")->as_time(), when);
  EXPECT_EQ(reply(r6).find("Message")->as_string().size(), 5000u);
}

// Offset of the first frame on a stream the *server* opened (an even id).
std::size_t first_frame_on_server_stream(std::span<const std::uint8_t> bytes) {
  spdy::frame_parser parser;
  std::size_t offset = 0;
  while (offset < bytes.size()) {
    auto r = parser.parse(bytes.subspan(offset));
    if (r.status != spdy::unpack_status::frame_ready) break;
    spdy::stream_id id = 0;
    if (auto* d = std::get_if<spdy::data_frame>(&r.value)) id = d->stream;
    if (auto* y = std::get_if<spdy::syn_reply_frame>(&r.value)) id = y->stream;
    if (id != 0 && id % 2 == 0) return offset;
    offset += r.consumed;
  }
  return bytes.size();
}

// The v0.1 session: our server also opens a channel of its own (step 5),
// which the Go client answers on.
TEST(SessionCapture, GoV01ClientAsSeenByOurServer) {
  auto hooks = std::make_shared<quiet_hooks>();
  session::options opts;
  opts.engine.side = engine::role::acceptor;
  opts.engine.wire = engine::dialect::detect;
  auto s = session::channel_session::create(opts, hooks);
  auto bytes = read_capture("go-v01/client-to-server.bin");
  auto all = std::span<const std::uint8_t>(bytes);
  std::size_t split = first_frame_on_server_stream(all);
  ASSERT_LT(split, all.size());
  feed_all(*s, all.first(split));
  EXPECT_EQ(s->wire_dialect(), engine::dialect::v0_1);

  auto a = s->incoming().receive_for(5s);
  ASSERT_TRUE(a && *a);
  EXPECT_EQ(next(*a).find("Message")->as_string(), "plain");
  auto m2 = next(*a);
  ASSERT_EQ(m2.find("Ret")->kind(), Value::Kind::sender) << "ext 1, direction 2";
  auto m3 = next(*a);
  auto items = m3.find("Recv")->take_receiver();
  EXPECT_EQ(next(items).find("Seq")->as_int(), 1);
  EXPECT_EQ(next(items).find("Seq")->as_int(), 2);
  auto m4 = next(*a);
  auto stream = m4.find("Stream")->take_stream();
  std::byte buf[64];
  std::size_t n = stream.read_some(buf);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(buf), n).substr(0, 6), "hello ");
  auto m5 = next(*a);
  EXPECT_EQ(m5.find("Message")->as_string(), "server-ret");
  // Step 5: answer with a Sender this server creates; the client sends on it.
  auto ret5 = m5.find("Ret")->take_sender();
  auto [back_rx, back_tx] = libchan::pipe();
  ret5.send(libchan::make_map("Seq", 5, "Back", std::move(back_tx), "Message", "server-ret"));

  feed_all(*s, all.subspan(split));
  auto via = back_rx.receive_for(5s);
  ASSERT_TRUE(via) << "the client's message on the channel our server opened";
  EXPECT_EQ(via->find("Message")->as_string(), "via-server-channel");
  EXPECT_EQ(via->find("Seq")->as_int(), 55);
  EXPECT_EQ(back_rx.receive_for(5s), std::nullopt);
  auto m6 = next(*a);
  EXPECT_EQ(m6.find("Message")->as_string().size(), 5000u);
  auto b = s->incoming().receive_for(5s);
  ASSERT_TRUE(b && *b);
  auto t = next(*b);
  EXPECT_EQ(t.find("Big")->kind(), Value::Kind::uint64) << "v0.1 writes non-negative ints unsigned";
  EXPECT_EQ(t.find("Big")->as_uint(), std::uint64_t{1} << 40);
  auto m8 = next(*a);
  EXPECT_EQ(m8.find("Message")->as_string(), "with-tcpconn");
  EXPECT_TRUE(m8.find("Stream")->is_nil()) << "a connection passed by address arrives empty";
  EXPECT_EQ(a->receive_for(5s), std::nullopt);
  EXPECT_EQ(s->incoming().receive_for(5s), std::nullopt);

  // Our side of the wire, as Go v0.1.0 expects it: stream 2 opened by us.
  std::vector<std::uint8_t> out;
  while (s->take_output(out)) {
  }
  spdy::frame_parser parser;
  bool opened_2 = false;
  for (std::span<const std::uint8_t> rest(out); !rest.empty();) {
    auto r = parser.parse(rest);
    ASSERT_EQ(r.status, spdy::unpack_status::frame_ready);
    if (auto* syn = std::get_if<spdy::syn_stream_frame>(&r.value)) {
      EXPECT_EQ(syn->stream, 2u);
      EXPECT_EQ(syn->associated, 13u) << "v0.1: the parent channel's stream id";
      opened_2 = true;
    }
    rest = rest.subspan(r.consumed);
  }
  EXPECT_TRUE(opened_2);
}

// The Go rexec example's RemoteCommand and its reply, as typed structs.
struct CommandResponse {
  std::int64_t Status = 0;
  LIBCHAN_FIELDS(Status)
};
struct RemoteCommand {
  std::string Cmd;
  std::vector<std::string> Args;
  libchan::ByteStream Stdin, Stdout, Stderr;
  libchan::Sender<CommandResponse> StatusChan;
  LIBCHAN_FIELDS(Cmd, Args, Stdin, Stdout, Stderr, StatusChan)
};

// Our server in place of the Go rexec server: what it writes back must be
// what the Go server wrote, stream for stream.
TEST(SessionCapture, GoRexecClientServedByUs) {
  auto hooks = std::make_shared<quiet_hooks>();
  session::options opts;
  opts.engine.side = engine::role::acceptor;
  opts.engine.wire = engine::dialect::detect;
  auto s = session::channel_session::create(opts, hooks);
  feed_all(*s, read_capture("rexec-master/client-to-server.bin"));
  auto commands = s->incoming().receive_for(5s);
  ASSERT_TRUE(commands && *commands);
  auto cmd = libchan::from_value<RemoteCommand>(next(*commands));
  EXPECT_EQ(cmd.Cmd, "sh");
  EXPECT_EQ(cmd.Args, (std::vector<std::string>{"-c", "cat; echo err-text >&2; exit 3"}));
  std::string input = cmd.Stdin.read_all();
  EXPECT_EQ(input, "piped");
  cmd.Stdout.write(input);
  cmd.Stdout.close_write();
  cmd.Stderr.write("err-text\n");
  cmd.Stderr.close_write();
  cmd.StatusChan.send({3});

  std::vector<std::uint8_t> out;
  while (s->take_output(out)) {
  }
  auto ours = data_by_stream(out);
  auto go = data_by_stream(read_capture("rexec-master/server-to-client.bin"));
  for (spdy::stream_id id : {3u, 5u, 7u}) EXPECT_EQ(ours[id], go[id]) << "stream " << id;
}

}  // namespace
