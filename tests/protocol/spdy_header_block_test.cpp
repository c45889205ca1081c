// SPDY/3 header blocks: layout, zlib contexts, the dictionary, and limits.
#include <gtest/gtest.h>
#include <zlib.h>

#include "spdy/dictionary.hpp"
#include "spdy_test_support.hpp"

namespace {

using namespace spdy_test;
using namespace libchan::detail::spdy;
using libchan::errc;

// An uncompressed block written by hand, so that invalid ones can be made.
bytes raw_block(const std::vector<std::pair<std::string, std::string>>& pairs) {
  bytes out;
  auto u32 = [&out](std::size_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<std::uint8_t>(v >> shift));
  };
  u32(pairs.size());
  for (const auto& [name, value] : pairs) {
    u32(name.size());
    out.insert(out.end(), name.begin(), name.end());
    u32(value.size());
    out.insert(out.end(), value.begin(), value.end());
  }
  return out;
}

// zlib used directly, as a peer would: one stream, the SPDY/3 dictionary, a
// sync flush after each block.
class peer_deflater {
 public:
  peer_deflater() {
    EXPECT_EQ(deflateInit(&z_, Z_BEST_COMPRESSION), Z_OK);
    const auto dict = spdy3_dictionary();
    EXPECT_EQ(deflateSetDictionary(&z_, dict.data(), static_cast<uInt>(dict.size())), Z_OK);
  }
  ~peer_deflater() { deflateEnd(&z_); }

  bytes compress(const bytes& plain) {
    bytes out(plain.size() + 1024);
    z_.next_in = const_cast<Bytef*>(plain.data());
    z_.avail_in = static_cast<uInt>(plain.size());
    z_.next_out = out.data();
    z_.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z_, Z_SYNC_FLUSH), Z_OK);
    EXPECT_EQ(z_.avail_in, 0u);
    out.resize(out.size() - z_.avail_out);
    return out;
  }

 private:
  z_stream z_{};
};

// zlib's inflate used directly, answering the dictionary request.
bytes peer_inflate(z_stream& z, const bytes& block) {
  bytes out(256 * 1024);
  z.next_in = const_cast<Bytef*>(block.data());
  z.avail_in = static_cast<uInt>(block.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&z, Z_SYNC_FLUSH);
  if (rc == Z_NEED_DICT) {
    const auto dict = spdy3_dictionary();
    EXPECT_EQ(z.adler, spdy3_dictionary_adler32) << "the block must name the SPDY/3 dictionary";
    EXPECT_EQ(inflateSetDictionary(&z, dict.data(), static_cast<uInt>(dict.size())), Z_OK);
    rc = inflate(&z, Z_SYNC_FLUSH);
  }
  EXPECT_EQ(rc, Z_OK);
  EXPECT_EQ(z.avail_in, 0u);
  out.resize(out.size() - z.avail_out);
  return out;
}

const header_list sample = {{"libchan-ref", "2"}, {"libchan-parent-ref", "0"}, {":status", "200"}};

TEST(SpdyDictionary, IsTheSpdy3Dictionary) {
  const auto dict = spdy3_dictionary();
  EXPECT_EQ(dict.size(), 1423u);
  EXPECT_EQ(adler32(adler32(0, nullptr, 0), dict.data(), static_cast<uInt>(dict.size())),
            0xe3c6a7c2u);
  EXPECT_EQ(spdy3_dictionary_adler32, 0xe3c6a7c2u);
}

TEST(SpdyHeaderBlock, SerializeAndParse) {
  bytes plain;
  serialize_header_block(sample, plain);
  EXPECT_EQ(plain,
            raw_block({{"libchan-ref", "2"}, {"libchan-parent-ref", "0"}, {":status", "200"}}));
  header_list out;
  EXPECT_FALSE(parse_header_block(view(plain), {}, out));
  EXPECT_EQ(out, sample);
  ASSERT_NE(find_header(out, ":status"), nullptr);
  EXPECT_EQ(*find_header(out, ":status"), "200");
  EXPECT_EQ(find_header(out, "status"), nullptr);
}

TEST(SpdyHeaderBlock, EmptyAndMultipleValuesAreKeptAsIs) {
  const bytes plain = raw_block({{"libchan-parent-ref", ""}, {"x-multi", std::string("a\0bc", 4)}});
  header_list out;
  EXPECT_FALSE(parse_header_block(view(plain), {}, out));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].value, "");
  EXPECT_EQ(out[1].value, std::string("a\0bc", 4));
}

void expect_block_error(const bytes& plain, std::string_view words,
                        errc code = errc::protocol_error, header_limits limits = {}) {
  header_list out;
  auto err = parse_header_block(view(plain), limits, out);
  ASSERT_TRUE(err.has_value()) << "accepted: " << words;
  EXPECT_FALSE(err->fatal()) << "a well-inflated bad block costs only its stream";
  EXPECT_EQ(err->code, code);
  EXPECT_EQ(err->rst, rst_status::protocol_error);
  EXPECT_NE(err->message.find(words), std::string::npos) << err->message;
}

TEST(SpdyHeaderBlock, RejectsBadNamesAndValues) {
  expect_block_error(raw_block({{"a", "1"}, {"a", "2"}}), "duplicate header \"a\"");
  expect_block_error(raw_block({{"Libchan-Ref", "1"}}), "upper-case header name");
  expect_block_error(raw_block({{"", "1"}}), "empty header name");
  expect_block_error(raw_block({{"a", std::string("\0x", 2)}}), "empty NUL-separated");
  expect_block_error(raw_block({{"a", std::string("x\0", 2)}}), "empty NUL-separated");
  expect_block_error(raw_block({{"a", std::string("x\0\0y", 4)}}), "empty NUL-separated");
}

TEST(SpdyHeaderBlock, RejectsLengthsBeyondTheBlock) {
  bytes name_long = raw_block({{"abc", "x"}});
  name_long[7] = 200;  // the name's length
  expect_block_error(name_long, "header name 1 runs past the end");
  bytes value_long = raw_block({{"abc", "x"}});
  value_long[14] = 2;  // the value's length
  expect_block_error(value_long, "value of header \"abc\" runs past");
  bytes huge_count = raw_block({{"a", "b"}});
  huge_count[0] = 0x10;
  expect_block_error(huge_count, "more than max_headers (256)", errc::limit_exceeded);
  bytes lying_count = raw_block({{"a", "b"}});
  lying_count[3] = 3;
  expect_block_error(lying_count, "announces 3 headers");
  bytes stray = raw_block({{"a", "b"}});
  stray.push_back(0);
  expect_block_error(stray, "1 stray bytes");
  expect_block_error(bytes{0, 0}, "too short");
}

TEST(SpdyHeaderBlock, HeaderCountLimit) {
  header_limits limits;
  limits.max_headers = 2;
  expect_block_error(raw_block({{"a", ""}, {"b", ""}, {"c", ""}}), "max_headers (2)",
                     errc::limit_exceeded, limits);
  header_list out;
  EXPECT_FALSE(parse_header_block(view(raw_block({{"a", ""}, {"b", ""}})), limits, out));
}

TEST(SpdyHeaderBlock, SerializeRefusesWhatParseRefuses) {
  bytes out;
  for (const header_list& bad :
       {header_list{{"A", "1"}}, header_list{{"", "1"}}, header_list{{"a", "1"}, {"a", "2"}},
        header_list{{"a", std::string("\0", 1)}}}) {
    try {
      serialize_header_block(bad, out);
      ADD_FAILURE() << "accepted " << header_text(bad);
    } catch (const libchan::Error& e) {
      EXPECT_EQ(e.code(), errc::invalid_argument);
    }
  }
}

TEST(SpdyHeaderCodec, OurEncoderToAFreshZlibInflater) {
  header_encoder encoder;
  z_stream z{};
  ASSERT_EQ(inflateInit(&z), Z_OK);
  for (int i = 0; i < 3; ++i) {
    bytes block;
    encoder.encode(sample, block);
    bytes expected;
    serialize_header_block(sample, expected);
    EXPECT_EQ(peer_inflate(z, block), expected) << "block " << i;
    // Sync-flushed: the block ends with an empty stored block.
    ASSERT_GE(block.size(), 4u);
    EXPECT_EQ(bytes(block.end() - 4, block.end()), from_hex("0000ffff"));
  }
  inflateEnd(&z);
}

TEST(SpdyHeaderCodec, ZlibDeflaterToOurDecoder) {
  peer_deflater peer;
  header_decoder decoder;
  for (int i = 0; i < 3; ++i) {
    header_list out;
    auto err =
        decoder.decode(view(peer.compress(raw_block({{"libchan-ref", std::to_string(i)}}))), out);
    ASSERT_FALSE(err) << err->message;
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].value, std::to_string(i));
  }
}

TEST(SpdyHeaderCodec, OneContextPerDirection) {
  header_encoder encoder;
  bytes first, second;
  encoder.encode(sample, first);
  encoder.encode(sample, second);
  EXPECT_LT(second.size(), first.size()) << "the second block refers back to the first";

  header_decoder shared;
  header_list out;
  ASSERT_FALSE(shared.decode(view(first), out));
  ASSERT_FALSE(shared.decode(view(second), out));
  EXPECT_EQ(out, sample);

  header_decoder fresh;
  auto err = fresh.decode(view(second), out);
  ASSERT_TRUE(err);
  EXPECT_TRUE(err->fatal()) << "a block out of its stream's context cannot be read";
}

TEST(SpdyHeaderCodec, ZlibBombFailsFast) {
  // 1 MiB of zeros behind a valid-looking count, compressed by a peer.
  bytes plain = raw_block({{"a", ""}});
  plain.resize(1 << 20);
  peer_deflater peer;
  const bytes bomb = peer.compress(plain);
  ASSERT_LT(bomb.size(), 8192u);

  header_decoder decoder;  // default: 64 KiB
  header_list out;
  auto err = decoder.decode(view(bomb), out);
  ASSERT_TRUE(err);
  EXPECT_TRUE(err->fatal());
  EXPECT_EQ(err->code, errc::limit_exceeded);
  EXPECT_NE(err->message.find("max_decompressed_size (65536 bytes)"), std::string::npos)
      << err->message;
  EXPECT_EQ(decoder.last_inflated_size(), 65536u + 1) << "inflating stops past the limit";
  EXPECT_LT(decoder.last_input_used(), bomb.size()) << "the rest of the bomb is never read";
  EXPECT_TRUE(decoder.broken());
  auto again = decoder.decode(view(bomb), out);
  ASSERT_TRUE(again);
  EXPECT_NE(again->message.find("out of step"), std::string::npos);
}

TEST(SpdyHeaderCodec, LargeBlockWithinALargerLimit) {
  header_list big = {{"x-big", std::string(200000, 'v')}};
  header_encoder encoder;
  bytes block;
  encoder.encode(big, block);
  header_limits limits;
  limits.max_decompressed_size = 300000;
  header_decoder decoder(limits);
  header_list out;
  auto err = decoder.decode(view(block), out);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(out, big);
}

TEST(SpdyHeaderCodec, CompressedSizeLimit) {
  header_limits limits;
  limits.max_compressed_size = 16;
  header_decoder decoder(limits);
  const bytes block(17, 0);
  header_list out;
  auto err = decoder.decode(view(block), out);
  ASSERT_TRUE(err);
  EXPECT_TRUE(err->fatal());
  EXPECT_EQ(err->code, errc::limit_exceeded);
  EXPECT_NE(err->message.find("max_compressed_size (16 bytes)"), std::string::npos);
}

TEST(SpdyHeaderCodec, CorruptOrForeignStreamsAreFatal) {
  header_decoder garbage;
  header_list out;
  auto err = garbage.decode(view(from_hex("0102030405060708")), out);
  ASSERT_TRUE(err);
  EXPECT_TRUE(err->fatal());
  EXPECT_NE(err->message.find("zlib"), std::string::npos);

  // A zlib stream with another dictionary.
  z_stream z{};
  ASSERT_EQ(deflateInit(&z, 6), Z_OK);
  const bytes other_dict = {'a', 'b', 'c'};
  deflateSetDictionary(&z, other_dict.data(), 3);
  bytes plain = raw_block({{"a", "b"}}), block(256);
  z.next_in = plain.data();
  z.avail_in = static_cast<uInt>(plain.size());
  z.next_out = block.data();
  z.avail_out = static_cast<uInt>(block.size());
  ASSERT_EQ(deflate(&z, Z_SYNC_FLUSH), Z_OK);
  block.resize(block.size() - z.avail_out);
  deflateEnd(&z);
  header_decoder decoder;
  err = decoder.decode(view(block), out);
  ASSERT_TRUE(err);
  EXPECT_NE(err->message.find("dictionary"), std::string::npos) << err->message;
}

TEST(SpdyHeaderCodec, BadContentKeepsTheContextUsable) {
  peer_deflater peer;
  header_decoder decoder;
  header_list out;
  auto err = decoder.decode(view(peer.compress(raw_block({{"dup", "1"}, {"dup", "2"}}))), out);
  ASSERT_TRUE(err);
  EXPECT_FALSE(err->fatal());
  EXPECT_FALSE(decoder.broken());
  err = decoder.decode(view(peer.compress(raw_block({{"ok", "1"}}))), out);
  ASSERT_FALSE(err) << err->message;
  EXPECT_EQ(out, (header_list{{"ok", "1"}}));
}

}  // namespace
