// This test binary, run again as a helper process: one of its disabled
// tests, with one variable added to the environment, which tells the test
// that it runs as the helper.
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/types.h>

#include <string>
#include <vector>

extern char** environ;

namespace net_test {

/// Starts the disabled test `test` ("Suite.DISABLED_Name") of this binary
/// with `name`=`value` in its environment and its output going nowhere.
/// Returns its pid, or -1.
inline pid_t spawn_self(const std::string& test, const std::string& name,
                        const std::string& value) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  env.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe";
  std::string also = "--gtest_also_run_disabled_tests";
  std::string filter = "--gtest_filter=" + test;
  char* argv[] = {exe.data(), also.data(), filter.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

}  // namespace net_test
