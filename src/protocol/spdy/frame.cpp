#include "spdy/frame.hpp"

#include <string>
#include <type_traits>

#include "spdy/byte_order.hpp"

namespace libchan::detail::spdy {
namespace {

[[noreturn]] void invalid(const std::string& what) {
  throw Error(errc::invalid_argument, "spdy: cannot pack " + what);
}

void check_id(std::uint32_t id, const char* what) {
  if (id > max_stream_id) invalid(std::string(what) + " above 2^31-1: " + std::to_string(id));
}

void check_stream(stream_id id, const char* frame_name) {
  check_id(id, frame_name);
  if (id == 0) invalid(std::string(frame_name) + " on stream 0");
}

std::uint32_t checked_length(std::size_t length, const char* frame_name) {
  if (length > max_frame_length) {
    invalid(std::string(frame_name) + " with a payload of " + std::to_string(length) +
            " bytes: the 24-bit length field holds at most " + std::to_string(max_frame_length));
  }
  return static_cast<std::uint32_t>(length);
}

void append_control_header(std::vector<std::uint8_t>& out, std::uint16_t type, std::uint8_t flags,
                           std::size_t length, const char* frame_name) {
  const std::uint32_t len = checked_length(length, frame_name);
  append_u16(out, static_cast<std::uint16_t>(0x8000 | protocol_version));
  append_u16(out, type);
  append_u8(out, flags);
  append_u24(out, len);
}

void append_bytes(std::vector<std::uint8_t>& out, bytes_view bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

// SYN_REPLY and HEADERS share a layout: stream id, then the header block.
void pack_stream_block(std::vector<std::uint8_t>& out, frame_type type, const char* name,
                       stream_id stream, std::uint8_t flags, bytes_view block) {
  check_stream(stream, name);
  append_control_header(out, static_cast<std::uint16_t>(type), flags, 4 + block.size(), name);
  append_u32(out, stream);
  append_bytes(out, block);
}

}  // namespace

const settings_entry* settings_frame::find(setting_id id) const noexcept {
  for (const auto& e : entries) {
    if (e.id == static_cast<std::uint32_t>(id)) return &e;
  }
  return nullptr;
}

std::string frame_name(const frame& f) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, data_frame>) return "DATA";
        if constexpr (std::is_same_v<T, syn_stream_frame>) return "SYN_STREAM";
        if constexpr (std::is_same_v<T, syn_reply_frame>) return "SYN_REPLY";
        if constexpr (std::is_same_v<T, rst_stream_frame>) return "RST_STREAM";
        if constexpr (std::is_same_v<T, settings_frame>) return "SETTINGS";
        if constexpr (std::is_same_v<T, ping_frame>) return "PING";
        if constexpr (std::is_same_v<T, goaway_frame>) return "GOAWAY";
        if constexpr (std::is_same_v<T, headers_frame>) return "HEADERS";
        if constexpr (std::is_same_v<T, window_update_frame>) return "WINDOW_UPDATE";
        if constexpr (std::is_same_v<T, credential_frame>) return "CREDENTIAL";
        if constexpr (std::is_same_v<T, unknown_control_frame>) return frame_type_name(v.type);
      },
      f);
}

void pack_data_header(std::vector<std::uint8_t>& out, stream_id stream, std::uint8_t flags,
                      std::uint32_t length) {
  check_stream(stream, "DATA");
  checked_length(length, "DATA");
  append_u32(out, stream);
  append_u8(out, flags);
  append_u24(out, length);
}

void pack(std::vector<std::uint8_t>& out, const data_frame& f) {
  pack_data_header(out, f.stream, f.flags, checked_length(f.payload.size(), "DATA"));
  append_bytes(out, f.payload);
}

void pack(std::vector<std::uint8_t>& out, const syn_stream_frame& f) {
  check_stream(f.stream, "SYN_STREAM");
  check_id(f.associated, "SYN_STREAM associated stream id");
  if (f.priority > 7) invalid("SYN_STREAM with priority " + std::to_string(f.priority) + " > 7");
  append_control_header(out, static_cast<std::uint16_t>(frame_type::syn_stream), f.flags,
                        10 + f.header_block.size(), "SYN_STREAM");
  append_u32(out, f.stream);
  append_u32(out, f.associated);
  append_u8(out, static_cast<std::uint8_t>(f.priority << 5));
  append_u8(out, f.slot);
  append_bytes(out, f.header_block);
}

void pack(std::vector<std::uint8_t>& out, const syn_reply_frame& f) {
  pack_stream_block(out, frame_type::syn_reply, "SYN_REPLY", f.stream, f.flags, f.header_block);
}

void pack(std::vector<std::uint8_t>& out, const rst_stream_frame& f) {
  check_stream(f.stream, "RST_STREAM");
  append_control_header(out, static_cast<std::uint16_t>(frame_type::rst_stream), 0, 8,
                        "RST_STREAM");
  append_u32(out, f.stream);
  append_u32(out, static_cast<std::uint32_t>(f.status));
}

void pack(std::vector<std::uint8_t>& out, const settings_frame& f) {
  // Bound the count before multiplying so the length check cannot wrap.
  if (f.entries.size() > max_frame_length / 8) invalid("SETTINGS with too many entries");
  append_control_header(out, static_cast<std::uint16_t>(frame_type::settings), f.flags,
                        4 + 8 * f.entries.size(), "SETTINGS");
  append_u32(out, static_cast<std::uint32_t>(f.entries.size()));
  for (const auto& e : f.entries) {
    if (e.id > 0xFFFFFF) invalid("SETTINGS entry id above 2^24-1: " + std::to_string(e.id));
    append_u8(out, e.flags);
    append_u24(out, e.id);
    append_u32(out, e.value);
  }
}

void pack(std::vector<std::uint8_t>& out, const ping_frame& f) {
  append_control_header(out, static_cast<std::uint16_t>(frame_type::ping), 0, 4, "PING");
  append_u32(out, f.id);
}

void pack(std::vector<std::uint8_t>& out, const goaway_frame& f) {
  check_id(f.last_good, "GOAWAY last-good stream id");
  append_control_header(out, static_cast<std::uint16_t>(frame_type::goaway), 0, 8, "GOAWAY");
  append_u32(out, f.last_good);
  append_u32(out, static_cast<std::uint32_t>(f.status));
}

void pack(std::vector<std::uint8_t>& out, const headers_frame& f) {
  pack_stream_block(out, frame_type::headers, "HEADERS", f.stream, f.flags, f.header_block);
}

void pack(std::vector<std::uint8_t>& out, const window_update_frame& f) {
  check_id(f.stream, "WINDOW_UPDATE stream id");
  if (f.delta == 0 || f.delta > max_stream_id) {
    invalid("WINDOW_UPDATE with delta " + std::to_string(f.delta) + " (must be 1..2^31-1)");
  }
  append_control_header(out, static_cast<std::uint16_t>(frame_type::window_update), 0, 8,
                        "WINDOW_UPDATE");
  append_u32(out, f.stream);
  append_u32(out, f.delta);
}

void pack(std::vector<std::uint8_t>& out, const credential_frame& f) {
  if (f.proof.size() > max_frame_length) invalid("CREDENTIAL with an oversized proof");
  append_control_header(out, static_cast<std::uint16_t>(frame_type::credential), 0,
                        6 + f.proof.size() + f.certificates.size(), "CREDENTIAL");
  append_u16(out, f.slot);
  append_u32(out, static_cast<std::uint32_t>(f.proof.size()));
  append_bytes(out, f.proof);
  append_bytes(out, f.certificates);
}

void pack(std::vector<std::uint8_t>& out, const unknown_control_frame& f) {
  if (is_known_control_type(f.type)) {
    invalid("an unknown control frame with the known type " + std::to_string(f.type));
  }
  append_control_header(out, f.type, f.flags, f.payload.size(), "control frame");
  append_bytes(out, f.payload);
}

void pack_frame(std::vector<std::uint8_t>& out, const frame& f) {
  std::visit([&out](const auto& v) { pack(out, v); }, f);
}

}  // namespace libchan::detail::spdy
