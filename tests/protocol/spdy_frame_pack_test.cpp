// Packing SPDY/3 frames, and unpacking what was packed.
#include <gtest/gtest.h>

#include "spdy_test_support.hpp"

namespace {

using namespace spdy_test;
using namespace libchan::detail::spdy;

// Packs `f`, unpacks it again, and checks that the whole frame was used.
template <class Frame>
Frame round_trip(const Frame& f, bytes& wire) {
  wire.clear();
  pack(wire, f);
  auto r = unpack_frame(view(wire));
  EXPECT_EQ(r.status, unpack_status::frame_ready) << r.error.message;
  EXPECT_EQ(r.consumed, wire.size());
  EXPECT_EQ(r.skip, 0u);
  const Frame* out = std::get_if<Frame>(&r.value);
  EXPECT_NE(out, nullptr) << "unpacked as " << frame_name(r.value);
  return out ? *out : Frame{};
}

bool same(bytes_view a, bytes_view b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

TEST(SpdyFramePack, DataRoundTripAndPayloadIsAView) {
  const bytes payload = {1, 2, 3, 4, 5};
  bytes wire;
  auto f = round_trip(data_frame{7, flags::fin, view(payload)}, wire);
  EXPECT_EQ(f.stream, 7u);
  EXPECT_TRUE(f.fin());
  EXPECT_TRUE(same(f.payload, view(payload)));
  EXPECT_EQ(f.payload.data(), wire.data() + 8) << "DATA payload must point into the input";
  EXPECT_EQ(wire, from_hex("00000007 01000005 0102030405"));
}

TEST(SpdyFramePack, EmptyDataWithFin) {
  bytes wire;
  auto f = round_trip(data_frame{1, flags::fin, {}}, wire);
  EXPECT_EQ(wire, from_hex("00000001 01000000"));
  EXPECT_TRUE(f.payload.empty());
}

TEST(SpdyFramePack, DataHeaderAloneMatchesFullFrame) {
  const bytes payload(300, 0x4c);
  bytes full, split;
  pack(full, data_frame{11, 0, view(payload)});
  pack_data_header(split, 11, 0, static_cast<std::uint32_t>(payload.size()));
  EXPECT_EQ(split.size(), 8u);
  split.insert(split.end(), payload.begin(), payload.end());
  EXPECT_EQ(full, split);
}

TEST(SpdyFramePack, SynStreamRoundTrip) {
  const bytes block = {0xde, 0xad, 0xbe, 0xef};
  bytes wire;
  auto f = round_trip(
      syn_stream_frame{0x7FFFFFFF, 13, 7, 9, flags::fin | flags::unidirectional, view(block)},
      wire);
  EXPECT_EQ(f.stream, 0x7FFFFFFFu);
  EXPECT_EQ(f.associated, 13u);
  EXPECT_EQ(f.priority, 7);
  EXPECT_EQ(f.slot, 9);
  EXPECT_TRUE(f.fin());
  EXPECT_TRUE(f.unidirectional());
  EXPECT_TRUE(same(f.header_block, view(block)));
  EXPECT_EQ(wire, from_hex("80030001 0300000e 7fffffff 0000000d e009 deadbeef"));
}

TEST(SpdyFramePack, SynReplyAndHeadersRoundTrip) {
  const bytes block = {1, 2, 3};
  bytes wire;
  auto r = round_trip(syn_reply_frame{3, flags::fin, view(block)}, wire);
  EXPECT_EQ(wire, from_hex("80030002 01000007 00000003 010203"));
  EXPECT_EQ(r.stream, 3u);
  EXPECT_TRUE(r.fin());
  EXPECT_TRUE(same(r.header_block, view(block)));

  auto h = round_trip(headers_frame{5, 0, view(block)}, wire);
  EXPECT_EQ(wire, from_hex("80030008 00000007 00000005 010203"));
  EXPECT_EQ(h.stream, 5u);
  EXPECT_FALSE(h.fin());
  EXPECT_TRUE(same(h.header_block, view(block)));
}

TEST(SpdyFramePack, RstStreamRoundTripEveryStatus) {
  bytes wire;
  for (std::uint32_t s = 1; s <= 11; ++s) {
    auto f = round_trip(rst_stream_frame{9, static_cast<rst_status>(s)}, wire);
    EXPECT_EQ(f.stream, 9u);
    EXPECT_EQ(static_cast<std::uint32_t>(f.status), s);
    EXPECT_NE(rst_status_name(f.status).find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
              std::string::npos);
  }
  round_trip(rst_stream_frame{3, rst_status::cancel}, wire);
  EXPECT_EQ(wire, from_hex("80030003 00000008 00000003 00000005"));
  EXPECT_EQ(rst_status_name(rst_status::frame_too_large), "FRAME_TOO_LARGE");
  EXPECT_EQ(rst_status_name(static_cast<rst_status>(42)), "status 42");
}

TEST(SpdyFramePack, SettingsRoundTrip) {
  settings_frame in;
  in.flags = flags::clear_settings;
  in.entries = {
      {static_cast<std::uint32_t>(setting_id::initial_window_size), flags::persist_value, 1048576},
      {static_cast<std::uint32_t>(setting_id::max_concurrent_streams), 0, 100}};
  bytes wire;
  auto f = round_trip(in, wire);
  EXPECT_EQ(f.flags, flags::clear_settings);
  EXPECT_EQ(f.entries, in.entries);
  ASSERT_NE(f.find(setting_id::initial_window_size), nullptr);
  EXPECT_EQ(f.find(setting_id::initial_window_size)->value, 1048576u);
  EXPECT_EQ(f.find(setting_id::round_trip_time), nullptr);
  // Entry layout: flags first, then the 24-bit id (SPDY/3, not SPDY/2's order).
  EXPECT_EQ(wire, from_hex("80030004 01000014 00000002 01000007 00100000 00000004 00000064"));
}

TEST(SpdyFramePack, EmptySettings) {
  bytes wire;
  auto f = round_trip(settings_frame{}, wire);
  EXPECT_TRUE(f.entries.empty());
  EXPECT_EQ(wire.size(), 12u);
}

TEST(SpdyFramePack, PingGoawayWindowUpdateRoundTrip) {
  bytes wire;
  EXPECT_EQ(round_trip(ping_frame{0xfffffffe}, wire).id, 0xfffffffeu);
  EXPECT_EQ(wire, from_hex("80030006 00000004 fffffffe"));

  auto g = round_trip(goaway_frame{2, goaway_status::internal_error}, wire);
  EXPECT_EQ(g.last_good, 2u);
  EXPECT_EQ(g.status, goaway_status::internal_error);
  round_trip(goaway_frame{0, goaway_status::ok}, wire);
  // The bytes Go libchan master's client ends its session with.
  EXPECT_EQ(wire, from_hex("80030007 00000008 00000000 00000000"));

  auto w = round_trip(window_update_frame{5, 0x7FFFFFFF}, wire);
  EXPECT_EQ(w.stream, 5u);
  EXPECT_EQ(w.delta, 0x7FFFFFFFu);
  auto session = round_trip(window_update_frame{0, 1000}, wire);
  EXPECT_EQ(session.stream, 0u) << "stream 0 addresses the session window";
  EXPECT_EQ(session.delta, 1000u);
}

TEST(SpdyFramePack, CredentialRoundTrip) {
  const bytes proof = {9, 8, 7};
  const bytes certs = {0, 0, 0, 2, 0xaa, 0xbb};
  bytes wire;
  auto f = round_trip(credential_frame{4, view(proof), view(certs)}, wire);
  EXPECT_EQ(f.slot, 4);
  EXPECT_EQ(f.length, 15u);
  EXPECT_TRUE(same(f.proof, view(proof)));
  EXPECT_TRUE(same(f.certificates, view(certs)));
}

TEST(SpdyFramePack, UnknownControlFrameIsReportedWithItsLengthAndSkipped) {
  const bytes payload = {1, 2, 3, 4, 5, 6};
  bytes wire;
  pack(wire, unknown_control_frame{0x1234, 0x80, 0, view(payload)});
  EXPECT_EQ(wire, from_hex("80031234 80000006 010203040506"));
  auto r = unpack_frame(view(wire));
  ASSERT_EQ(r.status, unpack_status::frame_ready);
  auto* f = std::get_if<unknown_control_frame>(&r.value);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->type, 0x1234);
  EXPECT_EQ(f->flags, 0x80);
  EXPECT_EQ(f->length, 6u);
  EXPECT_TRUE(f->payload.empty());
  EXPECT_EQ(r.consumed, 8u) << "the payload is skipped, not buffered";
  EXPECT_EQ(r.skip, 6u);
  EXPECT_EQ(frame_name(r.value), "control type 4660");
}

TEST(SpdyFramePack, PackFrameVisitsTheVariant) {
  bytes a, b;
  pack_frame(a, frame{ping_frame{7}});
  pack(b, ping_frame{7});
  EXPECT_EQ(a, b);
  EXPECT_EQ(frame_name(frame{ping_frame{7}}), "PING");
  EXPECT_EQ(frame_name(frame{window_update_frame{}}), "WINDOW_UPDATE");
}

TEST(SpdyFramePack, RejectsValuesThatDoNotFitTheWire) {
  bytes out;
  auto rejects = [&out](auto&& f) {
    try {
      pack(out, f);
    } catch (const libchan::Error& e) {
      EXPECT_EQ(e.code(), libchan::errc::invalid_argument);
      return true;
    }
    return false;
  };
  EXPECT_TRUE(rejects(data_frame{0, 0, {}}));
  EXPECT_TRUE(rejects(data_frame{0x80000000u, 0, {}}));
  EXPECT_TRUE(rejects(syn_stream_frame{1, 0x80000000u, 0, 0, 0, {}}));
  EXPECT_TRUE(rejects(syn_stream_frame{1, 0, 8, 0, 0, {}}));
  EXPECT_TRUE(rejects(syn_reply_frame{0, 0, {}}));
  EXPECT_TRUE(rejects(rst_stream_frame{0, rst_status::cancel}));
  EXPECT_TRUE(rejects(window_update_frame{1, 0}));
  EXPECT_TRUE(rejects(window_update_frame{1, 0x80000000u}));
  EXPECT_TRUE(rejects(goaway_frame{0x80000000u, goaway_status::ok}));
  EXPECT_TRUE(rejects(unknown_control_frame{1, 0, 0, {}}));
  EXPECT_TRUE(rejects(settings_frame{0, {{0x1000000, 0, 1}}}));
  EXPECT_FALSE(rejects(unknown_control_frame{5, 0, 0, {}})) << "5 was SPDY/2's NOOP";
  EXPECT_THROW(pack_data_header(out, 1, 0, max_frame_length + 1), libchan::Error);
  const bytes too_big(max_frame_length + 1);
  EXPECT_TRUE(rejects(data_frame{1, 0, view(too_big)}));
  EXPECT_TRUE(rejects(headers_frame{1, 0, bytes_view(too_big).subspan(3)}))
      << "stream id plus block exceed 24 bits";
}

}  // namespace
