// rexec-client: runs one command on a rexec-server (or on Go libchan's rexec
// example server) with this process's stdin, stdout and stderr, and exits
// with the command's status.
//
//   rexec-client tcp://host:9323 ls -l /tmp
//   echo hi | rexec-client unix:///run/rexec.sock cat
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "output_relay.hpp"
#include "remote_command.hpp"
#include "tool_flags.hpp"

namespace {

using namespace std::chrono_literals;

// Exit status for failures of the client itself, as ssh uses.
constexpr int failure_status = 255;
// How long output may trail the exit status before the client gives up on it.
constexpr auto output_grace = 10s;

int fail(const std::string& message) {
  std::cerr << "rexec-client: " << message << std::endl;
  return failure_status;
}

// Our stdin as a byte stream, on a descriptor of its own (the stream closes
// it). Reading is all the server does with it; a socket is marked read-only
// so that the end of the remote side never shuts down our socket.
libchan::ByteStream stdin_stream() {
  int fd = ::fcntl(0, F_DUPFD_CLOEXEC, 3);
  if (fd < 0) fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // stdin was closed
  struct stat st {};
  bool socket = ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
  return libchan::ByteStream::from_fd(libchan::Fd(fd), socket ? libchan::ByteStream::Mode::read_only
                                                              : libchan::ByteStream::Mode::duplex);
}

int run(const std::string& url, std::vector<std::string> command,
        const libchan::SessionOptions& options) {
  libchan::Session session;
  try {
    session = libchan::dial(url, options);
  } catch (const std::exception& e) {
    return fail(e.what());
  }
  remote_exec::OutputRelay out(1), err(2);
  auto [status_rx, status_tx] = libchan::pipe<remote_exec::CommandResponse>();
  remote_exec::RemoteCommand request;
  request.cmd = command.front();
  request.args.assign(command.begin() + 1, command.end());
  request.input = stdin_stream();
  request.output = out.take_stream();
  request.errors = err.take_stream();
  request.status_chan = std::move(status_tx);

  std::error_code ec;
  auto commands = session.open_sender<remote_exec::RemoteCommand>(ec);
  if (!ec) commands.send(std::move(request), ec);
  if (ec) return fail("cannot send the command to " + url + ": " + ec.message());

  auto response = status_rx.receive(ec);
  if (!response) {
    std::string why = ec ? ec.message() : session.closed() ? session.error_message() : "";
    return fail("the server ended the command without an exit status" +
                (why.empty() ? std::string() : " (" + why + ")"));
  }
  // The status can overtake the last output: wait for both streams to end.
  if (!out.wait_for(output_grace) || !err.wait_for(output_grace))
    return fail("the command's output did not end after its exit status");
  // Say goodbye (GOAWAY) rather than vanish: the server then logs a clean
  // end instead of a reset connection.
  commands.close();
  session.close();
  auto status = response->status;
  return status >= 0 && status <= 255 ? static_cast<int>(status) : failure_status;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Runs COMMAND on a rexec server with this terminal's stdin, stdout and stderr,\n"
      "and exits with its status (255 when the client itself fails)."};
  app.prefix_command();  // COMMAND's own options are not ours
  std::string url, dialect = "auto";
  tool_flags::TlsFlags tls;
  app.add_option("url", url, "the server: tcp://HOST:PORT, unix:///PATH, tls://HOST:PORT, ...")
      ->required();
  app.add_option("--dialect", dialect, "wire dialect: auto (v0.2), v0.1 or v0.2");
  tool_flags::add_tls_flags(app, tls, /*dialing=*/true);
  app.footer("COMMAND [ARGS...] follow the URL; they run without a shell.");
  libchan::SessionOptions options;
  try {
    app.parse(argc, argv);
    options.dialect = tool_flags::parse_dialect(dialect);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(std::string(e.what()) + " (see --help)");
  }
  auto command = app.remaining();
  if (command.empty()) return fail("no command given (see --help)");
  options.tls = tool_flags::tls_options(tls, /*dialing=*/true);
  return run(url, std::move(command), options);
}
