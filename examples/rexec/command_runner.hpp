// Running one RemoteCommand: a child process whose stdin, stdout and stderr
// are the request's byte streams, and its exit status on StatusChan.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <mutex>
#include <set>
#include <string>

#include "remote_command.hpp"

namespace remote_exec {

/// The commands of one client still running, so that they can be told
/// when the client goes away (SIGHUP to the command's process group, as a
/// terminal does when it hangs up).
class RunningCommands {
 public:
  /// Registers a started command; false if the client is already gone.
  bool add(pid_t pid);
  void remove(pid_t pid);
  /// Sends SIGHUP to every registered command and to those added later.
  void hang_up();

 private:
  std::mutex mutex_;
  std::set<pid_t> pids_;
  bool hung_up_ = false;
};

/// Runs `command` and answers on its StatusChan; returns once the command
/// has exited and its output has been sent. `client` names the peer in the
/// log lines written to stderr.
void run_command(boost::asio::io_context& io, RemoteCommand command, RunningCommands& running,
                 const std::string& client);

/// Writes one line to stderr, whole, prefixed with "rexec-server: ".
void log_line(const std::string& text);

}  // namespace remote_exec
