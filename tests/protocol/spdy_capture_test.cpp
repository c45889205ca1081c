// The framing layer against real sessions of Go libchan and jschan.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "spdy_test_support.hpp"
#include "support/captures.hpp"

namespace {

using namespace spdy_test;
using namespace libchan::detail::spdy;

// Bytes at the end of a direction that are not a whole frame: the relay
// recorded the connection dying in the middle of one.
std::size_t expected_tail(const std::string& folder, const std::string& file) {
  if (folder == "go-v01/jschan/go-client-big-200000" && file == "/client-to-server.bin") {
    return 4;  // the start of a DATA header for stream 3, then the close
  }
  return 0;
}

// One line of a capture's frames.txt listing, for one direction.
struct listed_frame {
  std::size_t offset = 0;
  std::string type;
  std::string fields;   // "stream=1 flags=0x00 len=45" or the like
  std::string headers;  // "name: value, ..." for frames with header blocks
};

std::vector<listed_frame> read_listing(const std::string& folder, const std::string& direction) {
  std::istringstream text(read_text(capture_path(folder + "/frames.txt")));
  const std::string header_mark = "; headers: ";
  std::vector<listed_frame> out;
  bool mine = false;
  std::string line;
  while (std::getline(text, line)) {
    if (line.rfind("t=", 0) == 0) {
      // "t=104637   C->S @0     SYN_STREAM    v3 flags=0x00 len=42 stream=1 ..."
      std::istringstream fields(line);
      std::string time, dir, at, type, rest;
      fields >> time >> dir >> at >> type >> std::ws;
      std::getline(fields, rest);
      mine = dir == direction;
      if (mine) out.push_back({std::stoul(at.substr(1)), type, rest, {}});
    } else if (auto mark = line.find(header_mark);
               mine && line.find("compressed header block") != std::string::npos &&
               mark != std::string::npos) {
      out.back().headers = line.substr(mark + header_mark.size());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.offset < b.offset; });
  return out;
}

// Our own rendering of a frame in the listing's terms, for comparison.
std::string describe(const read_frame& f) {
  return std::visit(
      [&](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        const std::string len = "len=" + std::to_string(f.size - 8);
        char flags[8];
        if constexpr (std::is_same_v<T, data_frame>) {
          std::snprintf(flags, sizeof flags, "0x%02x", v.flags);
          return "stream=" + std::to_string(v.stream) + " flags=" + flags + " " + len;
        } else if constexpr (std::is_same_v<T, syn_stream_frame>) {
          std::snprintf(flags, sizeof flags, "0x%02x", v.flags);
          return std::string("flags=") + flags + " " + len + " stream=" + std::to_string(v.stream) +
                 " assoc=" + std::to_string(v.associated) + " pri=" + std::to_string(v.priority) +
                 " slot=" + std::to_string(v.slot);
        } else if constexpr (std::is_same_v<T, syn_reply_frame>) {
          std::snprintf(flags, sizeof flags, "0x%02x", v.flags);
          return std::string("flags=") + flags + " " + len + " stream=" + std::to_string(v.stream);
        } else if constexpr (std::is_same_v<T, rst_stream_frame>) {
          return "flags=0x00 " + len + " stream=" + std::to_string(v.stream) +
                 " status=" + std::to_string(static_cast<std::uint32_t>(v.status)) + "(" +
                 rst_status_name(v.status) + ")";
        } else if constexpr (std::is_same_v<T, settings_frame>) {
          std::string s;
          for (const auto& e : v.entries) {
            s += (s.empty() ? "" : ", ") + std::string("id=") + std::to_string(e.id) +
                 " flags=" + std::to_string(e.flags) + " value=" + std::to_string(e.value);
          }
          std::snprintf(flags, sizeof flags, "0x%02x", v.flags);
          return std::string("flags=") + flags + " " + len + " entries=[" + s + "]";
        } else if constexpr (std::is_same_v<T, goaway_frame>) {
          return "flags=0x00 " + len + " last-good-stream=" + std::to_string(v.last_good) +
                 " status=" + std::to_string(static_cast<std::uint32_t>(v.status));
        } else {
          return frame_name(f.value);
        }
      },
      f.value);
}

// The listing's field text, cut to what describe() renders.
std::string listed_fields(const listed_frame& l) {
  std::string s = l.fields;
  if (s.rfind("v3 ", 0) == 0) s.erase(0, 3);
  if (auto bracket = s.find("   ["); bracket != std::string::npos) s.erase(bracket);
  // "flags=0x01(FIN)": we print the number only.
  if (auto f = s.find("flags=0x");
      f != std::string::npos && s.size() > f + 10 && s[f + 10] == '(') {
    s.erase(f + 10, s.find(')', f) - (f + 10) + 1);
  }
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

class SpdyCapture : public ::testing::TestWithParam<std::string> {};

TEST_P(SpdyCapture, EveryFrameMatchesTheListing) {
  const std::string folder = GetParam();
  for (const std::string direction : {"C->S", "S->C"}) {
    const std::string file =
        direction == "C->S" ? "/client-to-server.bin" : "/server-to-client.bin";
    const bytes wire = read_file(capture_path(folder + file));
    std::size_t tail = 0;
    const auto frames = read_all(view(wire), &tail);
    EXPECT_EQ(tail, expected_tail(folder, file));
    const auto listing = read_listing(folder, direction);
    ASSERT_EQ(frames.size(), listing.size()) << folder << " " << direction;
    std::size_t end = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      SCOPED_TRACE(folder + " " + direction + " frame at " + std::to_string(frames[i].offset));
      EXPECT_EQ(frames[i].offset, listing[i].offset);
      EXPECT_EQ(frame_name(frames[i].value), listing[i].type);
      EXPECT_EQ(describe(frames[i]), listed_fields(listing[i]));
      EXPECT_EQ(header_text(frames[i].headers), listing[i].headers);
      end = frames[i].offset + frames[i].size;
    }
    EXPECT_EQ(end + tail, wire.size()) << "every byte belongs to a frame";
  }
}

TEST_P(SpdyCapture, RepackingReproducesTheBytes) {
  const std::string folder = GetParam();
  for (const char* file : {"/client-to-server.bin", "/server-to-client.bin"}) {
    const bytes wire = read_file(capture_path(folder + file));
    std::size_t tail = 0;
    bytes again;
    for (const auto& f : read_all(view(wire), &tail)) pack_frame(again, f.value);
    EXPECT_EQ(again, bytes(wire.begin(), wire.end() - static_cast<std::ptrdiff_t>(tail)))
        << folder << file;
  }
}

TEST_P(SpdyCapture, RandomChunksGiveTheSameFrames) {
  const std::string folder = GetParam();
  std::mt19937 rng(1234);
  for (const char* file : {"/client-to-server.bin", "/server-to-client.bin"}) {
    const bytes wire = read_file(capture_path(folder + file));
    std::size_t tail = 0;
    const auto whole = read_all(view(wire), &tail);
    // A driver's buffer: bytes arrive in random reads, parsed bytes leave.
    frame_parser parser;
    header_decoder decoder;
    bytes buffer;
    std::size_t fed = 0, index = 0, dropped = 0;
    while (fed < wire.size()) {
      const std::size_t n = std::min<std::size_t>(wire.size() - fed, 1 + rng() % 1500);
      buffer.insert(buffer.end(), wire.begin() + fed, wire.begin() + fed + n);
      fed += n;
      for (;;) {
        auto r = parser.parse(view(buffer));
        ASSERT_NE(r.status, unpack_status::error) << r.error.message;
        if (r.status == unpack_status::need_more) {
          buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(r.consumed));
          dropped += r.consumed;
          break;
        }
        ASSERT_LT(index, whole.size());
        EXPECT_EQ(dropped, whole[index].offset);
        header_list headers;
        if (auto* block = header_block_of(r.value)) {
          ASSERT_FALSE(decoder.decode(*block, headers));
        }
        EXPECT_EQ(headers, whole[index].headers);
        ++index;
        buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(r.consumed));
        dropped += r.consumed;
      }
    }
    EXPECT_EQ(index, whole.size()) << folder << file;
    EXPECT_EQ(buffer.size(), expected_tail(folder, file));
  }
}

INSTANTIATE_TEST_SUITE_P(All, SpdyCapture, ::testing::ValuesIn(test_support::capture_folders()),
                         test_support::capture_test_name);

// Every split of go-master's streams into two reads parses to the same frames.
TEST(SpdyCaptureSplit, EverySplitPointOfGoMaster) {
  for (const char* file : {"go-master/client-to-server.bin", "go-master/server-to-client.bin"}) {
    const bytes wire = read_file(capture_path(file));
    const auto whole = read_all(view(wire));
    for (std::size_t split = 0; split <= wire.size(); ++split) {
      frame_parser parser;
      std::size_t at = 0, index = 0;
      auto drain = [&](std::size_t available) {
        for (;;) {
          auto r = parser.parse(bytes_view(wire).subspan(at, available - at));
          if (r.status == unpack_status::error) {
            ADD_FAILURE() << r.error.message;
            return;
          }
          if (r.status == unpack_status::need_more) return;
          if (index >= whole.size() || at != whole[index].offset ||
              r.consumed != whole[index].size) {
            ADD_FAILURE() << file << " split " << split << ": frame " << index << " differs";
            return;
          }
          at += r.consumed;
          ++index;
        }
      };
      drain(split);
      drain(wire.size());
      ASSERT_EQ(index, whole.size()) << file << " split at " << split;
    }
  }
}

TEST(SpdyCaptureFacts, GoMasterClientToServer) {
  const bytes wire = read_file(capture_path("go-master/client-to-server.bin"));
  const auto frames = read_all(view(wire));
  ASSERT_GE(frames.size(), 3u);

  const auto& syn = std::get<syn_stream_frame>(frames[0].value);
  EXPECT_EQ(syn.stream, 1u);
  EXPECT_EQ(syn.associated, 0u);
  EXPECT_EQ(syn.priority, 0);
  EXPECT_EQ(syn.flags, 0);
  EXPECT_EQ(frames[0].headers, (header_list{{"libchan-ref", "2"}}));

  // The 5000-character message: Go's 4096-byte buffer splits it in two.
  std::vector<std::size_t> stream1_sizes;
  for (const auto& f : frames) {
    if (auto* d = std::get_if<data_frame>(&f.value); d && d->stream == 1) {
      stream1_sizes.push_back(d->payload.size());
    }
  }
  auto big = std::find(stream1_sizes.begin(), stream1_sizes.end(), 4096u);
  ASSERT_NE(big, stream1_sizes.end());
  ASSERT_NE(big + 1, stream1_sizes.end());
  EXPECT_EQ(*(big + 1), 951u);

  const auto& last = frames.back();
  const auto& goaway = std::get<goaway_frame>(last.value);
  EXPECT_EQ(goaway.last_good, 0u);
  EXPECT_EQ(goaway.status, goaway_status::ok);
  EXPECT_EQ(last.offset, 6084u);

  // Nested streams carry their parent's ref.
  EXPECT_EQ(*find_header(frames[2].headers, "libchan-parent-ref"), "2");
  EXPECT_EQ(*find_header(frames[2].headers, "libchan-ref"), "3");
}

TEST(SpdyCaptureFacts, GoMasterServerToClient) {
  const bytes wire = read_file(capture_path("go-master/server-to-client.bin"));
  const auto frames = read_all(view(wire));
  ASSERT_FALSE(frames.empty());
  const auto& reply = std::get<syn_reply_frame>(frames[0].value);
  EXPECT_EQ(reply.stream, 1u);
  EXPECT_EQ(frames[0].headers, (header_list{{":status", "200"}}));
  std::size_t replies = 0;
  for (const auto& f : frames) {
    if (std::holds_alternative<syn_reply_frame>(f.value)) {
      ++replies;
      EXPECT_EQ(f.headers, (header_list{{":status", "200"}}));
    }
    EXPECT_FALSE(std::holds_alternative<goaway_frame>(f.value)) << "Go's server sends none";
  }
  EXPECT_EQ(replies, 10u);
}

TEST(SpdyCaptureFacts, GoV01) {
  const bytes c2s_wire = read_file(capture_path("go-v01/client-to-server.bin"));
  const bytes s2c_wire = read_file(capture_path("go-v01/server-to-client.bin"));
  const auto c2s = read_all(view(c2s_wire));
  const auto s2c = read_all(view(s2c_wire));
  ASSERT_FALSE(c2s.empty());
  ASSERT_FALSE(s2c.empty());
  EXPECT_EQ(c2s[0].headers, (header_list{{"libchan-parent-ref", "0"}, {"libchan-ref", "1"}}));
  EXPECT_EQ(s2c[0].headers, (header_list{{"status", "200"}}));

  // One message, one frame: 5043 bytes.
  EXPECT_TRUE(std::any_of(c2s.begin(), c2s.end(), [](const auto& f) {
    auto* d = std::get_if<data_frame>(&f.value);
    return d && d->stream == 1 && d->payload.size() == 5043;
  }));
  // The server's own channel: an even stream associated with the client's 13.
  auto server_syn = std::find_if(s2c.begin(), s2c.end(), [](const auto& f) {
    return std::holds_alternative<syn_stream_frame>(f.value);
  });
  ASSERT_NE(server_syn, s2c.end());
  EXPECT_EQ(std::get<syn_stream_frame>(server_syn->value).stream, 2u);
  EXPECT_EQ(std::get<syn_stream_frame>(server_syn->value).associated, 13u);

  const auto& goaway = std::get<goaway_frame>(c2s.back().value);
  EXPECT_EQ(goaway.last_good, 2u) << "v0.1: the highest stream id received";
}

TEST(SpdyCaptureFacts, JschanSettingsAndReset) {
  const bytes c2s_wire = read_file(capture_path("jschan/trace-js-js/client-to-server.bin"));
  const bytes s2c_wire = read_file(capture_path("jschan/trace-js-js/server-to-client.bin"));
  const auto c2s = read_all(view(c2s_wire));
  const auto s2c = read_all(view(s2c_wire));
  for (const auto* side : {&c2s, &s2c}) {
    ASSERT_FALSE(side->empty());
    const auto& settings = std::get<settings_frame>(side->front().value);
    ASSERT_EQ(settings.entries.size(), 1u);
    const auto* window = settings.find(setting_id::initial_window_size);
    ASSERT_NE(window, nullptr);
    EXPECT_EQ(window->value, 1048576u);
    EXPECT_EQ(window->flags, flags::persist_value);
  }
  EXPECT_EQ(*find_header(c2s[1].headers, ":method"), "POST");
  EXPECT_EQ(*find_header(s2c[1].headers, ":status"), "200 OK");
  const auto& rst = std::get<rst_stream_frame>(c2s.back().value);
  EXPECT_EQ(rst.stream, 3u);
  EXPECT_EQ(rst.status, rst_status::cancel);
}

}  // namespace
