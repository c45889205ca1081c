// A child process for the interop tests: its standard input and output are
// pipes to the test, its standard error goes to an anonymous file shown
// when a test fails. Destroying it kills (SIGKILL) and reaps the child, and
// the child is killed too if the test process dies.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace interop {

class child_process {
 public:
  /// Starts `argv[0]` (looked up in PATH) with `argv`, in `directory`.
  /// Fails through `ec` (e.g. no such file) with the child not started.
  child_process(const std::vector<std::string>& argv, const std::string& directory,
                std::error_code& ec);
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();

  /// The next line of its output without the newline; empty at the end of
  /// its output or when `timeout` passes first.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// Closes its standard input (the scripts exit on that).
  void close_stdin() noexcept;
  /// Waits up to `timeout` for it to exit; its exit code, or empty if it
  /// is still running or was killed by a signal.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// Sends SIGTERM and waits up to `timeout` for it to exit; as wait().
  std::optional<int> terminate(std::chrono::milliseconds timeout);
  /// Kills and reaps it. Idempotent.
  void kill() noexcept;
  /// What it wrote to its standard error so far.
  std::string error_output() const;

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::string pending_;  // output read past the last line returned
  bool output_ended_ = false;
  std::optional<int> exit_code_;
};

}  // namespace interop
