// The two messages of the rexec example, shaped exactly as Go libchan's
// rexec example sends them, so either side can be the Go program.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "libchan/libchan.hpp"

namespace remote_exec {

/// The reply on StatusChan, once the command has finished.
struct CommandResponse {
  /// The exit status; 128 + N when the command was killed by signal N.
  std::int64_t status = 0;
  LIBCHAN_FIELDS((status, "Status"))
};

/// One command to run. The client opens the byte streams and the status
/// channel; the server wires the streams to the command's stdin, stdout and
/// stderr and answers once on StatusChan.
struct RemoteCommand {
  std::string cmd;
  std::vector<std::string> args;
  libchan::ByteStream input;   // the command's stdin
  libchan::ByteStream output;  // its stdout
  libchan::ByteStream errors;  // its stderr
  libchan::Sender<CommandResponse> status_chan;
  // Go's field order: our encoder opens the nested streams in this order,
  // as the Go v0.1.0 client does (Go master's order is random).
  LIBCHAN_FIELDS((cmd, "Cmd"), (args, "Args"), (input, "Stdin"), (output, "Stdout"),
                 (errors, "Stderr"), (status_chan, "StatusChan"))
};

}  // namespace remote_exec
