#include "soak/resources.hpp"

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include "soak/messages.hpp"

namespace soak {
namespace {

std::int64_t count_entries(const std::string& dir) {
  std::int64_t n = 0;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
  }
  return n;
}

}  // namespace

Usage usage_of(const std::string& pid) {
  Usage u;
  std::ifstream status("/proc/" + pid + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.starts_with("VmRSS:")) u.rss_kib = std::atoll(line.c_str() + 6);
  u.fds = count_entries("/proc/" + pid + "/fd");
  if (pid == "self") --u.fds;  // the directory being read
  u.threads = count_entries("/proc/" + pid + "/task");
  return u;
}

double mib(std::int64_t kib) { return static_cast<double>(kib) / 1024.0; }

void max_into(Usage& to, const Usage& u) {
  to.rss_kib = std::max(to.rss_kib, u.rss_kib);
  to.fds = std::max(to.fds, u.fds);
  to.threads = std::max(to.threads, u.threads);
}

std::string flat_failure(const char* who, const Usage& warm, const Usage& end, double rss_growth,
                         double rss_slack_mib) {
  double bound = mib(warm.rss_kib) * (1 + rss_growth) + rss_slack_mib;
  if (mib(end.rss_kib) > bound)
    return format(
        "%s RSS grew after warm-up: %.1f MiB at the end, %.1f MiB in warm-up, bound "
        "%.1f MiB",
        who, mib(end.rss_kib), mib(warm.rss_kib), bound);
  if (end.fds > warm.fds)
    return format("%s descriptors grew after warm-up: %lld at the end, at most %lld in warm-up",
                  who, static_cast<long long>(end.fds), static_cast<long long>(warm.fds));
  if (end.threads > warm.threads)
    return format("%s threads grew after warm-up: %lld at the end, at most %lld in warm-up", who,
                  static_cast<long long>(end.threads), static_cast<long long>(warm.threads));
  return {};
}

void print_usage(const char* who, const Usage& first, const Usage& warm, const Usage& end,
                 const Usage& base) {
  std::printf(
      "soak: %s RSS %.1f MiB at start, %.1f in warm-up, %.1f at the end; fds %lld -> %lld, "
      "threads %lld -> %lld (before the session: %lld fds, %lld threads)\n",
      who, mib(first.rss_kib), mib(warm.rss_kib), mib(end.rss_kib),
      static_cast<long long>(first.fds), static_cast<long long>(end.fds),
      static_cast<long long>(first.threads), static_cast<long long>(end.threads),
      static_cast<long long>(base.fds), static_cast<long long>(base.threads));
}

}  // namespace soak
