#include "harness.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

namespace netbench {
namespace {

[[noreturn]] void usage(std::string_view impl, std::string_view problem) {
  std::cerr << "net_bench_" << impl << ": " << problem << "\n"
            << "usage: net_bench_" << impl
            << " --role server|client|both --transport T --workload W\n"
               "         [--size BYTES] [--count N] [--address ADDR] [--timeout SECONDS]\n"
               "         [--cert PEM --key PEM --ca PEM]\n"
               "  workloads: oneway pingpong reqrep_nested bulk channels fds\n"
               "  net_bench_raw also relays: --role server --transport tcp --workload "
               "relay|relay_splice\n"
               "    --address DESTINATION (one connection, both ways, for the gateway rows)\n"
               "  and runs bulk_threaded: bulk with an io thread per side\n";
  std::exit(2);
}

std::uint64_t to_number(std::string_view impl, std::string_view flag, std::string_view text) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || end != text.data() + text.size())
    usage(impl, std::string(flag) + " needs a number, got '" + std::string(text) + "'");
  return n;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

// Prints one JSON object: the fields that identify the row, then `fields`
// (each starting with a comma). Flushed at once: the script reads as we go.
// Built with += only: GCC 12 at -O3 warns falsely on "literal" + string.
void emit(const Options& o, std::string_view side, const std::string& fields) {
  std::string line = "{\"impl\":";
  line += json_string(o.impl);
  line += ",\"transport\":";
  line += json_string(o.transport);
  line += ",\"workload\":";
  line += json_string(o.workload);
  line += ",\"size\":";
  line += std::to_string(o.size);
  line += ",\"side\":";
  line += json_string(side);
  line += fields;
  line += "}\n";
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

std::string field(std::string_view name, std::string_view json_value) {
  std::string out = ",\"";
  out += name;
  out += "\":";
  out += json_value;
  return out;
}

std::string number(double v) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6g", v);
  return text;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

Options parse_options(int argc, char** argv, std::string_view impl) {
  Options o;
  o.impl = impl;
  bool have_role = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view flag = argv[i];
    if (i + 1 >= argc) usage(impl, std::string(flag) + " needs a value");
    std::string_view value = argv[++i];
    if (flag == "--role") {
      have_role = true;
      if (value == "server") {
        o.role = Role::server;
      } else if (value == "client") {
        o.role = Role::client;
      } else if (value == "both") {
        o.role = Role::both;
      } else {
        usage(impl, "unknown role '" + std::string(value) + "'");
      }
    } else if (flag == "--transport") {
      o.transport = value;
    } else if (flag == "--workload") {
      o.workload = value;
    } else if (flag == "--size") {
      o.size = to_number(impl, flag, value);
    } else if (flag == "--count") {
      o.count = to_number(impl, flag, value);
    } else if (flag == "--address") {
      o.address = value;
    } else if (flag == "--timeout") {
      o.timeout = std::chrono::seconds(to_number(impl, flag, value));
    } else if (flag == "--cert") {
      o.cert = value;
    } else if (flag == "--key") {
      o.key = value;
    } else if (flag == "--ca") {
      o.ca = value;
    } else {
      usage(impl, "unknown option " + std::string(flag));
    }
  }
  if (!have_role || o.transport.empty() || o.workload.empty())
    usage(impl, "--role, --transport and --workload are required");
  if (o.size == 0) usage(impl, "--size must be at least 1");
  if (o.count == 0) o.count = default_count(o.workload, o.size);
  // A watchdog for every wait in the program: SIGALRM ends the process.
  alarm(static_cast<unsigned>(o.timeout.count()));
  return o;
}

void print_ready(const Options& o, std::string_view address) {
  emit(o, "server", field("ready", json_string(address)));
}

void print_result(const Options& o, std::string_view side, std::string_view metric, double value,
                  std::string_view unit) {
  emit(o, side,
       field("metric", json_string(metric)) + field("value", number(value)) +
           field("unit", json_string(unit)) +
           field("peak_rss_kib", std::to_string(peak_rss_kib())));
}

void print_unsupported(const Options& o, std::string_view side, std::string_view reason) {
  emit(o, side, field("unsupported", json_string(reason)));
}

void print_peak_rss(const Options& o, std::string_view side) {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  emit(o, side,
       field("metric", "\"peak_rss\"") + field("value", std::to_string(peak_rss_kib())) +
           field("unit", "\"KiB\"") +
           field("cpu_s", number(secs(usage.ru_utime) + secs(usage.ru_stime))));
}

void fail(const Options& o, std::string_view side, std::string_view what) {
  emit(o, side, field("error", json_string(what)));
  std::exit(1);
}

long peak_rss_kib() {
  // VmHWM rather than getrusage's ru_maxrss: Linux carries ru_maxrss over
  // fork and exec, so a child of a large parent would report the parent's.
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;  // KiB on Linux
}

void report_throughput(const Options& o, std::uint64_t messages, Clock::time_point start) {
  double s = seconds(Clock::now() - start);
  double rate = static_cast<double>(messages) / s;
  print_result(o, "server", "msgs_per_s", rate, "msg/s");
  print_result(o, "server", "mb_per_s", rate * static_cast<double>(o.size) / 1e6, "MB/s");
}

void report_bulk(const Options& o, std::uint64_t bytes, Clock::time_point start) {
  double s = seconds(Clock::now() - start);
  print_result(o, "server", "mb_per_s", static_cast<double>(bytes) / s / 1e6, "MB/s");
}

void Latencies::report(const Options& o, Clock::duration elapsed) {
  if (samples_.empty()) fail(o, "client", "no round trips measured");
  std::sort(samples_.begin(), samples_.end());
  auto at = [&](double q) {
    auto i = static_cast<std::size_t>(q * static_cast<double>(samples_.size() - 1));
    return std::chrono::duration<double, std::micro>(samples_[i]).count();
  };
  print_result(o, "client", "round_trips_per_s",
               static_cast<double>(samples_.size()) / seconds(elapsed), "rt/s");
  print_result(o, "client", "p50_us", at(0.50), "us");
  print_result(o, "client", "p99_us", at(0.99), "us");
}

std::uint64_t warmup_count(const Options& o) {
  return std::clamp<std::uint64_t>(o.count / 10, 10, 2000);
}

std::vector<std::uint8_t> make_payload(std::size_t size) {
  std::vector<std::uint8_t> p(size);
  for (std::size_t i = 0; i < size; ++i) p[i] = static_cast<std::uint8_t>('a' + i % 26);
  return p;
}

std::uint64_t default_count(std::string_view workload, std::size_t size) {
  if (workload == "oneway") return size <= 64 ? 500000 : size <= 1024 ? 200000 : 10000;
  if (workload == "pingpong") return 20000;
  if (workload == "reqrep_nested") return 10000;
  if (workload == "bulk" || workload == "bulk_threaded") return 1ull << 30;
  if (workload == "channels") return 200000;
  if (workload == "fds") return 20000;
  return 10000;
}

}  // namespace netbench
