// Exit codes, and the one-line errors chancat ends with.
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>

namespace chancat {

/// The documented exit codes (docs/chancat.md).
enum class Exit : int {
  ok = 0,
  usage = 1,       ///< bad command line, URL, --data/--reply JSON or file named on it
  connection = 2,  ///< cannot connect or listen, TLS failure, session or channel lost
  timeout = 3,     ///< --timeout passed
  data = 4,        ///< bad input line, or a message the peer sent that breaks the protocol
  local_io = 5,    ///< a file under --save could not be written
};

/// What ends chancat: an exit code and one line for stderr (without the
/// "chancat: " prefix).
class Failure : public std::runtime_error {
 public:
  Failure(Exit code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Exit code() const noexcept { return code_; }

 private:
  Exit code_;
};

/// The exit code for a failure reported as `ec`.
Exit exit_for(const std::error_code& ec) noexcept;

/// A Failure for `ec`, with `what` (for example "dial tcp://host:1") in front.
Failure failure_for(const std::error_code& ec, const std::string& what);

/// A Failure for an exception thrown by libchan (whose what() already names
/// the operation and the cause).
Failure failure_for(const std::system_error& e);

/// `text` on one line: line breaks become spaces.
std::string one_line(std::string text);

}  // namespace chancat
