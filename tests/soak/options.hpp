// The soak's command line, shared by the client and the server half, and the
// session options both derive from it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "libchan/libchan.hpp"

namespace soak {

struct Options {
  std::string url = "tcp://127.0.0.1:0";
  double duration = 600;  // seconds of load, after the channels are set up
  std::size_t channels = 10000;
  std::uint64_t seed = 1;
  int workers = 4;  // client threads; each keeps `batch` requests in flight
  int batch = 32;
  double stream_share = 0.2;  // requests carrying a byte stream (half of them echoed)
  double close_share = 0.01;  // picks that close the channel and open a new one
  std::size_t max_stream = 32u << 10;
  double redial_every = 150;  // seconds between session re-dials; 0: never
  double warmup = 0.2;        // share of the run before memory must be flat
  double rss_growth = 0.2;    // allowed RSS growth after warm-up: 20 % ...
  double rss_slack_mib = 16;  //   ... plus 16 MiB
  int server_threads = 4;
  std::string cert, key, ca;  // serve: TLS files (the client makes them)
};

// Writes the option list to `to`.
void print_help(FILE* to);

// Parses argv from `first`; prints the option list and exits 0 on --help,
// exits 2 on a bad option.
Options parse(int argc, char** argv, int first);

// Whether `url` needs certificates (tls://, wss://).
bool is_tls(const std::string& url);

// Session limits sized for the channels and requests in flight; the TLS
// files when the URL needs them.
libchan::SessionOptions session_options(const Options& o);

}  // namespace soak
