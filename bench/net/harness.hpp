// What every network benchmark program shares, so that the numbers of the
// different implementations are comparable: the command line, the
// workloads' sizes and counts, the timing, and one JSON line per result.
//
// Each program runs as `--role server` or `--role client` (two processes,
// started by scripts/bench), or `--role both` (two threads of one process,
// for in-process pipes). The server prints a "ready" line with the address
// to dial before it accepts; every side prints its results and its peak RSS.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace netbench {

using Clock = std::chrono::steady_clock;

enum class Role { server, client, both };

struct Options {
  std::string impl;  // raw, zmq, nng, libchan
  Role role = Role::server;
  std::string transport;    // inproc, unix, ipc, tcp, tls, ws
  std::string workload;     // oneway, pingpong, reqrep_nested, bulk, channels, fds
  std::size_t size = 64;    // message size in bytes (channels: the channel count)
  std::uint64_t count = 0;  // messages, round trips, bytes (bulk) or descriptors
  std::string address;  // server: where to listen (a path for unix/ipc); client: the ready address
  std::string cert, key, ca;         // PEM files for tls
  std::chrono::seconds timeout{60};  // every wait gives up after this long
};

/// Parses argv; prints usage and exits with status 2 on a bad command line.
Options parse_options(int argc, char** argv, std::string_view impl);

/// Prints the server's "ready" line: the address the client must use.
void print_ready(const Options& o, std::string_view address);
/// Prints a result: `metric` is e.g. "msgs_per_s", `unit` e.g. "msg/s".
void print_result(const Options& o, std::string_view side, std::string_view metric, double value,
                  std::string_view unit);
/// Reports that this implementation cannot run this row (shown as n/a).
void print_unsupported(const Options& o, std::string_view side, std::string_view reason);
/// Prints this process's peak RSS and its CPU time, user and system
/// (getrusage), once at the end.
void print_peak_rss(const Options& o, std::string_view side);
/// Prints a failure and exits with status 1.
[[noreturn]] void fail(const Options& o, std::string_view side, std::string_view what);

/// Peak resident set size of this process (VmHWM), in KiB.
long peak_rss_kib();

/// One-way results from the receiving side: `messages` received between
/// `start` (the first message) and now, each `size` bytes.
void report_throughput(const Options& o, std::uint64_t messages, Clock::time_point start);
/// Bulk results from the receiving side: `bytes` between `start` and now.
void report_bulk(const Options& o, std::uint64_t bytes, Clock::time_point start);

/// Round-trip times of a ping-pong or request/reply loop.
class Latencies {
 public:
  explicit Latencies(std::uint64_t expected) { samples_.reserve(expected); }
  void add(Clock::duration d) { samples_.push_back(d); }
  /// Prints p50 and p99 (µs), and round trips per second over `elapsed`.
  void report(const Options& o, Clock::duration elapsed);

 private:
  std::vector<Clock::duration> samples_;
};

/// Round trips done before timing starts, so that connections, caches and
/// allocators are warm.
std::uint64_t warmup_count(const Options& o);

/// A payload of `size` bytes with a recognisable pattern.
std::vector<std::uint8_t> make_payload(std::size_t size);

// The timed loops every implementation runs, around its own send and
// receive calls, so that all of them measure the same thing.

/// One-way receiver: calls `receive_one()` o.count times and reports the
/// throughput from the first message on (that one is not counted).
template <class ReceiveOne>
void receive_messages(const Options& o, ReceiveOne receive_one) {
  Clock::time_point start;
  for (std::uint64_t i = 0; i < o.count; ++i) {
    receive_one();
    if (i == 0) start = Clock::now();
  }
  report_throughput(o, o.count - 1, start);
}

/// Round-trip client: warmup_count(o) untimed calls of `round_trip()`, then
/// o.count timed ones; reports their latencies.
template <class RoundTrip>
void time_round_trips(const Options& o, RoundTrip round_trip) {
  auto warm = warmup_count(o);
  Latencies lat(o.count);
  Clock::time_point start;
  for (std::uint64_t i = 0; i < warm + o.count; ++i) {
    if (i == warm) start = Clock::now();
    auto t0 = Clock::now();
    round_trip();
    if (i >= warm) lat.add(Clock::now() - t0);
  }
  lat.report(o, Clock::now() - start);
}

/// Bulk receiver: calls `read_some()`, which returns the bytes it got (0 at
/// the end of the data), until o.count bytes arrived; reports the rate from
/// the first read on (its bytes are not counted). Fails on `side` if the
/// data ends early.
template <class ReadSome>
void receive_bulk(const Options& o, std::string_view side, ReadSome read_some) {
  std::uint64_t total = 0, first = 0;
  Clock::time_point start;
  while (total < o.count) {
    auto n = static_cast<std::uint64_t>(read_some());
    if (n == 0) fail(o, side, "the data ended after " + std::to_string(total) + " bytes");
    if (total == 0) {
      start = Clock::now();
      first = n;
    }
    total += n;
  }
  report_bulk(o, total - first, start);
}

/// Bulk sender: o.count bytes of payload, passed to `write(span)` in pieces
/// of at most `chunk_size` bytes.
template <class Write>
void send_bulk(const Options& o, std::size_t chunk_size, Write write) {
  auto chunk = make_payload(chunk_size);
  for (std::uint64_t sent = 0; sent < o.count;) {
    auto n = std::min<std::uint64_t>(chunk.size(), o.count - sent);
    write(std::span<const std::uint8_t>(chunk.data(), n));
    sent += n;
  }
}

/// Default counts when --count is not given.
std::uint64_t default_count(std::string_view workload, std::size_t size);

}  // namespace netbench
