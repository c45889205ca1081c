// Runs a program in a child process the way a user runs it from a shell:
// arguments, text on stdin, stdout and stderr captured, the exit code, and
// a time limit after which the child is killed. For the tests of the
// command-line tools; every wait here is bounded.
//
//   auto r = tool_test::run(path, {"dial", url}, "{\"a\": 1}\n");
//   EXPECT_EQ(r.exit_code, 0) << r.err;
//
//   tool_test::Process p(path, {"listen", "-v", url});  // runs alongside
//   ASSERT_TRUE(p.wait_for_stderr("listening on", 5s));
//   auto url = p.stderr_line_after("listening on ", 5s);
//   ...
//   auto r = p.wait(10s);  // closes stdin, waits, kills after 10 s
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace tool_test {

using namespace std::chrono_literals;

/// How a child process ended.
struct Outcome {
  int exit_code = -1;      ///< -1 if a signal ended it
  int signal = 0;          ///< the signal that ended it, or 0
  bool timed_out = false;  ///< killed because the time limit passed
  std::string out, err;    ///< everything it wrote
};

/// A running child whose stdin, stdout and stderr are pipes to this process.
/// Not copyable or movable. Destroying it kills the child if it still runs.
class Process {
 public:
  Process(const std::string& program, const std::vector<std::string>& args) {
    ignore_sigpipe();
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
      throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err[1], STDERR_FILENO);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);  // none of the test's sockets
    // The child starts with SIGPIPE at its default, whatever this process did.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

    std::vector<std::string> argv_text{program};
    argv_text.insert(argv_text.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_text) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, program.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    stdin_ = in[1];
    if (rc != 0) {
      ::close(out[0]);
      ::close(err[0]);
      close_stdin();
      throw std::runtime_error("cannot start " + program + ": " + std::strerror(rc));
    }
    reader_ = std::thread([this, o = out[0], e = err[0]] { read_output(o, e); });
  }

  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  ~Process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      reap(true);
    }
    close_stdin();
    if (feeder_.joinable()) feeder_.join();
    if (reader_.joinable()) reader_.join();
  }

  pid_t pid() const noexcept { return pid_; }

  /// Writes `text` to the child's stdin. Blocks while the pipe is full:
  /// meant for small texts, or a child that reads. False if the child
  /// closed its stdin.
  bool write(std::string_view text) {
    while (!text.empty()) {
      ssize_t n = ::write(stdin_, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  /// Writes `text` to the child's stdin on a thread of its own, then closes
  /// stdin: for input of any size, the time limit of wait() still applies.
  /// No other write or close_stdin after it.
  void feed(std::string text) {
    feeder_ = std::thread([fd = std::exchange(stdin_, -1), text = std::move(text)] {
      std::string_view rest = text;
      while (!rest.empty()) {
        ssize_t n = ::write(fd, rest.data(), rest.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) break;  // the child is gone or closed its stdin
        rest.remove_prefix(static_cast<std::size_t>(n));
      }
      ::close(fd);
    });
  }

  /// Ends the child's stdin. Idempotent.
  void close_stdin() {
    if (stdin_ >= 0) ::close(stdin_);
    stdin_ = -1;
  }

  /// Waits until the child's stdout (or stderr) holds `text`; false if it
  /// did not within `timeout` or the child closed it first.
  bool wait_for_stdout(std::string_view text, std::chrono::milliseconds timeout) {
    return wait_for(out_, text, timeout);
  }
  bool wait_for_stderr(std::string_view text, std::chrono::milliseconds timeout) {
    return wait_for(err_, text, timeout);
  }

  /// The rest of the first stderr line that holds `prefix`, once the child
  /// wrote that line whole; empty if it did not within `timeout` (or closed
  /// stderr first). For a program that reports its address, say.
  std::string stderr_line_after(std::string_view prefix, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    std::string line;
    auto found = [&] {
      auto at = err_.find(prefix);
      if (at == std::string::npos) return false;
      auto start = at + prefix.size();
      auto end = err_.find('\n', start);
      if (end == std::string::npos) return false;
      line = err_.substr(start, end - start);
      return true;
    };
    changed_.wait_for(lock, timeout, [&] { return found() || output_closed_; });
    return line;
  }

  /// What the child wrote so far.
  std::string out() const {
    std::lock_guard lock(mutex_);
    return out_;
  }
  std::string err() const {
    std::lock_guard lock(mutex_);
    return err_;
  }

  /// Closes stdin and waits for the child to exit; after `timeout` kills it
  /// (SIGKILL). Returns how it ended and everything it wrote.
  Outcome wait(std::chrono::milliseconds timeout) {
    close_stdin();
    Outcome result;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0 && !reap(false)) {
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        result.timed_out = true;
        reap(true);
        break;
      }
      std::this_thread::sleep_for(2ms);
    }
    // The child is gone: a feeder still writing gets EPIPE.
    if (feeder_.joinable()) feeder_.join();
    if (reader_.joinable()) reader_.join();
    result.exit_code = WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
    result.signal = WIFSIGNALED(status_) ? WTERMSIG(status_) : 0;
    std::lock_guard lock(mutex_);
    result.out = out_;
    result.err = err_;
    return result;
  }

 private:
  static void ignore_sigpipe() {
    // Writing to a child that has exited must fail with EPIPE, not kill us.
    static const bool done = [] {
      ::signal(SIGPIPE, SIG_IGN);
      return true;
    }();
    (void)done;
  }

  // True once the child is reaped; `block` waits for it.
  bool reap(bool block) {
    pid_t r;
    do {
      r = ::waitpid(pid_, &status_, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == pid_ || r < 0) {
      pid_ = -1;
      return true;
    }
    return false;
  }

  void read_output(int out_fd, int err_fd) {
    pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
    std::string* sinks[2] = {&out_, &err_};
    int open = 2;
    char buffer[65536];
    while (open > 0) {
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        std::lock_guard lock(mutex_);
        if (n <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open;
        } else {
          sinks[i]->append(buffer, static_cast<std::size_t>(n));
        }
        changed_.notify_all();
      }
    }
    std::lock_guard lock(mutex_);
    output_closed_ = true;
    changed_.notify_all();
  }

  bool wait_for(const std::string& sink, std::string_view text, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      return sink.find(text) != std::string::npos || output_closed_;
    }) && sink.find(text) != std::string::npos;
  }

  pid_t pid_ = -1;
  int status_ = 0;
  int stdin_ = -1;
  std::thread reader_, feeder_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::string out_, err_;
  bool output_closed_ = false;
};

/// Runs `program` with `args` and `input` on its stdin, to the end or
/// until `timeout` (then it is killed).
inline Outcome run(const std::string& program, const std::vector<std::string>& args,
                   std::string_view input = {}, std::chrono::milliseconds timeout = 10s) {
  Process p(program, args);
  p.feed(std::string(input));
  return p.wait(timeout);
}

}  // namespace tool_test
