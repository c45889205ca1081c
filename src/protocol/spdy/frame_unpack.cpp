#include "spdy/frame_unpack.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "spdy/byte_order.hpp"

namespace libchan::detail::spdy {
namespace {

constexpr std::uint32_t reserved_bit = 0x80000000u;

unpack_result need(std::size_t wanted) {
  unpack_result r;
  r.status = unpack_status::need_more;
  r.wanted = wanted;
  return r;
}

unpack_result fatal(errc code, std::string message) {
  unpack_result r;
  r.status = unpack_status::error;
  r.error = session_failure(code, "spdy: " + std::move(message));
  return r;
}

unpack_result stream_error(std::size_t consumed, stream_id stream, rst_status status,
                           std::string message) {
  unpack_result r;
  r.status = unpack_status::error;
  r.consumed = consumed;
  r.error = stream_failure(errc::protocol_error, stream, status, "spdy: " + std::move(message));
  return r;
}

unpack_result got(frame value, std::size_t consumed, std::size_t skip = 0) {
  unpack_result r;
  r.status = unpack_status::frame_ready;
  r.consumed = consumed;
  r.skip = skip;
  r.value = std::move(value);
  return r;
}

std::string str(std::uint64_t v) { return std::to_string(v); }

// Reads the control frame payload of one known type. `payload` is complete.
class control_reader {
 public:
  control_reader(const char* name, bytes_view payload, std::uint8_t flags,
                 const frame_limits& limits)
      : name_(name), payload_(payload), flags_(flags), limits_(limits) {}

  unpack_result read(frame_type type) {
    const std::size_t consumed = frame_header_size + payload_.size();
    switch (type) {
      case frame_type::syn_stream:
        return syn_stream(consumed);
      case frame_type::syn_reply:
      case frame_type::headers:
        return stream_block(type, consumed);
      case frame_type::rst_stream:
        return rst_stream(consumed);
      case frame_type::settings:
        return settings(consumed);
      case frame_type::ping:
        return got(ping_frame{read_u32(payload_, 0)}, consumed);
      case frame_type::goaway:
        return goaway(consumed);
      case frame_type::window_update:
        return window_update(consumed);
      case frame_type::credential:
        return credential(consumed);
    }
    return fatal(errc::protocol_error, "unreachable control type");  // guarded by the caller
  }

 private:
  // A 31-bit id whose top bit is reserved.
  std::uint32_t id_at(std::size_t at) {
    const std::uint32_t raw = read_u32(payload_, at);
    if (raw & reserved_bit) reserved_set_ = true;
    return raw & max_stream_id;
  }

  // Checked after the ids are read: strict mode turns a set bit into an error.
  bool reserved_violation() const { return limits_.reject_reserved_bits && reserved_set_; }

  unpack_result reserved_error() const {
    return fatal(errc::protocol_error, std::string("reserved bit set in a ") + name_ + " frame");
  }

  unpack_result zero_stream() const {
    return fatal(errc::protocol_error, std::string(name_) + " frame on stream 0");
  }

  unpack_result syn_stream(std::size_t consumed) {
    syn_stream_frame f;
    f.stream = id_at(0);
    f.associated = id_at(4);
    f.priority = static_cast<std::uint8_t>(payload_[8] >> 5);
    if (payload_[8] & 0x1F) reserved_set_ = true;
    f.slot = payload_[9];
    f.flags = flags_;
    f.header_block = payload_.subspan(10);
    if (reserved_violation()) return reserved_error();
    if (f.stream == 0) return zero_stream();
    return got(f, consumed);
  }

  unpack_result stream_block(frame_type type, std::size_t consumed) {
    const stream_id stream = id_at(0);
    if (reserved_violation()) return reserved_error();
    if (stream == 0) return zero_stream();
    if (type == frame_type::syn_reply) {
      return got(syn_reply_frame{stream, flags_, payload_.subspan(4)}, consumed);
    }
    return got(headers_frame{stream, flags_, payload_.subspan(4)}, consumed);
  }

  unpack_result rst_stream(std::size_t consumed) {
    rst_stream_frame f;
    f.stream = id_at(0);
    f.status = static_cast<rst_status>(read_u32(payload_, 4));
    if (reserved_violation()) return reserved_error();
    if (f.stream == 0) return zero_stream();
    // Status 0 and unknown codes are passed on: a reset is never answered
    // with a reset, and the stream is gone either way.
    return got(f, consumed);
  }

  unpack_result settings(std::size_t consumed) {
    const std::uint64_t count = read_u32(payload_, 0);
    if (4 + 8 * count != payload_.size()) {
      return fatal(errc::protocol_error, "SETTINGS frame length " + str(payload_.size()) +
                                             " does not match its " + str(count) +
                                             " entries (4 + 8 per entry)");
    }
    settings_frame f;
    f.flags = flags_;
    f.entries.reserve(count);  // bounded: the payload holds them all
    for (std::size_t at = 4; at < payload_.size(); at += 8) {
      f.entries.push_back(
          settings_entry{read_u24(payload_, at + 1), payload_[at], read_u32(payload_, at + 4)});
    }
    return got(std::move(f), consumed);
  }

  unpack_result goaway(std::size_t consumed) {
    goaway_frame f;
    f.last_good = id_at(0);
    f.status = static_cast<goaway_status>(read_u32(payload_, 4));
    if (reserved_violation()) return reserved_error();
    return got(f, consumed);
  }

  unpack_result window_update(std::size_t consumed) {
    window_update_frame f;
    f.stream = id_at(0);
    f.delta = id_at(4);
    if (reserved_violation()) return reserved_error();
    if (f.delta == 0) {
      if (f.stream == 0) {
        return fatal(errc::protocol_error, "WINDOW_UPDATE with delta 0 for the session window");
      }
      return stream_error(
          consumed, f.stream, rst_status::protocol_error,
          "WINDOW_UPDATE with delta 0 on stream " + str(f.stream) + " (must be 1..2^31-1)");
    }
    return got(f, consumed);
  }

  unpack_result credential(std::size_t consumed) {
    credential_frame f;
    f.length = static_cast<std::uint32_t>(payload_.size());
    f.slot = read_u16(payload_, 0);
    const std::uint64_t proof_length = read_u32(payload_, 2);
    if (6 + proof_length > payload_.size()) {
      return fatal(errc::protocol_error, "CREDENTIAL proof of " + str(proof_length) +
                                             " bytes overruns its " + str(payload_.size()) +
                                             "-byte frame");
    }
    f.proof = payload_.subspan(6, proof_length);
    f.certificates = payload_.subspan(6 + proof_length);
    return got(f, consumed);
  }

  const char* name_;
  bytes_view payload_;
  std::uint8_t flags_;
  const frame_limits& limits_;
  bool reserved_set_ = false;
};

// The smallest legal payload of each known control type, and whether it is
// also the only legal one.
struct length_rule {
  std::uint32_t min;
  bool exact;
};

length_rule rule_for(frame_type type) {
  switch (type) {
    case frame_type::syn_stream:
      return {10, false};
    case frame_type::syn_reply:
    case frame_type::headers:
      return {4, false};
    case frame_type::rst_stream:
    case frame_type::goaway:
    case frame_type::window_update:
      return {8, true};
    case frame_type::settings:
      return {4, false};
    case frame_type::ping:
      return {4, true};
    case frame_type::credential:
      return {6, false};
  }
  return {0, false};
}

unpack_result unpack_data(bytes_view in, std::uint32_t first, std::uint8_t flags,
                          std::uint32_t length, const frame_limits& limits) {
  const stream_id stream = first & max_stream_id;
  if (stream == 0) return fatal(errc::protocol_error, "DATA frame on stream 0");
  if (length > limits.max_data_payload) {
    unpack_result r =
        stream_error(frame_header_size, stream, rst_status::frame_too_large,
                     "DATA frame of " + str(length) + " bytes on stream " + str(stream) +
                         " exceeds max_data_payload (" + str(limits.max_data_payload) + " bytes)");
    r.error.code = errc::limit_exceeded;
    r.skip = length;
    return r;
  }
  const std::size_t total = frame_header_size + length;
  if (in.size() < total) return need(total);
  return got(data_frame{stream, flags, in.subspan(frame_header_size, length)}, total);
}

}  // namespace

unpack_result unpack_frame(bytes_view in, const frame_limits& limits) {
  if (in.size() < frame_header_size) return need(frame_header_size);
  const std::uint32_t first = read_u32(in, 0);
  const std::uint8_t flags = in[4];
  const std::uint32_t length = read_u24(in, 5);
  if ((first & reserved_bit) == 0) return unpack_data(in, first, flags, length, limits);

  const std::uint16_t version = static_cast<std::uint16_t>((first >> 16) & 0x7FFF);
  const std::uint16_t type = static_cast<std::uint16_t>(first & 0xFFFF);
  // Another version's header blocks would use another zlib dictionary and
  // layout, so there is no answering one stream and going on.
  if (version != protocol_version) {
    return fatal(errc::protocol_error, "unsupported SPDY version " + str(version) + " in a " +
                                           frame_type_name(type) + " frame (only 3 is spoken)");
  }
  if (!is_known_control_type(type)) {
    return got(unknown_control_frame{type, flags, length, {}}, frame_header_size, length);
  }

  const auto ftype = static_cast<frame_type>(type);
  const std::string name = frame_type_name(type);
  const length_rule rule = rule_for(ftype);
  if (rule.exact && length != rule.min) {
    return fatal(errc::protocol_error,
                 name + " frame length " + str(length) + ", must be " + str(rule.min));
  }
  if (length < rule.min) {
    return fatal(errc::protocol_error,
                 name + " frame length " + str(length) + ", must be at least " + str(rule.min));
  }
  if (length > limits.max_control_payload) {
    if (ftype == frame_type::credential) {
      // Ignored anyway: skip it unbuffered rather than fail the session.
      credential_frame skipped;
      skipped.length = length;
      return got(skipped, frame_header_size, length);
    }
    return fatal(errc::limit_exceeded, name + " frame of " + str(length) +
                                           " bytes exceeds max_control_payload (" +
                                           str(limits.max_control_payload) + " bytes)");
  }
  const std::size_t total = frame_header_size + length;
  if (in.size() < total) return need(total);
  control_reader reader(name.c_str(), in.subspan(frame_header_size, length), flags, limits);
  return reader.read(ftype);
}

unpack_result frame_parser::parse(bytes_view in) {
  if (state_ == state::failed) {
    unpack_result r;
    r.status = unpack_status::error;
    r.error = failure_;
    return r;
  }
  std::size_t skipped = 0;
  if (state_ == state::skipping) {
    skipped = std::min(skip_left_, in.size());
    skip_left_ -= skipped;
    if (skip_left_ > 0) {
      unpack_result r = need(skip_left_);
      r.consumed = skipped;
      return r;
    }
    state_ = state::frame_start;
  }

  unpack_result r = unpack_frame(in.subspan(skipped), limits_);
  r.consumed += skipped;
  if (r.status == unpack_status::need_more) return r;
  if (r.status == unpack_status::error && r.error.fatal()) {
    state_ = state::failed;
    failure_ = r.error;
    return r;
  }
  if (r.skip > 0) {
    const std::size_t now = std::min(r.skip, in.size() - r.consumed);
    r.consumed += now;
    skip_left_ = r.skip - now;
    if (skip_left_ > 0) state_ = state::skipping;
    r.skip = 0;
  }
  return r;
}

}  // namespace libchan::detail::spdy
