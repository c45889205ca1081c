// What the unpacker refuses, and how it classifies it.
#include <gtest/gtest.h>

#include "spdy_test_support.hpp"

namespace {

using namespace spdy_test;
using namespace libchan::detail::spdy;
using libchan::errc;

unpack_result unpack_hex(std::string_view hex, frame_limits limits = {}) {
  static bytes keep;  // results hold views into the input
  keep = from_hex(hex);
  return unpack_frame(view(keep), limits);
}

void expect_fatal(const unpack_result& r, std::string_view words,
                  errc code = errc::protocol_error) {
  ASSERT_EQ(r.status, unpack_status::error);
  EXPECT_TRUE(r.error.fatal());
  EXPECT_EQ(r.error.code, code);
  EXPECT_EQ(r.error.goaway, goaway_status::protocol_error);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_NE(r.error.message.find(words), std::string::npos) << r.error.message;
}

TEST(SpdyFrameUnpack, NeedsTheHeaderThenTheWholeFrame) {
  bytes wire;
  pack(wire, rst_stream_frame{3, rst_status::cancel});
  for (std::size_t n = 0; n < wire.size(); ++n) {
    auto r = unpack_frame(bytes_view(wire).first(n));
    ASSERT_EQ(r.status, unpack_status::need_more) << n;
    EXPECT_EQ(r.consumed, 0u);
    EXPECT_EQ(r.wanted, n < 8 ? 8u : 16u) << n;
  }
  EXPECT_EQ(unpack_frame(view(wire)).status, unpack_status::frame_ready);
}

TEST(SpdyFrameUnpack, OnlyVersionThree) {
  // A SPDY/2 SYN_STREAM and a SPDY/4-style PING.
  expect_fatal(unpack_hex("80020001 0000000c 00000001 00000000 0000 0000"), "version 2");
  expect_fatal(unpack_hex("80040006 00000004 00000001"), "version 4");
}

TEST(SpdyFrameUnpack, FixedLengthControlFrames) {
  expect_fatal(unpack_hex("80030006 00000005 0000000100"), "PING frame length 5, must be 4");
  expect_fatal(unpack_hex("80030003 00000004 00000001"), "RST_STREAM frame length 4, must be 8");
  // SPDY/2's GOAWAY had no status: 4 bytes.
  expect_fatal(unpack_hex("80030007 00000004 00000000"), "GOAWAY frame length 4, must be 8");
  expect_fatal(unpack_hex("80030009 0000000c 00000001 00000001 00000000"),
               "WINDOW_UPDATE frame length 12, must be 8");
}

TEST(SpdyFrameUnpack, MinimumLengthControlFrames) {
  expect_fatal(unpack_hex("80030001 00000009 00000001 00000000 00"),
               "SYN_STREAM frame length 9, must be at least 10");
  expect_fatal(unpack_hex("80030002 00000003 000000"), "SYN_REPLY frame length 3");
  expect_fatal(unpack_hex("80030008 00000000"), "HEADERS frame length 0");
  expect_fatal(unpack_hex("80030004 00000003 000000"), "SETTINGS frame length 3");
  expect_fatal(unpack_hex("8003000a 00000002 0001"), "CREDENTIAL frame length 2");
}

TEST(SpdyFrameUnpack, SettingsLengthMustMatchItsCount) {
  expect_fatal(unpack_hex("80030004 0000000c 00000002 01000007 00100000"),
               "does not match its 2 entries");
  expect_fatal(unpack_hex("80030004 00000010 00000001 01000007 00100000 00000000"),
               "does not match its 1 entries");
}

TEST(SpdyFrameUnpack, CredentialProofMustFit) {
  expect_fatal(unpack_hex("8003000a 00000008 0001 00000003 0102"), "overruns");
}

TEST(SpdyFrameUnpack, StreamZeroIsRefusedWhereAStreamIsNeeded) {
  expect_fatal(unpack_hex("00000000 00000001 ff"), "DATA frame on stream 0");
  expect_fatal(unpack_hex("80030001 0000000a 00000000 00000000 0000"),
               "SYN_STREAM frame on stream 0");
  expect_fatal(unpack_hex("80030002 00000004 00000000"), "SYN_REPLY frame on stream 0");
  expect_fatal(unpack_hex("80030008 00000004 00000000"), "HEADERS frame on stream 0");
  expect_fatal(unpack_hex("80030003 00000008 00000000 00000005"), "RST_STREAM frame on stream 0");
  // GOAWAY's last-good id may be 0, and WINDOW_UPDATE 0 is the session window.
  EXPECT_EQ(unpack_hex("80030007 00000008 00000000 00000000").status, unpack_status::frame_ready);
  EXPECT_EQ(unpack_hex("80030009 00000008 00000000 00000010").status, unpack_status::frame_ready);
}

TEST(SpdyFrameUnpack, WindowUpdateDeltaZero) {
  auto r = unpack_hex("80030009 00000008 00000005 00000000");
  ASSERT_EQ(r.status, unpack_status::error);
  EXPECT_FALSE(r.error.fatal()) << "a stream's bad update costs that stream";
  EXPECT_EQ(r.error.stream, 5u);
  EXPECT_EQ(r.error.rst, rst_status::protocol_error);
  EXPECT_EQ(r.consumed, 16u) << "the frame is used up; parsing goes on after it";
  EXPECT_NE(r.error.message.find("delta 0"), std::string::npos);

  expect_fatal(unpack_hex("80030009 00000008 00000000 00000000"), "session window");
  // With the reserved bit masked off, a delta of 2^31 is 0.
  auto masked = unpack_hex("80030009 00000008 00000005 80000000");
  ASSERT_EQ(masked.status, unpack_status::error);
  EXPECT_EQ(masked.error.stream, 5u);
}

TEST(SpdyFrameUnpack, ReservedBitsAreIgnoredByDefault) {
  auto r = unpack_hex("80030001 0000000a 80000003 80000001 3f00");
  ASSERT_EQ(r.status, unpack_status::frame_ready);
  auto& syn = std::get<syn_stream_frame>(r.value);
  EXPECT_EQ(syn.stream, 3u);
  EXPECT_EQ(syn.associated, 1u);
  EXPECT_EQ(syn.priority, 1);

  auto w = unpack_hex("80030009 00000008 80000005 80000100");
  ASSERT_EQ(w.status, unpack_status::frame_ready);
  EXPECT_EQ(std::get<window_update_frame>(w.value).stream, 5u);
  EXPECT_EQ(std::get<window_update_frame>(w.value).delta, 0x100u);
}

TEST(SpdyFrameUnpack, ReservedBitsCanBeRefused) {
  frame_limits strict;
  strict.reject_reserved_bits = true;
  expect_fatal(unpack_hex("80030001 0000000a 80000003 00000000 0000", strict),
               "reserved bit set in a SYN_STREAM frame");
  expect_fatal(unpack_hex("80030001 0000000a 00000003 00000000 0100", strict),
               "reserved bit");  // the unused bits after the priority
  expect_fatal(unpack_hex("80030002 00000004 80000001", strict), "SYN_REPLY");
  expect_fatal(unpack_hex("80030003 00000008 80000001 00000001", strict), "RST_STREAM");
  expect_fatal(unpack_hex("80030007 00000008 80000000 00000000", strict), "GOAWAY");
  expect_fatal(unpack_hex("80030008 00000004 80000001", strict), "HEADERS");
  expect_fatal(unpack_hex("80030009 00000008 00000001 80000001", strict), "WINDOW_UPDATE");
  EXPECT_EQ(unpack_hex("80030001 0000000a 00000003 00000000 e000", strict).status,
            unpack_status::frame_ready);
}

TEST(SpdyFrameUnpack, OversizedDataFailsItsStreamNamingTheLimit) {
  frame_limits limits;
  limits.max_data_payload = 1000;
  bytes wire;
  pack_data_header(wire, 9, 0, 1001);
  auto r = unpack_frame(view(wire), limits);
  ASSERT_EQ(r.status, unpack_status::error);
  EXPECT_FALSE(r.error.fatal());
  EXPECT_EQ(r.error.code, errc::limit_exceeded);
  EXPECT_EQ(r.error.stream, 9u);
  EXPECT_EQ(r.error.rst, rst_status::frame_too_large);
  EXPECT_NE(r.error.message.find("max_data_payload (1000 bytes)"), std::string::npos)
      << r.error.message;
  EXPECT_EQ(r.consumed, 8u);
  EXPECT_EQ(r.skip, 1001u) << "decided from the header alone, before the payload arrives";

  bytes exact;
  const bytes payload(1000, 1);
  pack(exact, data_frame{9, 0, view(payload)});
  EXPECT_EQ(unpack_frame(view(exact), limits).status, unpack_status::frame_ready);
}

TEST(SpdyFrameUnpack, DefaultDataLimitIsTheLengthField) {
  EXPECT_EQ(frame_limits::default_max_data_payload, 0xFFFFFFu);
  bytes wire;
  pack_data_header(wire, 1, 0, max_frame_length);
  auto r = unpack_frame(view(wire));
  EXPECT_EQ(r.status, unpack_status::need_more);
  EXPECT_EQ(r.wanted, 8u + max_frame_length);
}

TEST(SpdyFrameUnpack, OversizedControlFrameIsFatal) {
  frame_limits limits;
  limits.max_control_payload = 100;
  bytes block(97), wire;
  pack(wire, syn_reply_frame{1, 0, view(block)});
  expect_fatal(unpack_frame(view(wire), limits), "max_control_payload (100 bytes)",
               errc::limit_exceeded);
  EXPECT_EQ(frame_limits::default_max_control_payload, 64u * 1024);
}

TEST(SpdyFrameUnpack, OversizedCredentialIsSkippedNotFatal) {
  frame_limits limits;
  limits.max_control_payload = 16;
  const bytes proof(20, 7);
  bytes wire;
  pack(wire, credential_frame{1, view(proof), {}});
  auto r = unpack_frame(view(wire), limits);
  ASSERT_EQ(r.status, unpack_status::frame_ready);
  auto* f = std::get_if<credential_frame>(&r.value);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->length, 26u);
  EXPECT_TRUE(f->proof.empty()) << "skipped unread";
  EXPECT_EQ(r.consumed, 8u);
  EXPECT_EQ(r.skip, 26u);
}

TEST(SpdyFrameUnpack, UnknownStatusCodesPassThrough) {
  auto r = unpack_hex("80030003 00000008 00000001 00000063");
  ASSERT_EQ(r.status, unpack_status::frame_ready);
  EXPECT_EQ(static_cast<std::uint32_t>(std::get<rst_stream_frame>(r.value).status), 99u);
  auto g = unpack_hex("80030007 00000008 00000003 00000007");
  ASSERT_EQ(g.status, unpack_status::frame_ready);
  EXPECT_EQ(static_cast<std::uint32_t>(std::get<goaway_frame>(g.value).status), 7u);
}

TEST(SpdyFrameParser, SkipsAnOversizedDataFrameAcrossCallsAndGoesOn) {
  frame_limits limits;
  limits.max_data_payload = 10;
  const bytes big(50, 0xaa), small(3, 0xbb);
  bytes wire;
  pack(wire, data_frame{3, 0, view(big)});
  pack(wire, data_frame{5, flags::fin, view(small)});

  frame_parser parser(limits);
  // 20 bytes: the header and 12 bytes of the bad payload.
  auto r = parser.parse(bytes_view(wire).first(20));
  ASSERT_EQ(r.status, unpack_status::error);
  EXPECT_EQ(r.error.stream, 3u);
  EXPECT_EQ(r.consumed, 20u);
  EXPECT_EQ(r.skip, 0u);
  EXPECT_EQ(parser.current_state(), frame_parser::state::skipping);
  EXPECT_EQ(parser.skip_remaining(), 38u);

  r = parser.parse(bytes_view(wire).subspan(20, 30));
  EXPECT_EQ(r.status, unpack_status::need_more);
  EXPECT_EQ(r.consumed, 30u);
  EXPECT_EQ(parser.skip_remaining(), 8u);

  r = parser.parse(bytes_view(wire).subspan(50));
  ASSERT_EQ(r.status, unpack_status::frame_ready) << r.error.message;
  EXPECT_EQ(r.consumed, 8u + 11u);
  auto& d = std::get<data_frame>(r.value);
  EXPECT_EQ(d.stream, 5u);
  EXPECT_EQ(d.payload.size(), 3u);
  EXPECT_EQ(parser.current_state(), frame_parser::state::frame_start);
}

TEST(SpdyFrameParser, UnknownControlFramesAreSkippedEvenByteByByte) {
  const bytes junk(40, 0x55);
  bytes wire;
  pack(wire, unknown_control_frame{0x00ff, 0, 0, view(junk)});
  pack(wire, ping_frame{42});

  frame_parser parser;
  std::vector<frame> seen;
  std::size_t fed = 0;
  bytes pending;
  while (fed < wire.size()) {
    pending.push_back(wire[fed++]);
    auto r = parser.parse(view(pending));
    ASSERT_NE(r.status, unpack_status::error) << r.error.message;
    if (r.status == unpack_status::frame_ready) seen.push_back(r.value);
    pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(r.consumed));
  }
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(std::get<unknown_control_frame>(seen[0]).length, 40u);
  EXPECT_EQ(std::get<ping_frame>(seen[1]).id, 42u);
  EXPECT_TRUE(pending.empty());
}

TEST(SpdyFrameParser, FatalErrorsStick) {
  const bytes bad = from_hex("80030006 00000005 0000000000");
  frame_parser parser;
  auto r = parser.parse(view(bad));
  ASSERT_EQ(r.status, unpack_status::error);
  EXPECT_EQ(parser.current_state(), frame_parser::state::failed);
  bytes good;
  pack(good, ping_frame{1});
  r = parser.parse(view(good));
  EXPECT_EQ(r.status, unpack_status::error);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_NE(r.error.message.find("PING"), std::string::npos);
}

TEST(SpdyFrameParser, StreamErrorsDoNotStick) {
  bytes wire;
  wire = from_hex("80030009 00000008 00000005 00000000");
  pack(wire, ping_frame{2});
  frame_parser parser;
  auto r = parser.parse(view(wire));
  ASSERT_EQ(r.status, unpack_status::error);
  EXPECT_EQ(r.consumed, 16u);
  r = parser.parse(bytes_view(wire).subspan(16));
  ASSERT_EQ(r.status, unpack_status::frame_ready);
  EXPECT_EQ(std::get<ping_frame>(r.value).id, 2u);
}

}  // namespace
