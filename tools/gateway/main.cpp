// chan-gateway: TCP connections through libchan sessions, like ssh -L.
//
//   on the gateway host:
//     chan-gateway serve --listen tls://0.0.0.0:9400 --cert gw.pem --key gw.key
//                        --allow db.internal:5432
//   on a client host (then connect to 127.0.0.1:5432):
//     chan-gateway forward --listen 127.0.0.1:5432 --via tls://gw.example:9400
//                          --to db.internal:5432 --ca ca.pem
#include <signal.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <mutex>

#include "gateway.hpp"
#include "tool_flags.hpp"

namespace gateway {

void log_line(const std::string& text) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  // One write per line: lines of concurrent commands never mix.
  std::cerr << ("chan-gateway: " + text + "\n") << std::flush;
}

}  // namespace gateway

namespace {

std::chrono::milliseconds seconds(double s) {
  return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "TCP connections through libchan sessions: a gateway service that connects to\n"
      "allowed destinations, and a local forwarder that asks it for connections."};
  app.require_subcommand(1);

  gateway::ServeOptions serve;
  std::vector<std::string> allow;
  double connect_timeout = 10;
  tool_flags::TlsFlags serve_tls;
  auto* serve_cmd = app.add_subcommand("serve", "run the gateway service");
  serve_cmd->add_option("--listen", serve.listen_url, "libchan URL to listen on")->required();
  serve_cmd->add_option("--allow", allow,
                        "a destination clients may ask for: HOST:PORT or HOST:* (repeatable; "
                        "none: nothing is allowed)");
  serve_cmd->add_option("--connect-timeout", connect_timeout, "seconds, default 10");
  serve_cmd->add_option("--max-connections", serve.max_connections,
                        "connections open at once, default 1024");
  tool_flags::add_tls_flags(*serve_cmd, serve_tls, /*dialing=*/false);

  gateway::ForwardOptions forward;
  std::string listen_address;
  double reply_timeout = 15;
  tool_flags::TlsFlags forward_tls;
  auto* forward_cmd = app.add_subcommand("forward", "offer a destination on a local TCP port");
  forward_cmd->add_option("--listen", listen_address, "local HOST:PORT to accept connections on")
      ->required();
  forward_cmd->add_option("--via", forward.via_url, "the gateway's libchan URL")->required();
  forward_cmd->add_option("--to", forward.to, "HOST:PORT the gateway connects to")->required();
  forward_cmd->add_option("--timeout", reply_timeout,
                          "seconds the gateway may take to connect, default 15");
  tool_flags::add_tls_flags(*forward_cmd, forward_tls, /*dialing=*/true, "gateway");

  try {
    app.parse(argc, argv);
    for (auto& entry : allow) serve.allow.add(entry);
    if (forward_cmd->parsed()) {
      auto listen = gateway::parse_host_port(listen_address);
      if (!listen)
        throw CLI::ValidationError("--listen", "expected HOST:PORT, not " + listen_address);
      forward.listen = *listen;
      if (!gateway::parse_host_port(forward.to))
        throw CLI::ValidationError("--to", "expected HOST:PORT, not " + forward.to);
    }
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "chan-gateway: " << e.what() << " (see --help)" << std::endl;
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "chan-gateway: --allow: " << e.what() << std::endl;
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  if (serve_cmd->parsed()) {
    serve.connect_timeout = seconds(connect_timeout);
    serve.session.tls = tool_flags::tls_options(serve_tls, /*dialing=*/false);
    return gateway::serve(serve);
  }
  forward.reply_timeout = seconds(reply_timeout);
  forward.session.tls = tool_flags::tls_options(forward_tls, /*dialing=*/true);
  return gateway::forward(forward);
}
