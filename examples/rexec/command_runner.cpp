#include "command_runner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <iostream>

#include "pipe_pump.hpp"

extern char** environ;

namespace remote_exec {

bool RunningCommands::add(pid_t pid) {
  std::lock_guard lock(mutex_);
  if (hung_up_) return false;
  pids_.insert(pid);
  return true;
}

void RunningCommands::remove(pid_t pid) {
  std::lock_guard lock(mutex_);
  pids_.erase(pid);
}

void RunningCommands::hang_up() {
  std::lock_guard lock(mutex_);
  hung_up_ = true;
  // Each command leads its own process group: this reaches its children too.
  for (pid_t pid : pids_) ::kill(-pid, SIGHUP);
}

void log_line(const std::string& text) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  // One write per line: lines of concurrent commands never mix.
  std::cerr << ("rexec-server: " + text + "\n") << std::flush;
}

namespace {

// Shell conventions for commands that could not be started.
constexpr int not_found_status = 127;
constexpr int cannot_run_status = 126;

// How the child gets one of its descriptors 0, 1, 2: `child` is what it
// gets; when the request's stream is a network stream, `ours` is the other
// end of a pipe that a pump connects to `stream`.
struct ChildStdio {
  libchan::Fd child;
  libchan::Fd ours;
  libchan::ByteStream stream;
};

libchan::Fd open_null(int flags) { return libchan::Fd(::open("/dev/null", flags | O_CLOEXEC)); }

// A stream that arrived as a real descriptor (Unix sockets can pass them):
// the child uses a copy of it directly.
libchan::Fd passed_descriptor(const libchan::ByteStream& stream) {
  int fd = stream.impl()->native_handle();
  return libchan::Fd(fd < 0 ? -1 : ::fcntl(fd, F_DUPFD_CLOEXEC, 3));
}

ChildStdio plan(libchan::ByteStream stream, bool child_reads) {
  ChildStdio io;
  if (!stream) {
    io.child = open_null(child_reads ? O_RDONLY : O_WRONLY);
    return io;
  }
  if ((io.child = passed_descriptor(stream))) return io;  // `stream` closes here
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::system_category(), "pipe");
  io.child.reset(child_reads ? fds[0] : fds[1]);
  io.ours.reset(child_reads ? fds[1] : fds[0]);
  io.stream = std::move(stream);
  return io;
}

// Starts the command in a process group of its own, with `stdio` as its
// descriptors 0, 1, 2 and no other descriptor of ours. Returns 0 or an errno.
int spawn(const RemoteCommand& command, const ChildStdio (&stdio)[3], pid_t& pid) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(command.cmd.c_str()));
  for (auto& arg : command.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int i = 0; i < 3; ++i) posix_spawn_file_actions_adddup2(&actions, stdio[i].child.get(), i);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The server ignores SIGPIPE; the command must not inherit that.
  sigset_t defaults, mask;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&mask);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &mask);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP);
  int rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  return rc;
}

// Waits for the command to exit. It leaves the hang-up list before it is
// reaped, so that a hang-up never signals a recycled process id.
int wait_exit(pid_t pid, RunningCommands& running) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  running.remove(pid);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return cannot_run_status;
}

std::string describe(const RemoteCommand& command) {
  std::string text = command.cmd;
  for (auto& arg : command.args) text += " " + arg;
  constexpr std::size_t max_length = 120;
  if (text.size() > max_length) text = text.substr(0, max_length) + "...";
  return text;
}

// Connects the child's output pipe to its stream; `done` is ready once the
// output has ended and its stream is closed.
std::future<void> pump_output(boost::asio::io_context& io, ChildStdio& out) {
  auto done = std::make_shared<std::promise<void>>();
  auto ready = done->get_future();
  if (out.ours)
    PipeToStream::start(io, std::move(out.ours), std::move(out.stream),
                        [done] { done->set_value(); });
  else
    done->set_value();
  return ready;
}

}  // namespace

void run_command(boost::asio::io_context& io, RemoteCommand command, RunningCommands& running,
                 const std::string& client) {
  ChildStdio stdio[3] = {plan(std::move(command.input), true),
                         plan(std::move(command.output), false),
                         plan(std::move(command.errors), false)};
  pid_t pid = -1;
  int status = 0;
  if (int rc = spawn(command, stdio, pid); rc != 0) {
    // As a shell does: the reason on the command's stderr, 127 or 126.
    std::string reason = rc == ENOENT ? command.cmd + ": command not found"
                                      : "cannot run " + command.cmd + ": " + std::strerror(rc);
    std::string text = "rexec-server: " + reason + "\n";
    [[maybe_unused]] auto n = ::write(stdio[2].child.get(), text.data(), text.size());
    status = rc == ENOENT ? not_found_status : cannot_run_status;
    pid = -1;
  }
  for (auto& s : stdio) s.child.reset();  // the child holds its own copies now

  std::shared_ptr<StreamToPipe> input;
  if (stdio[0].ours)
    input = StreamToPipe::start(io, std::move(stdio[0].stream), std::move(stdio[0].ours));
  auto output_done = pump_output(io, stdio[1]);
  auto errors_done = pump_output(io, stdio[2]);

  if (pid > 0) {
    if (!running.add(pid)) ::kill(-pid, SIGHUP);  // the client left while we started it
    status = wait_exit(pid, running);
  }
  // The status goes last, after the end of both outputs.
  output_done.wait();
  errors_done.wait();
  log_line(client + ": " + describe(command) + ": exit status " + std::to_string(status));
  std::error_code ec;
  command.status_chan.send({status}, ec);
  if (ec) log_line(client + ": cannot send the exit status: " + ec.message());
  if (input) input->stop();
}

}  // namespace remote_exec
