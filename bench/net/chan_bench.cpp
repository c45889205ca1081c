// libchan over its own transports (unix, tcp, tls, ws) with the blocking
// API, and over in-process pipes. A scheme that dial/listen does not know
// yet is reported as unsupported (n/a in the table), not as a failure.
#include <iostream>

#include "chan_workloads.hpp"

namespace netbench::chan {
namespace {

bool is_unsupported(const std::system_error& e) {
  std::string what = e.what();
  return e.code() == libchan::errc::not_supported ||
         (e.code() == libchan::errc::invalid_argument &&
          what.find("unsupported scheme") != std::string::npos);
}

libchan::SessionOptions session_options(const Options& o, bool server) {
  libchan::SessionOptions opts;
  opts.connect_timeout = o.timeout;
  if (o.workload == "channels") {
    // Room for every channel of the row at once, in both directions.
    opts.limits.max_concurrent_streams = 2 * o.size + 64;
    opts.limits.accept_backlog = o.size + 64;
  }
  if (o.transport == "tls") {
    opts.tls.min_version = libchan::TlsOptions::Version::tls1_3;
    opts.tls.certificate_file = o.cert;
    opts.tls.private_key_file = o.key;
    if (!server) {
      opts.tls.ca_file = o.ca;
      opts.tls.server_name = "localhost";
    }
  }
  return opts;
}

std::string listen_url(const Options& o) {
  if (o.transport == "unix") return "unix://" + o.address;
  return o.transport + "://127.0.0.1:0";
}

void run_server(const Options& o) {
  libchan::Listener listener;
  try {
    listener = libchan::listen(listen_url(o), session_options(o, true));
  } catch (const std::system_error& e) {
    if (is_unsupported(e)) return print_unsupported(o, "server", e.what());
    fail(o, "server", std::string("listen: ") + e.what());
  }
  print_ready(o, listener.local_address());
  std::error_code ec;
  libchan::Session s = listener.accept_for(o.timeout, ec);
  if (ec || !s) fail(o, "server", "accept: " + ec.message());
  try {
    serve(o, s);
  } catch (const std::system_error& e) {
    fail(o, "server", e.what());
  }
  print_peak_rss(o, "server");
}

void run_client(const Options& o) {
  try {
    libchan::Session s = libchan::dial(o.address, session_options(o, false));
    drive(o, s);
  } catch (const std::system_error& e) {
    if (is_unsupported(e)) return print_unsupported(o, "client", e.what());
    fail(o, "client", e.what());
  }
  print_peak_rss(o, "client");
}

void run(const Options& o) {
  const auto& w = o.workload;
  bool known = w == "oneway" || w == "pingpong" || w == "reqrep_nested" || w == "bulk" ||
               w == "channels" || w == "fds";
  if (!known) fail(o, "server", "unknown workload " + w);
  if (o.transport == "inproc") {
    if (w == "channels" || w == "fds")
      return print_unsupported(o, "server", w + " are measured over sessions only");
    if (o.role != Role::both) fail(o, "server", "inproc runs with --role both");
    run_inproc(o);
    return print_peak_rss(o, "both");
  }
  if (w == "fds" && o.transport != "unix")
    return print_unsupported(o, "server", "descriptors pass over unix sessions only");
  if (o.role == Role::server) return run_server(o);
  if (o.role == Role::client) return run_client(o);
  fail(o, "server", "sessions run as two processes: --role server or client");
}

}  // namespace
}  // namespace netbench::chan

int main(int argc, char** argv) {
  netbench::chan::run(netbench::parse_options(argc, argv, "libchan"));
}
