// Resource samples from /proc (memory, descriptors, threads of a process) and
// the verdict on whether they stayed flat after the warm-up.
#pragma once

#include <cstdint>
#include <string>

namespace soak {

struct Usage {
  std::int64_t rss_kib = 0, fds = 0, threads = 0;
};

// Memory, descriptors and threads of process `pid` ("self" for this one).
Usage usage_of(const std::string& pid);

double mib(std::int64_t kib);

// Raises each of `to`'s values to `u`'s where that is higher.
void max_into(Usage& to, const Usage& u);

// Why `who`'s usage at the `end` is not flat against its highest in the
// `warm`-up, which allows RSS to grow by the share `rss_growth` plus
// `rss_slack_mib`, and nothing else to grow; empty if it is flat.
std::string flat_failure(const char* who, const Usage& warm, const Usage& end, double rss_growth,
                         double rss_slack_mib);

// One line on stdout: `who`'s usage at the start of the load, in warm-up, at
// the end, and before the first session (`base`).
void print_usage(const char* who, const Usage& first, const Usage& warm, const Usage& end,
                 const Usage& base);

}  // namespace soak
