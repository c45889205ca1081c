// The recorded sessions under tests/data/captures/, for tests that run over
// every one of them.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <string>
#include <vector>

namespace test_support {

/// Every capture folder (each holds client-to-server.bin, server-to-client.bin).
inline const std::vector<std::string>& capture_folders() {
  static const std::vector<std::string> folders = {
      "go-master",
      "go-master/second-run",
      "go-v01",
      "go-v01/second-run",
      "go-v01/big",
      "go-v01/jschan/go-client-big-200000",
      "go-v01/jschan/go-client-big-5000",
      "go-v01/jschan/go-client-big-60000",
      "go-v01/jschan/go-client-big-70000",
      "go-v01/jschan/go-client-echo",
      "go-v01/jschan/go-client-echo-100000",
      "go-v01/jschan/go-client-plain",
      "go-v01/jschan/go-client-recv",
      "go-v01/jschan/go-client-serverret",
      "go-v01/jschan/js-client-big-5000",
      "go-v01/jschan/js-client-big-60000",
      "go-v01/jschan/js-client-big-70000",
      "go-v01/jschan/js-client-plain",
      "go-v01/jschan/js-client-recv",
      "go-v01/jschan/js-client-ret",
      "go-v01/jschan/js-client-serverret",
      "go-v01/jschan/js-client-stream",
      "go-v01/jschan/js-client-stream-100000",
      "jschan/trace-go-js",
      "jschan/trace-js-go",
      "jschan/trace-js-go-big2",
      "jschan/trace-js-js",
      "rexec-master",
      "rexec-v01",
  };
  return folders;
}

/// A gtest name for a capture folder: "go-v01/big" -> "go_v01_big".
inline std::string capture_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

}  // namespace test_support
