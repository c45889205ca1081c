#include "soak/options.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace soak {

void print_help(FILE* to) {
  std::fputs(
      "usage: libchan_soak [options]        run the soak (client; starts the server)\n"
      "       libchan_soak serve [options]  the server half (prints its address)\n"
      "options:\n"
      "  --duration S        seconds of load after setup (600)\n"
      "  --channels N        channels kept open on the session (10000)\n"
      "  --seed N            random seed (1)\n"
      "  --url URL           where the server listens: tcp://127.0.0.1:0 (default),\n"
      "                      unix://@name, unix:///path, ws://127.0.0.1:0/soak, tls://, wss://\n"
      "  --workers N         client threads (4)\n"
      "  --batch N           requests in flight per client thread (32)\n"
      "  --stream-share F    share of requests carrying a byte stream (0.2)\n"
      "  --close-share F     share of picks closing their channel (0.01)\n"
      "  --max-stream BYTES  largest byte stream (32768)\n"
      "  --redial-every S    close and re-dial the session every S seconds, the first time\n"
      "                      halfway through the warm-up; 0: never (150)\n"
      "  --warmup F          share of the run before memory must be flat (0.2)\n"
      "  --rss-growth F      RSS allowed above the warm-up's, as a share (0.2)\n"
      "  --rss-slack MIB     plus this many MiB (16)\n"
      "  --server-threads N  server threads handling requests (4)\n",
      to);
}

Options parse(int argc, char** argv, int first) {
  Options o;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      print_help(stdout);
      std::exit(0);
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "libchan_soak: %s needs a value\n", a.c_str());
      std::exit(2);
    }
    std::string v = argv[++i];
    try {
      if (a == "--duration")
        o.duration = std::stod(v);
      else if (a == "--channels")
        o.channels = std::stoul(v);
      else if (a == "--seed")
        o.seed = std::stoull(v);
      else if (a == "--url")
        o.url = v;
      else if (a == "--workers")
        o.workers = std::stoi(v);
      else if (a == "--batch")
        o.batch = std::stoi(v);
      else if (a == "--stream-share")
        o.stream_share = std::stod(v);
      else if (a == "--close-share")
        o.close_share = std::stod(v);
      else if (a == "--max-stream")
        o.max_stream = std::stoul(v);
      else if (a == "--redial-every")
        o.redial_every = std::stod(v);
      else if (a == "--warmup")
        o.warmup = std::stod(v);
      else if (a == "--rss-growth")
        o.rss_growth = std::stod(v);
      else if (a == "--rss-slack")
        o.rss_slack_mib = std::stod(v);
      else if (a == "--server-threads")
        o.server_threads = std::stoi(v);
      else if (a == "--cert")
        o.cert = v;
      else if (a == "--key")
        o.key = v;
      else if (a == "--ca")
        o.ca = v;
      else
        throw std::invalid_argument("unknown option");
    } catch (const std::exception&) {
      std::fprintf(stderr, "libchan_soak: bad option %s %s\n", a.c_str(), v.c_str());
      print_help(stderr);
      std::exit(2);
    }
  }
  if (o.channels < 1 || o.workers < 1 || o.batch < 1 || o.server_threads < 1 || o.max_stream < 1 ||
      o.duration <= 0) {
    std::fprintf(stderr, "libchan_soak: counts and the duration must be positive\n");
    std::exit(2);
  }
  return o;
}

bool is_tls(const std::string& url) { return url.starts_with("tls:") || url.starts_with("wss:"); }

libchan::SessionOptions session_options(const Options& o) {
  libchan::SessionOptions s;
  const std::size_t in_flight = static_cast<std::size_t>(o.workers) * o.batch;
  // Every channel is a stream; each request in flight adds its reply
  // channel and up to two byte streams. Kept tight on purpose: streams a
  // session failed to release would soon hit this limit.
  s.limits.max_concurrent_streams = o.channels + 4 * in_flight + 1024;
  // A burst of channels (the setup, a re-dial) arrives faster than accepts.
  s.limits.accept_backlog = o.channels + 1024;
  // Stream bytes of requests whose turn has not come sit unconsumed; the
  // budget must hold all of them, or a reader could wait behind them.
  s.limits.max_unconsumed = std::max<std::size_t>(8u << 20, 2 * in_flight * o.max_stream);
  if (is_tls(o.url)) {
    s.tls.certificate_file = o.cert;
    s.tls.private_key_file = o.key;
    s.tls.ca_file = o.ca;
  }
  return s;
}

}  // namespace soak
