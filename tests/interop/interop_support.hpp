// Shared parts of the live interop tests with jschan (Node.js): finding
// Node.js and the installed jschan, starting the scripts of tests/interop,
// and the echo service our side runs for jschan's client.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "interop/child_process.hpp"
#include "libchan/libchan.hpp"

namespace interop {

using namespace std::chrono_literals;

/// Where package.json and the scripts are (and node_modules once installed).
inline const std::string script_dir = LIBCHAN_INTEROP_DIR;

/// Why the interop tests cannot run on this machine (with the command that
/// fixes it), or an empty string when Node.js and jschan 0.2.1 are there.
std::string missing_tools();

/// Starts `node SCRIPT ARGS...` in the script folder. Throws with the cause.
std::unique_ptr<child_process> start_script(const std::string& script,
                                            const std::vector<std::string>& args = {});

/// Reads lines until one says "ready PORT"; the port, or 0 after `timeout`
/// or at the end of the output.
unsigned wait_ready(child_process& child, std::chrono::milliseconds timeout = 15s);

/// What a child printed, for failure messages.
std::string describe(child_process& child);

/// The port of a "tcp://host:port" URL.
unsigned port_of(const std::string& url);

/// Runs jschan_client.js against 127.0.0.1:`port` and checks every step it
/// reports (see the script) with gtest expectations.
void run_jschan_client(unsigned port);

/// The dialect_bridge example, listening on a free loopback port.
struct bridge_process {
  /// Starts it with `args` before its two URLs; throws if it does not say
  /// where it listens.
  bridge_process(const std::vector<std::string>& args, const std::string& dial_url);
  std::unique_ptr<child_process> child;
  std::string url;  ///< where it listens
};

/// Our side of the message forms jschan_server.js answers (see there), so
/// that jschan_client.js gets the same answers from us, directly or through
/// the bridge. Serves every session `listener` accepts, on a thread, until
/// destroyed.
class echo_service {
 public:
  explicit echo_service(libchan::Listener listener);
  echo_service(const echo_service&) = delete;
  echo_service& operator=(const echo_service&) = delete;
  ~echo_service();

  std::string address() const { return address_; }
  /// The `plain` messages seen so far, by seq, in order of arrival.
  std::vector<std::int64_t> plain_seen() const;
  /// The dialect of the last session accepted.
  libchan::Dialect last_dialect() const;

 private:
  struct state;
  std::shared_ptr<state> state_;
  std::string address_;
};

}  // namespace interop

/// Skips the test, saying what to install, when Node.js or jschan is missing.
#define INTEROP_REQUIRE_JSCHAN()                                                  \
  do {                                                                            \
    if (auto why = ::interop::missing_tools(); !why.empty()) GTEST_SKIP() << why; \
  } while (0)
