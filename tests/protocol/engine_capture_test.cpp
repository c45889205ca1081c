// The engine as one side of every captured session: fed what the real peer
// sent (in the captured read sizes and byte by byte), it must report the
// streams, data, FINs, resets and GOAWAY the capture holds, and answer as
// the real implementation did.
#include <gtest/gtest.h>

#include "engine/stream_headers.hpp"
#include "engine_capture_support.hpp"
#include "support/captures.hpp"

namespace {

using namespace engine_test;
using engine::dialect;
using engine::role;
using libchan::errc;

struct capture {
  explicit capture(std::string name)
      : folder(std::move(name)),
        c2s(spdy_test::read_file(spdy_test::capture_path(folder + "/client-to-server.bin"))),
        s2c(spdy_test::read_file(spdy_test::capture_path(folder + "/server-to-client.bin"))),
        client(facts_of(c2s)),
        server(facts_of(s2c)) {}

  std::string folder;
  bytes c2s, s2c;
  direction_facts client, server;

  // Both ends Go libchan of one version: its answers are the reference.
  bool go_pair() const { return folder.find("jschan") == std::string::npos; }

  // The dialect is whatever the client's first stream says.
  dialect wire() const {
    return client.syns.empty() ? dialect::v0_2 : engine::detect_dialect(client.syns[0].headers);
  }
};

engine::stream_refs refs_of(const spdy::header_list& headers) {
  std::string why;
  auto refs = engine::read_stream_refs(headers, why);
  EXPECT_TRUE(refs) << why;
  return refs.value_or(engine::stream_refs{});
}

// The libchan headers of a list, without jschan's HTTP ones and its empty
// parent (which means "none").
spdy::header_list libchan_headers(const spdy::header_list& headers) {
  spdy::header_list out;
  for (const auto& h : headers) {
    if (h.name.rfind("libchan-", 0) == 0 && !h.value.empty()) out.push_back(h);
  }
  return sorted(out);
}

bool only_libchan_headers(const spdy::header_list& headers) {
  return std::all_of(headers.begin(), headers.end(),
                     [](const auto& h) { return h.name.rfind("libchan-", 0) == 0; });
}

// Opens, on `e`, the streams `syns` describes, in order, checking that the
// ids match and that our headers say what the capture's said.
void open_like(endpoint& e, const std::vector<direction_facts::syn>& syns) {
  for (const auto& syn : syns) {
    const auto refs = refs_of(syn.headers);
    std::error_code ec;
    const stream_id id = e.session.open_stream(refs.ref, refs.parent_ref, syn.assoc, ec);
    ASSERT_FALSE(ec) << e.session.last_error();
    ASSERT_EQ(id, syn.id);
  }
  e.drain();
  const auto ours = frames_of<spdy::syn_stream_frame>(e.frames());
  ASSERT_EQ(ours.size(), syns.size());
  std::size_t i = 0;
  for (const auto& f : e.frames()) {
    const auto* s = std::get_if<spdy::syn_stream_frame>(&f.value);
    if (s == nullptr) continue;
    const auto& want = syns[i++];
    EXPECT_EQ(s->stream, want.id);
    EXPECT_EQ(s->associated, want.assoc);
    EXPECT_EQ(s->priority, 0);
    EXPECT_EQ(s->flags, 0);
    if (only_libchan_headers(want.headers)) {
      EXPECT_EQ(sorted(f.headers), sorted(want.headers)) << "stream " << want.id;
    } else {
      EXPECT_EQ(sorted(f.headers), libchan_headers(want.headers)) << "stream " << want.id;
    }
  }
}

// What `e` reported after being fed `sent` (one direction of the capture).
void expect_reported(const endpoint& e, const direction_facts& sent) {
  const recorder& r = e.events;
  ASSERT_EQ(r.opened.size(), sent.syns.size());
  for (std::size_t i = 0; i < sent.syns.size(); ++i) {
    const auto& want = sent.syns[i];
    const auto refs = refs_of(want.headers);
    const auto& got = r.opened[i];
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.ref, refs.ref);
    EXPECT_EQ(got.parent_ref, refs.parent_ref);
    EXPECT_EQ(got.associated, want.assoc);
    EXPECT_TRUE(got.remote);
    EXPECT_EQ(got.unidirectional, (want.flags & spdy::flags::unidirectional) != 0);
  }
  EXPECT_EQ(r.data, sent.data);
  EXPECT_EQ(r.frame_sizes, sent.frame_sizes);
  EXPECT_EQ(std::set<stream_id>(r.remote_closed.begin(), r.remote_closed.end()), sent.fins);
  EXPECT_EQ(r.remote_closed.size(), sent.fins.size()) << "a FIN reported twice";
  EXPECT_TRUE(r.peer_errors.empty()) << r.peer_errors.front().reason;

  // Every close is a reset the peer sent; none is our doing.
  std::set<stream_id> reset_ids;
  for (const auto& [id, status] : sent.resets) {
    reset_ids.insert(id);
    const auto* c = r.closed_of(id);
    ASSERT_NE(c, nullptr) << "reset of stream " << id << " not reported";
    EXPECT_EQ(c->ec, errc::closed);
    EXPECT_EQ(c->reason, "reset by peer: " + spdy::rst_status_name(status));
  }
  for (const auto& c : r.closed) {
    EXPECT_TRUE(reset_ids.count(c.id)) << "stream " << c.id << " closed: " << c.reason;
  }

  if (sent.goaways.empty()) {
    EXPECT_TRUE(r.session_end.empty()) << r.session_end.front().second;
  } else {
    ASSERT_EQ(r.session_end.size(), 1u);
    EXPECT_EQ(r.session_end[0].first, errc::closed);
    EXPECT_EQ(r.session_end[0].second, "peer sent GOAWAY (status OK)");
  }
  EXPECT_EQ(e.session.peer_does_flow_control(), !sent.settings.empty());
}

// What `e` wrote: SETTINGS first, our SYN_STREAMs, a SYN_REPLY for each
// stream the peer opened (as the real implementation answered, when that
// was Go), and nothing else: no reset, no WINDOW_UPDATE for Go.
// `real_answer` is what the real implementation sent; when both ends were
// Go (same dialect), our replies must match it exactly.
void expect_answers(const endpoint& e, const direction_facts& peer_sent,
                    const direction_facts* real_answer, dialect wire) {
  const auto frames = e.frames();
  ASSERT_FALSE(frames.empty());
  const auto* settings = std::get_if<spdy::settings_frame>(&frames[0].value);
  ASSERT_NE(settings, nullptr) << "first frame must be SETTINGS";
  ASSERT_EQ(settings->entries.size(), 1u);
  EXPECT_EQ(settings->entries[0].id,
            static_cast<std::uint32_t>(spdy::setting_id::initial_window_size));
  EXPECT_EQ(settings->entries[0].value, 1u << 20);

  std::vector<stream_id> replied;
  for (const auto& f : frames) {
    if (const auto* r = std::get_if<spdy::syn_reply_frame>(&f.value)) {
      replied.push_back(r->stream);
      EXPECT_EQ(r->flags, 0);
      const spdy::header_list ok = {{wire == dialect::v0_1 ? "status" : ":status", "200"}};
      EXPECT_EQ(f.headers, ok);
      if (real_answer != nullptr) {
        auto real = real_answer->replies.find(r->stream);
        ASSERT_NE(real, real_answer->replies.end()) << "Go did not answer " << r->stream;
        EXPECT_EQ(f.headers, real->second) << "Go answered stream " << r->stream << " otherwise";
      }
    } else {
      EXPECT_TRUE(std::holds_alternative<spdy::settings_frame>(f.value) ||
                  std::holds_alternative<spdy::syn_stream_frame>(f.value) ||
                  (std::holds_alternative<spdy::window_update_frame>(f.value) &&
                   !peer_sent.settings.empty()) ||
                  // the start-up PING behind our SETTINGS: our first id
                  (std::holds_alternative<spdy::ping_frame>(f.value) &&
                   std::get<spdy::ping_frame>(f.value).id <= 2))
          << "unexpected " << spdy::frame_name(f.value) << " at offset " << f.offset;
    }
  }
  std::vector<stream_id> want;
  for (const auto& s : peer_sent.syns) {
    if (!(s.flags & spdy::flags::unidirectional)) want.push_back(s.id);
  }
  EXPECT_EQ(replied, want);
}

enum class feeding { chunks, bytewise };

void run_acceptor(const capture& c, feeding how) {
  endpoint e(make_options(role::acceptor, dialect::detect));
  // The streams the server opened, so the client's replies and data on
  // them find them (acceptor ids are 2, 4, ... in order).
  open_like(e, c.server.syns);
  EXPECT_EQ(e.session.wire_dialect(), dialect::detect);
  if (how == feeding::chunks) {
    feed_in_chunks(e, c.c2s, chunk_sizes(c.folder, "C->S"), c.c2s.size() - c.client.complete);
  } else {
    feed_bytewise(e, c.c2s, c.c2s.size() - c.client.complete);
  }
  e.drain();
  if (!c.client.syns.empty()) {
    EXPECT_EQ(e.session.wire_dialect(), c.wire());
  }
  expect_reported(e, c.client);
  expect_answers(e, c.client, c.go_pair() ? &c.server : nullptr, c.wire());
}

void run_dialer(const capture& c, feeding how) {
  endpoint e(make_options(role::dialer, c.wire()));
  open_like(e, c.client.syns);
  if (how == feeding::chunks) {
    feed_in_chunks(e, c.s2c, chunk_sizes(c.folder, "S->C"), c.s2c.size() - c.server.complete);
  } else {
    feed_bytewise(e, c.s2c, c.s2c.size() - c.server.complete);
  }
  e.drain();
  expect_reported(e, c.server);
  expect_answers(e, c.server, c.go_pair() ? &c.client : nullptr, c.wire());
}

class EngineCapture : public testing::TestWithParam<std::string> {};

TEST_P(EngineCapture, AcceptorFedClientBytesInCapturedReads) {
  run_acceptor(capture(GetParam()), feeding::chunks);
}

TEST_P(EngineCapture, AcceptorFedClientBytesOneByOne) {
  run_acceptor(capture(GetParam()), feeding::bytewise);
}

TEST_P(EngineCapture, DialerFedServerBytesInCapturedReads) {
  run_dialer(capture(GetParam()), feeding::chunks);
}

TEST_P(EngineCapture, DialerFedServerBytesOneByOne) {
  run_dialer(capture(GetParam()), feeding::bytewise);
}

INSTANTIATE_TEST_SUITE_P(Engine, EngineCapture, testing::ValuesIn(test_support::capture_folders()),
                         test_support::capture_test_name);

// The facts of frames.txt, spelled out once, so that the generic checks
// above cannot pass on an empty reading.
TEST(EngineCaptureFacts, GoMasterStreamTable) {
  const capture c("go-master");
  endpoint e(make_options(role::acceptor, dialect::detect));
  feed_in_chunks(e, c.c2s, chunk_sizes(c.folder, "C->S"));
  const auto& opened = e.events.opened;
  ASSERT_EQ(opened.size(), 10u);
  const std::vector<std::optional<std::uint64_t>> parents = {std::nullopt, 2, 2, 2, 2, 2, 2, 2,
                                                             std::nullopt, 10};
  for (std::size_t i = 0; i < opened.size(); ++i) {
    EXPECT_EQ(opened[i].id, 2 * i + 1);
    EXPECT_EQ(opened[i].ref, i + 2);
    EXPECT_EQ(opened[i].parent_ref, parents[i]) << "stream " << opened[i].id;
  }
  EXPECT_EQ(e.session.wire_dialect(), dialect::v0_2);
  // Step 6: 5000 × "L" sent as 4096 + 951 bytes on the top-level channel.
  const auto& sizes = e.events.frame_sizes[1];
  EXPECT_NE(std::find(sizes.begin(), sizes.end(), 4096u), sizes.end());
  EXPECT_NE(std::find(sizes.begin(), sizes.end(), 951u), sizes.end());
  EXPECT_NE(e.events.data[11].find("hello from client\nsecond chunk\n"), std::string::npos);
  ASSERT_EQ(e.events.session_end.size(), 1u);
  // The peer closed its side of every stream and went away; ours are open.
  EXPECT_TRUE(e.session.want_read());
  for (const auto& s : opened) {
    std::error_code ec;
    e.session.submit_data(s.id, {}, true, ec);
    EXPECT_FALSE(ec) << e.session.last_error();
    const auto* closed = e.events.closed_of(s.id);
    ASSERT_NE(closed, nullptr) << "both FINs out, stream " << s.id << " must be closed";
    EXPECT_FALSE(closed->ec);
  }
  EXPECT_FALSE(e.session.want_read());
  EXPECT_TRUE(e.session.want_write()) << "the FINs are still to be written";
  e.drain();
  EXPECT_FALSE(e.session.want_write());
  std::error_code ec;
  e.session.submit_data(1, {}, true, ec);
  EXPECT_EQ(ec, errc::closed) << "stream 1 is gone";
}

TEST(EngineCaptureFacts, GoV01StreamTableAndServerStream) {
  const capture c("go-v01");
  endpoint e(make_options(role::dialer, dialect::v0_1));
  open_like(e, c.client.syns);
  feed_in_chunks(e, c.s2c, chunk_sizes(c.folder, "S->C"));
  ASSERT_EQ(e.events.opened.size(), 1u);
  const auto& s = e.events.opened[0];
  EXPECT_EQ(s.id, 2u);
  EXPECT_EQ(s.ref, 2u);
  EXPECT_EQ(s.parent_ref, 13u);
  EXPECT_EQ(s.associated, 13u);
  e.drain();
  const auto replies = frames_of<spdy::syn_reply_frame>(e.frames());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].stream, 2u);
  // The 5000-character message is one DATA frame in v0.1.
  EXPECT_EQ(e.events.frame_sizes[15], std::vector<std::size_t>{5024});
}

TEST(EngineCaptureFacts, GoV01TopLevelChannelsCarryParentZero) {
  const capture c("go-v01");
  endpoint e(make_options(role::acceptor, dialect::detect));
  open_like(e, c.server.syns);
  feed_in_chunks(e, c.c2s, chunk_sizes(c.folder, "C->S"));
  EXPECT_EQ(e.session.wire_dialect(), dialect::v0_1);
  ASSERT_EQ(e.events.opened.size(), 11u);
  EXPECT_EQ(e.events.opened[0].parent_ref, 0u);
  EXPECT_EQ(e.events.opened[5].id, 11u);
  EXPECT_EQ(e.events.opened[5].parent_ref, std::nullopt) << "v0.1 byte stream: no parent";
  EXPECT_EQ(e.events.opened[1].associated, 1u);
  // The client's GOAWAY names our stream 2 as processed: it stays usable.
  EXPECT_EQ(e.events.data[2].size(), 33u);
  EXPECT_EQ(e.events.closed_of(2), nullptr);
}

TEST(EngineCaptureFacts, JschanSettingsPushAndReset) {
  const capture c("go-v01/jschan/go-client-serverret");
  endpoint e(make_options(role::dialer, dialect::v0_1));
  open_like(e, c.client.syns);
  feed_in_chunks(e, c.s2c, chunk_sizes(c.folder, "S->C"));
  EXPECT_TRUE(e.session.peer_does_flow_control());
  ASSERT_EQ(e.events.opened.size(), 1u);
  EXPECT_TRUE(e.events.opened[0].unidirectional);
  EXPECT_EQ(e.events.opened[0].ref, 4u);
  EXPECT_EQ(e.events.opened[0].parent_ref, 3u);
  const auto* c2 = e.events.closed_of(2);
  ASSERT_NE(c2, nullptr);
  EXPECT_EQ(c2->reason, "reset by peer: PROTOCOL_ERROR");
  e.drain();
  EXPECT_TRUE(frames_of<spdy::syn_reply_frame>(e.frames()).empty()) << "no reply to a push";
}

TEST(EngineCaptureFacts, JschanByteStreamHasEmptyParent) {
  const capture c("jschan/trace-js-js");
  endpoint e(make_options(role::acceptor, dialect::detect));
  feed_in_chunks(e, c.c2s, chunk_sizes(c.folder, "C->S"));
  EXPECT_EQ(e.session.wire_dialect(), dialect::v0_1);
  ASSERT_EQ(e.events.opened.size(), 3u);
  EXPECT_EQ(e.events.opened[2].parent_ref, std::nullopt);
  const auto* c3 = e.events.closed_of(3);
  ASSERT_NE(c3, nullptr);
  EXPECT_EQ(c3->reason, "reset by peer: CANCEL");
}

}  // namespace
