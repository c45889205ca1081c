// The zlib side of header blocks: one deflate stream and one inflate stream
// per session direction, primed with the SPDY/3 dictionary.
#include <zlib.h>

#include <algorithm>
#include <new>
#include <stdexcept>

#include "spdy/dictionary.hpp"
#include "spdy/header_block.hpp"

namespace libchan::detail::spdy {

namespace zlib_detail {

struct stream_state {
  z_stream z{};
  bool deflating = false;
};

void stream_state_deleter::operator()(stream_state* s) const noexcept {
  if (s->deflating) {
    deflateEnd(&s->z);
  } else {
    inflateEnd(&s->z);
  }
  delete s;
}

}  // namespace zlib_detail

namespace {

using zlib_detail::stream_ptr;
using zlib_detail::stream_state;

std::string str(std::uint64_t v) { return std::to_string(v); }

[[noreturn]] void throw_init_failure(int rc, const char* what) {
  if (rc == Z_MEM_ERROR) throw std::bad_alloc();
  throw std::logic_error(std::string("spdy: zlib ") + what + " failed with code " + str(rc));
}

// zlib wants non-const input pointers; it never writes through them.
Bytef* input_pointer(const std::uint8_t* p) { return const_cast<Bytef*>(p); }

failure zlib_failure(const z_stream& z, int rc) {
  std::string why = z.msg ? z.msg : "code " + std::to_string(rc);
  return session_failure(errc::protocol_error,
                         "spdy: corrupt compressed header block (zlib: " + why + ")");
}

}  // namespace

header_encoder::header_encoder() : z_(new stream_state) {
  z_->deflating = true;
  // Window and memory levels are zlib's defaults: any inflater takes them.
  int rc = deflateInit2(&z_->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY);
  if (rc != Z_OK) {
    z_->deflating = false;  // nothing to end; inflateEnd on a zeroed stream is harmless
    throw_init_failure(rc, "deflateInit2");
  }
  const auto dict = spdy3_dictionary();
  rc = deflateSetDictionary(&z_->z, dict.data(), static_cast<uInt>(dict.size()));
  if (rc != Z_OK) throw_init_failure(rc, "deflateSetDictionary");
}

void header_encoder::encode(const header_list& headers, std::vector<std::uint8_t>& out) {
  scratch_.clear();
  serialize_header_block(headers, scratch_);
  z_stream& z = z_->z;
  z.next_in = scratch_.data();
  z.avail_in = static_cast<uInt>(scratch_.size());
  // A sync flush leaves every byte of this block decodable on its own while
  // the stream, and its history, continues with the next block.
  do {
    const std::size_t old = out.size();
    const std::size_t room = scratch_.size() / 2 + 64;
    out.resize(old + room);
    z.next_out = out.data() + old;
    z.avail_out = static_cast<uInt>(room);
    const int rc = deflate(&z, Z_SYNC_FLUSH);
    out.resize(old + room - z.avail_out);
    if (rc != Z_OK && rc != Z_BUF_ERROR) throw_init_failure(rc, "deflate");
  } while (z.avail_out == 0);
}

header_decoder::header_decoder(header_limits limits) : limits_(limits), z_(new stream_state) {
  // 15: the largest window, so a peer may compress with any window size.
  const int rc = inflateInit2(&z_->z, 15);
  if (rc != Z_OK) throw_init_failure(rc, "inflateInit2");
}

std::optional<failure> header_decoder::decode(bytes_view block, header_list& out) {
  out.clear();
  last_inflated_ = 0;
  last_input_used_ = 0;
  if (broken_) {
    return session_failure(errc::protocol_error,
                           "spdy: header decompression is out of step after an earlier error");
  }
  if (block.size() > limits_.max_compressed_size) {
    broken_ = true;
    return session_failure(errc::limit_exceeded, "spdy: compressed header block of " +
                                                     str(block.size()) +
                                                     " bytes exceeds max_compressed_size (" +
                                                     str(limits_.max_compressed_size) + " bytes)");
  }
  if (auto err = inflate_block(block)) {
    broken_ = true;
    return err;
  }
  return parse_header_block({plain_.data(), last_inflated_}, limits_, out);
}

std::optional<failure> header_decoder::inflate_block(bytes_view block) {
  z_stream& z = z_->z;
  z.next_in = input_pointer(block.data());
  z.avail_in = static_cast<uInt>(block.size());
  // One byte more than allowed: producing it proves the block too large
  // without inflating the rest of it.
  const std::size_t cap = limits_.max_decompressed_size + 1;
  std::size_t produced = 0;
  for (;;) {
    if (produced == plain_.size()) {
      if (plain_.size() >= cap) break;
      plain_.resize(std::min(cap, std::max<std::size_t>(256, plain_.size() * 2)));
    }
    z.next_out = plain_.data() + produced;
    z.avail_out = static_cast<uInt>(plain_.size() - produced);
    int rc = inflate(&z, Z_SYNC_FLUSH);
    produced = plain_.size() - z.avail_out;
    if (rc == Z_NEED_DICT) {
      const auto dict = spdy3_dictionary();
      rc = inflateSetDictionary(&z, dict.data(), static_cast<uInt>(dict.size()));
      if (rc != Z_OK) {
        return session_failure(errc::protocol_error,
                               "spdy: header block wants a zlib dictionary other than SPDY/3's");
      }
      continue;
    }
    if (rc == Z_STREAM_END) {
      // The peer ended its zlib stream; a later block may start a new one.
      inflateReset(&z);
      if (z.avail_in == 0) break;
      continue;
    }
    if (rc == Z_BUF_ERROR && z.avail_out > 0) break;  // all input used, all output out
    if (rc != Z_OK && rc != Z_BUF_ERROR) return zlib_failure(z, rc);
    if (z.avail_in == 0 && z.avail_out > 0) break;
  }
  last_input_used_ = block.size() - z.avail_in;
  last_inflated_ = produced;
  if (produced > limits_.max_decompressed_size) {
    return session_failure(errc::limit_exceeded,
                           "spdy: header block inflates to more than max_decompressed_size (" +
                               str(limits_.max_decompressed_size) + " bytes)");
  }
  return std::nullopt;
}

}  // namespace libchan::detail::spdy
