#include "spdy/protocol.hpp"

#include <utility>

namespace libchan::detail::spdy {

std::string frame_type_name(std::uint16_t type) {
  switch (static_cast<frame_type>(type)) {
    case frame_type::syn_stream:
      return "SYN_STREAM";
    case frame_type::syn_reply:
      return "SYN_REPLY";
    case frame_type::rst_stream:
      return "RST_STREAM";
    case frame_type::settings:
      return "SETTINGS";
    case frame_type::ping:
      return "PING";
    case frame_type::goaway:
      return "GOAWAY";
    case frame_type::headers:
      return "HEADERS";
    case frame_type::window_update:
      return "WINDOW_UPDATE";
    case frame_type::credential:
      return "CREDENTIAL";
  }
  return "control type " + std::to_string(type);
}

std::string rst_status_name(rst_status status) {
  switch (status) {
    case rst_status::protocol_error:
      return "PROTOCOL_ERROR";
    case rst_status::invalid_stream:
      return "INVALID_STREAM";
    case rst_status::refused_stream:
      return "REFUSED_STREAM";
    case rst_status::unsupported_version:
      return "UNSUPPORTED_VERSION";
    case rst_status::cancel:
      return "CANCEL";
    case rst_status::internal_error:
      return "INTERNAL_ERROR";
    case rst_status::flow_control_error:
      return "FLOW_CONTROL_ERROR";
    case rst_status::stream_in_use:
      return "STREAM_IN_USE";
    case rst_status::stream_already_closed:
      return "STREAM_ALREADY_CLOSED";
    case rst_status::invalid_credentials:
      return "INVALID_CREDENTIALS";
    case rst_status::frame_too_large:
      return "FRAME_TOO_LARGE";
  }
  return "status " + std::to_string(static_cast<std::uint32_t>(status));
}

std::string goaway_status_name(goaway_status status) {
  switch (status) {
    case goaway_status::ok:
      return "OK";
    case goaway_status::protocol_error:
      return "PROTOCOL_ERROR";
    case goaway_status::internal_error:
      return "INTERNAL_ERROR";
  }
  return "status " + std::to_string(static_cast<std::uint32_t>(status));
}

failure session_failure(errc code, std::string message) {
  failure f;
  f.code = code;
  f.scope = failure_scope::session;
  f.goaway = goaway_status::protocol_error;
  f.message = std::move(message);
  return f;
}

failure stream_failure(errc code, stream_id stream, rst_status status, std::string message) {
  failure f;
  f.code = code;
  f.scope = failure_scope::stream;
  f.stream = stream;
  f.rst = status;
  f.message = std::move(message);
  return f;
}

}  // namespace libchan::detail::spdy
