// rexec-server: runs the commands that rexec clients send (this one or Go
// libchan's rexec example), each wired to the byte streams of its request.
//
//   rexec-server --listen tcp://0.0.0.0:9323
//   rexec-server --listen tls://0.0.0.0:9323 --cert server.pem --key server.key
#include <signal.h>

#include <CLI/CLI.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>
#include <vector>

#include "command_runner.hpp"
#include "tool_flags.hpp"

namespace {

// One channel of commands, run one after another (the Go client opens a
// channel per command; concurrent commands come on separate channels).
void serve_channel(boost::asio::io_context& io,
                   libchan::Receiver<remote_exec::RemoteCommand> commands,
                   remote_exec::RunningCommands& running, const std::string& client) {
  for (;;) {
    std::error_code ec;
    auto command = commands.receive(ec);
    if (ec == libchan::errc::type_mismatch || ec == libchan::errc::decode_error) {
      remote_exec::log_line(client + ": not a command: " + ec.message());
      continue;
    }
    if (!command) return;
    try {
      remote_exec::run_command(io, std::move(*command), running, client);
    } catch (const std::exception& e) {
      remote_exec::log_line(client + ": " + e.what());
    }
  }
}

void serve_session(boost::asio::io_context& io, libchan::Session session) {
  const std::string client = session.peer_address();
  remote_exec::log_line(client + ": connected");
  auto running = std::make_shared<remote_exec::RunningCommands>();
  session.on_close([running](std::error_code) { running->hang_up(); });
  std::vector<std::thread> channels;
  while (auto commands = session.accept_receiver<remote_exec::RemoteCommand>())
    channels.emplace_back(serve_channel, std::ref(io), std::move(commands), std::ref(*running),
                          client);
  for (auto& t : channels) t.join();
  remote_exec::log_line(client + ": disconnected (" + session.error_message() + ")");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Runs the commands rexec clients send, with their streams and exit status."};
  std::string url;
  tool_flags::TlsFlags tls;
  app.add_option("--listen", url, "where to listen: tcp://HOST:PORT, unix:///PATH, tls://...")
      ->required();
  tool_flags::add_tls_flags(app, tls, /*dialing=*/false);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "rexec-server: " << e.what() << " (see --help)" << std::endl;
    return 2;
  }
  // A client that vanishes must cost a write error, not the server.
  ::signal(SIGPIPE, SIG_IGN);

  libchan::SessionOptions options;
  options.tls = tool_flags::tls_options(tls, /*dialing=*/false);
  libchan::Listener listener;
  try {
    listener = libchan::listen(url, options);
  } catch (const std::exception& e) {
    std::cerr << "rexec-server: " << e.what() << std::endl;
    return 1;
  }
  remote_exec::log_line("listening on " + listener.local_address());
  // A client without the required certificate, say, never becomes a session.
  listener.on_refused([](std::error_code, const std::string& detail) {
    remote_exec::log_line("refused a connection: " + detail);
  });

  // The pipes of every command are served by this one thread.
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread io_thread([&io] { io.run(); });
  io_thread.detach();  // runs until the process is stopped, like the sessions
  for (;;) {
    std::error_code ec;
    auto session = listener.accept(ec);
    if (ec) {
      remote_exec::log_line("accept failed: " + ec.message());
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // e.g. out of descriptors
      continue;
    }
    if (!session) break;
    std::thread(serve_session, std::ref(io), std::move(session)).detach();
  }
  // Not reached: the server runs until a signal stops it. Sessions may still
  // run on detached threads, so leave without destructors.
  std::_Exit(0);
}
