// Running chancat in the tests: its path, a listening chancat whose address
// is known, and checks on what it writes.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "libchan/libchan.hpp"
#include "net/net_support.hpp"
#include "tools/process.hpp"

namespace chancat_test {

using namespace std::chrono_literals;

inline const std::string chancat_path = LIBCHAN_CHANCAT;

/// Runs chancat to the end.
inline tool_test::Outcome chancat(const std::vector<std::string>& args, std::string_view input = {},
                                  std::chrono::milliseconds timeout = 10s) {
  return tool_test::run(chancat_path, args, input, timeout);
}

/// `chancat listen -v URL args...`, running; address() is where it listens.
class Listening {
 public:
  Listening(const std::string& url, std::vector<std::string> args = {}) {
    std::vector<std::string> all{"listen", "-v", url};
    all.insert(all.end(), args.begin(), args.end());
    process_ = std::make_unique<tool_test::Process>(chancat_path, all);
    address_ = process_->stderr_line_after("listening on ", 10s);
    if (address_.empty()) {
      auto r = process_->wait(1s);
      throw std::runtime_error("chancat did not say where it listens: " + r.err);
    }
  }

  const std::string& address() const { return address_; }
  tool_test::Process& process() { return *process_; }
  tool_test::Outcome wait(std::chrono::milliseconds timeout = 10s) {
    return process_->wait(timeout);
  }

 private:
  std::unique_ptr<tool_test::Process> process_;
  std::string address_;
};

/// Waits until `p` has written `n` whole lines on stdout.
inline bool wait_for_lines(tool_test::Process& p, std::size_t n,
                           std::chrono::milliseconds timeout = 10s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto out = p.out();
    if (static_cast<std::size_t>(std::count(out.begin(), out.end(), '\n')) >= n) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
}

/// The lines of `text`, without their line breaks.
inline std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

/// The stderr lines of -v that are not errors ("listening on", "session
/// with ..."), dropped.
inline std::vector<std::string> error_lines(const std::string& err) {
  std::vector<std::string> out;
  for (auto& l : lines(err))
    if (l.find("listening on ") == std::string::npos &&
        l.find("session with ") == std::string::npos &&
        l.find("connected to ") == std::string::npos)
      out.push_back(l);
  return out;
}

/// chancat failed the documented way: `code`, and one line on stderr,
/// "chancat: ..." containing `words`.
inline void expect_one_error_line(const tool_test::Outcome& r, int code, const std::string& words) {
  EXPECT_FALSE(r.timed_out);
  EXPECT_EQ(r.exit_code, code) << r.err;
  auto errors = error_lines(r.err);
  ASSERT_EQ(errors.size(), 1u) << r.err;
  EXPECT_EQ(errors[0].rfind("chancat: ", 0), 0u) << r.err;
  EXPECT_NE(errors[0].find(words), std::string::npos) << r.err;
  EXPECT_EQ(r.err.back(), '\n');
}

}  // namespace chancat_test
