#include "interop/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <thread>

extern char** environ;

namespace interop {
namespace {

using clock_type = std::chrono::steady_clock;

std::error_code last_error() { return {errno, std::system_category()}; }

// The path execve needs: `name` itself if it has a slash, else the first
// executable of that name in PATH.
std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start);
    candidate = (candidate.empty() ? std::string(".") : candidate) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

int anonymous_file() {
  auto dir = std::filesystem::temp_directory_path().string();
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string pattern = dir + "/libchan-interop-XXXXXX";
  fd = ::mkostemp(pattern.data(), O_CLOEXEC);
  if (fd >= 0) ::unlink(pattern.c_str());
  return fd;
}

void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

}  // namespace

child_process::child_process(const std::vector<std::string>& argv, const std::string& directory,
                             std::error_code& ec) {
  ec.clear();
  auto program = argv.empty() ? std::nullopt : find_program(argv[0]);
  if (!program) {
    ec = std::make_error_code(std::errc::no_such_file_or_directory);
    return;
  }
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    ec = last_error();
    return;
  }
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ec = last_error();
    ::close(in[0]);
    ::close(in[1]);
    return;
  }
  stderr_fd_ = anonymous_file();
  // Everything the child needs is prepared here: after fork() it may only
  // make system calls.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the test died before prctl
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    if (stderr_fd_ >= 0) ::dup2(stderr_fd_, 2);
    if (::chdir(directory.c_str()) != 0) ::_exit(127);
    ::execve(program->c_str(), args.data(), environ);
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  if (pid < 0) {
    ec = last_error();
    ::close(in[1]);
    ::close(out[0]);
    return;
  }
  pid_ = pid;
  stdin_fd_ = in[1];
  stdout_fd_ = out[0];
}

child_process::~child_process() {
  kill();
  close_fd(stdin_fd_);
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  for (;;) {
    if (auto newline = pending_.find('\n'); newline != std::string::npos) {
      std::string line = pending_.substr(0, newline);
      pending_.erase(0, newline + 1);
      return line;
    }
    if (output_ended_ || stdout_fd_ < 0) {
      if (pending_.empty()) return std::nullopt;
      return std::exchange(pending_, {});
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{stdout_fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char buffer[4096];
    ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      output_ended_ = true;
      continue;
    }
    pending_.append(buffer, static_cast<std::size_t>(n));
  }
}

void child_process::close_stdin() noexcept { close_fd(stdin_fd_); }

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
  const auto deadline = clock_type::now() + timeout;
  while (pid_ > 0) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done < 0 && errno == EINTR) continue;
    if (done != 0) {  // it exited (or is somehow not our child any more)
      if (done == pid_ && WIFEXITED(status)) exit_code_ = WEXITSTATUS(status);
      pid_ = -1;
      break;
    }
    if (clock_type::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return exit_code_;
}

std::optional<int> child_process::terminate(std::chrono::milliseconds timeout) {
  if (pid_ > 0) ::kill(pid_, SIGTERM);
  return wait(timeout);
}

void child_process::kill() noexcept {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
}

std::string child_process::error_output() const {
  std::string text;
  if (stderr_fd_ < 0) return text;
  char buffer[4096];
  off_t offset = 0;
  for (;;) {
    ssize_t n = ::pread(stderr_fd_, buffer, sizeof buffer, offset);
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    offset += n;
    if (text.size() > (256u << 10)) break;  // enough to see what went wrong
  }
  return text;
}

}  // namespace interop
