#include "failure.hpp"

#include <algorithm>

#include "libchan/error.hpp"

namespace chancat {

Exit exit_for(const std::error_code& ec) noexcept {
  using libchan::errc;
  if (!ec) return Exit::ok;
  if (ec == errc::timed_out || ec == std::errc::timed_out) return Exit::timeout;
  // dial() and listen() report a malformed URL or an unknown scheme this way.
  if (ec == errc::invalid_argument) return Exit::usage;
  if (ec == errc::protocol_error || ec == errc::decode_error || ec == errc::limit_exceeded ||
      ec == errc::type_mismatch || ec == errc::not_supported)
    return Exit::data;
  return Exit::connection;
}

Failure failure_for(const std::error_code& ec, const std::string& what) {
  return Failure(exit_for(ec), one_line(what + ": " + ec.message()));
}

Failure failure_for(const std::system_error& e) {
  // what() is "<context>: <code message>"; libchan's context already says it
  // in words, and a system error's often repeats the code's message.
  std::string text = e.what();
  std::string message = e.code().message();
  std::string suffix = ": " + message;
  if (text.size() > suffix.size() && text.ends_with(suffix)) {
    std::string context = text.substr(0, text.size() - suffix.size());
    if (e.code().category() == libchan::error_category() ||
        context.find(message) != std::string::npos)
      text = context;
  }
  return Failure(exit_for(e.code()), one_line(text));
}

std::string one_line(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

}  // namespace chancat
